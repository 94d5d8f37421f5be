// Mirrors m_uiotombuf (sys/kern/uipc_mbuf.c) as sendfile uses it for the header iovecs: a real
// copy of user bytes into fresh mbufs and clusters, bounded by the socket's free space.
import { kassert } from '../kern/index.js';
import {
  M_WAITOK,
  type Mbuf,
  type MbufAllocator,
  MCLBYTES,
  MINCLSIZE,
  MLEN,
  MT_DATA,
} from '../mbuf/index.js';

/** A cursor over iovecs: the next byte is list[index][offset]; `left` bytes remain in all. */
export interface IovCursor {
  readonly list: readonly Uint8Array[];
  index: number;
  offset: number;
  left: number;
}

/** Copies up to `maxBytes` from the cursor into a new chain (clusters for big pieces). */
export async function copyIntoMbufs(
  mbufs: MbufAllocator,
  uio: IovCursor,
  maxBytes: number,
): Promise<Mbuf | null> {
  let head: Mbuf | null = null;
  let tail: Mbuf | null = null;
  let budget = Math.min(maxBytes, uio.left);
  while (budget > 0) {
    const want = budget >= MINCLSIZE ? MCLBYTES : MLEN;
    const r = want === MCLBYTES ? mbufs.mGetcl(M_WAITOK, MT_DATA, 0) : mbufs.mGet(M_WAITOK, MT_DATA);
    const m = r instanceof Promise ? await r : r;
    kassert(m !== null, 'm_uiotombuf: M_WAITOK allocation returned NULL');
    let room = Math.min(want, budget);
    while (room > 0) {
      const iov = uio.list[uio.index]!;
      const n = Math.min(room, iov.length - uio.offset);
      m.m_buf.set(iov.subarray(uio.offset, uio.offset + n), m.m_data + m.m_len);
      m.m_len += n;
      room -= n;
      budget -= n;
      uio.left -= n;
      uio.offset += n;
      if (uio.offset === iov.length) {
        uio.index++;
        uio.offset = 0;
      }
    }
    if (tail === null) head = m;
    else tail.m_next = m;
    tail = m;
  }
  return head;
}
