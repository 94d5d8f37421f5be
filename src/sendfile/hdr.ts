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

/** The chain being built by copyIntoMbufs, and the bytes it may still take. */
interface HdrChain {
  head: Mbuf | null;
  tail: Mbuf | null;
  budget: number;
}

/**
 * Copies up to `maxBytes` from the cursor into a new chain (clusters for big pieces).
 * Synchronous fast path: a Promise only when an allocation has to sleep.
 */
export function copyIntoMbufs(
  mbufs: MbufAllocator,
  uio: IovCursor,
  maxBytes: number,
  signal?: AbortSignal,
): Mbuf | null | Promise<Mbuf | null> {
  const chain = { head: null, tail: null, budget: Math.min(maxBytes, uio.left) };
  return copyIntoMbufsResume(mbufs, uio, chain, signal);
}

function copyIntoMbufsResume(
  mbufs: MbufAllocator,
  uio: IovCursor,
  chain: HdrChain,
  signal: AbortSignal | undefined,
): Mbuf | null | Promise<Mbuf | null> {
  while (chain.budget > 0) {
    const want = chain.budget >= MINCLSIZE ? MCLBYTES : MLEN;
    const r =
      want === MCLBYTES ? mbufs.mGetcl(M_WAITOK, MT_DATA, 0, signal) : mbufs.mGet(M_WAITOK, MT_DATA, signal);
    if (r instanceof Promise) {
      return r.then(
        (m) => {
          copyIntoMbuf(uio, chain, m, want);
          return copyIntoMbufsResume(mbufs, uio, chain, signal);
        },
        (e: unknown) => {
          // Interrupted (EINTR): the part of the chain already built is freed.
          mbufs.mFreem(chain.head);
          throw e;
        },
      );
    }
    kassert(r !== null, 'm_uiotombuf: M_WAITOK allocation returned NULL');
    copyIntoMbuf(uio, chain, r, want);
  }
  return chain.head;
}

/** Fills one fresh mbuf of `want` bytes of room from the cursor and links it to the chain. */
function copyIntoMbuf(uio: IovCursor, chain: HdrChain, m: Mbuf, want: number): void {
  let room = Math.min(want, chain.budget);
  while (room > 0) {
    const iov = uio.list[uio.index]!;
    const n = Math.min(room, iov.length - uio.offset);
    m.m_buf.set(iov.subarray(uio.offset, uio.offset + n), m.m_data + m.m_len);
    m.m_len += n;
    room -= n;
    chain.budget -= n;
    uio.left -= n;
    uio.offset += n;
    if (uio.offset === iov.length) {
      uio.index++;
      uio.offset = 0;
    }
  }
  if (chain.tail === null) chain.head = m;
  else chain.tail.m_next = m;
  chain.tail = m;
}
