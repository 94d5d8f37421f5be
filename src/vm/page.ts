// Mirrors sys/vm/vm_page.h: struct vm_page, the page queues and the release flags.
//
// Ownership: every VmPage lives for the life of its Vm (one per physical page, created at boot,
// like vm_page_array). `object`/`pindex` name the file page it caches, or null when free.
// `wireCount` is the low part of the kernel's ref_count (VPRC_WIRE_COUNT): the number of holders
// that pinned the page; a wired page is never freed or evicted. As in FreeBSD 12 and later, wiring
// leaves the page on its queue (PGA_DEQUEUE: dequeued lazily, by the page daemon when it meets the
// page, or by the last unwiring's requeue), so pq_cnt counts it until then. `busy` is
// the exclusive busy lock held while a pager read fills the page; `valid` says its bytes equal
// the file's (the kernel keeps a bitmap per 512-byte block; we keep one bit per page).
import { PAGE_SIZE } from '../kern/index.js';
import type { VmRadix } from './radix.js';

/** Page queues (PQ_*). A free page is on the free list; a page being read in is on none (PQ_NONE). */
export const PQ_INACTIVE = 0;
export const PQ_ACTIVE = 1;
export const PQ_NONE = 255;
/** Our own marker for a page on the free list (the kernel keeps free pages in vm_phys, not a PQ). */
export const PQ_FREE = 254;
export type PageQueue = typeof PQ_INACTIVE | typeof PQ_ACTIVE | typeof PQ_NONE | typeof PQ_FREE;

/** vm_page_alloc(9) request: the class (no digging below v_free_reserved) and flags. */
export const VM_ALLOC_NORMAL = 0;
/** The caller sleeps in vm_wait and retries when no page is given (vm_page_grab's allocations). */
export const VM_ALLOC_WAITFAIL = 0x0010;

/** vm_page_release(9) flags. */
export const VPR_TRYFREE = 0x01;
export const VPR_NOREUSE = 0x02;

/** The parts of a vm object a page needs to name its owner (VmObject implements it). */
export interface VmPageOwner {
  readonly id: number;
  /** The object's resident pages by page index (the kernel's per-object radix tree). */
  readonly pages: VmRadix<VmPage>;
}

/** The bits of VmPage.flags: the busy lock, the valid bit and PGA_REFERENCED. */
const PG_BUSY = 0x1;
const PG_VALID = 0x2;
const PG_REFERENCED = 0x4;

/**
 * busy, valid and referenced are bits of one number behind accessors, and the physical address
 * is computed: sendfile reads every page of a large file from memory once per chunk, so each
 * byte of a VmPage costs time.
 */
export class VmPage {
  /** Index of this page in physical memory (its position in vm_page_array). */
  readonly physIndex: number;
  /** The object (file) whose page this is, or null while free. */
  object: VmPageOwner | null = null;
  /** Page index within `object` (offset / PAGE_SIZE). */
  pindex = 0;
  /** Wirings held (VPRC_WIRE_COUNT of ref_count). */
  wireCount = 0;
  queue: PageQueue = PQ_FREE;
  /** PG_BUSY | PG_VALID | PG_REFERENCED. */
  private flags = 0;
  /** Links of the page queue or free list the page is on (plinks.q, a TAILQ). */
  qnext: VmPage | null = null;
  qprev: VmPage | null = null;

  constructor(physIndex: number) {
    this.physIndex = physIndex;
  }

  /** Physical address: physIndex × PAGE_SIZE, as a kernel trace prints it. */
  get physAddr(): number {
    return this.physIndex * PAGE_SIZE;
  }

  /** Exclusive busy: a pager read owns the page until it completes. */
  get busy(): boolean {
    return (this.flags & PG_BUSY) !== 0;
  }

  set busy(on: boolean) {
    this.flags = on ? this.flags | PG_BUSY : this.flags & ~PG_BUSY;
  }

  /** The page holds the file's bytes. */
  get valid(): boolean {
    return (this.flags & PG_VALID) !== 0;
  }

  set valid(on: boolean) {
    this.flags = on ? this.flags | PG_VALID : this.flags & ~PG_VALID;
  }

  /** Set by the page daemon's scan when the page was used since it last looked (PGA_REFERENCED). */
  get referenced(): boolean {
    return (this.flags & PG_REFERENCED) !== 0;
  }

  set referenced(on: boolean) {
    this.flags = on ? this.flags | PG_REFERENCED : this.flags & ~PG_REFERENCED;
  }
}
