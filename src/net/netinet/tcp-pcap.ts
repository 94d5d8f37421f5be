// The capture of one connection, in the spirit of sys/netinet/tcp_pcap.c (TCPPCAP keeps a
// connection's packets in its tcpcb): every packet the model puts on the wire, in both directions,
// as pcapng Enhanced Packet Blocks. The server's side is the model's own: its bursts cut into
// segments with their sequence numbers. The client's side is synthesised from what the host saw:
// its SYN and ACK at accept, its bytes as the server read them (cut at the MSS), an ACK when the
// host took a batch, and its half of the FIN exchange.
// XXX(sim): a model of the wire, not a capture of loopback (whose frames the host merges); the
// client's acknowledgements follow the host's write callbacks, not a receiver's clock.

import {
  ipPacketBytes,
  type TcpEnds,
  type TcpHeaderFields,
  ViewReader,
  writeTcpIpPacket,
} from './ip-packet.js';
import { EPB_FLAG_INBOUND, EPB_FLAG_OUTBOUND, EPB_FLAG_TSO, pcapngEpb } from './pcapng.js';
import { tcpSynOptions, tcpTsOptions } from './tcp-options.js';
import type { TcpBurst } from './tcp-seg.js';
import { TCP_MAXWIN, TH_ACK, TH_FIN, TH_PUSH, TH_RST, TH_SYN } from './tcp-var.js';

/** The window scale both ends ask for: 65535 << 6 covers the largest send buffer (sb_max). */
const WSCALE = 6;
/** The window both ends advertise after the handshake (scaled). */
const WIN_SCALED = TCP_MAXWIN;
/** Characters of a request line kept as the label of its packets. */
const LABEL_CHARS_MAX = 120;

/** Where a capture's blocks go: one connection's buffer, or a file shared by many. */
export interface PcapSink {
  /** TLS key log lines of a connection (NSS format), before its encrypted packets. */
  secrets(lines: string): void;
  /** One Enhanced Packet Block. */
  packet(epb: Uint8Array): void;
  /** The connection's last packet was given. */
  closed(): void;
}

/** The sequence state the capture reads (the connection's TcpSeq). */
export interface PcapSeq {
  readonly iss: number;
  readonly snd_una: number;
  readonly snd_nxt: number;
  readonly t_maxseg: number;
  readonly ts_offset: number;
}

export interface TcpPcapOptions {
  /** 'wire': the segments the card cuts; 'tso': each TSO burst as one frame with the TSO flag. */
  readonly frames: 'wire' | 'tso';
  /** Milliseconds since the epoch at the clock's zero (the frames' time is the simulated clock's). */
  readonly epochOffsetMs: number;
  /** The client's initial sequence number and timestamp offset (seeded by the caller). */
  readonly clientIss: number;
  readonly clientTsOffset: number;
}

export class TcpPcap {
  /** What the packets belong to: the request line, once one was seen or named. */
  private label = 'connection';
  private clientNxt: number;
  private ipIdServer = 1;
  private ipIdClient = 1;
  private lastServerTs = 0;
  private lastClientTs = 0;
  private bursts = 0;
  private readonly toClient: TcpEnds;
  private readonly toServer: TcpEnds;

  constructor(
    private readonly seq: PcapSeq,
    server: { addr: number; port: number },
    client: { addr: number; port: number },
    private readonly sink: PcapSink,
    private readonly nowMs: () => number,
    private readonly opts: TcpPcapOptions,
  ) {
    this.clientNxt = opts.clientIss >>> 0;
    this.toClient = {
      srcAddr: server.addr,
      dstAddr: client.addr,
      srcPort: server.port,
      dstPort: client.port,
    };
    this.toServer = {
      srcAddr: client.addr,
      dstAddr: server.addr,
      srcPort: client.port,
      dstPort: server.port,
    };
  }

  /** Names the packets that follow (an HTTP request; the server knows it even under TLS). */
  note(label: string): void {
    this.label = label.slice(0, LABEL_CHARS_MAX);
  }

  secrets(lines: string): void {
    this.sink.secrets(lines);
  }

  /** The three-way handshake, as it happened before accept returned the connection. */
  handshake(): void {
    const mss = this.seq.t_maxseg;
    const irs = this.opts.clientIss >>> 0;
    const cts = this.clientTs();
    this.frame(
      false,
      { seq: irs, ack: 0, flags: TH_SYN, win: TCP_MAXWIN, options: tcpSynOptions(mss, WSCALE, cts, 0) },
      null,
      0,
      'SYN',
    );
    const sts = this.serverTs();
    const synack = tcpSynOptions(mss, WSCALE, sts, cts);
    this.frame(
      true,
      { seq: this.seq.iss, ack: irs + 1, flags: TH_SYN | TH_ACK, win: TCP_MAXWIN, options: synack },
      null,
      0,
      'SYN-ACK (syncache)',
    );
    this.clientNxt = (irs + 1) >>> 0;
    this.frame(false, this.clientHeader(TH_ACK), null, 0, 'ACK: connection established');
  }

  /** Bytes the client sent, as the server read them: segments of at most the MSS. */
  clientData(bytes: Uint8Array): void {
    const line = requestLine(bytes);
    if (line !== null) this.note(line);
    const segsz = this.seq.t_maxseg - 12;
    const reader = new ViewReader([bytes]);
    for (let off = 0; off < bytes.length; off += segsz) {
      const len = Math.min(segsz, bytes.length - off);
      const last = off + len === bytes.length;
      const th = this.clientHeader(TH_ACK | (last ? TH_PUSH : 0));
      this.frame(false, th, reader, len, `${this.label}: client bytes`);
      this.clientNxt = (this.clientNxt + len) >>> 0;
    }
  }

