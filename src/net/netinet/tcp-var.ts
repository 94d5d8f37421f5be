// Mirrors the constants of sys/netinet/tcp.h, tcp_var.h, ip.h and sys/net/if.h that tcp_output's
// segmentation needs, the interface's TSO limits (struct ifnet's if_hw_tsomax*), and the part of
// struct tcpstat that `netstat -s -p tcp` prints for the send side.
import { MCLBYTES } from '../../mbuf/index.js';

/** sys/netinet/tcp.h: th_flags. */
export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_PUSH = 0x08;
export const TH_ACK = 0x10;

/** TCP options (tcp.h) and their lengths. */
export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MAXSEG = 2;
export const TCPOLEN_MAXSEG = 4;
export const TCPOPT_WINDOW = 3;
export const TCPOLEN_WINDOW = 3;
export const TCPOPT_SACK_PERMITTED = 4;
export const TCPOLEN_SACK_PERMITTED = 2;
export const TCPOPT_TIMESTAMP = 8;
export const TCPOLEN_TIMESTAMP = 10;
/** NOP, NOP, timestamp: the options of every segment once timestamps are agreed. */
export const TCPOLEN_TSTAMP_APPA = TCPOLEN_TIMESTAMP + 2;
/** TCP_MAXWIN: the largest unscaled window. */
export const TCP_MAXWIN = 65535;

/** sys/netinet/ip.h: the largest IP datagram, and the header sizes without options. */
export const IP_MAXPACKET = 65535;
export const IP_HDR_BYTES = 20;
export const TCP_HDR_BYTES = 20;
/** sizeof(struct tcpiphdr). */
export const TCPIP_HDR_BYTES = IP_HDR_BYTES + TCP_HDR_BYTES;

/** sys/net/ethernet.h, and max_linkhdr as every domain init leaves it (16). */
export const ETHER_HDR_LEN = 14;
export const ETHER_VLAN_ENCAP_LEN = 4;
export const MAX_LINKHDR_BYTES = 16;
/** The Ethernet MTU, and lo0's (sys/net/if_loop.c LOMTU). */
export const ETHERMTU = 1500;
export const LOMTU = 16384;

/** if_attach's default if_hw_tsomax: min(IP_MAXPACKET, 32 * MCLBYTES - (14 + 4)) = 65518. */
export const IF_HW_TSOMAX_DEFAULT = Math.min(
  IP_MAXPACKET,
  32 * MCLBYTES - (ETHER_HDR_LEN + ETHER_VLAN_ENCAP_LEN),
);
/** A common NIC's scatter-gather limits: 35 segments of at most 2048 bytes per TSO burst. */
export const IF_HW_TSOMAXSEGCOUNT_DEFAULT = 35;
export const IF_HW_TSOMAXSEGSIZE_DEFAULT = 2048;

/** The interface the connections leave by: its MTU and TSO capability and limits. */
export interface IfNet {
  readonly mtuBytes: number;
  /** IFCAP_TSO4 (and net.inet.tcp.tso): tcp_output may hand the card bursts above one MSS. */
  readonly tso: boolean;
  readonly hwTsomaxBytes: number;
  readonly hwTsomaxsegcount: number;
  readonly hwTsomaxsegsizeBytes: number;
}

/**
 * The send side of struct tcpstat (netinet/tcp_var.h), as `netstat -s -p tcp` prints it, plus what
 * the interface does with the bursts (which the kernel does not count, the card does).
 */
export interface TcpStat {
  /** Packets tcp_output and the syncache handed to IP: data bursts, ACKs, SYN-ACKs, FINs, RSTs. */
  tcps_sndtotal: number;
  /** Data packets: one per burst (a 64 KB TSO burst is one). Their bytes are tcps_sndbyte. */
  tcps_sndpack: number;
  /** Pure ACKs (the SYN-ACK counts here, as syncache_respond counts it). */
  tcps_sndacks: number;
  /** FINs and RSTs without data. */
  tcps_sndctrl: number;
  /** Connections accepted (the syncache's SYN-ACK was answered). */
  tcps_accepts: number;
  /** Bursts handed to the card with CSUM_TSO. */
  tso_bursts: number;
  /** Segments on the wire, after the card cut the TSO bursts at tso_segsz. */
  wire_segments: number;
  /** TSO bursts that tcp_m_copym shortened to stay within if_hw_tsomaxsegcount. */
  tso_seglimit_cuts: number;
  /** Bytes of IP+TCP header the card replicated into the segments of TSO bursts. */
  tso_header_bytes: number;
  /** Mbufs tcp_m_copym made, each a reference to the sockbuf's storage (no data copied). */
  copym_mbufs: number;
  /** Bytes of small sends copied into the header mbuf (len <= MHLEN - hdrlen - max_linkhdr). */
  hdr_copy_bytes: number;
}

export function newTcpStat(): TcpStat {
  return {
    tcps_sndtotal: 0,
    tcps_sndpack: 0,
    tcps_sndacks: 0,
    tcps_sndctrl: 0,
    tcps_accepts: 0,
    tso_bursts: 0,
    wire_segments: 0,
    tso_seglimit_cuts: 0,
    tso_header_bytes: 0,
    copym_mbufs: 0,
    hdr_copy_bytes: 0,
  };
}
