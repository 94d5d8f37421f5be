// Mirrors the M_EXTPG ("unmapped") part of sys/kern/kern_mbuf.c: mb_alloc_ext_pgs, the page
// list that kern_sendfile.c fills, and mb_free_notready. An M_EXTPG mbuf carries up to
// MBUF_PEXT_MAX_PGS physical pages instead of a buffer; its bytes are reached through the direct
// map, and its free routine (run once, with the owner) must release every page of the list.
import { PAGE_SIZE, panic } from '../kern/index.js';
import { deny, type MbufCore, mExtSet, mFreeOne, mInit, zoneSleep } from './alloc.js';
import {
  EXT_FLAG_EMBREF,
  M_EXT,
  M_EXTPG,
  M_NOWAIT,
  M_RDONLY,
  MBUF_PEXT_MAX_PGS,
  type MbufHow,
  MT_DATA,
} from './constants.js';
import { EMPTY_BYTES, type Mbuf, type MExtFree } from './mbuf.js';

/**
 * mb_alloc_ext_pgs: an empty M_EXTPG mbuf (M_EXT|M_EXTPG|M_RDONLY|flags, no pages, ext_size 0)
 * whose free routine must release every page of the owner's list.
 */
export function mbAllocExtPgs(
  mb: MbufCore,
  how: MbufHow,
  freef: MExtFree,
  arg1: unknown,
  arg2: unknown,
  flags: number,
  signal?: AbortSignal,
): Mbuf | null | Promise<Mbuf> {
  const m = mb.mbufZone.alloc();
  if (m === null) {
    if (how === M_NOWAIT) return deny(mb, mb.mbufZone);
    return zoneSleep(mb, mb.mbufZone, (w) => mExtpgInit(mb, w, freef, arg1, arg2, flags), signal);
  }
  return mExtpgInit(mb, m, freef, arg1, arg2, flags);
}

/**
 * Adds one page to an M_EXTPG mbuf, as kern_sendfile.c fills one: the first page may start at
 * an offset, every earlier page must then be full; m_len grows by `lengthBytes` and ext_size
 * by PAGE_SIZE.
 */
export function mExtPgAppend(
  mb: MbufCore,
  m: Mbuf,
  physAddr: number,
  offsetInPageBytes: number,
  lengthBytes: number,
): void {
  const epg = m.m_epg;
  const ext = m.m_ext;
  if (epg === null || ext === null || (m.m_flags & M_EXTPG) === 0) panic('mExtPgAppend: not M_EXTPG');
  const n = epg.m_epg_npgs;
  if (n >= MBUF_PEXT_MAX_PGS) panic(`mExtPgAppend: already ${n} pages`);
  if (physAddr % PAGE_SIZE !== 0) panic(`mExtPgAppend: physAddr ${physAddr} not page aligned`);
  if (lengthBytes <= 0 || offsetInPageBytes < 0 || offsetInPageBytes + lengthBytes > PAGE_SIZE) {
    panic(`mExtPgAppend: bad page span off ${offsetInPageBytes} len ${lengthBytes}`);
  }
  if (n === 0) epg.m_epg_1st_off = offsetInPageBytes;
  else {
    const full = n === 1 ? PAGE_SIZE - epg.m_epg_1st_off : PAGE_SIZE;
    if (offsetInPageBytes !== 0 || epg.m_epg_last_len !== full) {
      panic(`mExtPgAppend: page ${n} off ${offsetInPageBytes} after a partial page (${epg.m_epg_last_len})`);
    }
  }
  epg.m_epg_pa[n] = physAddr;
  epg.m_epg_npgs = n + 1;
  epg.m_epg_last_len = lengthBytes;
  ext.ext_size += PAGE_SIZE;
  m.m_len += lengthBytes;
  if (mb.invariants) mb.checkInvariants();
}

/**
 * mb_free_notready: frees `count` units of not-ready data from `m` on: one per plain mbuf, one
 * per pending page of an M_EXTPG mbuf (freed when its last pending page is counted).
 */
export function mbFreeNotready(mb: MbufCore, m: Mbuf | null, count: number): void {
  let i = 0;
  for (; i < count && m !== null; i++) {
    const epg = m.m_epg;
    if (epg !== null && (m.m_flags & M_EXTPG) !== 0) {
      epg.m_epg_nrdy--;
      if (epg.m_epg_nrdy !== 0) continue;
    }
    m = mFreeOne(mb, m);
  }
  if (i !== count) panic(`mb_free_notready: removed only ${i} of ${count} items`);
  if (mb.invariants) mb.checkInvariants();
}

export function mExtpgInit(
  mb: MbufCore,
  m: Mbuf,
  freef: MExtFree,
  arg1: unknown,
  arg2: unknown,
  flags: number,
): Mbuf {
  mInit(mb, m, MT_DATA, M_EXT | M_EXTPG | M_RDONLY | flags);
  mExtSet(mb, m, m.m_ext_embedded, EMPTY_BYTES, 0, 0, EXT_FLAG_EMBREF, freef, arg1, arg2);
  const epg = m.m_epg_embedded;
  epg.m_epg_npgs = 0;
  epg.m_epg_nrdy = 0;
  epg.m_epg_1st_off = 0;
  epg.m_epg_last_len = 0;
  epg.m_epg_flags = 0;
  epg.m_epg_hdrlen = 0;
  epg.m_epg_trllen = 0;
  epg.m_epg_tls = null;
  epg.m_epg_seqno = 0;
  epg.m_epg_record_type = 0;
  epg.m_epg_enc_cnt = 0;
  m.m_epg = epg;
  if (mb.invariants) mb.checkInvariants();
  return m;
}
