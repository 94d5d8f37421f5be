// The send half of sys/netinet/tcp_output.c and the ACK half of tcp_input.c, for a connection
// whose "wire" is a host stream. tcp_output lists the ready bytes past the send cursor as views
// (mbufViews, adjacent views joined) and writes them inside one cork()/uncork(): one writev. When
// that batch's write callback runs, the bytes have left our hands: sbdrop frees their mbufs (ext
// free functions run) and senders sleeping in sbwait wake, as an ACK does in the kernel.
// Below it, netinet cuts each batch into the bursts and segments tcp_output would send (counted,
// and recorded when a capture asks); the host still gets the batch as one writev.
// XXX(sim): no windows or retransmission; the write callback stands in for the ACK.
import { type Errno, errnoFromNode, kassert, panic, type Tracer, type WaitQueue } from '../kern/index.js';
import type { Mbuf, MbufAllocator } from '../mbuf/index.js';
import type { NetInet, TcpBurst } from './netinet/index.js';
import { SB_AUTOSIZE, SB_UPCALL, SB_WAIT, type SockBuf, sbdrop, sbreserve } from './sockbuf.js';
import type { KSocket, SndBatch } from './socket.js';

/** The socket layer's counters (see SocketCounters in layer.ts for their meaning). */
export interface NetCounterCells {
  tcps_sndbyte: number;
  snd_batches: number;
  snd_views: number;
  sb_dropped_bytes: number;
  sb_autosize_grows: number;
}

/** What output and the ACK path need from the socket layer. */
export interface NetCore {
  readonly mbufs: MbufAllocator;
  /** The wire below: tcp_output's cut into bursts and segments, and captures. */
  readonly inet: NetInet;
  readonly cells: NetCounterCells;
  readonly trace: Tracer;
  readonly sbMaxBytes: number;
  readonly autosndbufIncBytes: number;
  readonly autosndbufMaxBytes: number;
  /**
   * Sleepers for buffers freed anywhere (mbufs, clusters, the pages and sf_bufs they held): woken
   * after each acknowledgement and each dropped connection. XXX(sim): FreeBSD has no such channel;
   * it is what a server's admission sleeps on instead of polling the pools.
   */
  readonly buffreeq: WaitQueue;
  /** tcp_drop: the connection is finished with `code`. */
  tcpDrop(so: KSocket, code: Errno): void;
  /** The debug-mode check after a state change. */
  afterOp(): void;
}

/** tcp_output: writes every ready byte past the cursor as one batch; no-op when there is none. */
export function tcpOutput(core: NetCore, so: KSocket, scratch: Uint8Array[]): void {
  const tp = so.so_pcb;
  const sb = so.so_snd;
  const transport = tp.transport;
  if (tp.dropped || transport === null) return;
  tcpSndbufAutoscale(core, sb);
  const availBytes = sb.sb_acc - sb.sb_sndptroff;
  if (availBytes <= 0) return;
  const start = sb.sb_sndptr;
  if (start === null) panic(`tcp_output: ${availBytes} bytes available but no sb_sndptr`);
  scratch.length = 0;
  const listed =
    tp.snd_tag !== null
      ? tp.snd_tag.output(start, availBytes, scratch)
      : core.mbufs.mbufViews(start, availBytes, scratch);
  if (listed !== availBytes) panic(`tcp_output: mbufViews listed ${listed} of ${availBytes}`);
  sb.sb_sndptroff += availBytes;
  const bursts: TcpBurst[] | null = core.trace.on ? [] : null;
  // The cut ends where the batch does: the next send starts at that mbuf.
  sb.sb_sndptr = core.inet.output(
    tp.t_seq,
    start,
    availBytes,
    tp.snd_tag !== null,
    scratch,
    sb.sb_sndptroff === sb.sb_ccc,
    bursts,
  );
  const batch: SndBatch = { bytes: availBytes, viewCount: scratch.length };
  tp.batches.push(batch);
  core.cells.tcps_sndbyte += availBytes;
  core.cells.snd_batches++;
  core.cells.snd_views += scratch.length;
  if (core.trace.on) {
    // Views fewer than mbufs: adjacent storage (contiguous pages) was merged into one view.
    const mbufs = mbufsIn(start, availBytes);
    core.trace.emit('output', () => ({
      so: so.so_id,
      bytes: availBytes,
      views: batch.viewCount,
      mbufs,
      merged: mbufs - batch.viewCount,
      bursts: (bursts ?? []).map((b) => ({
        bytes: b.lenBytes,
        tso: b.tso,
        segments: b.segments,
        cut: b.seglimitCut,
      })),
    }));
  }
  const done = (err?: Error | null): void => tcpAck(core, so, batch, err);
  const last = scratch.length - 1;
  transport.cork();
  for (let i = 0; i < last; i++) transport.write(scratch[i] as Uint8Array);
  transport.write(scratch[last] as Uint8Array, done);
  transport.uncork();
  scratch.length = 0;
}

