// Mirrors m_uiotombuf of sys/kern/uipc_mbuf.c: a real copy of user bytes (a struct uio of
// iovecs) into fresh mbufs: clusters, or with M_EXTPG (m_uiotombuf_nomap) pages from a page
// source, one mbuf per TLS record. Used by sosend (write(2)) and by sendfile's headers.
import { kassert, PAGE_SIZE, panic } from '../kern/index.js';
import { mGet, mGetcl } from './alloc.js';
import type { MbufAllocator } from './allocator.js';
import {
  EPG_FLAG_ANON,
  M_EXT,
  M_NOWAIT,
  M_WAITOK,
  MBUF_PEXT_MAX_PGS,
  type MbufHow,
  MINCLSIZE,
  MT_DATA,
} from './constants.js';
import { mbAllocExtPgs, mExtPgAppend } from './extpg.js';
import type { Mbuf, MExtFree } from './mbuf.js';

/** struct uio, reduced to what m_uiotombuf reads: the iovecs and a cursor into them. */
export interface Uio {
  readonly uio_iov: readonly Uint8Array[];
  /** The next byte is uio_iov[iovIndex][iovOffsetBytes]. */
  iovIndex: number;
  iovOffsetBytes: number;
  /** Bytes left in all iovecs. */
  uio_resid: number;
}

/** A uio over iovecs, at their first byte. */
export function uioCreate(iov: readonly Uint8Array[]): Uio {
  let resid = 0;
  for (const v of iov) resid += v.length;
  return { uio_iov: iov, iovIndex: 0, iovOffsetBytes: 0, uio_resid: resid };
}

/**
 * Where m_uiotombuf's M_EXTPG pages come from (vm_page_alloc_noobj in the kernel). mbuf knows no
 * vm: the caller passes the allocator of wired anonymous pages and their free routine.
 */
export interface UioPageSource {
  /** The most payload one mbuf takes (a TLS record: max_frame_len). */
  readonly maxlenBytes: number;
  /** The storage's free routine (mb_free_mext_pgs): frees the mbuf's pages. */
  readonly extFree: MExtFree;
  /** A wired page's physical address, `preferredPa` when that frame is free; -1 when none is. */
  pageAlloc(preferredPa: number): number;
  /** vm_wait: resolves when pages may be free, rejects (EINTR) when `signal` aborts. */
  pageWait(signal?: AbortSignal): Promise<void>;
  /** Frees a page that never joined an mbuf. */
  pageFree(physAddr: number): void;
  /** The page at `physAddr`, a view of physical memory. */
  pageBytes(physAddr: number): Uint8Array;
}

/**
 * uiomove into `dst` from `dstOffset`, at most `maxBytes`: a real copy that advances the uio.
 * Returns the bytes copied.
 */
export function uiomove(uio: Uio, dst: Uint8Array, dstOffset: number, maxBytes: number): number {
  let room = Math.min(maxBytes, uio.uio_resid);
  let copied = 0;
  while (room > 0) {
    const iov = uio.uio_iov[uio.iovIndex];
    if (iov === undefined) panic(`uiomove: iovec ${uio.iovIndex} past the end`);
    const n = Math.min(room, iov.length - uio.iovOffsetBytes);
    dst.set(iov.subarray(uio.iovOffsetBytes, uio.iovOffsetBytes + n), dstOffset + copied);
    copied += n;
    room -= n;
    uio.uio_resid -= n;
    uio.iovOffsetBytes += n;
    if (uio.iovOffsetBytes === iov.length) {
      uio.iovIndex++;
      uio.iovOffsetBytes = 0;
    }
  }
  return copied;
}

/**
 * m_uiotombuf: copies up to `lengthBytes` from the uio (advancing it) into a new chain: without
 * `pages`, a cluster while at least MINCLSIZE bytes remain, else a plain mbuf; with `pages`,
 * M_EXTPG mbufs of at most `pages.maxlenBytes` each. Only the first allocation of each kind may
 * sleep (an aborted `signal` ends that sleep with EINTR), holding at most the first page; the
 * rest are M_NOWAIT, and a dry zone or no free page cuts the chain short: the caller queues what
 * it got and copies the rest later. A writer that holds mbufs or pages while it sleeps for more
 * deadlocks against a pool smaller than one pass (the rule kern_sendfile.c keeps for sf_bufs).
 * Synchronous unless a first allocation sleeps. XXX(sim): no page-size jumbo clusters (m_getm2
 * tries EXT_JUMBOP first); m_uiotombuf_nomap sleeps in vm_wait for every page, relying on the page
 * daemon, which cannot free the wired pages a stuck writer holds here.
 */
export function mUiotombuf(
  mbufs: MbufAllocator,
  uio: Uio,
  lengthBytes: number,
  signal?: AbortSignal,
  pages?: UioPageSource,
): Mbuf | Promise<Mbuf> {
  const total = Math.min(lengthBytes, uio.uio_resid);
  if (!(total > 0)) panic(`m_uiotombuf: nothing to copy (len ${lengthBytes} resid ${uio.uio_resid})`);
  if (pages !== undefined) {
    const pa = pages.pageAlloc(-1);
    return pa >= 0
      ? extpgFirst(mbufs, uio, total, pages, pa, signal)
      : extpgSleep(mbufs, uio, total, pages, signal);
  }
  const first = uioAlloc(mbufs, total, M_WAITOK, signal);
  if (first instanceof Promise) return first.then((m) => uioFill(mbufs, uio, m, total));
  kassert(first !== null, 'm_uiotombuf: M_WAITOK allocation returned null');
  return uioFill(mbufs, uio, first, total);
}

