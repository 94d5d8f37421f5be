// Mirrors sys/vm/vm_page.c: page allocation and freeing, wiring (vm_page_wire, vm_page_unwire,
// vm_page_release, vm_page_release_toq), the busy lock and its sleepers, and vm_wait.
//
// Ownership and refcount protocol of a page (see page.ts for the fields):
// - free: on the free list, no object, wireCount 0, not busy, invalid.
// - allocated by vmPageAlloc: in its object, busy (the caller's), invalid, on no queue.
// - wired (wireCount > 0): never freed or evicted. The 0->1 wiring leaves the page on its queue
//   (PGA_DEQUEUE, FreeBSD 12 and later): the page daemon dequeues a wired page when its scan meets
//   it; the last unwiring requeues the page (vm_page_release_toq rules) or frees it when its object
//   has let go of it (file changed) or VPR_TRYFREE asks.
// - unwired and unbusied: on the inactive or active queue, where the page daemon may reclaim it.
// So free + active + inactive + wired - (wired, still queued) + (busy, unwired, on no queue) =
// every page, always: as in the kernel, pq_cnt counts a wired page until it is dequeued.
import { kassert, panic, type Tracer, tracer, WaitQueue } from '../kern/index.js';
import { pageUnbusy } from './busy.js';
import { checkVmInvariants, checkVmPage, vmAtRest, vmStats } from './invariants.js';
import type { VmObject } from './object.js';
import * as page from './page.js';
import { VM_ALLOC_WAITFAIL, type VmPage } from './page.js';
import { vmPageoutScan } from './pageout.js';
import { VmPagequeue } from './pagequeue.js';
import { VmPhys } from './phys.js';
import * as radix from './radix.js';
import {
  VM_PHYSMEM_DEFAULT_BYTES,
  type VmCnt,
  type VmConfig,
  type VmInternals,
  type VmStats,
  zeroVmCnt,
} from './vmtypes.js';

// Module-local copies of the constants the per-page code tests: V8 reads an imported binding
// through its module cell at every use (a load and a check), a module-local const not at all.
const { PQ_ACTIVE, PQ_FREE, PQ_INACTIVE, PQ_NONE, VPR_TRYFREE } = page;
const { VM_RADIX_LEAF_PAGES } = radix;

export class Vm implements VmInternals {
  readonly config: VmConfig;
  readonly physmem: ArrayBuffer;
  readonly pageCount: number;
  readonly pages: readonly VmPage[];
  readonly freeTargetPages: number;
  readonly freeReservedPages: number;
  /** Debug mode: the O(n) check after every state change (config.invariants). */
  readonly invariants: boolean;
  /**
   * Debug mode runs the full O(n) sweep every `sweepEvery` page operations and checks the page
   * just changed after each one. XXX(sim): every operation on memories up to 512 pages (the
   * tests'); on a 64 MiB memory every 32nd, so that debug-mode end-to-end runs stay usable.
   */
  private readonly sweepEvery: number;
  private changesSinceSweep = 0;
  /** @internal the physical allocator and free list */
  readonly phys: VmPhys;
  /** @internal vm_pagequeues */
  readonly inactive = new VmPagequeue(PQ_INACTIVE, 'inactive queue');
  readonly active = new VmPagequeue(PQ_ACTIVE, 'active queue');
  /** @internal the object registry, by (dev, ino) */
  readonly objects = new Map<string, VmObject>();
  /** @internal */
  readonly cnt: VmCnt = zeroVmCnt();
  /** @internal "vmwait": sleepers for a free or reclaimable page */
  readonly vmwait = new WaitQueue('vmwait');
  /** @internal "pgbusy": sleepers per busy page */
  readonly busyWaits = new Map<VmPage, WaitQueue>();
  /** @internal the pager's host reads in flight and "vnread": page-ins waiting for a slot */
  readonly pagerReads = { inflight: 0, queue: new WaitQueue('vnread') };
  readonly trace: Tracer;
  /** @internal */
  nextObjectId = 1;
  /** Highest v_wire_count since the last takeWirePeak. */
  private wirePeakPages = 0;
  /** @internal wired pages not yet dequeued (counted by v_wire_count and by their queue's pq_cnt) */
  wiredQueuedPages = 0;

