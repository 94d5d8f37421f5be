// tcp_addoptions (sys/netinet/tcp_output.c) for the options the model sends: on a SYN or SYN-ACK
// the MSS, window scale, SACK permitted and timestamps (20 bytes, in the kernel's order and
// padding); on every later segment NOP, NOP and the timestamp (12 bytes).
import {
  TCPOLEN_MAXSEG,
  TCPOLEN_SACK_PERMITTED,
  TCPOLEN_TIMESTAMP,
  TCPOLEN_WINDOW,
  TCPOPT_MAXSEG,
  TCPOPT_NOP,
  TCPOPT_SACK_PERMITTED,
  TCPOPT_TIMESTAMP,
  TCPOPT_WINDOW,
} from './tcp-var.js';

function putU32(b: Uint8Array, pos: number, v: number): void {
  b[pos] = (v >>> 24) & 0xff;
  b[pos + 1] = (v >>> 16) & 0xff;
  b[pos + 2] = (v >>> 8) & 0xff;
  b[pos + 3] = v & 0xff;
}

/** The options of a SYN or SYN-ACK: MSS, NOP, WS, SACK_PERM, TS (20 bytes). */
export function tcpSynOptions(mss: number, wscale: number, tsval: number, tsecr: number): Uint8Array {
  const b = new Uint8Array(20);
  b.set([TCPOPT_MAXSEG, TCPOLEN_MAXSEG, (mss >> 8) & 0xff, mss & 0xff], 0);
  b.set([TCPOPT_NOP, TCPOPT_WINDOW, TCPOLEN_WINDOW, wscale], 4);
  b.set([TCPOPT_SACK_PERMITTED, TCPOLEN_SACK_PERMITTED, TCPOPT_TIMESTAMP, TCPOLEN_TIMESTAMP], 8);
  putU32(b, 12, tsval);
  putU32(b, 16, tsecr);
  return b;
}

/** The options of an established connection's segment: NOP, NOP, TS (12 bytes). */
export function tcpTsOptions(tsval: number, tsecr: number): Uint8Array {
  const b = new Uint8Array(12);
  b.set([TCPOPT_NOP, TCPOPT_NOP, TCPOPT_TIMESTAMP, TCPOLEN_TIMESTAMP], 0);
  putU32(b, 4, tsval);
  putU32(b, 8, tsecr);
  return b;
}