function uioAlloc(
  mbufs: MbufAllocator,
  residBytes: number,
  how: MbufHow,
  signal: AbortSignal | undefined,
): Mbuf | null | Promise<Mbuf> {
  return residBytes >= MINCLSIZE ? mGetcl(mbufs, how, MT_DATA, 0, signal) : mGet(mbufs, how, MT_DATA, signal);
}

/** Fills `head`, then appends M_NOWAIT mbufs until `total` bytes are copied or a zone is dry. */
function uioFill(mbufs: MbufAllocator, uio: Uio, head: Mbuf, total: number): Mbuf {
  let left = total - uioCopyIn(uio, head, total);
  let tail = head;
  while (left > 0) {
    const m = uioAlloc(mbufs, left, M_NOWAIT, undefined);
    kassert(!(m instanceof Promise), 'm_uiotombuf: M_NOWAIT allocation slept');
    if (m === null) break;
    left -= uioCopyIn(uio, m, left);
    tail.m_next = m;
    tail = m;
  }
  if (!(left >= 0 && left < total)) panic(`m_uiotombuf: copied ${total - left} of ${total}`);
  return head;
}

/** uiomove into one fresh mbuf, at most `maxBytes`. Returns the bytes copied. */
function uioCopyIn(uio: Uio, m: Mbuf, maxBytes: number): number {
  const roomBytes = m.m_buf.length - m.m_data;
  kassert((m.m_flags & M_EXT) === 0 || roomBytes > 0, 'm_uiotombuf: cluster without room');
  const copied = uiomove(uio, m.m_buf, m.m_data, Math.min(roomBytes, maxBytes));
  m.m_len = copied;
  return copied;
}

/** The first page's sleep (VM_ALLOC_WAITFAIL, retried), holding nothing. */
async function extpgSleep(
  mbufs: MbufAllocator,
  uio: Uio,
  total: number,
  pages: UioPageSource,
  signal: AbortSignal | undefined,
): Promise<Mbuf> {
  for (;;) {
    await pages.pageWait(signal);
    const pa = pages.pageAlloc(-1);
    if (pa >= 0) return extpgFirst(mbufs, uio, total, pages, pa, signal);
  }
}

/** The first mbuf (M_WAITOK: it may sleep holding the first page alone), then the copy. */
function extpgFirst(
  mbufs: MbufAllocator,
  uio: Uio,
  total: number,
  pages: UioPageSource,
  pa: number,
  signal: AbortSignal | undefined,
): Mbuf | Promise<Mbuf> {
  let first: Mbuf | null | Promise<Mbuf>;
  try {
    first = mbAllocExtPgs(mbufs, M_WAITOK, pages.extFree, null, null, 0, signal);
  } catch (e) {
    pages.pageFree(pa);
    throw e;
  }
  if (first instanceof Promise) {
    return first.then(
      (m) => extpgFill(mbufs, uio, m, pa, total, pages),
      (e: unknown) => {
        pages.pageFree(pa);
        throw e;
      },
    );
  }
  kassert(first !== null, 'm_uiotombuf: M_WAITOK allocation returned null');
  return extpgFill(mbufs, uio, first, pa, total, pages);
}

/**
 * Copies into `head` from its first page `pa` on, page after page, a new M_EXTPG mbuf every
 * maxlenBytes, all M_NOWAIT: no free page or mbuf ends the chain where it is.
 */
function extpgFill(
  mbufs: MbufAllocator,
  uio: Uio,
  head: Mbuf,
  firstPa: number,
  total: number,
  pages: UioPageSource,
): Mbuf {
  kassert(
    pages.maxlenBytes > 0 && pages.maxlenBytes <= MBUF_PEXT_MAX_PGS * PAGE_SIZE,
    () => `m_uiotombuf: maxlen ${pages.maxlenBytes}`,
  );
  let m = head;
  m.m_epg!.m_epg_flags |= EPG_FLAG_ANON;
  let pa = firstPa;
  let left = total;
  for (let pass = 0; ; pass++) {
    kassert(pass <= total, () => `m_uiotombuf: ${pass} pages for ${total} bytes`);
    const n = uiomove(uio, pages.pageBytes(pa), 0, Math.min(left, PAGE_SIZE, pages.maxlenBytes - m.m_len));
    mExtPgAppend(mbufs, m, pa, 0, n);
    left -= n;
    if (left === 0) break;
    if (m.m_len < pages.maxlenBytes) {
      pa = pages.pageAlloc(pa + PAGE_SIZE);
      if (pa < 0) break;
      continue;
    }
    pa = pages.pageAlloc(-1);
    if (pa < 0) break;
    const next = mbAllocExtPgs(mbufs, M_NOWAIT, pages.extFree, null, null, 0);
    kassert(!(next instanceof Promise), 'm_uiotombuf: M_NOWAIT allocation slept');
    if (next === null) {
      pages.pageFree(pa);
      break;
    }
    next.m_epg!.m_epg_flags |= EPG_FLAG_ANON;
    m.m_next = next;
    m = next;
  }
  return head;
}
