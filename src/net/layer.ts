// Mirrors the send side of sys/kern/uipc_socket.c (socreate, soclose, sblock, sosend) and of
// sys/netinet/tcp_usrreq.c (tcp_usr_send, tcp_usr_ready, tcp_usr_abort): one SocketLayer per
// kernel holds its sockets, its counters and its debug-mode checks. sosend itself is in sosend.ts.
import {
  type Clock,
  type Errno,
  kassert,
  panic,
  SysError,
  type Tracer,
  tracer,
  WaitQueue,
} from '../kern/index.js';
import { M_NOTREADY, type Mbuf, type MbufAllocator, mbFreeNotready, mFreem } from '../mbuf/index.js';
import {
  hostInput,
  NetInet,
  type NetInetConfig,
  type PcapTap,
  type TcpStat,
  tcpAddrsOf,
} from './netinet/index.js';
import { type NetCore, type NetCounterCells, sowwakeup, tcpOutput, transportErrno } from './output.js';
import { socketsAtRest, socketsCheck } from './sbcheck.js';
import {
  EINPROGRESS,
  SB_AUTOLOWAT,
  SB_AUTOSIZE,
  SB_MAX_DEFAULT_BYTES,
  SB_UPCALL,
  SB_WAIT,
  SBS_CANTSENDMORE,
  type SockBuf,
  sbappendstream,
  sbflush,
  sbMaxAdjBytes,
  sbready,
  sbspace,
  soreserve,
  TCP_AUTOSNDBUF_INC_BYTES,
  TCP_AUTOSNDBUF_MAX_BYTES,
  TCP_SENDSPACE_BYTES,
} from './sockbuf.js';
import { KSocket, SS_ISCONNECTED, SS_ISDISCONNECTED, type Transport } from './socket.js';
import { sosendGeneric } from './sosend.js';
import { chainShape, peerPortOf } from './trace-shape.js';

/** sys/sys/protosw.h: pr_send flags. PRUS_NOTREADY: the chain carries M_NOTREADY mbufs. */
export const PRUS_OOB = 0x1;
export const PRUS_EOF = 0x2;
export const PRUS_MORETOCOME = 0x4;
export const PRUS_NOTREADY = 0x8;

export interface SocketLayerConfig {
  /** net.inet.tcp.sendspace: the default send buffer (32 KiB). */
  readonly sndbufBytes?: number;
  /** net.inet.tcp.sendbuf_auto: new sockets get SB_AUTOSIZE (default false). */
  readonly autosize?: boolean;
  /** kern.ipc.maxsockbuf (sb_max, default 2 MiB). */
  readonly maxsockbufBytes?: number;
  /** net.inet.tcp.sendbuf_inc and sendbuf_max (8 KiB, 2 MiB). */
  readonly autosndbufIncBytes?: number;
  readonly autosndbufMaxBytes?: number;
  /**
   * XXX(sim): the largest send buffer this kernel's memory can back (half of it, as the default
   * is clamped); a larger reservation would wait for pages that can never be free, so it is
   * refused (ENOBUFS, as sbreserve above sb_max_adj) and autosizing stops there.
   */
  readonly sndbufMaxBytes?: number;
  readonly invariants: boolean;
  readonly kernelId: number;
  readonly clock: Clock;
  /** The interface below (MTU, TSO and its limits) and the seed of the initial sequence numbers. */
  readonly wire?: Omit<NetInetConfig, 'clock'>;
}

export interface SoCreateOptions {
  /** SO_SNDBUF for this socket (turns autosizing off, as setsockopt does). */
  readonly sndbufBytes?: number;
  readonly nonblocking?: boolean;
  readonly cpu?: number;
  readonly autosize?: boolean;
}

