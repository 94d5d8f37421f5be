// Mirrors sys/kern/kern_sendfile.c: sendfile (argument checks), vn_sendfile (the chunk loop),
// sendfile_wait_generic (waiting for socket space). One chunk's work is in chunk.ts, the page
// side in swapin.ts, the mbuf side in mext.ts.
import { isSysError, kassert, PAGE_MASK, PAGE_SIZE, SysError } from '../kern/index.js';
import { type Mbuf, mFreem, mLength, mUiotombuf, uioCreate } from '../mbuf/index.js';
import { type KSocket, SB_AUTOLOWAT, SBS_CANTSENDMORE } from '../net/index.js';
import type { VmObject } from '../vm/index.js';
import { vmObjectDeallocate, vmObjectReference, vmObjectRevalidateStale } from '../vm/index.js';
import { chainJoin, sendfileChunk, sendfileQueue } from './chunk.js';
import type { KFile } from './file.js';
import { type SendfileOptions, SF_FLAGS_ALL, SF_READAHEAD, SF_SYNC } from './flags.js';
import { sendfileKtlsQueue, sendfileKtlsSession } from './ktls.js';
import {
  type SendfileEnv,
  SendfileSync,
  type SendResult,
  type SfCall,
  type SfChunk,
  sendfileSyncWait,
  sfChunkPut,
  sfChunkTake,
} from './sfio.js';
import { checkConnected, checkFileArgs, checkSocket } from './validate.js';

/**
 * sendfile(2): sends `nbytes` of `file` from `offset` (0 = to EOF) on `so`, with optional
 * headers and trailers. Resolves to sbytes (headers + file + trailers queued) or rejects with a
 * SysError carrying the partial sbytes. The file's size is revalidated at the start of the call
 * (XXX(sim): at most every `revalidateMs`, a knob; 0, the default, is every call as the kernel
 * does): a file changed since the last look is sent as it is now.
 */
export async function vnSendfile(
  env: SendfileEnv,
  file: KFile,
  so: KSocket,
  offset: number,
  nbytes: number,
  opts: SendfileOptions = {},
): Promise<number> {
  const flags = opts.flags ?? 0;
  checkFileArgs(file, offset, nbytes);
  if (!Number.isInteger(flags) || (flags & 0xffff & ~SF_FLAGS_ALL) !== 0 || flags < 0) {
    throw new SysError('EINVAL', `sendfile: bad flags 0x${flags.toString(16)}`);
  }
  const readahead = opts.readahead ?? SF_READAHEAD(flags);
  if (!Number.isInteger(readahead) || readahead < 0) throw new SysError('EINVAL', 'sendfile: bad readahead');
  checkSocket(so);
  env.sfstat.sf_syscalls++;
  env.sfstat.sf_rhpages_requested += readahead;
  const call: SfCall = {
    flags,
    cpu: opts.cpu ?? so.cpu,
    signal: opts.signal,
    sync: (flags & SF_SYNC) !== 0 ? new SendfileSync() : null,
    tls: sendfileKtlsSession(env, so),
    rem: 0,
    softerr: null,
    mPending: null,
    sfPending: undefined,
    holdsHeader: false,
  };
  if (env.trace.on) {
    env.trace.emit('sendfile', () => ({
      fd: file.fd,
      object: file.obj.id,
      so: so.so_id,
      offset,
      nbytes,
      flags,
      readahead,
    }));
  }
  // sendfile_getobj: the call holds its own reference, so close(fd) meanwhile disturbs nothing.
  const obj = file.obj;
  vmObjectReference(obj);
  let r: SendResult;
  try {
    // fstat, then the chunk loop under the socket's send lock, which serialises senders
    // (SBL_NOINTR in the kernel; here the caller's signal ends the wait, as a closed connection
    // must end every sleep).
    const stale = vmObjectRevalidateStale(env.vm, obj, env.revalidateMs);
    if (stale !== null) await revalidate(stale);
    const lock = env.sockets.sblock(so, call.signal);
    const unlock = lock instanceof Promise ? await lock : lock;
    const c = sfChunkTake(env);
    try {
      r = await sendfileLoop(env, obj, so, offset, nbytes, call, readahead, opts.headers ?? [], c);
    } finally {
      sfChunkPut(env, c);
      unlock();
    }
  } finally {
    vmObjectDeallocate(env.vm, obj);
  }
  if (r.error === null && opts.trailers !== undefined && opts.trailers.length > 0)
    await sendTrailers(env, so, opts, r);
  if (call.sync !== null) await syncWait(call.sync, opts.signal, r);
  if (env.trace.on) {
    env.trace.emit('sendfile-done', () => ({ so: so.so_id, sbytes: r.sbytes, error: r.error?.code ?? null }));
  }
  // An interrupted wait for the chain's first sf_buf is ENOBUFS, as vn_sendfile gives it.
  if (r.error !== null) throw r.error.withSbytes(r.sbytes);
  return r.sbytes;
}

