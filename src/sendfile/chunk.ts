// Mirrors one turn of vn_sendfile's loop (sys/kern/kern_sendfile.c): cut the chunk, run
// sendfile_swapin, build the mbufs, and hand the chain to the protocol (pr_send), not ready while
// its pages are being read.
import { PAGE_MASK, pagesCeil, type SysError } from '../kern/index.js';
import type { Mbuf } from '../mbuf/index.js';
import { mFreem } from '../mbuf/index.js';
import { type KSocket, PRUS_NOTREADY } from '../net/index.js';
import { PQ_INACTIVE, type VmObject } from '../vm/index.js';
import { fixspace, sendfileReadahead } from './flags.js';
import { sendfileBuildMbufs } from './mext.js';
import type { SendfileEnv, SfCall, SfChunk } from './sfio.js';
import { sendfileIodone, sendfileIowait, sendfileSwapin } from './swapin.js';
import { describePageMbufs } from './trace-mbufs.js';

export function chainJoin(mh: Mbuf | null, m: Mbuf | null): Mbuf | null {
  if (mh === null) return m;
  let t = mh;
  while (t.m_next !== null) t = t.m_next;
  t.m_next = m;
  return mh;
}

/**
 * One chunk: readahead, swapin (wire the pages, start the reads), then the mbufs. Returns the
 * chunk's page mbufs (null if none was built: a soft error says why). Synchronous fast path: a
 * Promise only when swapin or the mbuf loop has to sleep (hot pages never do).
 */
export function sendfileChunk(
  env: SendfileEnv,
  obj: VmObject,
  c: SfChunk,
  call: SfCall,
  off: number,
  space: number,
  readahead: number,
): Mbuf | null | Promise<Mbuf | null> {
  const npages = pagesCeil(space + (off & PAGE_MASK));
  const rhpages = sendfileReadahead(call.flags, readahead, call.rem, off, npages, obj.sizeBytes);
  c.reset(obj, off, space, npages, rhpages);
  let p: Promise<void> | null;
  try {
    p = sendfileSwapin(env, c, call.flags, call.signal);
  } catch (e) {
    return sendfileAbandon(env, c).then(() => Promise.reject(e));
  }
  if (p !== null) return sendfileChunkSwapinSleep(env, c, call, off, p);
  return sendfileChunkBuild(env, c, call, off);
}

/** The rest of swapin once it had to sleep, then the mbufs. */
async function sendfileChunkSwapinSleep(
  env: SendfileEnv,
  c: SfChunk,
  call: SfCall,
  off: number,
  first: Promise<void>,
): Promise<Mbuf | null> {
  try {
    for (let p: Promise<void> | null = first; p !== null; ) {
      await p;
      p = sendfileSwapin(env, c, call.flags, call.signal);
    }
  } catch (e) {
    await sendfileAbandon(env, c);
    throw e;
  }
  return sendfileChunkBuild(env, c, call, off);
}

/** After swapin: SF_NODISKIO's stop, then the page mbufs. */
function sendfileChunkBuild(
  env: SendfileEnv,
  c: SfChunk,
  call: SfCall,
  off: number,
): Mbuf | null | Promise<Mbuf | null> {
  if (c.stopped) {
    // SF_NODISKIO met a page it may not wait for: send the pages before it, then EBUSY.
    env.sfstat.sf_busy++;
    c.space = fixspace(c.grabbed, off, c.space);
    c.npages = c.grabbed;
    call.softerr = 'EBUSY';
  }
  const p = sendfileBuildMbufs(env, c, call);
  if (p !== null) return sendfileChunkBuildSleep(env, c, call, p);
  return sendfileChunkDone(env, c);
}

/** The rest of the mbuf loop once it had to sleep. */
async function sendfileChunkBuildSleep(
  env: SendfileEnv,
  c: SfChunk,
  call: SfCall,
  first: Promise<void>,
): Promise<Mbuf | null> {
  for (let p: Promise<void> | null = first; p !== null; ) {
    await p;
    p = sendfileBuildMbufs(env, c, call);
  }
  return sendfileChunkDone(env, c);
}

/** The chunk's mbufs; with none built, the syscall's reference on the chunk's I/O goes now. */
function sendfileChunkDone(env: SendfileEnv, c: SfChunk): Mbuf | null {
  if (c.mhead === null) sendfileIodone(env, c.sfio!, null);
  return c.mhead;
}

/** A sleep of swapin was interrupted: wait for the chunk's reads, then unwire its pages. */
async function sendfileAbandon(env: SendfileEnv, c: SfChunk): Promise<void> {
  const sfio = c.sfio!;
  const wait = sendfileIowait(sfio);
  if (wait !== null) await wait;
  for (let i = 0; i < c.grabbed; i++) {
    const m = c.pa[i];
    if (m) env.vm.vmPageUnwire(m, PQ_INACTIVE);
    c.pa[i] = null;
  }
  sendfileIodone(env, sfio, null);
}

/**
 * Queues a chunk: all pages resident -> pr_send at once; reads pending -> pr_send with
 * PRUS_NOTREADY, and the last read's completion (or this call's own sendfileIodone, if the reads
 * already finished) makes the mbufs ready. If the connection was dropped meanwhile, pr_send
 * refuses: a ready chain is freed by it; of a not-ready one the I/O owner keeps the page mbufs
 * (prReady frees them on the dropped socket) and the header mbufs in front are freed here.
 */
export function sendfileQueue(
  env: SendfileEnv,
  so: KSocket,
  c: SfChunk,
  hasPages: boolean,
  m: Mbuf,
): SysError | null {
  const sfio = c.sfio;
  if (env.trace.on) {
    env.trace.emit('chunk', () => ({
      so: so.so_id,
      off: c.off,
      bytes: hasPages ? c.space : 0,
      pages: hasPages ? c.npages : 0,
      ios: hasPages ? c.iosStarted : 0,
      notready: hasPages && c.iosStarted > 0,
      mbufs: hasPages ? describePageMbufs(c.mhead) : [],
    }));
  }
  if (!hasPages || sfio === null || c.iosStarted === 0) {
    if (hasPages && sfio !== null) sendfileIodone(env, sfio, null);
    return env.sockets.prSend(so, 0, m);
  }
  sfio.so = so;
  sfio.m = c.mhead;
  sfio.npages = c.npages;
  const err = env.sockets.prSend(so, PRUS_NOTREADY, m);
  if (err !== null && m !== c.mhead) mFreem(env.mbufs, chainCut(m, c.mhead));
  sendfileIodone(env, sfio, null);
  return err;
}

/** Unlinks the part of chain `m` before `stop`; returns that part. */
export function chainCut(m: Mbuf, stop: Mbuf | null): Mbuf {
  let t = m;
  while (t.m_next !== stop && t.m_next !== null) t = t.m_next;
  t.m_next = null;
  return m;
}
