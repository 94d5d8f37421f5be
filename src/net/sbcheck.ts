// Mirrors sbcheck() of sys/kern/uipc_sockbuf.c (compiled under SOCKBUF_DEBUG): walks a sockbuf's
// chain and recomputes every counter the append, ready and drop paths keep incrementally; plus
// the socket layer's own rules and its at-rest listing.
import { M_BLOCKED, M_NOTAVAIL, M_NOTREADY, type Mbuf } from '../mbuf/index.js';
import { type SockBuf, sbMbufChargeBytes } from './sockbuf.js';
import type { KSocket } from './socket.js';

/** The rules a sockbuf breaks (empty when it is sound); each message names its rule. */
export function sbcheck(sb: SockBuf, limitMbufs = 1 << 24): string[] {
  const broken: string[] = [];
  let ccc = 0;
  let acc = 0;
  let mbcnt = 0;
  let fnrdy: Mbuf | null = null;
  let sndptrSeen = false;
  let last: Mbuf | null = null;
  let count = 0;
  for (let m = sb.sb_mb; m !== null; m = m.m_next) {
    if (++count > limitMbufs) {
      broken.push('sbcheck: chain longer than the limit (a cycle?)');
      return broken;
    }
    if (m === sb.sb_sndptr) {
      sndptrSeen = true;
      if (ccc !== sb.sb_sndptroff) broken.push(`sb_sndptr at byte ${ccc}, sb_sndptroff ${sb.sb_sndptroff}`);
    }
    if (m.m_len <= 0) broken.push(`mbuf #${count} has m_len ${m.m_len}`);
    if (fnrdy === null && (m.m_flags & M_NOTREADY) !== 0) fnrdy = m;
    if (fnrdy === null) {
      if ((m.m_flags & M_BLOCKED) !== 0) broken.push(`mbuf #${count} M_BLOCKED before any not-ready mbuf`);
      acc += m.m_len;
    } else if ((m.m_flags & M_NOTAVAIL) === 0) {
      broken.push(`mbuf #${count} after sb_fnrdy is neither M_NOTREADY nor M_BLOCKED`);
    }
    ccc += m.m_len;
    mbcnt += sbMbufChargeBytes(m);
    last = m;
  }
  if (ccc !== sb.sb_ccc) broken.push(`sum of m_len ${ccc} != sb_ccc ${sb.sb_ccc}`);
  if (acc !== sb.sb_acc) broken.push(`ready bytes ${acc} != sb_acc ${sb.sb_acc}`);
  if (mbcnt !== sb.sb_mbcnt) broken.push(`charged ${mbcnt} != sb_mbcnt ${sb.sb_mbcnt}`);
  if (fnrdy !== sb.sb_fnrdy) broken.push('sb_fnrdy is not the first M_NOTREADY mbuf');
  if (last !== sb.sb_mbtail) broken.push('sb_mbtail is not the last mbuf');
  if (sb.sb_sndptr !== null && !sndptrSeen) broken.push('sb_sndptr is not in the chain');
  if (sb.sb_sndptr === null && sb.sb_sndptroff !== sb.sb_ccc) {
    broken.push(`sb_sndptr null with sb_sndptroff ${sb.sb_sndptroff} != sb_ccc ${sb.sb_ccc}`);
  }
  if (sb.sb_sndptroff > sb.sb_acc) broken.push(`sb_sndptroff ${sb.sb_sndptroff} > sb_acc ${sb.sb_acc}`);
  if (sb.sb_lowat > sb.sb_hiwat) broken.push(`sb_lowat ${sb.sb_lowat} > sb_hiwat ${sb.sb_hiwat}`);
  return broken;
}

/** The rules the sockets break: sbcheck, bytes in flight equal the batches', dropped means empty. */
export function socketsCheck(sockets: Iterable<KSocket>): string[] {
  const broken: string[] = [];
  for (const so of sockets) {
    const sb = so.so_snd;
    for (const rule of sbcheck(sb)) broken.push(`socket ${so.so_id}: ${rule}`);
    let inFlight = 0;
    for (const b of so.so_pcb.batches) inFlight += b.bytes;
    if (inFlight !== sb.sb_sndptroff) {
      broken.push(`socket ${so.so_id}: batches hold ${inFlight} bytes, sb_sndptroff ${sb.sb_sndptroff}`);
    }
    if (so.so_pcb.dropped && sb.sb_ccc !== 0)
      broken.push(`socket ${so.so_id}: dropped yet holds ${sb.sb_ccc} bytes`);
  }
  return broken;
}

/** What is not at rest: queued bytes, batches in flight, sleepers, held send locks (`except` aside). */
export function socketsAtRest(sockets: Iterable<KSocket>, except: KSocket | null = null): string[] {
  const busy: string[] = [];
  for (const so of sockets) {
    if (so === except) continue;
    const tp = so.so_pcb;
    const sb = so.so_snd;
    if (sb.sb_ccc > 0) busy.push(`socket ${so.so_id}: ${sb.sb_ccc} bytes queued (${sb.sb_acc} ready)`);
    if (tp.batches.length > 0) busy.push(`socket ${so.so_id}: ${tp.batches.length} batches in flight`);
    if (tp.sbwaitq.length > 0) busy.push(`socket ${so.so_id}: ${tp.sbwaitq.length} sleeping in sbwait`);
    if (tp.sblocked) busy.push(`socket ${so.so_id}: send lock held (${tp.sblockq.length} waiting)`);
  }
  return busy;
}
