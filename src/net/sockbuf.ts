// Mirrors sys/sys/sockbuf.h (struct sockbuf, sbspace) and sys/kern/uipc_sockbuf.c (sballoc,
// sbfree, sbappendstream_locked, sbcompress, sbready, sbcut_internal, sbdrop, sbflush,
// sbreserve_locked, soreserve): the send buffer of a socket.
//
// Ownership: the chain sb_mb..sb_mbtail belongs to the sockbuf; every mbuf in it holds one
// reference on its storage, dropped when sbdrop frees it (after its bytes were written). Not-ready
// mbufs (M_NOTREADY) are also referenced by the I/O that fills them: the sockbuf unlinks them on a
// flush but never frees them; their owner does, through pr_ready (mbFreeNotready).
//
// The send cursor (sb_sndptr/sb_sndptroff): bytes [0, sb_sndptroff) from the head were handed to
// the transport and wait for their write callback; sb_sndptr is the mbuf holding byte
// sb_sndptroff (null when the cursor is at the end of the chain). Output hands over whole ready
// mbufs only, so the cursor always sits on an mbuf boundary.
// XXX(sim): the kernel's sb_sndptr is where tcp_output's last m_copym stopped; ours is the first
// mbuf not yet handed over, and sb_sndptroff counts the bytes in flight.
import { KiB, kassert, MiB, panic, type SysError } from '../kern/index.js';
import * as mbuf from '../mbuf/index.js';
import {
  M_NOFREE,
  M_RDONLY,
  type Mbuf,
  type MbufAllocator,
  mFree,
  mFreem,
  mTrailingspace,
  mWritable,
  type UioPageSource,
} from '../mbuf/index.js';

// Module-local copies of the constants the per-page code tests: V8 reads an imported binding
// through its module cell at every use (a load and a check), a module-local const not at all.
const { M_BLOCKED, M_EOR, M_EXT, M_EXTPG, M_NOTAVAIL, M_NOTREADY, MCLBYTES, MSIZE } = mbuf;

/**
 * The send side of a KTLS session as sosend sees it, set by TCP_TXTLS_ENABLE beside sb_tls_info
 * (src/ktls provides it, as a driver provides a send tag): user bytes are copied into records of
 * its pages, which `send` frames, numbers and queues.
 */
export interface SbTlsTx {
  readonly pages: UioPageSource;
  /**
   * ktls_frame, ktls_seq, pr_send (not ready in software mode) and ktls_enqueue of the chain `m`
   * of `lengthBytes` user bytes, as records of `recordType` (null: application data); pr_send's
   * error, the chain freed, or null.
   */
  send(m: Mbuf, lengthBytes: number, recordType: number | null): SysError | null;
}

/** sb_state. */
export const SBS_CANTSENDMORE = 0x10;
export const SBS_CANTRCVMORE = 0x20;
export const SBS_RCVATMARK = 0x40;
/** sb_flags. */
export const SB_WAIT = 0x4;
export const SB_SEL = 0x8;
/** Someone wants an upcall (sb_upcall) at each sowakeup. */
export const SB_UPCALL = 0x20;
export const SB_NOINTR = 0x40;
export const SB_NOCOALESCE = 0x200;
export const SB_AUTOSIZE = 0x800;
export const SB_STOP = 0x1000;
/** sendfile(2) may raise sb_lowat (set at socket creation, cleared by SO_SNDLOWAT). */
export const SB_AUTOLOWAT = 0x10000;

/** kern.ipc.maxsockbuf (sb_max) default: 2 MiB. */
export const SB_MAX_DEFAULT_BYTES = 2 * MiB;
/** kern.ipc.sockbuf_waste_factor (sb_efficiency): mbuf memory allowed per byte of hiwat. */
export const SB_EFFICIENCY = 8;
/** net.inet.tcp.sendspace: the default send buffer, 32 KiB. */
export const TCP_SENDSPACE_BYTES = 32 * KiB;
/** net.inet.tcp.sendbuf_inc and sendbuf_max: the autosizing step and ceiling. */
export const TCP_AUTOSNDBUF_INC_BYTES = 8 * KiB;
export const TCP_AUTOSNDBUF_MAX_BYTES = 2 * MiB;
/** sys/sys/errno.h: what sbready returns when the readied data stays behind a blocker. */
export const EINPROGRESS = 36;

