// The vm room's configuration and counters (vm.stats.vm.* sysctls and struct vmmeter, sys/sys/vmmeter.h).
import type { Clock, Tracer, WaitQueue } from '../kern/index.js';
import type { VmObject } from './object.js';
import type { VmPage } from './page.js';
import type { VmPagequeue } from './pagequeue.js';
import type { VmPhys } from './phys.js';

/** Physical memory when the config names none: 64 MiB (16384 pages). */
export const VM_PHYSMEM_DEFAULT_BYTES = 64 * 1024 * 1024;

export interface VmConfig {
  /** Physical memory, a multiple of PAGE_SIZE (default 64 MiB). */
  readonly physmemBytes?: number | undefined;
  readonly invariants: boolean;
  readonly clock: Clock;
  readonly kernelId: number;
  /** Page daemon low-water mark (v_free_target): default 1/32 of memory, at least 8 pages. */
  readonly freeTargetPages?: number | undefined;
  /** Simulated disk: time added per pager read (0 = off). */
  readonly diskLatencyMs?: number | undefined;
  /** Simulated disk: bytes / bandwidth added per pager read (0 = off). */
  readonly diskBandwidthMBps?: number | undefined;
  /** Fault injection: return true to fail this pager read with EIO. */
  readonly pagerFault?: ((obj: VmObject, pindex: number, count: number) => boolean) | undefined;
}

/** A sysctl-style snapshot (vm.stats.vm.* plus our pager and daemon counters). */
export interface VmStats {
  readonly v_page_count: number;
  readonly v_free_count: number;
  readonly v_active_count: number;
  readonly v_inactive_count: number;
  readonly v_wire_count: number;
  /** Unwired pages that are busy and on no queue (being paged in for a caller that did not wire). */
  readonly v_busy_unqueued_count: number;
  /** Pager reads (I/Os) started. */
  readonly pageins: number;
  /** Pages filled by pager reads, read-ahead included (v_vnodepgsin). */
  readonly pages_paged_in: number;
  /** Read-ahead pages allocated beyond a requested run. */
  readonly readahead_pages: number;
  /** Inactive pages found referenced by the page daemon and moved back to active. */
  readonly reactivations: number;
  /** Pages the page daemon freed. */
  readonly evictions: number;
  /** Cached pages dropped because their file changed. */
  readonly invalidations: number;
  /** Times vmWait slept. */
  readonly vm_waits: number;
}

export function zeroVmCnt(): VmCnt {
  return {
    v_wire_count: 0,
    pageins: 0,
    pages_paged_in: 0,
    readahead_pages: 0,
    reactivations: 0,
    evictions: 0,
    invalidations: 0,
  };
}

/** Counters the code bumps in place (vm_cnt). */
export interface VmCnt {
  v_wire_count: number;
  pageins: number;
  pages_paged_in: number;
  readahead_pages: number;
  reactivations: number;
  evictions: number;
  invalidations: number;
}

/**
 * The Vm as its own helper files see it (the pager, the page daemon, the object life cycle and the
 * invariant check): its internals, without an import cycle back to vm.ts.
 */
export interface VmInternals {
  readonly config: VmConfig;
  readonly pageCount: number;
  readonly pages: readonly VmPage[];
  readonly freeTargetPages: number;
  /** v_free_reserved: free pages a VM_ALLOC_NORMAL allocation leaves alone. */
  readonly freeReservedPages: number;
  readonly phys: VmPhys;
  readonly inactive: VmPagequeue;
  readonly active: VmPagequeue;
  readonly objects: Map<string, VmObject>;
  readonly cnt: VmCnt;
  readonly vmwait: WaitQueue;
  readonly busyWaits: Map<VmPage, WaitQueue>;
  /** The pager's host reads in flight, and the page-ins waiting for one of the slots (pager.ts). */
  readonly pagerReads: { inflight: number; readonly queue: WaitQueue };
  /** Wired pages not yet dequeued (PGA_DEQUEUE pending): counted by v_wire_count and pq_cnt both. */
  wiredQueuedPages: number;
  readonly trace: Tracer;
  nextObjectId: number;
  vmPageAlloc(obj: VmObject, pindex: number, req?: number): VmPage | null;
  vmPageFree(m: VmPage): void;
  unbusy(m: VmPage): void;
  reapObject(obj: VmObject): void;
  physBytes(physAddr: number, lengthBytes: number): Uint8Array;
  checkInvariants(): void;
}