/** How many mbufs carry the first `bytes` bytes from `m` (for the trace). */
function mbufsIn(m: Mbuf, bytes: number): number {
  let count = 0;
  for (let n: Mbuf | null = m; n !== null && bytes > 0; n = n.m_next) {
    bytes -= n.m_len;
    count++;
  }
  return count;
}

/**
 * The ACK: the batch's write completed. Drops its bytes (freeing their mbufs) and wakes senders.
 * After the connection was dropped the batch is gone already; an error drops the connection.
 */
function tcpAck(core: NetCore, so: KSocket, batch: SndBatch, err: Error | null | undefined): void {
  const tp = so.so_pcb;
  if (tp.dropped) return;
  if (err) {
    core.tcpDrop(so, transportErrno(err));
    return;
  }
  kassert(tp.batches[0] === batch, 'tcp_ack: write callbacks out of order');
  tp.batches.shift();
  core.inet.ack(tp.t_seq, batch.bytes);
  // Published before sbdrop, so that the free callbacks it runs follow in the trace.
  if (core.trace.on) {
    core.trace.emit('ack', () => ({ so: so.so_id, bytes: batch.bytes }));
    core.trace.emit('sbdrop', () => ({ so: so.so_id, bytes: batch.bytes }));
  }
  sbdrop(core.mbufs, so.so_snd, batch.bytes);
  core.cells.sb_dropped_bytes += batch.bytes;
  sowwakeup(so);
  if (core.buffreeq.length > 0) core.buffreeq.wakeAll();
  core.afterOp();
}

/** sowwakeup: space grew; every sender sleeping in sbwait re-checks, and the upcall runs. */
export function sowwakeup(so: KSocket): void {
  const sb = so.so_snd;
  sb.sb_flags &= ~SB_WAIT;
  so.so_pcb.sbwaitq.wakeAll();
  if ((sb.sb_flags & SB_UPCALL) !== 0) sb.sb_upcall?.();
}

/**
 * tcp_sndbuf_autoscale: with SB_AUTOSIZE, a send buffer filled to 7/8 grows by sendbuf_inc up to
 * sendbuf_max; a reservation sbreserve refuses turns autosizing off.
 * XXX(sim): no peer window or congestion window to compare with; the fill level decides alone.
 */
function tcpSndbufAutoscale(core: NetCore, sb: SockBuf): void {
  if ((sb.sb_flags & SB_AUTOSIZE) === 0) return;
  if (sb.sb_ccc < Math.floor(sb.sb_hiwat / 8) * 7 || sb.sb_ccc >= core.autosndbufMaxBytes) return;
  const want = Math.min(sb.sb_hiwat + core.autosndbufIncBytes, core.autosndbufMaxBytes);
  if (want <= sb.sb_hiwat) return;
  if (sbreserve(sb, want, core.sbMaxBytes)) core.cells.sb_autosize_grows++;
  else sb.sb_flags &= ~SB_AUTOSIZE;
}

/** The errno a transport failure means to the socket: EPIPE or ECONNRESET. */
export function transportErrno(err: unknown): Errno {
  const code = errnoFromNode(err);
  return code === 'EPIPE' ? 'EPIPE' : 'ECONNRESET';
}
