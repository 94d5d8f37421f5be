// What sendfile's trace events say about the mbufs it built and frees: for each page mbuf its
// storage (an sf_buf's kva and the page it maps, or an unmapped M_EXTPG mbuf's pages), the bytes
// it carries and whether it waits for a read (M_NOTREADY).
import { PAGE_SIZE } from '../kern/index.js';
import { EXT_SFBUF, M_EXTPG, M_NOTREADY, type Mbuf } from '../mbuf/index.js';
import type { SfBuf } from '../sfbuf/index.js';

/** Mbufs described per chunk at most: a trace line, not a census. */
const DESCRIBED_MBUFS_MAX = 256;

export interface MbufTrace {
  readonly ext: 'EXT_SFBUF' | 'M_EXTPG';
  readonly len: number;
  readonly notready: boolean;
  /** EXT_SFBUF: the sf_buf's kernel address. */
  readonly kva?: number;
  /** The pages the storage holds, by physical index. */
  readonly pages: readonly number[];
}

/** The page mbufs from `m` (header mbufs in front of them are left to the net room's trace). */
export function describePageMbufs(m: Mbuf | null): MbufTrace[] {
  const out: MbufTrace[] = [];
  for (let n = m; n !== null && out.length < DESCRIBED_MBUFS_MAX; n = n.m_next) {
    const notready = (n.m_flags & M_NOTREADY) !== 0;
    if ((n.m_flags & M_EXTPG) !== 0 && n.m_epg !== null) {
      const pages = n.m_epg.m_epg_pa.slice(0, n.m_epg.m_epg_npgs).map((pa) => Math.floor(pa / PAGE_SIZE));
      out.push({ ext: 'M_EXTPG', len: n.m_len, notready, pages });
    } else if (n.m_ext?.ext_type === EXT_SFBUF) {
      const sf = n.m_ext.ext_arg1 as SfBuf;
      out.push({
        ext: 'EXT_SFBUF',
        len: n.m_len,
        notready,
        kva: sf.kva,
        pages: sf.m ? [sf.m.physIndex] : [],
      });
    }
  }
  return out;
}