  constructor(config: VmConfig) {
    this.config = config;
    this.invariants = config.invariants;
    this.phys = new VmPhys(config.physmemBytes ?? VM_PHYSMEM_DEFAULT_BYTES);
    this.physmem = this.phys.physmem;
    this.pageCount = this.phys.pageCount;
    this.pages = this.phys.pages;
    this.freeTargetPages = Math.min(
      this.pageCount,
      config.freeTargetPages ?? Math.max(8, Math.floor(this.pageCount / 32)),
    );
    // XXX(sim): FreeBSD sizes v_free_reserved from fixed amounts (vm_pageout_init_domain), about
    // half of v_free_target on a 16 MiB machine; half of our target keeps it in proportion.
    this.freeReservedPages = Math.floor(this.freeTargetPages / 2);
    this.trace = tracer('vm', config.kernelId);
    this.sweepEvery = Math.max(1, Math.ceil(this.pageCount / 512));
  }

  /** PHYS_TO_DMAP(VM_PAGE_TO_PHYS(m)): the page's bytes, a view of physmem (never a copy). */
  pageBytes(m: VmPage): Uint8Array {
    return this.phys.pageBytes(m);
  }

  /** PHYS_TO_DMAP(pa): a view of physical memory that may span pages. */
  physBytes(physAddr: number, lengthBytes: number): Uint8Array {
    return this.phys.physBytes(physAddr, lengthBytes);
  }

  // ---- the buffer cache: vm objects

  /** The highest v_wire_count since the last call; the next interval starts at the current count. */
  takeWirePeak(): number {
    const peak = Math.max(this.wirePeakPages, this.cnt.v_wire_count);
    this.wirePeakPages = this.cnt.v_wire_count;
    return peak;
  }

  /** vm_page_lookup: the resident page at `pindex`, or null. */
  vmPageLookup(obj: VmObject, pindex: number): VmPage | null {
    const m = obj.pages.get(pindex) ?? null;
    if (this.trace.on) this.traceLookup(obj, pindex, m);
    return m;
  }

  /**
   * vm_page_grab_pages(VM_ALLOC_WIRED | VM_ALLOC_NOCREAT) for the part sendfile_swapin finds in the
   * cache: wires the resident, valid, unbusied pages from `pindex` on into `pa[from…]`, at most
   * `count`, and stops at the first page that is absent, busy or invalid. Returns the pages wired.
   * Each page is looked up, wired, counted and traced exactly as vmPageLookup and vmPageWire do;
   * the run only walks the object's leaf once instead of once per page.
   */
  vmPageGrabValidRun(
    obj: VmObject,
    pindex: number,
    pa: (VmPage | null)[],
    from: number,
    count: number,
  ): number {
    if (this.trace.on || this.invariants) return this.grabValidRunTraced(obj, pindex, pa, from, count);
    let n = 0;
    // vm_page_wire's counters, added once for the run (nobody looks in between).
    let newlyWired = 0;
    let newlyWiredQueued = 0;
    while (n < count) {
      const p = pindex + n;
      const leaf = obj.pages.leafOf(p);
      if (leaf === undefined) break;
      const lo0 = p % VM_RADIX_LEAF_PAGES;
      const lo1 = Math.min(VM_RADIX_LEAF_PAGES, lo0 + count - n);
      let lo = lo0;
      for (; lo < lo1; lo++) {
        const m = leaf[lo];
        if (m === null || m === undefined || m.busy || !m.valid) break;
        if (m.queue === PQ_FREE) panic(`vm_page_wire: page ${m.physIndex} is free`);
        if (m.wireCount++ === 0) {
          newlyWired++;
          if (m.queue !== PQ_NONE) {
            m.referenced = true;
            newlyWiredQueued++;
          }
        }
        pa[from + n + lo - lo0] = m;
      }
      n += lo - lo0;
      if (lo < lo1) break;
    }
    this.wiredQueuedPages += newlyWiredQueued;
    this.cnt.v_wire_count += newlyWired;
    if (this.cnt.v_wire_count > this.wirePeakPages) this.wirePeakPages = this.cnt.v_wire_count;
    return n;
  }

