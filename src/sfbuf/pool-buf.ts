// struct sf_buf of the pool case (sys/sys/sf_buf.h, sys/kern/subr_sfbuf.c), and the record of a
// caller asleep on "sfbufa". The protocol that governs them is described in pool.ts.
import type { VmPage } from '../vm/index.js';
import type { SfBuf } from './types.js';

export class PoolSfBuf implements SfBuf {
  m: VmPage | null = null;
  ref_count = 0;
  cpumask = 0;
  /** Free-list links (TAILQ free_entry); null at the ends or when held. */
  free_prev: PoolSfBuf | null = null;
  free_next: PoolSfBuf | null = null;
  onFreeList = false;
  /** View of the mapped page's bytes, made on first use after each mapping. */
  bytes: Uint8Array | null = null;

  constructor(
    readonly kva: number,
    /** The pool it belongs to (compared by identity only). */
    readonly owner: object,
  ) {}
}

/** A caller asleep for a buffer; `sf` is set by the free that hands one over. */
export interface AllocWaiter {
  readonly m: VmPage;
  readonly flags: number;
  readonly cpu: number;
  readonly signal: AbortSignal | null;
  sf: PoolSfBuf | null;
}
