// What one mbuf chain holds of the zones: its mbufs, and the storages (clusters among them) that
// no mbuf outside the chain refers to. The at-rest check subtracts it for the socket that asks,
// so that a /stats request does not count its own connection's bytes as the server's activity.
import { EXT_CLUSTER, M_EXTPG } from './constants.js';
import type { Mbuf, MExt } from './mbuf.js';

export interface MbufHolding {
  readonly mbufs: number;
  readonly clusters: number;
  readonly storages: number;
}

export const NO_HOLDING: MbufHolding = { mbufs: 0, clusters: 0, storages: 0 };

/** Walks `m_next` from `m`; a storage counts only when every reference to it is in the chain. */
export function chainHolding(m: Mbuf | null): MbufHolding {
  let mbufs = 0;
  const refs = new Map<MExt, { n: number; cluster: boolean }>();
  for (let cur = m; cur !== null; cur = cur.m_next) {
    mbufs++;
    const ext = cur.m_ext;
    if (ext === null) continue;
    const seen = refs.get(ext);
    if (seen) seen.n++;
    else refs.set(ext, { n: 1, cluster: (cur.m_flags & M_EXTPG) === 0 && ext.ext_type === EXT_CLUSTER });
  }
  let clusters = 0;
  let storages = 0;
  for (const [ext, r] of refs) {
    if (r.n !== ext.ext_count) continue;
    storages++;
    if (r.cluster) clusters++;
  }
  return { mbufs, clusters, storages };
}