  private grabValidRunTraced(
    obj: VmObject,
    pindex: number,
    pa: (VmPage | null)[],
    from: number,
    count: number,
  ): number {
    let n = 0;
    for (; n < count; n++) {
      // The page that ends the run is left for the caller to look up (and trace) itself.
      const m = obj.pages.get(pindex + n);
      if (m === undefined || m.busy || !m.valid) break;
      this.vmPageLookup(obj, pindex + n);
      this.vmPageWire(m);
      pa[from + n] = m;
    }
    return n;
  }

  private traceLookup(obj: VmObject, pindex: number, m: VmPage | null): void {
    const state = m === null ? 'absent' : m.busy ? 'busy' : m.valid ? 'valid' : 'invalid';
    this.trace.emit('lookup', () => ({ object: obj.id, pindex, physIndex: m?.physIndex ?? null, state }));
  }

  /** A wiring changed: the page, its place in its object and the wire count after the change. */
  private traceWire(event: 'wire' | 'unwire', m: VmPage): void {
    this.trace.emit(event, () => ({
      object: m.object?.id ?? null,
      pindex: m.pindex,
      physIndex: m.physIndex,
      wired: m.wireCount,
    }));
  }

  /**
   * vm_page_alloc: a new page for (obj, pindex), busy (the caller's), invalid, on no queue,
   * physically right after obj's page pindex-1 when that frame is free; null when none is given.
   * VM_ALLOC_NORMAL alone (the pager's read-ahead) takes a page only while more than
   * v_free_reserved are free, and never reclaims one. With VM_ALLOC_WAITFAIL (vm_page_grab's
   * pages, which a caller needs) a shortage below v_free_target runs the page daemon first.
   * XXX(sim): FreeBSD wakes the daemon, a thread of its own, and the waiting caller sleeps in
   * vm_wait until it has freed pages; we run its scan in the caller that would have slept, and
   * that caller may then take a page below the reserve.
   */
  vmPageAlloc(obj: VmObject, pindex: number, req = VM_ALLOC_WAITFAIL): VmPage | null {
    kassert(Number.isSafeInteger(pindex) && pindex >= 0, () => `vm_page_alloc: bad pindex ${pindex}`);
    kassert(!obj.pages.has(pindex), () => `vm_page_alloc: object ${obj.id} already has page ${pindex}`);
    kassert(obj.ref_count > 0, () => `vm_page_alloc: object ${obj.id} is closed`);
    const free = this.phys.free.count;
    if ((req & VM_ALLOC_WAITFAIL) === 0) {
      if (free <= this.freeReservedPages) return null;
    } else if (free < this.freeTargetPages) {
      vmPageoutScan(this);
    }
    const prev = obj.pages.get(pindex - 1);
    const m = this.phys.allocFrame(prev ? prev.physIndex + 1 : -1);
    if (!m) return null;
    m.object = obj;
    m.pindex = pindex;
    m.busy = true;
    m.valid = false;
    m.referenced = false;
    obj.pages.set(pindex, m);
    if (this.invariants) this.changed(m);
    return m;
  }

  /** vm_page_free: returns an unwired, unbusied page to the free list, leaving its object. */
  vmPageFree(m: VmPage): void {
    if (m.wireCount !== 0) panic(`vm_page_free: page ${m.physIndex} is wired (${m.wireCount})`);
    if (m.busy) panic(`vm_page_free: page ${m.physIndex} is busy`);
    if (m.queue === PQ_FREE) panic(`vm_page_free: page ${m.physIndex} is already free`);
    if (m.queue === PQ_INACTIVE) this.inactive.remove(m);
    else if (m.queue === PQ_ACTIVE) this.active.remove(m);
    const obj = m.object as VmObject | null;
    if (obj) {
      obj.pages.delete(m.pindex);
      m.object = null;
      this.reapObject(obj);
    }
    m.valid = false;
    m.referenced = false;
    this.phys.freeFrame(m);
    if (this.vmwait.length > 0) this.vmwait.wakeAll();
  }

