// Mirrors sosend_generic of sys/kern/uipc_socket.c: the copy path's write(2) on a stream socket.
// Under the send I/O lock, loop: error checks, wait for space (or EAGAIN), copy the user's bytes
// into fresh mbufs and clusters (m_uiotombuf: a real copy into zone memory), pr_send. On a KTLS
// socket the copy goes into records of anonymous pages and the socket's TLS hook queues them
// (ktls_frame, pr_send, ktls_enqueue). The user buffer may be reused as soon as the call returns.
import { isSysError, kassert, SysError } from '../kern/index.js';
import { type Mbuf, type MbufAllocator, mLength, mUiotombuf, uioCreate } from '../mbuf/index.js';
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
 * once), ENOTCONN, EAGAIN (non-blocking, no space), EINTR (signal aborted a sleep). On a KTLS
 * socket `recordType` is the TLS_SET_RECORD_TYPE control message (null: application data);
 * EINVAL when it is given without a session or is not a byte.
 * XXX(sim): write(2) would return a short count instead of EAGAIN/EINTR after partial progress;
 * we reject and carry the count in sbytes so callers see both.
 */
export async function sosendGeneric(
  host: SosendHost,
  so: KSocket,
  buf: Uint8Array,
  signal?: AbortSignal,
  recordType: number | null = null,
): Promise<number> {
  if (recordType !== null) {
    if (so.so_snd.sb_tls_tx === null)
      throw new SysError('EINVAL', `TLS_SET_RECORD_TYPE: socket ${so.so_id} has no TLS session`);
    if (!Number.isInteger(recordType) || recordType < 0 || recordType > 255)
      throw new SysError('EINVAL', `TLS_SET_RECORD_TYPE: bad record type ${recordType}`);
  }
  const lock = host.sblock(so, signal);
  const unlock = lock instanceof Promise ? await lock : lock;
  try {
    return await sosendLocked(host, so, buf, signal, recordType);
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
  signal: AbortSignal | undefined,
  recordType: number | null,
): Promise<number> {
  const sb = so.so_snd;
  const uio = uioCreate([buf]);
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
    const tls = sb.sb_tls_tx;
    const chain = mUiotombuf(host.mbufs, uio, Math.min(space, residBytes), signal, tls?.pages);
    let m: Mbuf;
    try {
      m = chain instanceof Promise ? await chain : chain;
    } catch (e) {
      // The first allocation's sleep was interrupted (EINTR): report what was sent.
      throw isSysError(e) ? e.withSbytes(sentBytes) : e;
    }
    // The chain may be short of what was asked (a dry zone): queue what it holds.
    const lengthBytes = mLength(host.mbufs, m);
    host.countCopyin(lengthBytes);
    so.so_cpu.copyin_bytes += lengthBytes;
    const sendError = tls === null ? host.prSend(so, 0, m) : tls.send(m, lengthBytes, recordType);
    if (sendError !== null) throw sendError.withSbytes(sentBytes);
    sentBytes += lengthBytes;
  }
}