/** m_demote keeps these flags (M_DEMOTEFLAGS), plus M_NOTREADY on a not-ready append. */
const M_DEMOTEFLAGS = M_EXT | M_RDONLY | M_NOFREE | M_EXTPG;

/** struct sockbuf, the send side only. Byte fields are bytes; sb_mbcnt is bytes of mbuf memory. */
export class SockBuf {
  /** Byte limit (SO_SNDBUF). */
  sb_hiwat = 0;
  /** Send low-water mark in bytes: a blocking sender waits until this much space is free. */
  sb_lowat = 0;
  /** Claimed bytes: everything queued, not-ready included. */
  sb_ccc = 0;
  /** Available bytes: the ready head, sendable now. */
  sb_acc = 0;
  /** Bytes of mbuf memory charged: MSIZE per mbuf plus ext_size per external storage. */
  sb_mbcnt = 0;
  /** Limit of sb_mbcnt: hiwat * sb_efficiency, capped by sb_max. */
  sb_mbmax = 0;
  sb_state = 0;
  sb_flags = 0;
  /** soupcall_set's function, its argument bound in (sb_upcall, sb_upcallarg); see SB_UPCALL. */
  sb_upcall: (() => void) | null = null;
  sb_mb: Mbuf | null = null;
  sb_mbtail: Mbuf | null = null;
  /** First not-ready mbuf; it and everything after it are unavailable. */
  sb_fnrdy: Mbuf | null = null;
  /** First mbuf not yet handed to the transport (see the file comment). */
  sb_sndptr: Mbuf | null = null;
  /** Bytes from the head handed to the transport and not yet dropped. */
  sb_sndptroff = 0;
  /** The KTLS session (struct ktls_session, opaque here; src/ktls owns it), null without TLS. */
  sb_tls_info: unknown = null;
  /** The next KTLS record's sequence number (ktls_seq). */
  sb_tls_seqno = 0;
  /** sosend's path on a KTLS socket (null without TLS). */
  sb_tls_tx: SbTlsTx | null = null;
}

/** sbspace: bytes a sender may still queue; may be negative. Not-ready bytes count. */
export function sbspace(sb: SockBuf): number {
  if ((sb.sb_flags & SB_STOP) !== 0) return 0;
  return Math.min(sb.sb_hiwat - sb.sb_ccc, sb.sb_mbmax - sb.sb_mbcnt);
}

/** Bytes of mbuf memory one mbuf is charged (sballoc/sbfree): MSIZE, plus ext_size with M_EXT. */
export function sbMbufChargeBytes(m: Mbuf): number {
  return MSIZE + ((m.m_flags & M_EXT) !== 0 && m.m_ext !== null ? m.m_ext.ext_size : 0);
}

/** sb_max_adj: the largest reservation sbreserve accepts for a given sb_max. */
export function sbMaxAdjBytes(sbMaxBytes: number): number {
  return Math.floor((sbMaxBytes * MCLBYTES) / (MSIZE + MCLBYTES));
}

/** sbreserve_locked_limit: sets hiwat and mbmax; false when `cc` is above sb_max_adj. */
export function sbreserve(sb: SockBuf, ccBytes: number, sbMaxBytes: number): boolean {
  kassert(Number.isSafeInteger(ccBytes) && ccBytes >= 0, () => `sbreserve: bad size ${ccBytes}`);
  if (ccBytes > sbMaxAdjBytes(sbMaxBytes)) return false;
  sb.sb_hiwat = ccBytes;
  sb.sb_mbmax = Math.min(ccBytes * SB_EFFICIENCY, sbMaxBytes);
  if (sb.sb_lowat > sb.sb_hiwat) sb.sb_lowat = sb.sb_hiwat;
  return true;
}