  /**
   * vm_page_wire: one more holder. The 0->1 wiring leaves the page on its queue, to be dequeued
   * lazily (PGA_DEQUEUE). Wiring a page found on a queue (a cache hit) marks it referenced, so the
   * page daemon gives it a second chance.
   * XXX(sim): the kernel learns of use from pmap reference bits; our pages are never mapped in a
   * user pmap, so a new wiring of a cached page stands for the access.
   */
  vmPageWire(m: VmPage): void {
    if (m.queue === PQ_FREE) panic(`vm_page_wire: page ${m.physIndex} is free`);
    if (m.wireCount++ === 0) {
      if (m.object === null) panic(`vm_page_wire: page ${m.physIndex} has no object`);
      if (m.queue !== PQ_NONE) {
        m.referenced = true;
        this.wiredQueuedPages++;
      }
      if (++this.cnt.v_wire_count > this.wirePeakPages) this.wirePeakPages = this.cnt.v_wire_count;
    }
    if (this.trace.on) this.traceWire('wire', m);
    if (this.invariants) this.changed(m);
  }

  /**
   * vm_page_unwire(m, queue): drops one wiring; returns true when it was the last. Then the page
   * goes back to a queue by the vm_page_release_toq rules, or is freed if its object let it go.
   */
  vmPageUnwire(m: VmPage, queue: typeof PQ_ACTIVE | typeof PQ_INACTIVE): boolean {
    const last = this.unwireNoq(m);
    if (last) this.releaseToq(m, queue, false);
    if (this.invariants) this.changed(m);
    return last;
  }

  /**
   * vm_page_release(m, flags), the sendfile free callback's call. Without VPR_TRYFREE: unwire
   * toward the inactive queue (VPR_NOREUSE: its head). With VPR_TRYFREE and the page not busy:
   * the last unwiring frees the (always clean) page; if busy, unwire with no-reuse semantics.
   */
  vmPageRelease(m: VmPage, flags: number): void {
    // vm_page_release_locked when VPR_TRYFREE finds the page unbusied. XXX(sim): no pmap, so a
    // page is never mapped and always clean.
    const tryfree = (flags & VPR_TRYFREE) !== 0 && !m.busy && m.object !== null;
    if (this.unwireNoq(m)) {
      if (tryfree) this.vmPageFree(m);
      else this.releaseToq(m, PQ_INACTIVE, flags !== 0);
    }
    if (this.invariants) this.changed(m);
  }

  /** vm_page_unwire_noq: drops one wiring without touching queues; true on the last. */
  private unwireNoq(m: VmPage): boolean {
    if (m.wireCount <= 0) notWired(m);
    --m.wireCount;
    if (this.trace.on) this.traceWire('unwire', m);
    if (m.wireCount !== 0) return false;
    this.cnt.v_wire_count--;
    if (m.queue !== PQ_NONE) this.wiredQueuedPages--;
    return true;
  }

  /**
   * vm_page_release_toq: the last unwiring requeues the page. No valid data or no reuse: head of
   * inactive (reclaimed first, PGA_REQUEUE_HEAD). Still on the active queue: stays there, marked
   * referenced. Otherwise the tail of `queue` (PGA_REQUEUE: LRU). A page whose object let go of it
   * is freed instead (or, while a read still owns it, dequeued for the pager to free).
   */
  private releaseToq(m: VmPage, queue: number, noreuse: boolean): void {
    // The common case first, in a few tests (a cached page sent and released to the inactive
    // queue), so that this stays small enough to be inlined into the free callbacks.
    if (queue === PQ_INACTIVE && m.queue === PQ_INACTIVE && !noreuse && m.valid && m.object !== null) {
      this.inactive.requeue(m);
    } else if (!this.releaseToqOther(m, queue, noreuse)) {
      return;
    }
    if (this.vmwait.length > 0) this.vmwait.wakeAll();
  }

