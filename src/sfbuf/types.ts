// Mirrors sys/sys/sf_buf.h: the sf_buf(9) flags, the handle callers hold, and the interface both
// implementations (direct map, KVA pool) offer. The internals of each live in their own file.
import type { VmPage } from '../vm/index.js';

/** sf_buf_alloc(9) flags, with the kernel's numbers. */
export const SFB_DEFAULT = 0;
/** Sleep is interruptible: an aborted signal makes the allocation return null. */
export const SFB_CATCH = 1;
/** The mapping need only be valid on the calling CPU (no shootdown of the others). */
export const SFB_CPUPRIVATE = 2;
/** Return null at once rather than sleep when the pool is empty. */
export const SFB_NOWAIT = 4;
export const SFB_ALL_FLAGS = SFB_CATCH | SFB_CPUPRIVATE | SFB_NOWAIT;

/**
 * struct sf_buf as callers see it. Callers use the sfBuf* accessors and never write a field;
 * `ref_count` is writable only for the map that owns the buffer.
 * Ownership: in the KVA pool a buffer belongs to the pool for ever (a fixed `kva` slot) and maps
 * one page at a time; each sfBufAlloc/sfBufRef takes one reference, each sfBufFree drops one.
 * In the direct map the buffer stands for the page itself and no reference is counted.
 */
export interface SfBuf {
  /** Kernel virtual address of the mapping (a number < 2^53; print it with formatKva). */
  readonly kva: number;
  /** The page mapped, or null for a pool slot that maps nothing. */
  readonly m: VmPage | null;
  /** References held (0 in the direct map, where the kernel counts none). */
  ref_count: number;
  /** CPUs whose TLB holds a valid translation for `kva` (bit i = CPU i); 0 in the direct map. */
  readonly cpumask: number;
}

/**
 * The part of the Vm this room needs: the physical memory and a view of one page. The real Vm
 * satisfies it; tests may build a small fake over an ArrayBuffer.
 */
export interface SfBufVm {
  readonly physmem: ArrayBuffer;
  /** A view of the page's bytes in `physmem`, never a copy. */
  pageBytes(m: VmPage): Uint8Array;
}

/** The two sf_buf implementations: 'dmap', the amd64/arm64 direct map; 'kva', the pool of subr_sfbuf.c. */
export const SF_BUF_KINDS = ['dmap', 'kva'] as const;
export type SfBufKind = (typeof SF_BUF_KINDS)[number];

export interface SfBufConfig {
  /** 'dmap': amd64/arm64 direct map; 'kva': the i386 / 32-bit arm pool of subr_sfbuf.c. */
  readonly kind: SfBufKind;
  /** Pool size in buffers (kern.ipc.nsfbufs); ignored by the direct map. */
  readonly nsfbufs: number;
  /** Simulated CPUs, ids 0 .. cpuCount-1 (at most 32: a CPU mask is one 32-bit word). */
  readonly cpuCount: number;
  /** Run checkInvariants after every state-changing call. */
  readonly invariants: boolean;
  readonly kernelId: number;
  /** 32-bit arm: sf_buf_unmap removes the translation on the last free, so nothing is cached. */
  readonly unmapOnFree?: boolean;
}

/** A sysctl-style frozen snapshot; keys keep the kernel's spelling. */
export interface SfBufCounters {
  /** Pool size (kern.ipc.nsfbufs); 0 in the direct map. */
  readonly nsfbufs: number;
  /** Buffers with ref_count > 0 (kern.ipc.nsfbufsused). */
  readonly nsfbufsused: number;
  /** High-water mark of nsfbufsused (kern.ipc.nsfbufspeak). */
  readonly nsfbufspeak: number;
  /** Sleeps for a free buffer, one per sleep (sfstat.sf_allocwait). */
  readonly sf_allocwait: number;
  /** Calls that sent a targeted TLB-invalidate IPI (smp_masked_invlpg). */
  readonly shootdowns: number;
  /** CPUs signalled by those shootdowns. */
  readonly ipis: number;
  /** Local TLB invalidations (invlpg on the calling CPU). */
  readonly invlpg_local: number;
  /** Freed buffers revived for the same page without remapping (i386 cache hit). */
  readonly mapping_reuses: number;
  /** sfBufAlloc calls, counted for teaching (the direct-map kernel counts nothing). */
  readonly alloc_calls: number;
}

/** sf_buf(9): the four calls of the manual page plus sf_buf_ref. */
export interface SfBufMap {
  readonly kind: SfBufKind;
  /** The highest nsfbufsused since the last call (nsfbufspeak is the highest ever). */
  takeUsedPeak(): number;
  /** False in the direct map: no pool exists, `netstat -m` omits the sfbufs line. */
  readonly hasPool: boolean;
  /**
   * sf_buf_alloc(m, flags) on CPU `cpu`. The page must already be wired. Returns synchronously
   * unless it must sleep for a free buffer, then a Promise; null with SFB_NOWAIT on an empty
   * pool, or with SFB_CATCH when `signal` aborts the sleep.
   */
  sfBufAlloc(
    m: VmPage,
    flags: number,
    cpu: number,
    signal?: AbortSignal,
  ): SfBuf | null | Promise<SfBuf | null>;
  /** sf_buf_free: drop one reference; the page's wiring is the caller's to release. */
  sfBufFree(sf: SfBuf): void;
  /** sf_buf_ref: take one more reference on a buffer already held. */
  sfBufRef(sf: SfBuf): void;
  /** sf_buf_kva: the kernel virtual address of the mapping. */
  sfBufKva(sf: SfBuf): number;
  /** sf_buf_page: the page mapped. */
  sfBufPage(sf: SfBuf): VmPage;
  /** The page's bytes through the mapping: a view of the Vm's physmem, never a copy. */
  sfBufBytes(sf: SfBuf): Uint8Array;
  counters(): SfBufCounters;
  /** Callers asleep waiting for a buffer (sf_buf_alloc_want). */
  readonly sleepers: number;
  atRest(): string[];
  checkInvariants(): void;
}

/** A counters record at zero, for a map to bump; counters() hands out frozen copies. */
export function sfBufStats(nsfbufs: number): { -readonly [K in keyof SfBufCounters]: number } {
  return {
    nsfbufs,
    nsfbufsused: 0,
    nsfbufspeak: 0,
    sf_allocwait: 0,
    shootdowns: 0,
    ipis: 0,
    invlpg_local: 0,
    mapping_reuses: 0,
    alloc_calls: 0,
  };
}
