// Mirrors vm_page_alloc_noobj(9) with VM_ALLOC_WIRED (sys/vm/vm_page.c) and the free of such a
// page: anonymous pages that belong to no object, wired from birth, for kernel buffers such as
// the ciphertext KTLS writes (ktls_encrypt) or the pages of an M_EXTPG header (m_uiotombuf).
import { kassert } from '../kern/index.js';
import { PQ_NONE, type VmPage } from './page.js';
import { vmPageoutScan } from './pageout.js';
import type { VmInternals } from './vmtypes.js';

/**
 * vm_page_alloc_noobj(VM_ALLOC_WIRED): a wired page of no object, or null when none is free.
 * It takes frame `preferred` when free (the next one of a multi-page buffer), else the frame
 * freed last: short-lived kernel buffers reuse each other's frames and leave the long free runs
 * that file pages are given alone (and no search of the free bitmap is needed).
 */
export function vmPageAllocNoobj(vm: VmInternals, preferred = -1): VmPage | null {
  if (vm.phys.free.count < vm.freeTargetPages) vmPageoutScan(vm);
  const last = vm.phys.free.tail;
  if (last === null) return null;
  const m = vm.phys.allocFrame(preferred >= 0 && vm.phys.isFree(preferred) ? preferred : last.physIndex);
  if (m === null) return null;
  kassert(m.object === null && m.wireCount === 0, () => `vm_page_alloc_noobj: frame ${m.physIndex} in use`);
  m.queue = PQ_NONE;
  m.busy = false;
  m.valid = true;
  m.referenced = false;
  m.wireCount = 1;
  vm.cnt.v_wire_count++;
  return m;
}

/** vm_page_unwire_noq + vm_page_free of an anonymous page: its one wiring goes, then the page. */
export function vmPageFreeNoobj(vm: VmInternals, m: VmPage): void {
  kassert(
    m.object === null && m.wireCount === 1,
    () => `vm_page_free_noobj: page ${m.physIndex} wire ${m.wireCount}`,
  );
  m.wireCount = 0;
  vm.cnt.v_wire_count--;
  vm.vmPageFree(m);
}
