// The sequence space of one connection (the snd_* and iss fields of struct tcpcb, netinet/tcp_var.h)
// and the MSS it agreed. The initial sequence number is drawn from the kernel's seeded generator,
// as tcp_new_isn draws it from a keyed hash, so a run replays with the same numbers.
import type { TcpPcap } from './tcp-pcap.js';

export class TcpSeq {
  /** Initial send sequence number. */
  iss = 0;
  /** Oldest unacknowledged sequence number, and the next one to send. */
  snd_una = 0;
  snd_nxt = 0;
  /** The maximum segment size without options (1460 on a 1500-byte MTU). */
  t_maxseg = 0;
  /** Added to the clock's milliseconds in the timestamp option (ts_offset). */
  ts_offset = 0;
  /** The FIN or RST went out. */
  closed = false;
  /** The capture of this connection, when one was asked for (tcp_pcap's t_outpkts). */
  t_pcap: TcpPcap | null = null;
}