/** A frozen snapshot of the socket layer's counters. */
export interface SocketCounters extends Readonly<NetCounterCells> {
  /** Sockets created and not yet soclose'd. */
  readonly so_open: number;
  readonly so_created: number;
  /** Sleeps in sbwait, and in sblock (senders queued behind another sender). */
  readonly sbwait_sleeps: number;
  readonly sblock_sleeps: number;
  /** Bytes sosend copied from user buffers into clusters (the copy path's copy #2). */
  readonly copy_bytes_in: number;
  /** pr_ready calls on a dropped connection (not-ready mbufs freed, ECONNRESET). */
  readonly pr_ready_dropped: number;
  /** Connections dropped, by errno. */
  readonly aborts: Readonly<Partial<Record<Errno, number>>>;
}

/** The socket layer of one kernel. */
export class SocketLayer implements NetCore {
  readonly trace: Tracer;
  readonly inet: NetInet;
  readonly sbMaxBytes: number;
  readonly autosndbufIncBytes: number;
  readonly autosndbufMaxBytes: number;
  /** net.inet.tcp.sendspace of this kernel. */
  readonly sendspaceBytes: number;
  /** The largest SO_SNDBUF this kernel accepts (see SocketLayerConfig.sndbufMaxBytes). */
  readonly sndbufMaxBytes: number;
  readonly cells: NetCounterCells & {
    so_created: number;
    sbwait_sleeps: number;
    sblock_sleeps: number;
    copy_bytes_in: number;
    pr_ready_dropped: number;
  } = {
    tcps_sndbyte: 0,
    snd_batches: 0,
    snd_views: 0,
    sb_dropped_bytes: 0,
    sb_autosize_grows: 0,
    so_created: 0,
    sbwait_sleeps: 0,
    sblock_sleeps: 0,
    copy_bytes_in: 0,
    pr_ready_dropped: 0,
  };
  readonly buffreeq = new WaitQueue('buffree');
  private readonly aborts: Partial<Record<Errno, number>> = {};
  private readonly sockets = new Set<KSocket>();
  /** Reused by tcp_output for the views of one batch. */
  private readonly scratchViews: Uint8Array[] = [];

  constructor(
    readonly mbufs: MbufAllocator,
    readonly config: SocketLayerConfig,
  ) {
    this.trace = tracer('net', config.kernelId);
    this.inet = new NetInet({ ...config.wire, clock: config.clock });
    this.sbMaxBytes = config.maxsockbufBytes ?? SB_MAX_DEFAULT_BYTES;
    this.autosndbufIncBytes = config.autosndbufIncBytes ?? TCP_AUTOSNDBUF_INC_BYTES;
    this.sndbufMaxBytes = Math.min(
      config.sndbufMaxBytes ?? Number.MAX_SAFE_INTEGER,
      sbMaxAdjBytes(this.sbMaxBytes),
    );
    this.autosndbufMaxBytes = Math.min(
      config.autosndbufMaxBytes ?? TCP_AUTOSNDBUF_MAX_BYTES,
      this.sndbufMaxBytes,
    );
    this.sendspaceBytes = config.sndbufBytes ?? TCP_SENDSPACE_BYTES;
    kassert(
      this.sndbufMaxBytes >= this.sendspaceBytes,
      () => `SocketLayer: sndbufBytes ${this.sendspaceBytes} above the limit ${this.sndbufMaxBytes}`,
    );
  }

  /** socreate + soconnect: a connected socket over `transport`. */
  soCreate(transport: Transport, opts: SoCreateOptions = {}): KSocket {
    const sndbufAsked = opts.sndbufBytes;
    if (sndbufAsked !== undefined && (!Number.isSafeInteger(sndbufAsked) || sndbufAsked < 1)) {
      throw new SysError('EINVAL', `SO_SNDBUF ${sndbufAsked}: not a positive whole size`);
    }
    const so = new KSocket(this.cells.so_created++, transport, opts.nonblocking ?? false, opts.cpu ?? 0);
    const sb = so.so_snd;
    const sndbuf = opts.sndbufBytes ?? this.sendspaceBytes;
    if (sndbuf > this.sndbufMaxBytes || !soreserve(sb, sndbuf, this.sbMaxBytes)) {
      throw new SysError('ENOBUFS', `soCreate: send buffer ${sndbuf} above ${this.sndbufMaxBytes}`);
    }
    sb.sb_flags |= SB_AUTOLOWAT;
    if (opts.autosize ?? (opts.sndbufBytes === undefined && this.config.autosize === true)) {
      sb.sb_flags |= SB_AUTOSIZE;
    }
    const tp = so.so_pcb;
    tp.onError = (err: unknown) => this.tcpDrop(so, transportErrno(err));
    tp.onClose = () => this.transportClosed(so);
    transport.on('error', tp.onError);
    transport.on('close', tp.onClose);
    this.sockets.add(so);
    const pcap = this.inet.attach(tp.t_seq, this.inet.tapped ? tcpAddrsOf(transport) : null);
    if (pcap !== null) tp.t_pcap_input = hostInput(transport, (chunk) => pcap.clientData(chunk));
    // The peer's port lets a trace pick one connection's socket out of many.
    if (this.trace.on) this.trace.emit('socreate', () => ({ so: so.so_id, peerPort: peerPortOf(transport) }));
    if (transport.destroyed === true) this.transportClosed(so);
    this.afterOp();
    return so;
  }

