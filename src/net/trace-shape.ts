// What the net room's trace events say about a chain and a connection: the storage kinds of a
// chain (how many mbufs carry clusters, sf_bufs, unmapped pages or inline data) and the peer's
// port, by which a trace tells one connection's socket from the others.
import { EXT_CLUSTER, EXT_EXTREF, EXT_SFBUF, M_EXTPG, type Mbuf } from '../mbuf/index.js';
import type { Transport } from './socket.js';

/** Chain walks for a trace stop here: a trace line, not a census. */
const SHAPE_MBUFS_MAX = 4096;

export interface ChainShape {
  readonly bytes: number;
  readonly mbufs: number;
  readonly ext: Readonly<Record<string, number>>;
}

function storageName(m: Mbuf): string {
  if ((m.m_flags & M_EXTPG) !== 0) return 'M_EXTPG';
  const t = m.m_ext?.ext_type;
  if (t === undefined) return 'inline';
  if (t === EXT_SFBUF) return 'EXT_SFBUF';
  if (t === EXT_CLUSTER) return 'EXT_CLUSTER';
  if (t === EXT_EXTREF) return 'EXT_EXTREF';
  return `EXT_${t}`;
}

/** The chain from `m`: its bytes, mbufs, and mbufs per kind of storage. */
export function chainShape(m: Mbuf | null): ChainShape {
  let bytes = 0;
  let mbufs = 0;
  const ext: Record<string, number> = {};
  for (let n = m; n !== null && mbufs < SHAPE_MBUFS_MAX; n = n.m_next) {
    bytes += n.m_len;
    mbufs++;
    const k = storageName(n);
    ext[k] = (ext[k] ?? 0) + 1;
  }
  return { bytes, mbufs, ext };
}

/** The remote port of a socket transport (a net.Socket, or a response over one), or null. */
export function peerPortOf(transport: Transport): number | null {
  const t = transport as { remotePort?: unknown; socket?: { remotePort?: unknown } | null };
  const port = t.remotePort ?? t.socket?.remotePort;
  return typeof port === 'number' ? port : null;
}
