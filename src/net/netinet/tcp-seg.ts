// Mirrors the segmentation of sys/netinet/tcp_output.c: the `again` loop that cuts the ready bytes
// into bursts (TSO: at most if_hw_tsomax, trimmed to whole segments unless the burst empties the
// buffer; no TSO: one MSS), and tcp_m_copym, which makes one mbuf per source mbuf sharing its
// storage and stops where the card's scatter-gather list (if_hw_tsomaxsegcount entries of at most
// if_hw_tsomaxsegsize bytes) would overflow. A small send is copied into the header mbuf instead.
// XXX(sim): the copies tcp_m_copym would make are counted, not allocated: the host writes the
// sockbuf's own mbufs, and their references would only live until the card read them.

import * as kern from '../../kern/index.js';
import { panic } from '../../kern/index.js';
import * as mbuf from '../../mbuf/index.js';
import { type Mbuf, MHLEN } from '../../mbuf/index.js';
import { type IfNet, MAX_LINKHDR_BYTES, type TcpStat } from './tcp-var.js';

// Module-local copies of the constants the per-page code tests: V8 reads an imported binding
// through its module cell at every use (a load and a check), a module-local const not at all.
const { PAGE_SIZE } = kern;
const { M_EXTPG } = mbuf;

/** One packet tcp_output hands to IP: a TSO burst or a single segment. */
export interface TcpBurst {
  /** Offset of its first byte in the batch, and its bytes. */
  readonly offsetBytes: number;
  readonly lenBytes: number;
  /** CSUM_TSO: the card cuts it into `segments` of tso_segsz. */
  readonly tso: boolean;
  readonly segments: number;
  /** tcp_m_copym stopped early at the scatter-gather limit. */
  readonly seglimitCut: boolean;
  /** Copied into the header mbuf (a small send) rather than referenced. */
  readonly copied: boolean;
  /** Mbufs tcp_m_copym made for it. */
  readonly mbufs: number;
}

/** What the cut needs of the connection: t_maxseg, the options on every segment, the headers. */
export interface TcpSegParams {
  readonly t_maxseg: number;
  readonly optlen: number;
  /** IP + TCP header with options (hdrlen in tcp_output). */
  readonly hdrlen: number;
  /** The connection's data goes through an ifnet TLS send tag (hw_tls). */
  readonly hwTls: boolean;
}

/** Where tcp_m_copym continues: an mbuf and the offset in it. */
interface CopyCursor {
  m: Mbuf | null;
  off: number;
}

/** The KTLS session an mbuf belongs to, for hw_tls's rule that a burst never mixes sessions. */
function tlsOf(m: Mbuf): unknown {
  return (m.m_flags & M_EXTPG) !== 0 && m.m_epg !== null ? m.m_epg.m_epg_tls : null;
}

/**
 * tcp_m_copym's walk over `len` bytes from the cursor: returns the bytes it took (fewer when the
 * segment limit or a TLS session boundary stopped it); `out[0]` gets its mbufs, `out[1]` 1 when the
 * segment limit stopped it. `seglimit` 0: no limit (not a TSO burst).
 */
function tcpMCopym(
  cur: CopyCursor,
  len: number,
  seglimit: number,
  segsize: number,
  hwTls: boolean,
  out: number[],
): number {
  let taken = 0;
  let limited = 0;
  let mbufs = 0;
  let left = len;
  const tls = hwTls && cur.m !== null ? tlsOf(cur.m) : null;
  let first = true;
  while (left > 0) {
    const m = cur.m;
    if (m === null) panic(`tcp_m_copym: chain ends with ${left} bytes to copy`);
    if (hwTls && !first && tlsOf(m) !== tls) break;
    let mlen = Math.min(left, m.m_len - cur.off);
    if (seglimit > 0) {
      const extpg = (m.m_flags & M_EXTPG) !== 0;
      const fragsize = extpg ? Math.min(segsize, PAGE_SIZE) : segsize;
      const hdrFrags = extpg ? 3 : 0;
      if (hdrFrags + 1 >= seglimit) {
        limited = 1;
        break;
      }
      let frags = hdrFrags + Math.ceil(mlen / fragsize);
      if (frags >= seglimit) {
        mlen = (seglimit - hdrFrags - 1) * fragsize;
        left = mlen;
        limited = 1;
        frags = hdrFrags + Math.ceil(mlen / fragsize);
      }
      if (frags === 0) frags++;
      seglimit -= frags;
      if (seglimit <= 0) panic(`tcp_m_copym: seglimit went too low (${seglimit})`);
    }
    mbufs++;
    taken += mlen;
    left -= mlen;
    first = false;
    if (cur.off + mlen >= m.m_len) {
      cur.m = m.m_next;
      cur.off = 0;
    } else {
      cur.off += mlen;
    }
  }
  out[0] = mbufs;
  out[1] = limited;
  return taken;
}

