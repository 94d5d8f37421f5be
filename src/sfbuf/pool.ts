// Mirrors sys/kern/subr_sfbuf.c (sf_buf_init, sf_buf_alloc, sf_buf_free, sf_buf_ref) with the
// i386 sf_buf_map/sf_buf_unmap of sys/i386/i386/vm_machdep.c: the pool of page-sized kernel
// mappings that 32-bit machines recycle because they have no direct map.
//
// Ownership and refcount protocol (struct sf_buf, pool case): the pool owns `nsfbufs` buffers,
// each with a fixed kva slot. A buffer with ref_count > 0 is held: each sfBufAlloc or sfBufRef
// took one reference, each sfBufFree drops one; a held buffer is hashed under its page and is on
// no list. At ref_count 0 it sits on the free list, oldest-freed first, still mapping its last
// page (i386) so that allocating that page again revives it without remapping; with unmapOnFree
// (32-bit arm) the translation is dropped and the buffer maps nothing. A new page takes the
// free list's head. When the list is empty callers sleep FIFO on "sfbufa"; a free hands the
// buffer straight to the oldest sleeper.
import { kassert, pageIndexOf, panic, type Tracer, tracer, WaitQueue } from '../kern/index.js';
import type { VmPage } from '../vm/index.js';
import { poolSlotKva } from './kva.js';
import { type AllocWaiter, PoolSfBuf } from './pool-buf.js';
import { checkPoolInvariants } from './pool-check.js';
import { allCpusMask, sfBufShootdown } from './shootdown.js';
import {
  SFB_ALL_FLAGS,
  SFB_CATCH,
  SFB_NOWAIT,
  type SfBuf,
  type SfBufConfig,
  type SfBufCounters,
  type SfBufMap,
  type SfBufVm,
  sfBufStats,
} from './types.js';

export class KvaSfBufMap implements SfBufMap {
  readonly kind = 'kva';
  readonly hasPool = true;
  readonly bufs: readonly PoolSfBuf[];
  /** sf_buf_active: page (physIndex) -> the buffer mapping it. XXX(sim): an array, not chains. */
  readonly active: (PoolSfBuf | null)[];
  freeHead: PoolSfBuf | null = null;
  freeTail: PoolSfBuf | null = null;
  readonly stats: ReturnType<typeof sfBufStats>;

  readonly waitq = new WaitQueue('sfbufa');
  /** Sleepers in order; entries whose signal aborted are skipped (the WaitQueue dropped them). */
  readonly waiters: AllocWaiter[] = [];
  private readonly allCpus: number;
  private readonly unmapOnFree: boolean;
  private readonly trace: Tracer;
  /** Highest nsfbufsused since the last takeUsedPeak. */
  private usedPeak = 0;

  constructor(
    private readonly vm: SfBufVm,
    readonly config: SfBufConfig,
  ) {
    kassert(
      Number.isInteger(config.nsfbufs) && config.nsfbufs > 0,
      () => `sf_buf_init: nsfbufs ${config.nsfbufs}`,
    );
    this.stats = sfBufStats(config.nsfbufs);
    this.allCpus = allCpusMask(config.cpuCount);
    this.unmapOnFree = config.unmapOnFree === true;
    this.trace = tracer('sfbuf', config.kernelId);
    this.active = new Array<PoolSfBuf | null>(pageIndexOf(vm.physmem.byteLength)).fill(null);
    const bufs: PoolSfBuf[] = [];
    for (let i = 0; i < config.nsfbufs; i++) {
      const sf = new PoolSfBuf(poolSlotKva(i), this);
      bufs.push(sf);
      this.freeAppend(sf);
    }
    this.bufs = bufs;
  }

  get sleepers(): number {
    return this.waitq.length;
  }

  sfBufAlloc(
    m: VmPage,
    flags: number,
    cpu: number,
    signal?: AbortSignal,
  ): SfBuf | null | Promise<SfBuf | null> {
    if (m.wireCount <= 0) panic(`sfBufAlloc: page ${m.physIndex} is not wired`);
    if ((flags & ~SFB_ALL_FLAGS) !== 0) panic(`sfBufAlloc: unknown flags 0x${flags.toString(16)}`);
    if (!(cpu >= 0 && cpu < this.config.cpuCount)) panic(`sfBufAlloc: cpu ${cpu} out of range`);
    this.stats.alloc_calls++;
    let sf = this.active[m.physIndex];
    if (sf === undefined) panic(`sfBufAlloc: page ${m.physIndex} beyond physical memory`);
    const hit = sf !== null;
    const invlpg0 = this.stats.invlpg_local;
    const ipis0 = this.stats.ipis;
    if (sf !== null) {
      this.revive(sf, flags, cpu);
    } else if (this.freeHead !== null) {
      // Sleepers are only ever queued while the free list is empty, so nobody is overtaken.
      sf = this.freeHead;
      this.mapNew(sf, m, flags, cpu);
    } else {
      return this.sleep(m, flags, cpu, signal);
    }
    if (this.trace.on)
      this.traceAlloc(sf, cpu, hit, this.stats.invlpg_local - invlpg0, this.stats.ipis - ipis0);
    if (this.config.invariants) this.checkInvariants();
    return sf;
  }