async function revalidate(fstat: Promise<void>): Promise<void> {
  try {
    await fstat;
  } catch (e) {
    throw isSysError(e) ? e : new SysError('EIO', `sendfile: fstat: ${String(e)}`);
  }
}

/** Trailers: the kernel releases the send lock and writes them with writev(2), a copy. */
async function sendTrailers(env: SendfileEnv, so: KSocket, opts: SendfileOptions, r: SendResult) {
  for (const t of opts.trailers ?? []) {
    if (t.length === 0) continue;
    try {
      r.sbytes += await env.sockets.sosend(so, t, opts.signal);
    } catch (e) {
      if (!isSysError(e)) throw e;
      r.sbytes += e.sbytes;
      r.error = e;
      return;
    }
  }
}

/** SF_SYNC: the call returns only once every storage it created has been freed. */
async function syncWait(sync: SendfileSync, signal: AbortSignal | undefined, r: SendResult) {
  const w = sendfileSyncWait(sync, signal);
  if (w === null) return;
  try {
    await w;
  } catch {
    r.error ??= new SysError('EINTR', 'sendfile: SF_SYNC wait interrupted');
  }
}

/**
 * sendfile_wait_generic: with SB_AUTOLOWAT raises sb_lowat to hiwat/2 so sends go out in bulk,
 * then returns the space to fill, or throws (EPIPE, so_error, ENOTCONN, EAGAIN), or returns the
 * sbwait sleep, after which the caller asks again.
 */
function sendfileWaitSpace(
  env: SendfileEnv,
  so: KSocket,
  rem: number,
  signal: AbortSignal | undefined,
): number | Promise<void> {
  const sb = so.so_snd;
  // Wait for a good part of the buffer to be free so that sends go out in bulk. This also
  // changes sb_lowat for later sends, as it does in the kernel.
  if ((sb.sb_flags & SB_AUTOLOWAT) !== 0) {
    const lowat = Math.max(Math.floor(sb.sb_hiwat / 2), sb.sb_hiwat >= PAGE_SIZE ? PAGE_SIZE : 0);
    if (sb.sb_lowat < lowat) sb.sb_lowat = lowat;
  }
  if ((sb.sb_state & SBS_CANTSENDMORE) !== 0)
    throw new SysError('EPIPE', 'sendfile: socket cannot send more');
  if (so.so_error !== null) {
    const code = so.so_error;
    so.so_error = null;
    throw new SysError(code, 'sendfile: socket error');
  }
  checkConnected(so);
  const space = env.sockets.sbspace(sb);
  if (space < rem && (space <= 0 || space < sb.sb_lowat)) {
    if (so.nonblocking) throw new SysError('EAGAIN', 'sendfile: socket buffer full');
    return env.sockets.sbwait(so, signal);
  }
  return space;
}

