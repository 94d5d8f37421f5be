// Mirrors the M_EXTPG ("unmapped") part of sys/kern/kern_mbuf.c: mb_alloc_ext_pgs, the page
// list that kern_sendfile.c fills, and mb_free_notready. An M_EXTPG mbuf carries up to
// MBUF_PEXT_MAX_PGS physical pages instead of a buffer; its bytes are reached through the direct
// map, and its free routine (run once, with the owner) must release every page of the list.
import { PAGE_SIZE, panic } from '../kern/index.js';
import { MbufZones } from './alloc.js';
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

export class MbufExtpgs extends MbufZones {
  /**
   * mb_alloc_ext_pgs: an empty M_EXTPG mbuf (M_EXT|M_EXTPG|M_RDONLY|flags, no pages, ext_size 0)
   * whose free routine must release every page of the owner's list.
   */
  mbAllocExtPgs(
    how: MbufHow,
    freef: MExtFree,
    arg1: unknown,
    arg2: unknown,
    flags: number,
    signal?: AbortSignal,
  ): Mbuf | null | Promise<Mbuf> {
    const m = this.mbufZone.alloc();
    if (m === null) {
      if (how === M_NOWAIT) return this.deny(this.mbufZone);
      return this.zoneSleep(this.mbufZone, (w) => this.mExtpgInit(w, freef, arg1, arg2, flags), signal);
    }
    return this.mExtpgInit(m, freef, arg1, arg2, flags);
  }

  /**
   * Adds one page to an M_EXTPG mbuf, as kern_sendfile.c fills one: the first page may start at
   * an offset, every earlier page must then be full; m_len grows by `lengthBytes` and ext_size
   * by PAGE_SIZE.
   */
  mExtPgAppend(m: Mbuf, physAddr: number, offsetInPageBytes: number, lengthBytes: number): void {
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
        panic(
          `mExtPgAppend: page ${n} off ${offsetInPageBytes} after a partial page (${epg.m_epg_last_len})`,
        );
      }
    }
    epg.m_epg_pa[n] = physAddr;
    epg.m_epg_npgs = n + 1;
    epg.m_epg_last_len = lengthBytes;
    ext.ext_size += PAGE_SIZE;
    m.m_len += lengthBytes;
    if (this.invariants) this.checkInvariants();
  }

  /**
   * mb_free_notready: frees `count` units of not-ready data from `m` on: one per plain mbuf, one
   * per pending page of an M_EXTPG mbuf (freed when its last pending page is counted).
   */
  mbFreeNotready(m: Mbuf | null, count: number): void {
    let i = 0;
    for (; i < count && m !== null; i++) {
      const epg = m.m_epg;
      if (epg !== null && (m.m_flags & M_EXTPG) !== 0) {
        epg.m_epg_nrdy--;
        if (epg.m_epg_nrdy !== 0) continue;
      }
      m = this.mFreeOne(m);
    }
    if (i !== count) panic(`mb_free_notready: removed only ${i} of ${count} items`);
    if (this.invariants) this.checkInvariants();
  }

  private mExtpgInit(m: Mbuf, freef: MExtFree, arg1: unknown, arg2: unknown, flags: number): Mbuf {
    this.mInit(m, MT_DATA, M_EXT | M_EXTPG | M_RDONLY | flags);
    this.mExtSet(m, m.m_ext_embedded, EMPTY_BYTES, 0, 0, EXT_FLAG_EMBREF, freef, arg1, arg2);
    const epg = m.m_epg_embedded;
    epg.m_epg_npgs = 0;
    epg.m_epg_nrdy = 0;
    epg.m_epg_1st_off = 0;
    epg.m_epg_last_len = 0;
    epg.m_epg_flags = 0;
    m.m_epg = epg;
    if (this.invariants) this.checkInvariants();
    return m;
  }
}
