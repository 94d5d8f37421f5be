// Mirrors ktls_frame and ktls_seq of sys/kern/uipc_ktls.c: each M_EXTPG mbuf of a chain becomes
// one TLS record (header in m_epg_hdr, trailer room in m_epg_trail), and gets its sequence
// number when it joins the socket buffer.
import { kassert } from '../kern/index.js';
import { M_EXTPG, M_NOTREADY, type Mbuf, mEpgTlsArea } from '../mbuf/index.js';
import type { SockBuf } from '../net/index.js';
import { TCP_TLS_MODE_SW, TLS_MAJOR_VER_ONE, TLS_MINOR_VER_THREE } from './constants.js';
import type { KtlsCounterCells } from './env.js';
import { tlsRecordHeader } from './record.js';
import type { KtlsSession } from './session.js';

/**
 * ktls_frame: adds the header and trailer of a record to every mbuf of `top` (each at most
 * max_frame_len bytes of payload). In software mode the records are marked not ready, every page
 * one unit; returns that count (enq_cnt), which ktls_enqueue takes.
 */
export function ktlsFrame(cells: KtlsCounterCells, top: Mbuf, tls: KtlsSession, recordType: number): number {
  const maxlen = tls.params.max_frame_len;
  kassert(
    tls.params.tls_vmajor === TLS_MAJOR_VER_ONE && tls.params.tls_vminor === TLS_MINOR_VER_THREE,
    'ktls_frame: TLS 1.3 only',
  );
  let enqCnt = 0;
  for (let m: Mbuf | null = top; m !== null; m = m.m_next) {
    const epg = m.m_epg;
    kassert((m.m_flags & M_EXTPG) !== 0 && epg !== null, () => `ktls_frame: mapped mbuf (len ${m?.m_len})`);
    kassert(m.m_len > 0 && m.m_len <= maxlen, () => `ktls_frame: m_len ${m?.m_len} of at most ${maxlen}`);
    kassert(epg.m_epg_tls === null && m.m_data === 0, 'ktls_frame: mbuf already framed or trimmed');
    mEpgTlsArea(epg);
    epg.m_epg_tls = tls;
    epg.m_epg_hdrlen = tls.params.tls_hlen;
    epg.m_epg_trllen = tls.params.tls_tlen;
    m.m_len += epg.m_epg_hdrlen + epg.m_epg_trllen;
    // TLS 1.3 masquerades as TLS 1.2 application data; the real type travels encrypted.
    tlsRecordHeader(epg.m_epg_hdr, m.m_len - epg.m_epg_hdrlen);
    epg.m_epg_record_type = recordType;
    epg.m_epg_trail[0] = recordType;
    if (tls.mode === TCP_TLS_MODE_SW) {
      m.m_flags |= M_NOTREADY;
      epg.m_epg_nrdy = epg.m_epg_npgs;
      enqCnt += epg.m_epg_nrdy;
    }
    cells.records_framed++;
  }
  return enqCnt;
}

/** ktls_seq: numbers the records of `m` in the order they join the socket buffer. */
export function ktlsSeq(sb: SockBuf, m: Mbuf | null): void {
  for (; m !== null; m = m.m_next) {
    kassert((m.m_flags & M_EXTPG) !== 0 && m.m_epg !== null, 'ktls_seq: mapped mbuf');
    m.m_epg.m_epg_seqno = sb.sb_tls_seqno;
    sb.sb_tls_seqno++;
  }
}
