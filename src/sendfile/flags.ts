// Mirrors sys/sys/socket.h (the sendfile(2) flags and struct sf_hdtr) and sys/sys/sf_buf.h
// (struct sfstat): the numbers and names user space sees.

import * as kern from '../kern/index.js';
import { pagesCeil } from '../kern/index.js';

// Module-local copies of the constants the per-page code tests: V8 reads an imported binding
// through its module cell at every use (a load and a check), a module-local const not at all.
const { PAGE_MASK, PAGE_SIZE } = kern;

/** Do not wait on a page that is busy being read for someone else: stop with EBUSY. */
export const SF_NODISKIO = 0x01;
/** Obsolete (FreeBSD 10: do not wait for mbufs); accepted and ignored, as the kernel does. */
export const SF_MNOWAIT = 0x02;
/** Return only when every mbuf of the call has been freed (the data has left the host). */
export const SF_SYNC = 0x04;
/** Read ahead exactly SF_READAHEAD(flags) pages, not the rest of the request plus that. */
export const SF_USER_READAHEAD = 0x08;
/** Free the pages once sent instead of keeping them cached. */
export const SF_NOCACHE = 0x10;
/** Every flag the low 16 bits may carry. */
export const SF_FLAGS_ALL = SF_NODISKIO | SF_MNOWAIT | SF_SYNC | SF_USER_READAHEAD | SF_NOCACHE;

/** SF_FLAGS(rh, f): readahead pages in the high 16 bits, flags in the low ones. */
export function SF_FLAGS(readaheadPages: number, flags: number): number {
  return ((readaheadPages & 0xffff) << 16) | (flags & 0xffff);
}

/** SF_READAHEAD(flags): the readahead pages carried in the high 16 bits. */
export function SF_READAHEAD(flags: number): number {
  return (flags >>> 16) & 0xffff;
}

/** maxphys / PAGE_SIZE on a 64-bit kernel (1 MiB): the readahead cap per chunk. */
export const SF_READAHEAD_MAX_PAGES = 256;

/** Options of one sendfile(2) call (the sf_hdtr, the flags and the simulator's extras). */
export interface SendfileOptions {
  /** Header iovecs, copied into mbufs in front of the file data. */
  readonly headers?: readonly Uint8Array[];
  /** Trailer iovecs, written after the file data (the kernel uses writev: a copy). */
  readonly trailers?: readonly Uint8Array[];
  /** SF_* flags; the high 16 bits may carry readahead pages (SF_FLAGS). */
  readonly flags?: number;
  /** Readahead pages; overrides SF_READAHEAD(flags) when given. */
  readonly readahead?: number;
  /** The simulated signal: an abort ends any sleep with EINTR. */
  readonly signal?: AbortSignal;
  /** The CPU the call runs on (defaults to the socket's). */
  readonly cpu?: number;
}

/** Options of the copy path's read+write loop. */
export interface CopyfileOptions {
  readonly headers?: readonly Uint8Array[];
  readonly trailers?: readonly Uint8Array[];
  readonly signal?: AbortSignal;
  /** The user buffer of the read(2)/write(2) loop (default: the kernel's copyBufferBytes). */
  readonly bufferBytes?: number;
}

/** struct sfstat, 11 counters in the kernel's order (kern.ipc.sfstat). */
export interface SfStat {
  sf_syscalls: number;
  sf_noiocnt: number;
  sf_iocnt: number;
  sf_pages_read: number;
  sf_pages_valid: number;
  sf_rhpages_requested: number;
  sf_rhpages_read: number;
  sf_busy: number;
  sf_allocfail: number;
  sf_allocwait: number;
  sf_pages_bogus: number;
}

export const SFSTAT_KEYS: readonly (keyof SfStat)[] = [
  'sf_syscalls',
  'sf_noiocnt',
  'sf_iocnt',
  'sf_pages_read',
  'sf_pages_valid',
  'sf_rhpages_requested',
  'sf_rhpages_read',
  'sf_busy',
  'sf_allocfail',
  'sf_allocwait',
  'sf_pages_bogus',
];

export function sfstatZero(): SfStat {
  return {
    sf_syscalls: 0,
    sf_noiocnt: 0,
    sf_iocnt: 0,
    sf_pages_read: 0,
    sf_pages_valid: 0,
    sf_rhpages_requested: 0,
    sf_rhpages_read: 0,
    sf_busy: 0,
    sf_allocfail: 0,
    sf_allocwait: 0,
    sf_pages_bogus: 0,
  };
}

/** The copy path's counters: bytes copied out of pages (read) and into mbufs (write). */
export interface CopyStat {
  copy_bytes_out: number;
  copy_bytes_in: number;
}

/** xfsize: bytes of page i of a chunk of n pages starting at `off`, `len` bytes long. */
export function xfsize(i: number, n: number, off: number, len: number): number {
  if (i === 0) return Math.min(PAGE_SIZE - (off & PAGE_MASK), len);
  const tail = (off + len) & PAGE_MASK;
  if (i === n - 1 && tail !== 0) return tail;
  return PAGE_SIZE;
}

/** vmoff: in-page offset of page i's first byte (only page 0 may start inside its page). */
export function vmoffInPage(i: number, off: number): number {
  return i === 0 ? off & PAGE_MASK : 0;
}

/** fixspace: the chunk's bytes once it is cut down from its pages to the first `npages`. */
export function fixspace(npages: number, off: number, space: number): number {
  if (npages === 0) return 0;
  return Math.min(space, npages * PAGE_SIZE - (off & PAGE_MASK));
}

/**
 * The readahead of a chunk of `npages` pages at `off`, `rem` bytes of the request left: with
 * SF_USER_READAHEAD the caller's count, else the rest of the request past the chunk plus the
 * caller's count; at most maxphys worth of pages, and never past EOF.
 */
export function sendfileReadahead(
  flags: number,
  readahead: number,
  rem: number,
  off: number,
  npages: number,
  sizeBytes: number,
): number {
  let rhpages = readahead;
  if ((flags & SF_USER_READAHEAD) === 0) rhpages += pagesCeil(rem + (off & PAGE_MASK)) - npages;
  rhpages = Math.min(SF_READAHEAD_MAX_PAGES, rhpages);
  const pagesToEof = pagesCeil(sizeBytes - (off - (off & PAGE_MASK))) - npages;
  return Math.max(0, Math.min(pagesToEof, rhpages));
}