/** Moves the cursor `bytes` forward (a burst copied into its header mbuf). */
function cursorSkip(cur: CopyCursor, bytes: number): void {
  let left = bytes;
  while (left > 0) {
    const m = cur.m;
    if (m === null) panic(`tcp_output: chain ends with ${left} bytes to skip`);
    const step = Math.min(left, m.m_len - cur.off);
    left -= step;
    if (cur.off + step >= m.m_len) {
      cur.m = m.m_next;
      cur.off = 0;
    } else {
      cur.off += step;
    }
  }
}

/**
 * Cuts `lenBytes` ready bytes starting at the mbuf `m` as tcp_output's loop does, counting each
 * burst into `stat`; `onBurst` (a capture) sees each one. The batch reaches the end of the ready
 * bytes, so only its last burst may end on a partial segment. Returns the mbuf after the batch,
 * which ends on an mbuf boundary (the next send's start).
 */
export function tcpSegment(
  ifp: IfNet,
  stat: TcpStat,
  tp: TcpSegParams,
  m: Mbuf,
  lenBytes: number,
  onBurst: ((b: TcpBurst) => void) | null,
): Mbuf | null {
  const segsz = tp.t_maxseg - tp.optlen;
  if (segsz <= 0)
    panic(`tcp_output: t_maxseg ${tp.t_maxseg} leaves no room beside ${tp.optlen} option bytes`);
  const tsoMaxLen = ifp.hwTsomaxBytes - tp.hdrlen - MAX_LINKHDR_BYTES;
  const copyMax = MHLEN - tp.hdrlen - MAX_LINKHDR_BYTES;
  const cur: CopyCursor = { m, off: 0 };
  const copymOut = [0, 0];
  let off = 0;
  for (let guard = 0; off < lenBytes; guard++) {
    if (guard >= 1 << 24) panic('tcp_output: too many bursts in one batch');
    let len = lenBytes - off;
    let tso = false;
    if (len + tp.optlen > tp.t_maxseg) {
      if (ifp.tso) {
        tso = true;
        if (len > tsoMaxLen) len = tsoMaxLen;
        if (off + len < lenBytes) len -= len % segsz;
        if (len <= segsz) {
          len = segsz;
          tso = false;
        }
      } else {
        len = segsz;
      }
    }
    let copied = false;
    let seglimitCut = false;
    let mbufs = 0;
    if (len <= copyMax && !tp.hwTls) {
      copied = true;
      cursorSkip(cur, len);
      stat.hdr_copy_bytes += len;
    } else {
      const seglimit = tso ? ifp.hwTsomaxsegcount : 0;
      const taken = tcpMCopym(cur, len, seglimit, ifp.hwTsomaxsegsizeBytes, tp.hwTls, copymOut);
      if (taken <= 0 || taken > len) panic(`tcp_m_copym: took ${taken} of ${len}`);
      mbufs = copymOut[0] as number;
      seglimitCut = copymOut[1] === 1 && taken < len;
      len = taken;
      if (len <= segsz) tso = false;
    }
    const segments = tso ? Math.ceil(len / segsz) : 1;
    stat.tcps_sndtotal++;
    stat.tcps_sndpack++;
    stat.wire_segments += segments;
    stat.copym_mbufs += mbufs;
    if (tso) {
      stat.tso_bursts++;
      stat.tso_header_bytes += (segments - 1) * tp.hdrlen;
    }
    if (seglimitCut) stat.tso_seglimit_cuts++;
    if (onBurst !== null)
      onBurst({ offsetBytes: off, lenBytes: len, tso, segments, seglimitCut, copied, mbufs });
    off += len;
  }
  const next = cur.m;
  if (off !== lenBytes) panic(`tcp_output: bursts cover ${off} of ${lenBytes} bytes`);
  if (cur.off !== 0) panic(`tcp_output: batch ends ${cur.off} bytes inside an mbuf`);
  return next;
}
