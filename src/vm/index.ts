// src/vm: the public header of the vm room (sys/vm): physical memory, struct vm_page, page queues,
// wiring, vm objects (the buffer cache), the vnode pager and the page daemon.
// Imports kern only. Other rooms import only this file.
export { vmPageBusySleep } from './busy.js';
export { vmPageAllocNoobj, vmPageFreeNoobj } from './noobj.js';
export { VmObject, type VmObjectStat } from './object.js';
export {
  vmObjectClose,
  vmObjectDeallocate,
  vmObjectOpen,
  vmObjectReference,
  vmObjectRevalidate,
  vmObjectRevalidateStale,
} from './objectops.js';
export {
  type PageQueue,
  PQ_ACTIVE,
  PQ_FREE,
  PQ_INACTIVE,
  PQ_NONE,
  VM_ALLOC_NORMAL,
  VM_ALLOC_WAITFAIL,
  VmPage,
  type VmPageOwner,
  VPR_NOREUSE,
  VPR_TRYFREE,
} from './page.js';
export { vmPageoutScan } from './pageout.js';
export { PAGER_READS_MAX, vmPagerGetPages } from './pager.js';
export { Vm } from './vm.js';
export { VM_PHYSMEM_DEFAULT_BYTES, type VmConfig, type VmStats } from './vmtypes.js';
