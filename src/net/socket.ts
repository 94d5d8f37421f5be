// Mirrors struct socket of sys/sys/socketvar.h (send side) and the bits of struct inpcb/tcpcb
// (sys/netinet/in_pcb.h, tcp_var.h) that the send path needs, plus the Transport: the host stream
// our TCP hands its bytes to.
//
// Ownership: a KSocket belongs to its SocketLayer from soCreate to soclose. Its so_snd chain is
// freed by sbdrop (write completed), by prAbort (connection dropped) or by soclose. The transport
// belongs to whoever created it (the HTTP server, a test); we attach an 'error' and a 'close'
// listener at soCreate and detach them once, when the connection is finished (undici's one
// `finished` flag, here `tp.dropped`).
import { type Errno, WaitQueue } from '../kern/index.js';
import type { Mbuf } from '../mbuf/index.js';
import { TcpSeq } from './netinet/index.js';
import { SockBuf } from './sockbuf.js';

/**
 * The stream a socket writes to: a net.Socket, an http.ServerResponse, or MemoryTransport. Its
 * write callback is where our TCP learns the bytes left our hands.
 * XXX(sim): the write callback stands in for the TCP ACK that lets sbdrop free mbufs.
 */
export interface Transport {
  write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean;
  cork(): void;
  uncork(): void;
  destroy(err?: Error): void;
  on(event: 'error' | 'close', fn: (...a: unknown[]) => void): unknown;
  removeListener(event: string, fn: (...a: unknown[]) => void): unknown;
  /** Node streams say whether they were destroyed; a destroyed stream cannot be written. */
  readonly destroyed?: boolean;
}

/** so_state (sys/sys/socketvar.h). */
export const SS_NOFDREF = 0x0001;
export const SS_ISCONNECTED = 0x0002;
export const SS_ISCONNECTING = 0x0004;
export const SS_ISDISCONNECTING = 0x0008;
export const SS_NBIO = 0x0100;
export const SS_ISDISCONNECTED = 0x2000;

/** One writev handed to the transport: its bytes are dropped when its callback runs. */
export interface SndBatch {
  readonly bytes: number;
  readonly viewCount: number;
}

/**
 * An ifnet send tag (struct m_snd_tag): the NIC that takes a batch's mbufs and puts its own bytes
 * on the wire (KTLS ifnet mode encrypts there). Returns the bytes listed into `out`.
 */
export interface SndTag {
  output(m: Mbuf, bytes: number, out: Uint8Array[]): number;
}

/** The protocol control block: what tcp_usrreq and tcp_output keep for one connection. */
export class TcpCb {
  transport: Transport | null;
  /** Batches written and not yet called back, oldest first. */
  readonly batches: SndBatch[] = [];
  /** INP_DROPPED: the connection is finished (aborted, closed by the peer, or soclose'd). */
  dropped = false;
  /** Senders sleeping for space ("sbwait"). */
  readonly sbwaitq = new WaitQueue('sbwait');
  /** Senders waiting for the socket's send I/O lock (sblock, SBL_WAIT), FIFO. */
  readonly sblockq = new WaitQueue('sblock');
  sblocked = false;
  /** Our listeners on the transport, kept to detach them. */
  onError: ((...a: unknown[]) => void) | null = null;
  onClose: ((...a: unknown[]) => void) | null = null;
  /** The NIC's send tag when one rewrites this connection's output (KTLS ifnet), else null. */
  snd_tag: SndTag | null = null;
  /** Sequence space, MSS and capture of the connection (netinet). */
  readonly t_seq = new TcpSeq();
  /** Stops the capture's view of the client's bytes (set while a capture records them). */
  t_pcap_input: (() => void) | null = null;

  constructor(transport: Transport) {
    this.transport = transport;
  }
}

/**
 * XXX(sim): the copies the CPU made for one socket's sends, which FreeBSD does not keep per
 * socket: bytes copied in from user memory (write(2), sendfile's header iovec) and bytes the copy
 * path's reads copied out of the page cache. Whoever sends on the socket reads their deltas (the
 * demo's route counters); the kernel-wide counters are kept as before.
 */
export interface SoCpuCounters {
  copyin_bytes: number;
  copyout_bytes: number;
}

/** struct socket: so_snd, so_error, so_state, and the simulated CPU the connection runs on. */
export class KSocket {
  readonly so_snd = new SockBuf();
  readonly so_cpu: SoCpuCounters = { copyin_bytes: 0, copyout_bytes: 0 };
  /** A pending error, returned once by the next send (then cleared). */
  so_error: Errno | null = null;
  so_state = SS_ISCONNECTED;
  /** The simulated CPU this connection runs on (sf_buf CPU masks). */
  cpu: number;
  /** Protocol state; private to src/net. */
  readonly so_pcb: TcpCb;

  constructor(
    readonly so_id: number,
    transport: Transport,
    nonblocking: boolean,
    cpu: number,
  ) {
    this.so_pcb = new TcpCb(transport);
    this.nonblocking = nonblocking;
    this.cpu = cpu;
  }

  /** SS_NBIO: sends fail with EAGAIN instead of sleeping. */
  get nonblocking(): boolean {
    return (this.so_state & SS_NBIO) !== 0;
  }

  set nonblocking(on: boolean) {
    this.so_state = on ? this.so_state | SS_NBIO : this.so_state & ~SS_NBIO;
  }

  /** Whether the connection is finished (aborted, reset, closed). */
  get dropped(): boolean {
    return this.so_pcb.dropped;
  }
}
