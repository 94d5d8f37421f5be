// Mirrors the busy lock of sys/vm/vm_page.c: vm_page_xunbusy (with its wakeup of the sleepers)
// and vm_page_busy_sleep ("pgbusy").
//
// A page is busied by vmPageAlloc (a fresh page) or vmPageTryXbusy (to read it again) and
// unbusied when its read ends. Sleepers wait on a queue of their own per page, created on the
// first sleep and dropped at the unbusy that wakes them. An unwired page leaving busy goes to the
// inactive tail if it holds the file's bytes; if it does not (never read, or the read failed), or
// its object let go of it meanwhile, it is freed (vm_page_readahead_finish does the same).
import { panic, WaitQueue } from '../kern/index.js';
import { PQ_NONE, type VmPage } from './page.js';
import type { VmInternals } from './vmtypes.js';

export function pageUnbusy(vm: VmInternals, m: VmPage): void {
  if (!m.busy) panic(`vm_page_xunbusy: page ${m.physIndex} is not busy`);
  m.busy = false;
  const q = vm.busyWaits.get(m);
  if (q) {
    vm.busyWaits.delete(m);
    q.wakeAll();
  }
  if (m.wireCount !== 0) return;
  if (m.object === null || (!m.valid && m.queue === PQ_NONE)) vm.vmPageFree(m);
  else if (m.queue === PQ_NONE) {
    vm.inactive.insertTail(m);
    if (vm.vmwait.length > 0) vm.vmwait.wakeAll();
  }
}

/** vm_page_busy_sleep: resolves when `m` is unbusied (at once if it is not busy). */
export function vmPageBusySleep(vm: VmInternals, m: VmPage, signal?: AbortSignal): Promise<void> {
  if (!m.busy) return Promise.resolve();
  let q = vm.busyWaits.get(m);
  if (!q) {
    q = new WaitQueue('pgbusy');
    vm.busyWaits.set(m, q);
  }
  return q.sleep(signal);
}