  /** One burst of a batch that starts at sequence number `seqStart`; `push` on its last segment. */
  burst(b: TcpBurst, reader: ViewReader, seqStart: number, push: boolean): void {
    const burstIndex = ++this.bursts;
    const segsz = this.seq.t_maxseg - 12;
    const seq0 = (seqStart + b.offsetBytes) >>> 0;
    const what = b.tso
      ? `TSO burst of ${b.lenBytes} bytes, ${b.segments} segments of ${segsz}`
      : `${b.lenBytes} bytes`;
    const cut = b.seglimitCut ? ", cut at the card's segment limit" : '';
    if (this.opts.frames === 'tso' || !b.tso) {
      const th = this.serverHeader(seq0, TH_ACK | (push ? TH_PUSH : 0));
      this.frame(true, th, reader, b.lenBytes, `${this.label}: burst ${burstIndex}, ${what}${cut}`, b.tso);
      return;
    }
    for (let i = 0; i < b.segments; i++) {
      const len = Math.min(segsz, b.lenBytes - i * segsz);
      const last = i === b.segments - 1;
      const th = this.serverHeader((seq0 + i * segsz) >>> 0, TH_ACK | (push && last ? TH_PUSH : 0));
      this.frame(
        true,
        th,
        reader,
        len,
        `${this.label}: burst ${burstIndex} segment ${i + 1}/${b.segments} (${what}${cut})`,
      );
    }
  }

  /** The client acknowledged everything up to snd_una (the host took the batch). */
  clientAck(): void {
    this.frame(false, this.clientHeader(TH_ACK), null, 0, `${this.label}: ACK (the host took the batch)`);
  }

  /** The orderly end: FIN each way and the last ACK. */
  fin(): void {
    const sndNxt = this.seq.snd_nxt;
    this.frame(true, this.serverHeader(sndNxt, TH_FIN | TH_ACK), null, 0, 'FIN');
    const finAcked = (sndNxt + 1) >>> 0;
    const cts = this.clientTs();
    const clientFin = {
      seq: this.clientNxt,
      ack: finAcked,
      flags: TH_FIN | TH_ACK,
      win: WIN_SCALED,
      ipId: this.ipIdClient++,
      options: tcpTsOptions(cts, this.lastServerTs),
    };
    this.frame(false, clientFin, null, 0, 'FIN');
    this.clientNxt = (this.clientNxt + 1) >>> 0;
    this.frame(true, this.serverHeader(finAcked, TH_ACK), null, 0, 'ACK of the FIN');
    this.sink.closed();
  }

  /** An abortive end: the server's RST, or the client's when it reset the connection. */
  rst(byClient: boolean): void {
    if (byClient) this.frame(false, this.clientHeader(TH_RST | TH_ACK), null, 0, 'RST from the client');
    else this.frame(true, this.serverHeader(this.seq.snd_nxt, TH_RST | TH_ACK), null, 0, 'RST');
    this.sink.closed();
  }

  private serverTs(): number {
    this.lastServerTs = (Math.floor(this.nowMs()) + this.seq.ts_offset) >>> 0;
    return this.lastServerTs;
  }

  private clientTs(): number {
    this.lastClientTs = (Math.floor(this.nowMs()) + this.opts.clientTsOffset) >>> 0;
    return this.lastClientTs;
  }

  private serverHeader(seq: number, flags: number): TcpHeaderFields {
    const sts = this.serverTs();
    return {
      seq,
      ack: this.clientNxt,
      flags,
      win: WIN_SCALED,
      ipId: this.ipIdServer++,
      options: tcpTsOptions(sts, this.lastClientTs),
    };
  }

  private clientHeader(flags: number): TcpHeaderFields {
    const cts = this.clientTs();
    return {
      seq: this.clientNxt,
      ack: this.seq.snd_una,
      flags,
      win: WIN_SCALED,
      ipId: this.ipIdClient++,
      options: tcpTsOptions(cts, this.lastServerTs),
    };
  }

  private frame(
    outbound: boolean,
    th: Omit<TcpHeaderFields, 'ipId'> & { ipId?: number },
    payload: ViewReader | null,
    payloadBytes: number,
    comment: string,
    tso = false,
  ): void {
    const fields: TcpHeaderFields = {
      ...th,
      ipId: th.ipId ?? (outbound ? this.ipIdServer++ : this.ipIdClient++),
    };
    const ends = outbound ? this.toClient : this.toServer;
    const bytes = ipPacketBytes(fields.options.length, payloadBytes);
    const flags = (outbound ? EPB_FLAG_OUTBOUND : EPB_FLAG_INBOUND) | (tso ? EPB_FLAG_TSO : 0);
    const timeUs = (this.nowMs() + this.opts.epochOffsetMs) * 1000;
    this.sink.packet(
      pcapngEpb(timeUs, bytes, flags, comment, (blk, at) =>
        writeTcpIpPacket(blk, at, ends, fields, payload, payloadBytes),
      ),
    );
  }
}

/** The request line at the start of plain HTTP bytes ("GET /x HTTP/1.1"), else null. */
function requestLine(bytes: Uint8Array): string | null {
  const head = Buffer.from(
    bytes.buffer,
    bytes.byteOffset,
    Math.min(bytes.length, LABEL_CHARS_MAX + 16),
  ).toString('latin1');
  const m = /^([A-Z]{3,7} \S+ HTTP\/1\.[01])\r\n/.exec(head);
  return m ? (m[1] as string) : null;
}