/** soreserve (send side): reserve, then a zero low-water mark becomes MCLBYTES, never above hiwat. */
export function soreserve(sb: SockBuf, sndccBytes: number, sbMaxBytes: number): boolean {
  if (!sbreserve(sb, sndccBytes, sbMaxBytes)) return false;
  if (sb.sb_lowat === 0) sb.sb_lowat = MCLBYTES;
  if (sb.sb_lowat > sb.sb_hiwat) sb.sb_lowat = sb.sb_hiwat;
  return true;
}

/** sballoc: charges one mbuf being linked in; behind a not-ready mbuf it is M_BLOCKED. */
export function sballoc(sb: SockBuf, m: Mbuf): void {
  sb.sb_ccc += m.m_len;
  if (sb.sb_fnrdy === null) {
    if ((m.m_flags & M_NOTREADY) !== 0) sb.sb_fnrdy = m;
    else sb.sb_acc += m.m_len;
  } else {
    m.m_flags |= M_BLOCKED;
  }
  sb.sb_mbcnt += sbMbufChargeBytes(m);
}

/** sbfree: uncharges one mbuf being unlinked; freeing the blocker promotes the ready ones behind it. */
export function sbfree(sb: SockBuf, m: Mbuf): void {
  sb.sb_ccc -= m.m_len;
  if ((m.m_flags & M_NOTAVAIL) === 0) sb.sb_acc -= m.m_len;
  if (m === sb.sb_fnrdy) sbfreeBlocker(sb, m);
  sb.sb_mbcnt -= sbMbufChargeBytes(m);
  if (sb.sb_ccc < 0 || sb.sb_acc < 0 || sb.sb_mbcnt < 0) sbNegative(sb);
}

/** The first not-ready mbuf leaves: the ready ones behind it, up to the next not-ready, are available. */
function sbfreeBlocker(sb: SockBuf, m: Mbuf): void {
  kassert((m.m_flags & M_NOTREADY) !== 0, 'sbfree: sb_fnrdy is not M_NOTREADY');
  let n = m.m_next;
  while (n !== null && (n.m_flags & M_NOTREADY) === 0) {
    n.m_flags &= ~M_BLOCKED;
    sb.sb_acc += n.m_len;
    n = n.m_next;
  }
  sb.sb_fnrdy = n;
}

function sbNegative(sb: SockBuf): never {
  panic(`sbfree: negative ${sbSummary(sb)}`);
}

/**
 * sbappendstream_locked: appends a chain of data. Packet headers and protocol flags are demoted
 * (m_demote); with `notready` M_NOTREADY is kept, as pr_send(PRUS_NOTREADY) asks.
 */
export function sbappendstream(mbufs: MbufAllocator, sb: SockBuf, m: Mbuf, notready: boolean): void {
  const before = sb.sb_ccc;
  const appended = sbcompress(mbufs, sb, m, M_DEMOTEFLAGS | (notready ? M_NOTREADY : 0));
  if (sb.sb_ccc !== before + appended) panic(`sbappendstream: ccc ${sb.sb_ccc} != ${before}+${appended}`);
}

/**
 * sbcompress: links `m` behind sb_mbtail, freeing empty ready mbufs and copying a small ready
 * mbuf into the tail's trailing room when the tail is writable, ready, and not yet handed to the
 * transport. Each mbuf's flags are first cut to `keep` (sbappendstream's m_demote, done in the
 * same walk). Returns the bytes appended.
 */
