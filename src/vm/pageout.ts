// Mirrors sys/vm/vm_pageout.c: the page daemon's inactive and active queue scans.
//
// When free pages fall below the low-water mark, reclaim unwired, unbusied pages (all pages are
// clean here: no laundry) least recently used first. The inactive queue is scanned from its head:
// a page marked referenced gets a second chance (reactivated: to the active tail, counted in
// `reactivations`); any other is freed (`evictions`). If that is not enough, the active queue
// ages: referenced pages lose the mark and go to its tail, the rest move to the inactive tail; then
// the inactive queue is scanned again. A wired page met on a queue is taken off it there (the
// lazy dequeue of PGA_DEQUEUE; its last unwiring requeues it) and never freed; busy pages are
// skipped. Visits are bounded, so a scan always ends.
//
// XXX(sim): the kernel runs the daemon as its own thread, woken by vm_page_alloc; we run the scan
// synchronously inside an allocation that would sleep in vm_wait (never in a read-ahead one),
// and there are no act_count levels (one referenced bit is the whole of the aging).
import { PQ_INACTIVE, type VmPage } from './page.js';
import type { VmInternals } from './vmtypes.js';

/** Reclaims pages until `targetFreePages` are free or nothing more can go; returns pages freed. */
export function vmPageoutScan(vm: VmInternals, targetFreePages = vm.freeTargetPages): number {
  const shortage = targetFreePages - vm.phys.free.count;
  if (shortage <= 0) return 0;
  let freed = scanInactive(vm, shortage);
  if (freed < shortage) {
    scanActive(vm, shortage - freed);
    freed += scanInactive(vm, shortage - freed);
  }
  vm.trace.emit('pageout', () => ({ shortage, freed, free: vm.phys.free.count }));
  return freed;
}

/** vm_pageout_scan_inactive: frees up to `want` pages from the head; returns how many. */
function scanInactive(vm: VmInternals, want: number): number {
  let freed = 0;
  let budget = vm.inactive.count;
  let m: VmPage | null = vm.inactive.head;
  while (m && budget-- > 0 && freed < want) {
    const next: VmPage | null = m.qnext;
    if (m.wireCount > 0) {
      dequeueWired(vm, m);
    } else if (m.busy) {
      // vm_page_tryxbusy failed: someone is using the page; leave it.
    } else if (m.referenced) {
      m.referenced = false;
      vm.inactive.remove(m);
      vm.active.insertTail(m);
      vm.cnt.reactivations++;
    } else {
      vm.vmPageFree(m);
      vm.cnt.evictions++;
      freed++;
    }
    m = next;
  }
  return freed;
}

/**
 * vm_pageout_scan_active: moves up to `want` unreferenced pages to the inactive tail. A referenced
 * page loses its mark and is requeued; the budget lets it be seen twice, so the scan deactivates
 * something whenever the queue holds an unbusied page.
 */
function scanActive(vm: VmInternals, want: number): void {
  let moved = 0;
  let budget = 2 * vm.active.count;
  let m: VmPage | null = vm.active.head;
  while (m && budget-- > 0 && moved < want) {
    const next: VmPage | null = m.qnext;
    if (m.wireCount > 0) {
      dequeueWired(vm, m);
    } else if (m.busy) {
      // skip
    } else if (m.referenced) {
      m.referenced = false;
      vm.active.requeue(m);
    } else {
      vm.active.remove(m);
      vm.inactive.insertTail(m);
      moved++;
    }
    m = next ?? vm.active.head; // past the tail: wrap round to the pages requeued there
  }
}

/** vm_page_dequeue_deferred of a wired page the scan met: it leaves the queue it is on. */
function dequeueWired(vm: VmInternals, m: VmPage): void {
  if (m.queue === PQ_INACTIVE) vm.inactive.remove(m);
  else vm.active.remove(m);
  vm.wiredQueuedPages--;
}