  /** One sf_buf_alloc that got a buffer: hash hit or a new mapping, and the TLB work it cost. */
  private traceAlloc(sf: PoolSfBuf, cpu: number, hit: boolean, invlpg: number, ipis: number): void {
    this.trace.emit('alloc', () => ({
      kva: sf.kva,
      physIndex: sf.m?.physIndex ?? null,
      cpu,
      hit,
      refs: sf.ref_count,
      cpumask: sf.cpumask,
      invlpg,
      ipis,
    }));
  }

  sfBufFree(sf: SfBuf): void {
    const p = this.own(sf, 'sfBufFree');
    if (p.ref_count <= 0) panic(`sfBufFree: sf_buf ${p.kva} already free`);
    if (this.trace.on) {
      const physIndex = p.m?.physIndex ?? null;
      this.trace.emit('free', () => ({ kva: p.kva, physIndex, refs: p.ref_count - 1 }));
    }
    if (--p.ref_count === 0) {
      this.stats.nsfbufsused--;
      if (this.unmapOnFree) this.unmap(p);
      if (this.waitq.length > 0) this.handOff(p);
      else this.freeAppend(p);
    }
    if (this.config.invariants) this.checkInvariants();
  }

  sfBufRef(sf: SfBuf): void {
    const p = this.own(sf, 'sfBufRef');
    if (p.ref_count <= 0) panic(`sfBufRef: sf_buf ${p.kva} is not held`);
    p.ref_count++;
    if (this.config.invariants) this.checkInvariants();
  }

  sfBufKva(sf: SfBuf): number {
    return this.own(sf, 'sfBufKva').kva;
  }

  sfBufPage(sf: SfBuf): VmPage {
    const p = this.own(sf, 'sfBufPage');
    if (p.m === null || p.ref_count <= 0) panic(`sfBufPage: sf_buf ${p.kva} maps no held page`);
    return p.m;
  }

  sfBufBytes(sf: SfBuf): Uint8Array {
    const p = this.own(sf, 'sfBufBytes');
    if (p.m === null || p.ref_count <= 0) panic(`sfBufBytes: sf_buf ${p.kva} maps no held page`);
    if (p.bytes === null) p.bytes = this.vm.pageBytes(p.m);
    return p.bytes;
  }

  counters(): SfBufCounters {
    return Object.freeze({ ...this.stats });
  }

  atRest(): string[] {
    const out: string[] = [];
    if (this.stats.nsfbufsused !== 0) out.push(`sfbuf: nsfbufsused ${this.stats.nsfbufsused}, want 0`);
    if (this.waitq.length !== 0) out.push(`sfbuf: ${this.waitq.length} sleepers on "sfbufa"`);
    return out;
  }

  checkInvariants(): void {
    checkPoolInvariants(this);
  }

  /** A hash hit: share the mapping, reviving it from the free list if it was released. */
  private revive(sf: PoolSfBuf, flags: number, cpu: number): void {
    if (sf.ref_count++ === 0) {
      if (sf.onFreeList) this.freeRemove(sf);
      this.noteUsed();
      this.stats.mapping_reuses++;
    }
    sfBufShootdown(sf, flags, cpu, this.allCpus, this.stats);
  }

  /** Point a buffer that nobody holds at page m (sf_buf_map): unhash the old page, hash the new. */
  private mapNew(sf: PoolSfBuf, m: VmPage, flags: number, cpu: number): void {
    if (sf.onFreeList) this.freeRemove(sf);
    if (sf.m !== null) this.unmap(sf);
    sf.m = m;
    this.active[m.physIndex] = sf;
    sf.ref_count = 1;
    this.noteUsed();
    sfBufShootdown(sf, flags, cpu, this.allCpus, this.stats);
    if (this.trace.on) this.trace.emit('map', () => ({ kva: sf.kva, physIndex: m.physIndex, cpu }));
  }

