// Shared set-up for the net tests: an mbuf allocator over a small "physical memory", a socket
// layer with the debug-mode checks on, and builders for the mbufs sendfile would queue (external
// storage on a page with a counting free routine, unmapped M_EXTPG mbufs, not-ready ones).
import { createPrng, KiB, ManualClock, PAGE_SIZE } from '../../src/kern/index.js';
import {
  EXT_SFBUF,
  M_NOTREADY,
  M_NOWAIT,
  M_RDONLY,
  type Mbuf,
  MbufAllocator,
  MT_DATA,
  mbAllocExtPgs,
  mExtadd,
  mExtPgAppend,
  mGet,
} from '../../src/mbuf/index.js';
import { SocketLayer, type SocketLayerConfig } from '../../src/net/index.js';

export const PHYS_PAGES = 64;

export interface NetRig {
  readonly physmem: ArrayBuffer;
  readonly mbufs: MbufAllocator;
  readonly net: SocketLayer;
  /** How many times an external free routine ran, by page index. */
  readonly freed: number[];
  /** An EXT_SFBUF-like mbuf over page `page` ([off, off+len)), its free routine counting. */
  pageMbuf(page: number, len?: number, off?: number, notready?: boolean): Mbuf;
  /** An M_EXTPG mbuf over consecutive pages, `nrdy` of them still to be read. */
  extpgMbuf(firstPage: number, pageCount: number, nrdy: number): Mbuf;
  /** A chain of `count` whole-page mbufs on consecutive pages. */
  pageChain(firstPage: number, count: number, notready?: boolean): Mbuf;
}

export function makeRig(
  config: Partial<SocketLayerConfig> = {},
  limits = { nmbufs: 4096, nmbclusters: 2048 },
): NetRig {
  const physmem = new ArrayBuffer(PHYS_PAGES * PAGE_SIZE);
  const phys = new Uint8Array(physmem);
  for (let i = 0; i < phys.length; i++) phys[i] = (i * 31 + (i >>> 12)) & 0xff;
  const mbufs = new MbufAllocator({
    ...limits,
    invariants: true,
    kernelId: 1,
    dmap: physmem,
  });
  const net = new SocketLayer(mbufs, {
    sndbufBytes: 32 * KiB,
    invariants: true,
    kernelId: 1,
    clock: new ManualClock(),
    ...config,
  });
  const freed = new Array<number>(PHYS_PAGES).fill(0);
  const pageFree = (m: Mbuf): void => {
    const page = m.m_ext?.ext_arg1 as number;
    freed[page] = (freed[page] ?? 0) + 1;
  };
  const pageMbuf = (page: number, len = PAGE_SIZE, off = 0, notready = false): Mbuf => {
    const m = mGet(mbufs, M_NOWAIT, MT_DATA);
    if (!(m !== null && !(m instanceof Promise))) throw new Error('mGet failed');
    const view = new Uint8Array(physmem, page * PAGE_SIZE, PAGE_SIZE);
    mExtadd(mbufs, m, view, PAGE_SIZE, pageFree, page, null, M_RDONLY, EXT_SFBUF);
    m.m_data = off;
    m.m_len = len;
    if (notready) m.m_flags |= M_NOTREADY;
    return m;
  };
  const extpgFree = (m: Mbuf): void => {
    const epg = m.m_epg;
    if (epg === null) return;
    for (let i = 0; i < epg.m_epg_npgs; i++) {
      const page = (epg.m_epg_pa[i] ?? 0) / PAGE_SIZE;
      freed[page] = (freed[page] ?? 0) + 1;
    }
  };
  const extpgMbuf = (firstPage: number, pageCount: number, nrdy: number): Mbuf => {
    const m = mbAllocExtPgs(mbufs, M_NOWAIT, extpgFree, null, null, 0);
    if (!(m !== null && !(m instanceof Promise))) throw new Error('mbAllocExtPgs failed');
    for (let i = 0; i < pageCount; i++) mExtPgAppend(mbufs, m, (firstPage + i) * PAGE_SIZE, 0, PAGE_SIZE);
    const epg = m.m_epg;
    if (epg === null) throw new Error('no m_epg');
    epg.m_epg_nrdy = nrdy;
    if (nrdy > 0) m.m_flags |= M_NOTREADY;
    return m;
  };
  const pageChain = (firstPage: number, count: number, notready = false): Mbuf => {
    const head = pageMbuf(firstPage, PAGE_SIZE, 0, notready);
    let tail = head;
    for (let i = 1; i < count; i++) {
      tail.m_next = pageMbuf(firstPage + i, PAGE_SIZE, 0, notready);
      tail = tail.m_next;
    }
    return head;
  };
  return { physmem, mbufs, net, freed, pageMbuf, extpgMbuf, pageChain };
}

/** A chain's mbufs as an array (bounded walk). */
export function chainOf(m: Mbuf | null, limit = 1 << 16): Mbuf[] {
  const out: Mbuf[] = [];
  for (; m !== null && out.length < limit; m = m.m_next) out.push(m);
  return out;
}

/** Lets queued microtasks and promise continuations run (bounded). */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}

/** `bytes` seeded pseudo-random bytes (the same for the same seed). */
export function pattern(bytes: number, seed: number): Uint8Array {
  const prng = createPrng(seed);
  const out = new Uint8Array(bytes);
  const words = new Uint32Array(out.buffer, 0, bytes >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = prng.nextU32();
  for (let i = words.length * 4; i < bytes; i++) out[i] = prng.nextU32() & 0xff;
  return out;
}
