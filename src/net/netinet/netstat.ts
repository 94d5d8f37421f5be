// `netstat -s -p tcp` (usr.bin/netstat/inet.c, tcp_stats): the send side of struct tcpstat in
// netstat's words, then what the card did with the bursts (the kernel does not count that: these
// lines are the model's, and say so).
import type { TcpStat } from './tcp-var.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The lines, tab-indented as netstat prints them; `sndbyte` is tcps_sndbyte. */
export function netstatTcpLines(s: Readonly<TcpStat>, sndbyte: number): string[] {
  return [
    'tcp:',
    `\t${plural(s.tcps_sndtotal, 'packet')} sent`,
    `\t\t${plural(s.tcps_sndpack, 'data packet')} (${plural(sndbyte, 'byte')})`,
    '\t\t0 data packets (0 bytes) retransmitted',
    `\t\t${plural(s.tcps_sndacks, 'ack-only packet')} (0 delayed)`,
    `\t\t${plural(s.tcps_sndctrl, 'control packet')}`,
    `\t${plural(s.tcps_accepts, 'connection accept')}`,
    `\t(model) ${plural(s.wire_segments, 'segment')} on the wire from ${plural(s.tso_bursts, 'TSO burst')} (${plural(s.tso_header_bytes, 'byte')} of headers the card replicated)`,
    `\t(model) ${plural(s.tso_seglimit_cuts, 'TSO burst')} cut at the card's segment limit`,
    `\t(model) ${plural(s.copym_mbufs, 'mbuf')} made by tcp_m_copym (references, no data copied), ${plural(s.hdr_copy_bytes, 'byte')} of small sends copied into header mbufs`,
  ];
}