function sbcompress(mbufs: MbufAllocator, sb: SockBuf, m0: Mbuf, keep: number): number {
  let appended = 0;
  let m: Mbuf | null = m0;
  // The tail, kept here and stored once at the end; a chain appended whole is linked already,
  // so links are written only where they change and the tail's m_next is cut once.
  let n = sb.sb_mbtail;
  for (let guard = 0; m !== null; guard++) {
    if (guard >= 1 << 24) panic('sbcompress: chain too long');
    if (m.m_nextpkt !== null) panic('sbappendstream: m_nextpkt set');
    // m_demote: `keep` never holds M_EOR, which sbcompress clears.
    m.m_flags &= keep;
    const len = m.m_len;
    appended += len;
    if (len === 0 && (m.m_flags & M_NOTREADY) === 0) {
      m = mFree(mbufs, m);
      continue;
    }
    if (len <= 0) panic('sbcompress: empty not-ready mbuf');
    if (n !== null && sbCanCoalesce(sb, n, m)) {
      n.m_buf.set(m.m_buf.subarray(m.m_data, m.m_data + len), n.m_data + n.m_len);
      n.m_len += len;
      sb.sb_ccc += len;
      if (sb.sb_fnrdy === null) sb.sb_acc += len;
      m = mFree(mbufs, m);
      continue;
    }
    const next: Mbuf | null = m.m_next;
    if (n === null) sb.sb_mb = m;
    else if (n.m_next !== m) n.m_next = m;
    if (sb.sb_sndptr === null && sb.sb_sndptroff === sb.sb_ccc) sb.sb_sndptr = m;
    sballoc(sb, m);
    n = m;
    m = next;
  }
  sb.sb_mbtail = n;
  if (n !== null && n.m_next !== null) n.m_next = null;
  return appended;
}

/** sbcompress's test: may `m` be copied into the tail `n` instead of being linked? */
function sbCanCoalesce(sb: SockBuf, n: Mbuf, m: Mbuf): boolean {
  // The test on m first: a page mbuf fails it at once.
  if ((m.m_flags & (M_NOTREADY | M_EXTPG)) !== 0 || m.m_len > MCLBYTES / 4 || n.m_type !== m.m_type) {
    return false;
  }
  if ((sb.sb_flags & SB_NOCOALESCE) !== 0) return false;
  if ((n.m_flags & (M_EOR | M_NOTREADY | M_EXTPG)) !== 0 || !mWritable(n)) return false;
  // XXX(sim): the kernel may grow an mbuf TCP already sent part of; we hand the transport whole
  // mbufs, so the tail must lie wholly past the send cursor.
  if (sb.sb_sndptroff > sb.sb_ccc - n.m_len) return false;
  return m.m_len <= mTrailingspace(n);
}

/**
 * sbready: clears M_NOTREADY on `count` I/O units from m0 on (an M_EXTPG mbuf is m_epg_nrdy
 * units and may stay partly not-ready). If m0 was the blocker the readied data, and the ready
 * M_BLOCKED mbufs behind it, become available and 0 is returned; otherwise EINPROGRESS.
 * XXX(sim): sbready_compress (coalescing the readied range) is not done.
 */
export function sbready(sb: SockBuf, m0: Mbuf, count: number): 0 | typeof EINPROGRESS {
  if (!(count > 0)) panic(`sbready: count ${count}`);
  kassert(sb.sb_fnrdy !== null, 'sbready: nothing is not ready');
  const blocker = sb.sb_fnrdy === m0 ? M_BLOCKED : 0;
  let m: Mbuf | null = m0;
  while (count > 0) {
    if (m === null || (m.m_flags & M_NOTREADY) === 0) panic(`sbready: unit ${count} is not M_NOTREADY`);
    const epg = m.m_epg;
    if ((m.m_flags & M_EXTPG) !== 0 && epg !== null && epg.m_epg_npgs !== 0) {
      if (count < epg.m_epg_nrdy) {
        epg.m_epg_nrdy -= count;
        break;
      }
      count -= epg.m_epg_nrdy;
      epg.m_epg_nrdy = 0;
    } else {
      count--;
    }
    m.m_flags &= ~(M_NOTREADY | blocker);
    if (blocker !== 0) sb.sb_acc += m.m_len;
    m = m.m_next;
  }
  if (m === m0) return EINPROGRESS;
  if (blocker === 0) return EINPROGRESS;
  while (m !== null && (m.m_flags & M_NOTREADY) === 0) {
    kassert((m.m_flags & M_BLOCKED) !== 0, 'sbready: ready mbuf behind the blocker not M_BLOCKED');
    m.m_flags &= ~M_BLOCKED;
    sb.sb_acc += m.m_len;
    m = m.m_next;
  }
  sb.sb_fnrdy = m;
  return 0;
}

