// Mirrors sosend_generic of sys/kern/uipc_socket.c and m_uiotombuf of sys/kern/uipc_mbuf.c: the
// copy path's write(2) on a stream socket. Under the send I/O lock, loop: error checks, wait for
// space (or EAGAIN), copy the user's bytes into fresh mbufs and clusters (a real copy into zone
// memory), pr_send. The user buffer may be reused as soon as the call returns.
import { isSysError, kassert, SysError } from '../kern/index.js';
import {
  M_EXT,
  M_NOWAIT,
  M_WAITOK,
  type Mbuf,
  type MbufAllocator,
  type MbufHow,
  MINCLSIZE,
  MT_DATA,
} from '../mbuf/index.js';
import { SBS_CANTSENDMORE, sbspace } from './sockbuf.js';
import { type KSocket, SS_ISCONNECTED } from './socket.js';

/** What sosend needs of its socket layer. */
export interface SosendHost {
  readonly mbufs: MbufAllocator;
  sblock(so: KSocket, signal?: AbortSignal): (() => void) | Promise<() => void>;
  sbwait(so: KSocket, signal?: AbortSignal): Promise<void>;
  prSend(so: KSocket, flags: number, m: Mbuf): SysError | null;
  countCopyin(bytes: number): void;
}

/**
 * sosend: queues all of `buf` and resolves to its length, or rejects with a SysError carrying
 * the bytes queued before it (sbytes): EPIPE (cannot send more), the pending so_error (returned
 * once), ENOTCONN, EAGAIN (non-blocking, no space), EINTR (signal aborted a sleep).
 * XXX(sim): write(2) would return a short count instead of EAGAIN/EINTR after partial progress;
 * we reject and carry the count in sbytes so callers see both.
 */
export async function sosendGeneric(
  host: SosendHost,
  so: KSocket,
  buf: Uint8Array,
  signal?: AbortSignal,
): Promise<number> {
  const lock = host.sblock(so, signal);
  const unlock = lock instanceof Promise ? await lock : lock;
  try {
    return await sosendLocked(host, so, buf, signal);
  } finally {
    unlock();
  }
}

/** The errno that stops a send now, consuming so_error; null when the send may go on. */
function sosendCheck(so: KSocket): SysError | null {
  if ((so.so_snd.sb_state & SBS_CANTSENDMORE) !== 0) {
    return new SysError('EPIPE', `sosend: socket ${so.so_id} cannot send more`);
  }
  const error = so.so_error;
  if (error !== null) {
    so.so_error = null;
    return new SysError(error, `sosend: socket ${so.so_id} error`);
  }
  if ((so.so_state & SS_ISCONNECTED) === 0) {
    return new SysError('ENOTCONN', `sosend: socket ${so.so_id} not connected`);
  }
  return null;
}

async function sosendLocked(
  host: SosendHost,
  so: KSocket,
  buf: Uint8Array,
  signal?: AbortSignal,
): Promise<number> {
  const sb = so.so_snd;
  let sentBytes = 0;
  // Each pass queues bytes or sleeps until space grows, the connection drops or the signal fires.
  for (let pass = 0; ; pass++) {
    kassert(pass <= 2 * buf.length + 2 ** 20, () => `sosend: ${pass} passes for ${buf.length} bytes`);
    const error = sosendCheck(so);
    if (error !== null) throw error.withSbytes(sentBytes);
    const residBytes = buf.length - sentBytes;
    if (residBytes === 0) return sentBytes;
    const space = sbspace(sb);
    if (space < residBytes && (space <= 0 || space < sb.sb_lowat)) {
      if (so.nonblocking) throw new SysError('EAGAIN', `sosend: socket ${so.so_id} full`, sentBytes);
      try {
        await host.sbwait(so, signal);
      } catch (e) {
        if (!isSysError(e) || e.code === 'EINTR') throw isSysError(e) ? e.withSbytes(sentBytes) : e;
        // A dropped connection: the checks at the top of the loop report it.
      }
      continue;
    }
    const chain = mUiotombuf(host.mbufs, buf, sentBytes, Math.min(space, residBytes), signal);
    let m: Mbuf;
    try {
      m = chain instanceof Promise ? await chain : chain;
    } catch (e) {
      // The first allocation's sleep was interrupted (EINTR): report what was sent.
      throw isSysError(e) ? e.withSbytes(sentBytes) : e;
    }
    // The chain may be short of what was asked (a dry zone): queue what it holds.
    const lengthBytes = host.mbufs.mLength(m);
    host.countCopyin(lengthBytes);
    const sendError = host.prSend(so, 0, m);
    if (sendError !== null) throw sendError.withSbytes(sentBytes);
    sentBytes += lengthBytes;
  }
}

