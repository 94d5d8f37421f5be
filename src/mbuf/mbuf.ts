// Mirrors struct mbuf, struct m_ext and the M_EXTPG metadata of sys/sys/mbuf.h.
//
// Ownership and reference counting (kern_mbuf.c, mb_dupcl/mb_free_ext):
// - Every Mbuf object belongs to the "mbuf" zone for the life of its allocator and is reused
//   from the zone's free list; its internal storage `m_dat` is MSIZE bytes of a zone slab.
// - External storage is described by one MExt. The mbuf that attached it (mExtadd, mGetcl,
//   mbAllocExtPgs) is the owner: its embedded MExt carries the counter (EXT_FLAG_EMBREF).
//   XXX(sim): every mbuf that shares the storage points at the owner's very MExt object (the
//   kernel copies m_ext and points ext_cnt at the owner's counter); `ext_mref` names the owner.
// - ext_count is the number of live mbufs referring to the storage. mCopym adds one; each
//   mFree of any sharer drops one. When the owner is freed while copies remain it becomes a
//   "zombie": off every chain, still counted in use, reclaimed only with the storage, when the
//   last reference goes and ext_free(owner) has run exactly once.
// - M_EXTPG metadata (the page list) is per mbuf, copied by mCopym, as mb_dupcl copies it.
import { PAGE_SIZE } from '../kern/index.js';
import { MBUF_PEXT_HDR_LEN, MBUF_PEXT_MAX_PGS, MBUF_PEXT_TRAIL_LEN } from './constants.js';

/** The free routine of external storage: called once, with the owner mbuf (EXT_EXTREF: the last). */
export type MExtFree = (m: Mbuf) => void;

/** struct m_ext. */
export interface MExt {
  /** Start of the buffer (empty for M_EXTPG storage, whose bytes are pages). */
  ext_buf: Uint8Array;
  /** Bytes of the buffer, kept for the free routine (M_EXTPG: PAGE_SIZE per page). */
  ext_size: number;
  ext_type: number;
  ext_flags: number;
  ext_free: MExtFree | null;
  ext_arg1: unknown;
  ext_arg2: unknown;
  /** References: live mbufs pointing at this storage. */
  ext_count: number;
  /** XXX(sim): the owner (the mbuf holding the embedded counter); null for EXT_EXTREF. */
  ext_mref: Mbuf | null;
  /**
   * XXX(sim): the buffer's physical address when it is a page of physical memory (an sf_buf's
   * page), else -1: a listing reaches those bytes through the direct map, as bus_dma finds the
   * physical address, instead of asking the view where it lies (a slow accessor per mbuf).
   */
  ext_pa: number;
}

/**
 * The M_EXTPG fields of struct mbuf (m_epg_*). A KTLS record lays its bytes out as
 * m_epg_hdr[0..hdrlen) | the pages | m_epg_trail[0..trllen); m_data and m_len count over all three.
 */
export interface MExtPg {
  m_epg_npgs: number;
  m_epg_nrdy: number;
  m_epg_1st_off: number;
  m_epg_last_len: number;
  m_epg_pa: number[];
  m_epg_flags: number;
  /** KTLS: bytes of the record header in m_epg_hdr (0 without TLS). */
  m_epg_hdrlen: number;
  /** KTLS: bytes of the trailer (TLS 1.3: the inner content type and the tag) in m_epg_trail. */
  m_epg_trllen: number;
  m_epg_hdr: Uint8Array;
  m_epg_trail: Uint8Array;
  /** KTLS: the session (struct ktls_session, opaque here), null without TLS. */
  m_epg_tls: unknown;
  /** KTLS: the record's sequence number (ktls_seq). */
  m_epg_seqno: number;
  /** KTLS: the real record type (TLS 1.3 sends it encrypted, in the trailer). */
  m_epg_record_type: number;
  /** KTLS: pages left to encrypt for the chain queued with this mbuf (ktls_enqueue). */
  m_epg_enc_cnt: number;
}

/** XXX(sim): an Mbuf's life in its zone. The kernel keeps no such state; we assert on it. */
export const MS_FREE = 0;
export const MS_LIVE = 1;
/** An owner freed while copies of its storage remain (see the block comment above). */
export const MS_ZOMBIE = 2;

export const EMPTY_BYTES = new Uint8Array(0);

/** A fresh, unattached m_ext (embedded in every Mbuf; EXT_EXTREF gets its own). */
export function newMExt(): MExt {
  return {
    ext_buf: EMPTY_BYTES,
    ext_size: 0,
    ext_type: 0,
    ext_flags: 0,
    ext_free: null,
    ext_arg1: null,
    ext_arg2: null,
    ext_count: 0,
    ext_mref: null,
    ext_pa: -1,
  };
}