/**
 * sbcut_internal: unlinks `len` bytes from the head. A partly cut mbuf keeps its tail (m_data
 * advances); not-ready mbufs are unlinked but not returned (their I/O owner frees them). Returns
 * the chain of mbufs to free.
 */
function sbcut(sb: SockBuf, len: number): Mbuf | null {
  if (!(len >= 0 && len <= sb.sb_ccc)) panic(`sbcut: len ${len} of ${sbSummary(sb)}`);
  let freeHead: Mbuf | null = null;
  let freeTail: Mbuf | null = null;
  let m = sb.sb_mb;
  while (len > 0 && m !== null) {
    if (m.m_len > len) {
      kassert((m.m_flags & M_NOTAVAIL) === 0, 'sbcut: would split an unavailable mbuf');
      m.m_len -= len;
      m.m_data += len;
      sb.sb_ccc -= len;
      sb.sb_acc -= len;
      len = 0;
      break;
    }
    len -= m.m_len;
    sbfree(sb, m);
    const next: Mbuf | null = m.m_next;
    if ((m.m_flags & M_NOTREADY) !== 0) {
      // Left for the I/O owner; cut the link to ready mbufs that are about to be freed.
      if (next !== null && (next.m_flags & M_NOTREADY) === 0) m.m_next = null;
    } else {
      // Ready mbufs in a row stay linked as they are; the last one is cut from the rest below.
      if (freeTail === null) freeHead = m;
      else if (freeTail.m_next !== m) freeTail.m_next = m;
      freeTail = m;
    }
    m = next;
  }
  if (freeTail !== null) freeTail.m_next = null;
  sb.sb_mb = m;
  if (m === null) {
    sb.sb_mbtail = null;
    if (sb.sb_ccc !== 0) panic(`sbcut: empty chain with ${sbSummary(sb)}`);
  }
  return freeHead;
}

/** sbdrop: cuts `len` bytes from the head, frees them (ext free functions run), moves the cursor. */
export function sbdrop(mbufs: MbufAllocator, sb: SockBuf, len: number): void {
  const cutBytes = len;
  const freed = sbcut(sb, len);
  if (cutBytes < sb.sb_sndptroff) {
    sb.sb_sndptroff -= cutBytes;
  } else {
    sb.sb_sndptroff = 0;
    sb.sb_sndptr = sb.sb_mb;
  }
  mFreem(mbufs, freed);
}

/** sbflush: drops everything queued; not-ready mbufs are left to their I/O owner. */
export function sbflush(mbufs: MbufAllocator, sb: SockBuf): void {
  sbdrop(mbufs, sb, sb.sb_ccc);
  kassert(sb.sb_mb === null && sb.sb_fnrdy === null, 'sbflush: chain left');
  kassert(sb.sb_acc === 0 && sb.sb_mbcnt === 0, () => `sbflush: ${sbSummary(sb)}`);
}

/** The counters of a sockbuf, for assertion messages. */
export function sbSummary(sb: SockBuf): string {
  return `ccc ${sb.sb_ccc} acc ${sb.sb_acc} mbcnt ${sb.sb_mbcnt} hiwat ${sb.sb_hiwat} sndptroff ${sb.sb_sndptroff}`;
}