  /** setsockopt(SO_SNDBUF): ENOBUFS above sb_max_adj or sndbufMaxBytes; turns autosizing off. */
  sbsetoptSndbuf(so: KSocket, bytes: number): void {
    const sb = so.so_snd;
    if (!Number.isSafeInteger(bytes) || bytes < 1) throw new SysError('EINVAL', `SO_SNDBUF ${bytes}`);
    if (bytes > this.sndbufMaxBytes || !soreserve(sb, bytes, this.sbMaxBytes)) {
      throw new SysError('ENOBUFS', `SO_SNDBUF ${bytes}: above ${this.sndbufMaxBytes}`);
    }
    sb.sb_flags &= ~SB_AUTOSIZE;
    sowwakeup(so);
    this.afterOp();
  }

  /** setsockopt(SO_SNDLOWAT): at most hiwat; sendfile no longer raises it (SB_AUTOLOWAT off). */
  sbsetoptSndlowat(so: KSocket, bytes: number): void {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new SysError('EINVAL', `SO_SNDLOWAT ${bytes}`);
    const sb = so.so_snd;
    sb.sb_lowat = Math.min(bytes, sb.sb_hiwat);
    sb.sb_flags &= ~SB_AUTOLOWAT;
    this.afterOp();
  }

  /** sbspace(so_snd). */
  sbspace(sb: SockBuf): number {
    return sbspace(sb);
  }

  /**
   * tcp_usr_send: appends the chain (PRUS_NOTREADY keeps M_NOTREADY) and, for ready data, runs
   * output. On a dropped connection: ECONNRESET, and a ready chain is freed (a not-ready one stays
   * with its I/O owner, which hands it to prReady).
   */
  prSend(so: KSocket, flags: number, m: Mbuf): SysError | null {
    const notready = (flags & PRUS_NOTREADY) !== 0;
    if (so.so_pcb.dropped) {
      if (!notready) mFreem(this.mbufs, m);
      return new SysError('ECONNRESET', `pr_send: socket ${so.so_id} was dropped`);
    }
    kassert(notready || (m.m_flags & M_NOTREADY) === 0, 'pr_send: M_NOTREADY without PRUS_NOTREADY');
    if (this.trace.on) this.trace.emit('sbappend', () => ({ so: so.so_id, notready, ...chainShape(m) }));
    sbappendstream(this.mbufs, so.so_snd, m, notready);
    if (!notready) tcpOutput(this, so, this.scratchViews);
    this.afterOp();
    return null;
  }

  /**
   * tcp_usr_ready: sbready on `count` units from m; output if they unblocked the queue. On a
   * dropped connection the units are freed (mbFreeNotready) and ECONNRESET returned.
   */
  prReady(so: KSocket, m: Mbuf, count: number): SysError | null {
    if (so.so_pcb.dropped) {
      mbFreeNotready(this.mbufs, m, count);
      this.cells.pr_ready_dropped++;
      this.afterOp();
      return new SysError('ECONNRESET', `pr_ready: socket ${so.so_id} was dropped`);
    }
    if (this.trace.on) this.trace.emit('sbready', () => ({ so: so.so_id, count }));
    const error = sbready(so.so_snd, m, count);
    if (error !== EINPROGRESS) tcpOutput(this, so, this.scratchViews);
    this.afterOp();
    return null;
  }

