// The KTLS side of vn_sendfile (sys/kern/kern_sendfile.c under KERN_TLS): on a socket with a
// session the chunk's M_EXTPG mbufs are framed into records (ktls_frame), numbered and appended;
// in software mode they go to a KTLS worker, at once or when the chunk's page reads complete
// (sendfile_iodone hands them over instead of pr_ready).
import type { SysError } from '../kern/index.js';
import { type KtlsSession, TCP_TLS_MODE_SW } from '../ktls/index.js';
import type { Mbuf } from '../mbuf/index.js';
import { mFreem } from '../mbuf/index.js';
import { type KSocket, PRUS_NOTREADY } from '../net/index.js';
import { chainCut } from './chunk.js';
import type { SendfileEnv, SfChunk } from './sfio.js';
import { sendfileIodone } from './swapin.js';

/** The socket's KTLS session, or null (the kernel's so_snd.sb_tls_info, held for the call). */
export function sendfileKtlsSession(env: SendfileEnv, so: KSocket): KtlsSession | null {
  return env.ktls === null ? null : env.ktls.sessionOf(so);
}

/**
 * sendfileQueue for a KTLS socket: frames the chain `m` (header records, then the chunk's page
 * records) and queues it. With page reads pending, the chain goes in not ready; software mode
 * encrypts the header records now and the page records when the last read completes.
 */
export function sendfileKtlsQueue(
  env: SendfileEnv,
  so: KSocket,
  c: SfChunk,
  hasPages: boolean,
  m: Mbuf,
  tls: KtlsSession,
): SysError | null {
  const ktls = env.ktls!;
  const enqCnt = ktls.frame(m, tls);
  const sfio = c.sfio;
  if (!hasPages || sfio === null || c.iosStarted === 0) {
    if (hasPages && sfio !== null) sendfileIodone(env, sfio, null);
    return ktls.send(so, m, enqCnt);
  }
  sfio.so = so;
  sfio.m = c.mhead;
  sfio.npages = c.npages;
  sfio.tls = tls;
  ktls.seq(so, m);
  const err = env.sockets.prSend(so, PRUS_NOTREADY, m);
  if (err !== null && m !== c.mhead) mFreem(env.mbufs, chainCut(m, c.mhead));
  else if (err === null && m !== c.mhead && tls.mode === TCP_TLS_MODE_SW) {
    ktls.enqueue(m, so, enqCnt - c.npages);
  }
  sendfileIodone(env, sfio, null);
  return err;
}