/**
 * m_uiotombuf: copies up to `lengthBytes` of `buf` from `offsetBytes` into a new chain: a cluster
 * while at least MINCLSIZE bytes remain, else a plain mbuf. Only the first allocation may sleep;
 * the rest are M_NOWAIT, and when a zone is dry the chain comes back short (the caller queues it
 * and copies the rest on its next pass). A writer holding clusters while it sleeps for more would
 * deadlock against a zone smaller than one pass (the rule kern_sendfile.c keeps for sf_bufs).
 * Synchronous unless the first allocation sleeps.
 * XXX(sim): no page-size jumbo clusters (m_getm2 tries EXT_JUMBOP first); 2 KiB clusters only.
 */
export function mUiotombuf(
  mbufs: MbufAllocator,
  buf: Uint8Array,
  offsetBytes: number,
  lengthBytes: number,
  signal?: AbortSignal,
): Mbuf | Promise<Mbuf> {
  kassert(lengthBytes > 0 && offsetBytes + lengthBytes <= buf.length, 'm_uiotombuf: bad range');
  const end = offsetBytes + lengthBytes;
  const first = mUiotombufAlloc(mbufs, end - offsetBytes, M_WAITOK, signal);
  if (first instanceof Promise) return first.then((m) => mUiotombufFill(mbufs, buf, m, offsetBytes, end));
  kassert(first !== null, 'm_uiotombuf: M_WAITOK allocation returned null');
  return mUiotombufFill(mbufs, buf, first, offsetBytes, end);
}

function mUiotombufAlloc(
  mbufs: MbufAllocator,
  residBytes: number,
  how: MbufHow,
  signal?: AbortSignal,
): Mbuf | null | Promise<Mbuf> {
  return residBytes >= MINCLSIZE ? mbufs.mGetcl(how, MT_DATA, 0, signal) : mbufs.mGet(how, MT_DATA, signal);
}

/** Fills `head`, then appends M_NOWAIT mbufs until the bytes are copied or a zone is dry. */
function mUiotombufFill(
  mbufs: MbufAllocator,
  buf: Uint8Array,
  head: Mbuf,
  offsetBytes: number,
  end: number,
): Mbuf {
  let off = offsetBytes + copyIn(head, buf, offsetBytes, end);
  let tail = head;
  while (off < end) {
    const m = mUiotombufAlloc(mbufs, end - off, M_NOWAIT);
    kassert(!(m instanceof Promise), 'm_uiotombuf: M_NOWAIT allocation slept');
    if (m === null) break;
    off += copyIn(m, buf, off, end);
    tail.m_next = m;
    tail = m;
  }
  kassert(
    off > offsetBytes && off <= end,
    () => `m_uiotombuf: copied ${off - offsetBytes} of ${end - offsetBytes}`,
  );
  return head;
}

/** uiomove into one fresh mbuf: copy #2 of the copy path. Returns the bytes copied. */
function copyIn(m: Mbuf, buf: Uint8Array, off: number, end: number): number {
  const roomBytes = m.m_buf.length - m.m_data;
  kassert((m.m_flags & M_EXT) === 0 || roomBytes > 0, 'm_uiotombuf: cluster without room');
  const n = Math.min(roomBytes, end - off);
  m.m_buf.set(buf.subarray(off, off + n), m.m_data);
  m.m_len = n;
  return n;
}