  /** Forget the page and its translation (sf_buf_unmap on arm, or before a remap). */
  private unmap(sf: PoolSfBuf): void {
    if (sf.m !== null) this.active[sf.m.physIndex] = null;
    sf.m = null;
    sf.bytes = null;
    // XXX(sim): i386 pmap_sf_buf_map keeps the mask when the old translation was never used;
    // we always start a new translation with no CPU holding it.
    sf.cpumask = 0;
  }

  private noteUsed(): void {
    if (++this.stats.nsfbufsused > this.stats.nsfbufspeak) this.stats.nsfbufspeak = this.stats.nsfbufsused;
    if (this.stats.nsfbufsused > this.usedPeak) this.usedPeak = this.stats.nsfbufsused;
  }

  takeUsedPeak(): number {
    const peak = Math.max(this.usedPeak, this.stats.nsfbufsused);
    this.usedPeak = this.stats.nsfbufsused;
    return peak;
  }

  private sleep(
    m: VmPage,
    flags: number,
    cpu: number,
    signal?: AbortSignal,
  ): SfBuf | null | Promise<SfBuf | null> {
    if ((flags & SFB_NOWAIT) !== 0) return null;
    this.stats.sf_allocwait++;
    const catchSignal = (flags & SFB_CATCH) !== 0 && signal !== undefined ? signal : null;
    if (catchSignal?.aborted) return null; // msleep with PCATCH and a signal pending: EINTR at once
    const w: AllocWaiter = { m, flags, cpu, signal: catchSignal, sf: null };
    this.waiters.push(w);
    if (this.trace.on) this.trace.emit('sleep', () => ({ wmesg: 'sfbufa', physIndex: m.physIndex, cpu }));
    return this.waitq.sleep(catchSignal ?? undefined).then(
      () => {
        kassert(w.sf !== null, 'sfBufAlloc: woken on "sfbufa" without a buffer');
        return w.sf;
      },
      () => {
        // SFB_CATCH and the signal aborted the sleep (EINTR): no buffer; drop the record.
        const i = this.waiters.indexOf(w);
        if (i >= 0) this.waiters.splice(i, 1);
        return null;
      },
    );
  }

  /**
   * A buffer just reached ref_count 0 while callers sleep (the wakeup in sf_buf_free): the
   * oldest sleeper gets it. Sleepers next in line whose page is mapped by then share that
   * mapping and wake too; the first that needs a new mapping stays asleep if the buffer is gone.
   */
  private handOff(sf: PoolSfBuf): void {
    let placed = false;
    for (let w = this.nextWaiter(); w !== null; w = this.nextWaiter()) {
      const hit = this.active[w.m.physIndex] ?? null;
      if (hit === null && placed) break;
      this.waiters.shift();
      if (hit !== null) this.revive(hit, w.flags, w.cpu);
      else this.mapNew(sf, w.m, w.flags, w.cpu);
      if (hit === null || hit === sf) placed = true;
      w.sf = hit ?? sf;
      this.waitq.wakeOne();
    }
    if (!placed) this.freeAppend(sf);
  }

  /** The oldest sleeper still asleep, dropping those an abort already took off the WaitQueue. */
  private nextWaiter(): AllocWaiter | null {
    while (this.waiters.length > 0) {
      const w = this.waiters[0] as AllocWaiter;
      if (w.signal?.aborted !== true) return w;
      this.waiters.shift();
    }
    return null;
  }

  private freeAppend(sf: PoolSfBuf): void {
    sf.free_prev = this.freeTail;
    sf.free_next = null;
    if (this.freeTail !== null) this.freeTail.free_next = sf;
    else this.freeHead = sf;
    this.freeTail = sf;
    sf.onFreeList = true;
  }

  private freeRemove(sf: PoolSfBuf): void {
    if (sf.free_prev !== null) sf.free_prev.free_next = sf.free_next;
    else this.freeHead = sf.free_next;
    if (sf.free_next !== null) sf.free_next.free_prev = sf.free_prev;
    else this.freeTail = sf.free_prev;
    sf.free_prev = null;
    sf.free_next = null;
    sf.onFreeList = false;
  }

  private own(sf: SfBuf, fn: string): PoolSfBuf {
    if (!(sf instanceof PoolSfBuf && sf.owner === this)) panic(`${fn}: sf_buf ${sf.kva} is not this pool's`);
    return sf;
  }
}
