// Mirrors m_uiotombuf of sys/kern/uipc_mbuf.c: a real copy of user bytes (a struct uio of
// iovecs) into fresh mbufs and clusters. Used by sosend (write(2)) and by sendfile's headers.
import { kassert } from '../kern/index.js';
import { mGet, mGetcl } from './alloc.js';
import type { MbufAllocator } from './allocator.js';
import { M_EXT, M_NOWAIT, M_WAITOK, type MbufHow, MINCLSIZE, MT_DATA } from './constants.js';
import type { Mbuf } from './mbuf.js';

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
 * m_uiotombuf: copies up to `lengthBytes` from the uio (advancing it) into a new chain: a
 * cluster while at least MINCLSIZE bytes remain, else a plain mbuf. Only the first allocation
 * may sleep (and an aborted `signal` ends that sleep with EINTR); the rest are M_NOWAIT, and a
 * dry zone cuts the chain short: the caller queues what it got and copies the rest later. A
 * writer that holds mbufs while it sleeps for more deadlocks against a zone smaller than one
 * pass (the rule kern_sendfile.c keeps for sf_bufs). Synchronous unless the first allocation
 * sleeps. XXX(sim): no page-size jumbo clusters (m_getm2 tries EXT_JUMBOP first).
 */
export function mUiotombuf(
  mbufs: MbufAllocator,
  uio: Uio,
  lengthBytes: number,
  signal?: AbortSignal,
): Mbuf | Promise<Mbuf> {
  const total = Math.min(lengthBytes, uio.uio_resid);
  kassert(total > 0, () => `m_uiotombuf: nothing to copy (len ${lengthBytes} resid ${uio.uio_resid})`);
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
  kassert(left >= 0 && left < total, () => `m_uiotombuf: copied ${total - left} of ${total}`);
  return head;
}

/** uiomove into one fresh mbuf, at most `maxBytes`: a real copy. Returns the bytes copied. */
function uioCopyIn(uio: Uio, m: Mbuf, maxBytes: number): number {
  const roomBytes = m.m_buf.length - m.m_data;
  kassert((m.m_flags & M_EXT) === 0 || roomBytes > 0, 'm_uiotombuf: cluster without room');
  let room = Math.min(roomBytes, maxBytes);
  let copied = 0;
  while (room > 0) {
    const iov = uio.uio_iov[uio.iovIndex];
    kassert(iov !== undefined, () => `m_uiotombuf: iovec ${uio.iovIndex} past the end`);
    const n = Math.min(room, iov.length - uio.iovOffsetBytes);
    m.m_buf.set(iov.subarray(uio.iovOffsetBytes, uio.iovOffsetBytes + n), m.m_data + copied);
    copied += n;
    room -= n;
    uio.uio_resid -= n;
    uio.iovOffsetBytes += n;
    if (uio.iovOffsetBytes === iov.length) {
      uio.iovIndex++;
      uio.iovOffsetBytes = 0;
    }
  }
  m.m_len = copied;
  return copied;
}