/**
 * vn_sendfile's loop: one chunk per turn (built in `c`), at most the socket's free space. As in the kernel the
 * loop runs while file data remains, so with none (offset at EOF) the headers are not sent.
 */
async function sendfileLoop(
  env: SendfileEnv,
  obj: VmObject,
  so: KSocket,
  offset: number,
  nbytes: number,
  call: SfCall,
  readahead: number,
  headers: readonly Uint8Array[],
  c: SfChunk,
): Promise<SendResult> {
  const r: SendResult = { sbytes: 0, error: null };
  const hdr = uioCreate(headers);
  // XXX(sim): the size is the one fstat'ed at the start of the call; the kernel looks again
  // (VOP_GETATTR) before each chunk, which costs a host system call per chunk here.
  const size = obj.sizeBytes;
  let rem = Math.max(0, nbytes > 0 ? Math.min(nbytes, size - offset) : size - offset);
  let off = offset;
  while (rem > 0) {
    // The header mbufs are ours until they are joined to the chunk: an error in between frees them.
    let mh: Mbuf | null = null;
    try {
      let w = sendfileWaitSpace(env, so, rem, call.signal);
      // Each wake-up follows an acknowledgement or a drop, so the retries end.
      for (let i = 0; typeof w !== 'number'; i++) {
        kassert(i < 1 << 30, 'vn_sendfile: too many wake-ups');
        await w;
        w = sendfileWaitSpace(env, so, rem, call.signal);
      }
      let space = w;
      let hdrlen = 0;
      if (hdr.uio_resid > 0) {
        // On a KTLS socket the header becomes records of anonymous pages (m_uiotombuf M_EXTPG).
        const h =
          call.tls !== null && env.ktls !== null
            ? env.ktls.uiotombuf(hdr, space, call.signal)
            : mUiotombuf(env.mbufs, hdr, space, call.signal);
        mh = h instanceof Promise ? await h : h;
        hdrlen = mLength(env.mbufs, mh);
        so.so_cpu.copyin_bytes += hdrlen;
        space -= hdrlen;
        // A header cut short by a dry zone goes out alone; file data follows the whole header.
        if (hdr.uio_resid > 0) space = 0;
      }
      if (space > rem) space = rem;
      else if (space > PAGE_SIZE) space -= (off + space) & PAGE_MASK;
      call.rem = rem;
      call.holdsHeader = mh !== null;
      let chunk: Mbuf | null = null;
      if (space > 0) {
        const b = sendfileChunk(env, obj, c, call, off, space, readahead);
        chunk = b instanceof Promise ? await b : b;
      }
      const fileBytes = chunk === null ? 0 : c.space;
      off += fileBytes;
      rem -= fileBytes;
      const m = chainJoin(mh, chunk);
      mh = null;
      if (m === null) {
        kassert(call.softerr !== null, 'vn_sendfile: nothing built and no error');
        r.error = new SysError(call.softerr, 'sendfile');
        return r;
      }
      if (env.invariants) {
        kassert(
          mLength(env.mbufs, m) === fileBytes + hdrlen,
          () => `vn_sendfile: mlen ${mLength(env.mbufs, m)} space ${fileBytes} hdrlen ${hdrlen}`,
        );
      }
      const err =
        call.tls !== null
          ? sendfileKtlsQueue(env, so, c, chunk !== null, m, call.tls)
          : sendfileQueue(env, so, c, chunk !== null, m);
      if (err !== null) {
        r.error = err;
        return r;
      }
      r.sbytes += fileBytes + hdrlen;
      if (env.invariants) env.checkAll();
      if (call.softerr !== null) {
        r.error = new SysError(call.softerr, 'sendfile');
        return r;
      }
    } catch (e) {
      if (mh !== null) mFreem(env.mbufs, mh);
      if (!isSysError(e)) throw e;
      r.error = e;
      return r;
    }
  }
  return r;
}
