// The netinet part of one kernel, below the socket buffer: the interface the connections leave by,
// struct tcpstat, the seeded initial sequence numbers, and the captures that were asked for. The
// socket layer calls it at accept (syncache_expand), after each output batch (tcp_output's cut),
// on each ACK and at the connection's end; it never changes what reaches the host socket.
import { type Clock, createPrng, kassert, type Prng } from '../../kern/index.js';
import type { Mbuf } from '../../mbuf/index.js';
import { ViewReader } from './ip-packet.js';
import { type PcapSink, TcpPcap } from './tcp-pcap.js';
import { type TcpBurst, tcpSegment } from './tcp-seg.js';
import type { TcpSeq } from './tcp-seq.js';
import {
  ETHERMTU,
  IF_HW_TSOMAX_DEFAULT,
  IF_HW_TSOMAXSEGCOUNT_DEFAULT,
  IF_HW_TSOMAXSEGSIZE_DEFAULT,
  type IfNet,
  newTcpStat,
  TCPIP_HDR_BYTES,
  TCPOLEN_TSTAMP_APPA,
  type TcpStat,
} from './tcp-var.js';

/** The interface's knobs (all optional: an Ethernet card with TSO). */
export interface NetInetConfig {
  readonly mtuBytes?: number;
  readonly tso?: boolean;
  readonly hwTsomaxBytes?: number;
  readonly hwTsomaxsegcount?: number;
  readonly hwTsomaxsegsizeBytes?: number;
  /** Seed of the initial sequence numbers. */
  readonly seed?: number;
  readonly clock: Clock;
}

/** A capture that was asked for: which new connections it records, and how. */
export interface PcapTap {
  /** The sink for a new connection whose client port is `peerPort`, or null to leave it alone. */
  match(peerPort: number | null): PcapSink | null;
  readonly frames: 'wire' | 'tso';
  /** Milliseconds since the epoch at the clock's zero. */
  readonly epochOffsetMs: number;
}

/** Where a connection's two ends are (IPv4 numbers; the host's addresses when it has them). */
export interface TcpAddrs {
  readonly localAddr: number;
  readonly localPort: number;
  readonly peerAddr: number;
  readonly peerPort: number;
}

/** One connection's blocks to several captures. */
function teeSink(sinks: readonly PcapSink[]): PcapSink {
  return {
    secrets: (lines) => {
      for (const s of sinks) s.secrets(lines);
    },
    packet: (epb) => {
      for (const s of sinks) s.packet(epb);
    },
    closed: () => {
      for (const s of sinks) s.closed();
    },
  };
}

/** net.inet.ip.portrange.first: where made-up client ports start. */
const EPHEMERAL_FIRST = 49152;
/** Smallest MTU tcp_mss accepts (net.inet.tcp.minmss 216 + headers). */
export const MTU_MIN_BYTES = 256;

export class NetInet {
  readonly ifp: IfNet;
  readonly stat: TcpStat = newTcpStat();
  private readonly prng: Prng;
  /** The captured clients' numbers: their own stream, so a capture never moves a server's ISS. */
  private readonly peerPrng: Prng;
  private readonly taps = new Set<PcapTap>();
  private madeUpPorts = 0;

  constructor(private readonly config: NetInetConfig) {
    const mtu = config.mtuBytes ?? ETHERMTU;
    kassert(Number.isSafeInteger(mtu) && mtu >= MTU_MIN_BYTES && mtu <= 65535, () => `ifnet: MTU ${mtu}`);
    this.ifp = {
      mtuBytes: mtu,
      tso: config.tso ?? true,
      hwTsomaxBytes: config.hwTsomaxBytes ?? IF_HW_TSOMAX_DEFAULT,
      hwTsomaxsegcount: config.hwTsomaxsegcount ?? IF_HW_TSOMAXSEGCOUNT_DEFAULT,
      hwTsomaxsegsizeBytes: config.hwTsomaxsegsizeBytes ?? IF_HW_TSOMAXSEGSIZE_DEFAULT,
    };
    this.prng = createPrng(((config.seed ?? 0) ^ 0x7c9155ed) >>> 0);
    this.peerPrng = createPrng(((config.seed ?? 0) ^ 0x3e1a5c07) >>> 0);
  }

  /** tcp_mssopt: the MSS this interface allows (MTU minus the IP and TCP headers). */
  get mssBytes(): number {
    return this.ifp.mtuBytes - TCPIP_HDR_BYTES;
  }

  /** tso_segsz: the payload of each segment, timestamps agreed. */
  get tsoSegBytes(): number {
    return this.mssBytes - TCPOLEN_TSTAMP_APPA;
  }

  /** Whether any capture is asked for (then a new connection's addresses are worth reading). */
  get tapped(): boolean {
    return this.taps.size > 0;
  }

  /** Records the connections `tap` matches from now on, until the returned function is called. */
  addTap(tap: PcapTap): () => void {
    this.taps.add(tap);
    return () => {
      this.taps.delete(tap);
    };
  }

