// Mirrors sys/vm/vm_phys.c (the physical memory allocator) and the page-frame side of
// sys/vm/vm_reserv.c (reservations: keep an object's consecutive pages physically contiguous).
//
// Ownership: VmPhys owns the one ArrayBuffer that is physical memory, the vm_page array and the
// free list. A page is on the free list (queue PQ_FREE, its bit set in freeBits) exactly while it belongs
// to nobody; `allocFrame` takes it off, `freeFrame` puts it back. Everything else about a page
// (object, queues, wiring) is the Vm's business.
//
// XXX(sim): the kernel's buddy allocator and 2 MiB reservations are replaced by a free list plus a
// "take this frame" operation and a scan for the largest free run; enough to give sequentially
// read file pages contiguous frames, which later stages join into one view.
import { kassert, PAGE_SIZE, pagesCeil, SysError } from '../kern/index.js';
import { PQ_FREE, PQ_NONE, VmPage } from './page.js';
import { VmPagequeue } from './pagequeue.js';

export class VmPhys {
  readonly physmem: ArrayBuffer;
  readonly pageCount: number;
  readonly pages: readonly VmPage[];
  /** The free list: freed pages go to the tail, "any free frame" comes from the head. */
  readonly free: VmPagequeue;
  /** Bit i set when frame i is free: a compact copy of `queue === PQ_FREE` for the run scan. */
  private readonly freeBits: Uint32Array;

  constructor(physmemBytes: number) {
    kassert(
      Number.isSafeInteger(physmemBytes) && physmemBytes >= PAGE_SIZE && physmemBytes % PAGE_SIZE === 0,
      () => `vm_phys: physmemBytes ${physmemBytes} is not a positive multiple of PAGE_SIZE`,
    );
    this.physmem = allocPhysmem(physmemBytes);
    this.pageCount = pagesCeil(physmemBytes);
    this.free = new VmPagequeue(PQ_FREE, 'vm_phys free list');
    this.freeBits = new Uint32Array(Math.ceil(this.pageCount / 32));
    const pages: VmPage[] = [];
    for (let i = 0; i < this.pageCount; i++) {
      const m = new VmPage(i);
      m.queue = PQ_NONE; // until the free list takes it
      pages.push(m);
      this.free.insertTail(m);
      this.setFree(i, true);
    }
    this.pages = pages;
  }

  /** A view of page `m` (PHYS_TO_DMAP(VM_PAGE_TO_PHYS(m))): never a copy. */
  pageBytes(m: VmPage): Uint8Array {
    return new Uint8Array(this.physmem, m.physAddr, PAGE_SIZE);
  }

  /** A view of physical memory [physAddr, physAddr + lengthBytes), which may span pages. */
  physBytes(physAddr: number, lengthBytes: number): Uint8Array {
    kassert(
      physAddr >= 0 && lengthBytes >= 0 && physAddr + lengthBytes <= this.physmem.byteLength,
      () => `physBytes: [${physAddr}, +${lengthBytes}) outside physical memory ${this.physmem.byteLength}`,
    );
    return new Uint8Array(this.physmem, physAddr, lengthBytes);
  }

  isFree(physIndex: number): boolean {
    return (((this.freeBits[physIndex >>> 5] as number) >>> (physIndex & 31)) & 1) === 1;
  }

  private setFree(physIndex: number, free: boolean): void {
    const w = physIndex >>> 5;
    const bit = 1 << (physIndex & 31);
    const word = this.freeBits[w] as number;
    this.freeBits[w] = free ? word | bit : word & ~bit;
  }

  /**
   * Takes a free frame off the free list: `preferred` when it is free (the frame after the
   * object's previous page, as a reservation would give), else a frame chosen by `pickFrame`.
   * Returns null when no frame is free.
   */
  allocFrame(preferred: number): VmPage | null {
    if (this.free.count === 0) return null;
    const index = preferred >= 0 && preferred < this.pageCount && this.isFree(preferred) ? preferred : -1;
    const m = this.pages[index >= 0 ? index : this.pickFrame()];
    kassert(m && m.queue === PQ_FREE, () => `vm_phys_alloc: frame ${index} is not free`);
    this.free.remove(m);
    this.setFree(m.physIndex, false);
    return m;
  }

  /** Returns a page (already disowned by the Vm) to the tail of the free list. */
  freeFrame(m: VmPage): void {
    kassert(
      m.object === null && m.wireCount === 0 && !m.busy,
      () => `vm_phys_free: page ${m.physIndex} still owned (wire ${m.wireCount}, busy ${m.busy})`,
    );
    this.free.insertTail(m);
    this.setFree(m.physIndex, true);
  }

  /**
   * A frame for a page with no physical neighbour: the start of the largest free run. When the
   * frame just before that run holds some object's last page, start halfway into the run so that
   * object can still grow contiguously (a reservation left to its owner).
   */
  private pickFrame(): number {
    const [bestStart, bestLen] = this.largestFreeRun();
    kassert(bestStart >= 0, 'vm_phys: free count > 0 but no free frame');
    const before = bestStart > 0 ? this.pages[bestStart - 1] : undefined;
    if (before?.object && bestLen > 1 && !before.object.pages.has(before.pindex + 1)) {
      return bestStart + (bestLen >> 1);
    }
    return bestStart;
  }

  /** [start, length] of the longest run of free frames, scanning the bitmap a run at a time. */
  largestFreeRun(): [number, number] {
    let bestStart = -1;
    let bestLen = 0;
    let runStart = 0;
    let runLen = 0;
    const words = this.freeBits;
    for (let w = 0; w < words.length; w++) {
      const bits = words[w] as number;
      if (bits === 0xffffffff) {
        if (runLen === 0) runStart = w * 32;
        runLen += 32;
        continue;
      }
      for (let b = 0; b < 32; ) {
        const rest = bits >>> b;
        if (rest & 1) {
          const ones = ctz(~rest);
          if (runLen === 0) runStart = w * 32 + b;
          runLen += ones;
          b += ones;
        } else {
          if (runLen > bestLen) [bestStart, bestLen] = [runStart, runLen];
          runLen = 0;
          b += rest === 0 ? 32 - b : ctz(rest);
        }
      }
    }
    if (runLen > bestLen) [bestStart, bestLen] = [runStart, runLen];
    return [bestStart, bestLen];
  }

  /** The free list and the free bitmap agree. */
  check(problems: string[]): void {
    this.free.check(problems);
    let n = 0;
    for (const word of this.freeBits) n += popcount(word);
    if (n !== this.free.count) problems.push(`vm_phys: ${n} free bits, ${this.free.count} on the free list`);
  }
}

/** Count of trailing zero bits of a non-zero 32-bit value. */
function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}

/** Count of set bits of a 32-bit value. */
function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** The one ArrayBuffer of physical memory; ENOMEM (one line) when the host cannot give it. */
function allocPhysmem(physmemBytes: number): ArrayBuffer {
  try {
    return new ArrayBuffer(physmemBytes);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    throw new SysError(
      'ENOMEM',
      `physmemBytes ${physmemBytes}: the host could not allocate that much memory`,
    );
  }
}