function newMExtPg(): MExtPg {
  return {
    m_epg_npgs: 0,
    m_epg_nrdy: 0,
    m_epg_1st_off: 0,
    m_epg_last_len: 0,
    m_epg_pa: new Array<number>(MBUF_PEXT_MAX_PGS).fill(0),
    m_epg_flags: 0,
    m_epg_hdrlen: 0,
    m_epg_trllen: 0,
    // XXX(sim): allocated by the first ktls_frame of this mbuf (most mbufs never carry a record).
    m_epg_hdr: EMPTY_BYTES,
    m_epg_trail: EMPTY_BYTES,
    m_epg_tls: null,
    m_epg_seqno: 0,
    m_epg_record_type: 0,
    m_epg_enc_cnt: 0,
  };
}

/** struct mbuf. Field names keep the kernel's spelling; `m_data` is an offset into `m_buf`. */
export class Mbuf {
  m_next: Mbuf | null = null;
  m_nextpkt: Mbuf | null = null;
  /** Bytes of data in this mbuf. */
  m_len = 0;
  m_flags = 0;
  m_type = 0;
  /** Offset of the data in `m_buf`; for M_EXTPG, the offset into the bytes of the page list. */
  m_data = 0;
  /** The storage the data lives in: `m_dat`, or ext_buf when M_EXT (empty for M_EXTPG). */
  m_buf: Uint8Array;
  m_ext: MExt | null = null;
  m_epg: MExtPg | null = null;
  /** m_pkthdr.len: bytes of the whole packet, meaningful with M_PKTHDR. */
  m_pkthdr_len = 0;
  /** XXX(sim): the MSIZE bytes of this mbuf in its zone slab; data starts at M_START. */
  readonly m_dat: Uint8Array;
  /** XXX(sim): the m_ext this mbuf carries when it owns storage (embedded, like the kernel's). */
  readonly m_ext_embedded: MExt = newMExt();
  readonly m_epg_embedded: MExtPg = newMExtPg();
  /** XXX(sim): MS_FREE, MS_LIVE or MS_ZOMBIE. */
  m_state: number = MS_FREE;

  constructor(dat: Uint8Array) {
    this.m_dat = dat;
    this.m_buf = dat;
  }
}

/** m_epg_pagelen: bytes of page `i` of an M_EXTPG mbuf (last page, first page, or whole). */
export function mEpgPagelen(epg: MExtPg, i: number): number {
  if (i === epg.m_epg_npgs - 1) return epg.m_epg_last_len;
  if (i === 0) return PAGE_SIZE - epg.m_epg_1st_off;
  return PAGE_SIZE;
}

/** Bytes the page list of an M_EXTPG mbuf covers. */
export function mEpgBytes(epg: MExtPg): number {
  const n = epg.m_epg_npgs;
  if (n === 0) return 0;
  if (n === 1) return epg.m_epg_last_len;
  return PAGE_SIZE - epg.m_epg_1st_off + (n - 2) * PAGE_SIZE + epg.m_epg_last_len;
}

/** Copies the page list of `from` into `to` (mb_dupcl's bcopy of the m_epg fields). */
export function mEpgCopy(to: MExtPg, from: MExtPg): void {
  to.m_epg_npgs = from.m_epg_npgs;
  to.m_epg_nrdy = from.m_epg_nrdy;
  to.m_epg_1st_off = from.m_epg_1st_off;
  to.m_epg_last_len = from.m_epg_last_len;
  to.m_epg_flags = from.m_epg_flags;
  for (let i = 0; i < from.m_epg_npgs; i++) to.m_epg_pa[i] = from.m_epg_pa[i] ?? 0;
  to.m_epg_hdrlen = from.m_epg_hdrlen;
  to.m_epg_trllen = from.m_epg_trllen;
  if (from.m_epg_hdrlen + from.m_epg_trllen > 0) {
    mEpgTlsArea(to);
    to.m_epg_hdr.set(from.m_epg_hdr);
    to.m_epg_trail.set(from.m_epg_trail);
  }
  to.m_epg_tls = from.m_epg_tls;
  to.m_epg_seqno = from.m_epg_seqno;
  to.m_epg_record_type = from.m_epg_record_type;
  to.m_epg_enc_cnt = from.m_epg_enc_cnt;
}

/** Gives an M_EXTPG mbuf its inline record header and trailer storage (kept across reuses). */
export function mEpgTlsArea(epg: MExtPg): void {
  if (epg.m_epg_hdr.length === 0) epg.m_epg_hdr = new Uint8Array(MBUF_PEXT_HDR_LEN);
  if (epg.m_epg_trail.length === 0) epg.m_epg_trail = new Uint8Array(MBUF_PEXT_TRAIL_LEN);
}

/** Bytes of an M_EXTPG mbuf's whole layout: header, pages, trailer (KTLS; pages alone without). */
export function mEpgFrameBytes(epg: MExtPg): number {
  return epg.m_epg_hdrlen + mEpgBytes(epg) + epg.m_epg_trllen;
}