  /** tcp_usr_abort / tcp_drop: so_error = code, everything queued freed, every waiter woken. */
  prAbort(so: KSocket, code: Errno): void {
    this.tcpDrop(so, code);
  }

  /** The one finish of a connection; idempotent. `code` null: an idle, orderly close. */
  tcpDrop(so: KSocket, code: Errno | null): void {
    const tp = so.so_pcb;
    if (tp.dropped) return;
    tp.dropped = true;
    if (code !== null) so.so_error = code;
    so.so_state = (so.so_state & ~SS_ISCONNECTED) | SS_ISDISCONNECTED;
    so.so_snd.sb_state |= SBS_CANTSENDMORE;
    const transport = tp.transport;
    const busy = tp.batches.length > 0 || so.so_snd.sb_ccc > 0;
    // Bytes handed over may still be read by the host: stop it before their memory is freed.
    if (transport !== null && (busy || code !== null)) transport.destroy();
    tp.t_pcap_input?.();
    tp.t_pcap_input = null;
    this.inet.close(tp.t_seq, code === null && !busy, code === 'ECONNRESET' || code === 'EPIPE');
    this.detach(so, busy || code !== null);
    tp.batches.length = 0;
    sbflush(this.mbufs, so.so_snd);
    if (this.buffreeq.length > 0) this.buffreeq.wakeAll();
    if (code !== null) this.aborts[code] = (this.aborts[code] ?? 0) + 1;
    if (this.trace.on) this.trace.emit('drop', () => ({ so: so.so_id, code }));
    so.so_snd.sb_flags &= ~SB_WAIT;
    // The error is built only for sleepers: an orderly close (one per HTTP response) has none.
    if (tp.sbwaitq.length > 0) {
      tp.sbwaitq.wakeAll(new SysError(code ?? 'EPIPE', `sbwait: socket ${so.so_id} was dropped`));
    }
    this.afterOp();
  }

  /** The transport closed: mid-stream that is a reset; idle, an orderly end. */
  private transportClosed(so: KSocket): void {
    const tp = so.so_pcb;
    if (tp.dropped) return;
    const busy = tp.batches.length > 0 || so.so_snd.sb_ccc > 0;
    this.tcpDrop(so, busy ? 'ECONNRESET' : null);
  }

  /** Removes our listeners; a destroyed transport keeps a sink for late 'error' events. */
  private detach(so: KSocket, keepErrorSink: boolean): void {
    const tp = so.so_pcb;
    const transport = tp.transport;
    if (transport === null) return;
    if (tp.onClose !== null) transport.removeListener('close', tp.onClose);
    if (tp.onError !== null && !keepErrorSink) transport.removeListener('error', tp.onError);
    tp.onClose = null;
    tp.transport = null;
  }

  /** sbwait: sleeps until space grows or the connection drops (rejects with its errno); EINTR on abort. */
  sbwait(so: KSocket, signal?: AbortSignal): Promise<void> {
    const tp = so.so_pcb;
    if (tp.dropped) {
      return Promise.reject(new SysError(so.so_error ?? 'EPIPE', `sbwait: socket ${so.so_id} was dropped`));
    }
    this.cells.sbwait_sleeps++;
    so.so_snd.sb_flags |= SB_WAIT;
    if (this.trace.on) this.trace.emit('sbwait', () => ({ so: so.so_id, space: sbspace(so.so_snd) }));
    return tp.sbwaitq.sleep(signal);
  }

  /**
   * sblock(SBL_WAIT): the socket's send I/O lock, handed over FIFO. Returns the unlock, or a
   * Promise of it when another sender holds the lock (the synchronous fast path otherwise).
   */
  sblock(so: KSocket, signal?: AbortSignal): (() => void) | Promise<() => void> {
    const tp = so.so_pcb;
    let held = true;
    const unlock = (): void => {
      if (!(held && tp.sblocked)) panic(`sbunlock: socket ${so.so_id} lock not held`);
      held = false;
      if (!tp.sblockq.wakeOne()) tp.sblocked = false;
    };
    if (!tp.sblocked) {
      tp.sblocked = true;
      return unlock;
    }
    this.cells.sblock_sleeps++;
    return tp.sblockq.sleep(signal).then(() => unlock);
  }