  /**
   * syncache_expand: the connection is established. Its ISS and MSS are set, the SYN-ACK counted,
   * and a capture started if one matches its client's port. Returns the capture, if any.
   */
  attach(seq: TcpSeq, addrs: TcpAddrs | null): TcpPcap | null {
    seq.iss = this.prng.nextU32();
    seq.snd_una = (seq.iss + 1) >>> 0;
    seq.snd_nxt = seq.snd_una;
    seq.t_maxseg = this.mssBytes;
    seq.ts_offset = this.prng.nextU32();
    this.stat.tcps_sndacks++;
    this.stat.tcps_sndtotal++;
    this.stat.tcps_accepts++;
    if (this.taps.size === 0) return null;
    // The latest tap decides how bursts are framed; every matching tap gets the packets.
    const taps = [...this.taps].reverse();
    const sinks: PcapSink[] = [];
    let frames: PcapTap['frames'] = 'wire';
    let epochOffsetMs = 0;
    for (const tap of taps) {
      const sink = tap.match(addrs?.peerPort ?? null);
      if (sink === null) continue;
      if (sinks.length === 0) {
        frames = tap.frames;
        epochOffsetMs = tap.epochOffsetMs;
      }
      sinks.push(sink);
    }
    if (sinks.length === 0) return null;
    const a = addrs ?? this.madeUpAddrs();
    const pcap = new TcpPcap(
      seq,
      { addr: a.localAddr, port: a.localPort },
      { addr: a.peerAddr, port: a.peerPort },
      sinks.length === 1 ? (sinks[0] as PcapSink) : teeSink(sinks),
      () => this.config.clock.nowMs(),
      { frames, epochOffsetMs, clientIss: this.peerPrng.nextU32(), clientTsOffset: this.peerPrng.nextU32() },
    );
    seq.t_pcap = pcap;
    pcap.handshake();
    return pcap;
  }

  /**
   * tcp_output's cut of one batch of `lenBytes` ready bytes from `m`, whose wire bytes are `views`;
   * `push`: the batch empties the send buffer (TH_PUSH on its last segment). `bursts`, when given
   * (a trace listens), gets each burst. Returns the mbuf after the batch.
   */
  output(
    seq: TcpSeq,
    m: Mbuf,
    lenBytes: number,
    hwTls: boolean,
    views: readonly Uint8Array[],
    push: boolean,
    bursts: TcpBurst[] | null = null,
  ): Mbuf | null {
    const params = {
      t_maxseg: seq.t_maxseg,
      optlen: TCPOLEN_TSTAMP_APPA,
      hdrlen: TCPIP_HDR_BYTES + TCPOLEN_TSTAMP_APPA,
      hwTls,
    };
    const pcap = seq.t_pcap;
    let next: Mbuf | null;
    if (pcap === null && bursts === null) {
      next = tcpSegment(this.ifp, this.stat, params, m, lenBytes, null);
    } else {
      const reader = pcap !== null ? new ViewReader(views) : null;
      const seqStart = seq.snd_nxt;
      next = tcpSegment(this.ifp, this.stat, params, m, lenBytes, (b) => {
        bursts?.push(b);
        if (pcap !== null && reader !== null)
          pcap.burst(b, reader, seqStart, push && b.offsetBytes + b.lenBytes === lenBytes);
      });
    }
    seq.snd_nxt = (seq.snd_nxt + lenBytes) >>> 0;
    return next;
  }

  /** The ACK of `bytes` (the host took a batch). */
  ack(seq: TcpSeq, bytes: number): void {
    seq.snd_una = (seq.snd_una + bytes) >>> 0;
    seq.t_pcap?.clientAck();
  }

  /**
   * The end: an orderly close sends a FIN (and ACKs the client's), an abort a RST, unless the
   * client reset the connection itself.
   */
  close(seq: TcpSeq, orderly: boolean, resetByClient: boolean): void {
    if (seq.closed) return;
    seq.closed = true;
    if (orderly) {
      this.stat.tcps_sndctrl++;
      this.stat.tcps_sndacks++;
      this.stat.tcps_sndtotal += 2;
      seq.t_pcap?.fin();
    } else {
      if (!resetByClient) {
        this.stat.tcps_sndctrl++;
        this.stat.tcps_sndtotal++;
      }
      seq.t_pcap?.rst(resetByClient);
    }
    seq.t_pcap = null;
  }

  /** Ends for a stream without addresses (a memory transport): one client port per connection. */
  private madeUpAddrs(): TcpAddrs {
    const port = EPHEMERAL_FIRST + (this.madeUpPorts++ % (65536 - EPHEMERAL_FIRST));
    return { localAddr: 0x0a000001, localPort: 80, peerAddr: 0x0a000002, peerPort: port };
  }

  tcpstat(): Readonly<TcpStat> {
    return Object.freeze({ ...this.stat });
  }
}
