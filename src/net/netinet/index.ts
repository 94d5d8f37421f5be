// src/net/netinet: below the socket buffer, the part of sys/netinet the send path meets. tcp_output's
// cut of each batch into TSO bursts and MSS segments (tcp_output.c, tcp_m_copym), struct tcpstat,
// each connection's sequence space, and the capture of connections as pcapng (tcp_pcap.c's idea,
// in Wireshark's file format). What reaches the host socket is unchanged by all of it.
export { hostInput, inetAddr, tcpAddrsOf } from './host.js';
export { MTU_MIN_BYTES, NetInet, type NetInetConfig, type PcapTap, type TcpAddrs } from './inet.js';
export {
  ipPacketBytes,
  type TcpEnds,
  type TcpHeaderFields,
  ViewReader,
  writeTcpIpPacket,
} from './ip-packet.js';
export { netstatTcpLines } from './netstat.js';
export { PCAP_SNAPLEN_BYTES, PcapBuffer, pcapngHeader } from './pcap-buffer.js';
export { PCAP_RING_QUEUE_MAX_BYTES, PcapRingFile, type PcapRingStats } from './pcap-ring.js';
export {
  EPB_FLAG_INBOUND,
  EPB_FLAG_OUTBOUND,
  EPB_FLAG_TSO,
  LINKTYPE_RAW,
  PCAPNG_DSB,
  PCAPNG_EPB,
  PCAPNG_IDB,
  PCAPNG_SHB,
  pcapngDsbKeylog,
  pcapngEpb,
  pcapngIdb,
  pcapngShb,
  SECRETS_TYPE_TLS_KEYLOG,
} from './pcapng.js';
export { type PcapSink, TcpPcap } from './tcp-pcap.js';
export { type TcpBurst, type TcpSegParams, tcpSegment } from './tcp-seg.js';
export { TcpSeq } from './tcp-seq.js';
export * from './tcp-var.js';