  /** releaseToq's other cases; false when the page left its object (freed or left to the pager). */
  private releaseToqOther(m: VmPage, queue: number, noreuse: boolean): boolean {
    if (m.object === null) {
      if (!m.busy) this.vmPageFree(m);
      else this.dequeue(m);
      return false;
    }
    if (noreuse || !m.valid) {
      this.dequeue(m);
      this.inactive.insertHead(m);
    } else if (m.queue === PQ_ACTIVE) {
      m.referenced = true;
    } else if (queue === PQ_INACTIVE && m.queue === PQ_INACTIVE) {
      this.inactive.requeue(m);
    } else {
      this.dequeue(m);
      (queue === PQ_ACTIVE ? this.active : this.inactive).insertTail(m);
    }
    return true;
  }

  /** vm_page_dequeue: takes an unwired page off the active or inactive queue, if it is on one. */
  private dequeue(m: VmPage): void {
    if (m.queue === PQ_INACTIVE) this.inactive.remove(m);
    else if (m.queue === PQ_ACTIVE) this.active.remove(m);
  }

  /** vm_page_xunbusy: ends the busy; an unwired page goes to a queue (or is freed if invalid). */
  vmPageXunbusy(m: VmPage): void {
    this.unbusy(m);
    if (this.invariants) this.changed(m);
  }

  /** @internal vmPageXunbusy without the invariant check (the pager checks once per read). */
  unbusy(m: VmPage): void {
    pageUnbusy(this, m);
  }

  /**
   * vm_page_tryxbusy: takes the busy lock of a resident page if nobody holds it (as vm_page_grab
   * does to read an invalid page again). The page keeps its queue and wirings; the daemon skips it.
   */
  vmPageTryXbusy(m: VmPage): boolean {
    if (m.busy || m.queue === PQ_FREE || m.object === null) return false;
    m.busy = true;
    if (this.invariants) this.changed(m);
    return true;
  }

  /**
   * vm_page_grab of a resident page left invalid by a failed read, to read it again: freed and
   * allocated afresh (busy, the caller's) when nobody holds it; null when memory has no page.
   * XXX(sim): when a holder still wires it, it is busied in place, as the kernel's grab xbusies it.
   */
  vmPageRegrab(obj: VmObject, m: VmPage): VmPage | null {
    kassert(!m.valid && !m.busy, () => `vmPageRegrab: page ${m.physIndex} valid ${m.valid} busy ${m.busy}`);
    if (m.wireCount === 0) {
      const pindex = m.pindex;
      this.vmPageFree(m);
      return this.vmPageAlloc(obj, pindex);
    }
    m.busy = true;
    if (this.invariants) this.changed(m);
    return m;
  }

  /** vm_wait: sleeps until a page is freed or becomes reclaimable; EINTR if `signal` aborts. */
  vmWait(signal?: AbortSignal): Promise<void> {
    return this.vmwait.sleep(signal);
  }

  /** Pages free or on a paging queue, that memory could give (no snapshot: asked per response). */
  get reclaimablePages(): number {
    return this.phys.free.count + this.active.count + this.inactive.count;
  }

  /** A frozen snapshot of the counters (sysctl vm.stats.vm). */
  get stats(): VmStats {
    return vmStats(this);
  }

  /** What is not at rest: wired or busy pages, sleepers, reads in flight. Empty = at rest. */
  atRest(): string[] {
    return vmAtRest(this);
  }

  /** The O(n) checks; throws KernelAssertionError naming the first broken rule. */
  checkInvariants(): void {
    checkVmInvariants(this);
  }

  /** Debug mode after a change to `m`: its own rules now, the full sweep every `sweepEvery`. */
  private changed(m: VmPage): void {
    if (++this.changesSinceSweep >= this.sweepEvery) {
      this.changesSinceSweep = 0;
      checkVmInvariants(this);
    } else {
      checkVmPage(this, m);
    }
  }

  /** @internal drops an object from the registry once nothing holds it or its pages. */
  reapObject(obj: VmObject): void {
    if (obj.ref_count > 0 || obj.pages.size > 0 || obj.paging_in_progress > 0) return;
    if (this.objects.get(obj.key) === obj) this.objects.delete(obj.key);
  }
}

function notWired(m: VmPage): never {
  panic(`vm_page_unwire: page ${m.physIndex} is not wired`);
}