  /** write(2) on the socket, and sendmsg with a TLS record type on a KTLS socket (see sosend.ts). */
  sosend(
    so: KSocket,
    buf: Uint8Array,
    signal?: AbortSignal,
    recordType: number | null = null,
  ): Promise<number> {
    return sosendGeneric(this, so, buf, signal, recordType);
  }

  /**
   * Waits until everything queued on so_snd was written (the SO_LINGER wait of soclose, "soclos"):
   * resolves at once when nothing is queued; rejects with the errno if the connection drops.
   */
  async sodrain(so: KSocket, signal?: AbortSignal): Promise<void> {
    // Each wake-up follows a write callback or a drop, so the loop ends with the data or the error.
    for (let i = 0; so.so_snd.sb_ccc > 0 || so.so_pcb.batches.length > 0; i++) {
      kassert(i < 1 << 30, 'sodrain: too many wake-ups');
      await this.sbwait(so, signal);
    }
  }

  /**
   * soclose: finishes the socket. Anything still queued or in flight is an abortive close (the
   * transport is destroyed, everything freed); an idle socket leaves the transport to its owner.
   */
  soclose(so: KSocket): void {
    if (!this.sockets.has(so)) return;
    this.tcpDrop(so, null);
    this.soupcallClear(so);
    this.sockets.delete(so);
    this.afterOp();
  }

  /**
   * soupcall_set(so, SO_SND, upcall): `upcall` runs at each sowwakeup of the send buffer (after
   * an acknowledgement freed space), inside the kernel: it must not sleep.
   */
  soupcallSet(so: KSocket, upcall: () => void): void {
    so.so_snd.sb_upcall = upcall;
    so.so_snd.sb_flags |= SB_UPCALL;
  }

  /** soupcall_clear(so, SO_SND). */
  soupcallClear(so: KSocket): void {
    so.so_snd.sb_upcall = null;
    so.so_snd.sb_flags &= ~SB_UPCALL;
  }

  /** Records the connections `tap` matches from now on; the returned function stops it. */
  pcapTap(tap: PcapTap): () => void {
    return this.inet.addTap(tap);
  }

  /** Names what follows on a captured connection (a request line); nothing when not captured. */
  pcapNote(so: KSocket, label: () => string): void {
    so.so_pcb.t_seq.t_pcap?.note(label());
  }

  /** A TLS key log line of a captured connection (Node's 'keylog'); nothing when not captured. */
  pcapKeylog(so: KSocket, line: string): void {
    so.so_pcb.t_seq.t_pcap?.secrets(line);
  }

  /** netstat -s -p tcp: the send side of struct tcpstat (tcps_sndbyte is in counters()). */
  tcpstat(): Readonly<TcpStat> {
    return this.inet.tcpstat();
  }

  /** A frozen snapshot of the counters. */
  counters(): SocketCounters {
    return Object.freeze({
      ...this.cells,
      so_open: this.sockets.size,
      aborts: Object.freeze({ ...this.aborts }),
    });
  }

  /** What is not at rest: queued bytes, batches in flight, sleepers, held send locks. */
  atRest(except: KSocket | null = null): string[] {
    return socketsAtRest(this.sockets, except);
  }

  /** sbcheck on every socket, plus: bytes in flight equal the batches', a dropped socket is empty. */
  checkInvariants(): void {
    const broken = socketsCheck(this.sockets);
    kassert(broken.length === 0, () => `net invariants: ${broken.join('; ')}`);
  }

  /** Debug mode: the O(n) check after every state change. */
  afterOp(): void {
    if (this.config.invariants) this.checkInvariants();
  }

  /** copy_bytes_in accounting for sosend. */
  countCopyin(bytes: number): void {
    this.cells.copy_bytes_in += bytes;
  }
}
