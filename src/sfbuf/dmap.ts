// Mirrors the direct-map half of sys/sys/sf_buf.h (PMAP_HAS_DMAP): on amd64 and arm64 every
// physical page is always mapped, so sf_buf_alloc returns the vm_page itself cast to an sf_buf,
// sf_buf_kva is PHYS_TO_DMAP of its physical address, and free and ref do nothing.
//
// Ownership: one DmapSfBuf per physical page, made the first time the page is allocated and
// kept for the life of the map (the kernel needs no object at all; we need one to hand out).
// No reference is counted, so the direct map cannot notice a missing or doubled free, exactly
// like the kernel.
import { kassert, pageIndexOf, panic, type Tracer, tracer } from '../kern/index.js';
import type { VmPage } from '../vm/index.js';
import { physToDmap } from './kva.js';
import * as types from './types.js';
import { type SfBuf, type SfBufCounters, type SfBufMap, type SfBufVm, sfBufStats } from './types.js';

// Module-local copies of the constants the per-page code tests: V8 reads an imported binding
// through its module cell at every use (a load and a check), a module-local const not at all.
const { SFB_ALL_FLAGS } = types;

class DmapSfBuf implements SfBuf {
  readonly kva: number;
  ref_count = 0;
  readonly cpumask = 0;
  /** The page's view, made on first use. */
  bytes: Uint8Array | null = null;

  constructor(
    readonly m: VmPage,
    readonly owner: DmapSfBufMap,
  ) {
    this.kva = physToDmap(m.physAddr);
  }
}

export class DmapSfBufMap implements SfBufMap {
  readonly kind = 'dmap';
  readonly hasPool = false;
  readonly sleepers = 0;
  private readonly bufs: (DmapSfBuf | null)[];
  /** XXX(sim): the kernel counts nothing here; we count alloc_calls to show the traffic. */
  private readonly stats = sfBufStats(0);

  private readonly trace: Tracer;

  constructor(
    private readonly vm: SfBufVm,
    private readonly cpuCount: number,
    kernelId = 0,
  ) {
    this.trace = tracer('sfbuf', kernelId);
    this.bufs = new Array<DmapSfBuf | null>(pageIndexOf(vm.physmem.byteLength)).fill(null);
  }

  /**
   * sf_buf_alloc: never sleeps, never fails; flags and CPU are checked, then ignored. The rare
   * paths (a bad argument, a page's first buffer, a trace) are functions of their own, so that
   * this one stays small enough to be inlined into the per-page loops.
   */
  sfBufAlloc(m: VmPage, flags: number, cpu: number): SfBuf {
    if (m.wireCount <= 0 || (flags & ~SFB_ALL_FLAGS) !== 0 || !(cpu >= 0 && cpu < this.cpuCount)) {
      this.badAlloc(m, flags, cpu);
    }
    this.stats.alloc_calls++;
    const sf = this.bufs[m.physIndex];
    const d = sf === undefined || sf === null || sf.m !== m ? this.firstBuf(m) : sf;
    if (this.trace.on) this.traceAlloc(d, cpu);
    return d;
  }

  private badAlloc(m: VmPage, flags: number, cpu: number): never {
    if (m.wireCount <= 0) panic(`sfBufAlloc: page ${m.physIndex} is not wired`);
    if ((flags & ~SFB_ALL_FLAGS) !== 0) panic(`sfBufAlloc: unknown flags 0x${flags.toString(16)}`);
    panic(`sfBufAlloc: cpu ${cpu} not in 0..${this.cpuCount - 1}`);
  }

  /** The page's buffer, made the first time the page is mapped. */
  private firstBuf(m: VmPage): DmapSfBuf {
    const sf = this.bufs[m.physIndex];
    if (sf === undefined) panic(`sfBufAlloc: page ${m.physIndex} beyond physical memory`);
    if (sf !== null) panic(`sfBufAlloc: page ${m.physIndex} is not this map's page`);
    const d = new DmapSfBuf(m, this);
    this.bufs[m.physIndex] = d;
    return d;
  }

  private traceAlloc(sf: DmapSfBuf, cpu: number): void {
    const kva = sf.kva;
    const physIndex = sf.m.physIndex;
    this.trace.emit('alloc', () => ({ kva, physIndex, cpu, direct: true }));
  }

  /** The direct map counts no buffers in use. */
  takeUsedPeak(): number {
    return 0;
  }

  /** sf_buf_free: nothing to release in the direct map. */
  sfBufFree(sf: SfBuf): void {
    const d = this.own(sf, 'sfBufFree');
    if (this.trace.on) this.traceFree(d);
  }

  private traceFree(d: DmapSfBuf): void {
    this.trace.emit('free', () => ({ kva: d.kva, physIndex: d.m.physIndex, direct: true }));
  }

  /** sf_buf_ref: nothing to count in the direct map. */
  sfBufRef(sf: SfBuf): void {
    this.own(sf, 'sfBufRef');
  }

  sfBufKva(sf: SfBuf): number {
    return this.own(sf, 'sfBufKva').kva;
  }

  sfBufPage(sf: SfBuf): VmPage {
    return this.own(sf, 'sfBufPage').m;
  }

  sfBufBytes(sf: SfBuf): Uint8Array {
    const d = this.own(sf, 'sfBufBytes');
    return d.bytes ?? this.firstBytes(d);
  }

  /** The page's view, made the first time its bytes are asked for. */
  private firstBytes(d: DmapSfBuf): Uint8Array {
    const bytes = this.vm.pageBytes(d.m);
    d.bytes = bytes;
    return bytes;
  }

  counters(): SfBufCounters {
    return Object.freeze({ ...this.stats });
  }

  /** The direct map holds nothing that could stay in use. */
  atRest(): string[] {
    return [];
  }

  checkInvariants(): void {
    this.bufs.forEach((sf, i) => {
      if (sf !== null) kassert(sf.m.physIndex === i, () => `dmap: buffer of page ${sf.m.physIndex} at ${i}`);
    });
  }

  private own(sf: SfBuf, fn: string): DmapSfBuf {
    // Only this map's buffers name it as their owner, so the test needs no instanceof.
    const d = sf as DmapSfBuf;
    if (d.owner !== this) notOwn(sf, fn);
    return d;
  }
}

function notOwn(sf: SfBuf, fn: string): never {
  panic(`${fn}: sf_buf ${sf.kva} is not this map's`);
}
