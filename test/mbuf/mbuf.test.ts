// Goal: every mbuf routine does what its kernel counterpart does, on the numbers the kernel uses.
// Method: direct calls on one allocator with invariants on (each call re-checks the zones and
// every reference count); bytes are compared through m_copydata and the writev views.
import { describe, expect, it } from 'vitest';
import { KernelAssertionError, PAGE_SIZE } from '../../src/kern/index.js';
import {
  EXT_CLUSTER,
  EXT_FLAG_EMBREF,
  EXT_SFBUF,
  M_COPYALL,
  M_EXT,
  M_EXTPG,
  M_NOWAIT,
  M_PKTHDR,
  M_RDONLY,
  type Mbuf,
  MCLBYTES,
  MHLEN,
  MLEN,
  MSIZE,
  MT_DATA,
  mAppend,
  mbAllocExtPgs,
  mCopym,
  mExtadd,
  mExtPgAppend,
  mFree,
  mFreem,
  mGet,
  mGetcl,
  mGethdr,
} from '../../src/mbuf/index.js';
import { chainBytes, concat, fixture, now, pattern } from './helpers.js';

describe('mbuf get and free', () => {
  it('m_get and m_gethdr give internal storage at M_START, MLEN and MHLEN bytes of room', () => {
    const { a } = fixture();
    const m = now(mGet(a, M_NOWAIT, MT_DATA));
    expect(m.m_data).toBe(MSIZE - MLEN);
    expect(m.m_buf.length - m.m_data).toBe(MLEN);
    const h = now(mGethdr(a, M_NOWAIT, MT_DATA));
    expect(h.m_flags & M_PKTHDR).toBe(M_PKTHDR);
    expect(h.m_buf.length - h.m_data).toBe(MHLEN);
    expect(a.counters().mbuf.current).toBe(2);
    expect(mFree(a, m)).toBeNull();
    mFreem(a, h);
    expect(a.atRest()).toEqual([]);
    expect(a.counters().mbuf.cache).toBe(a.counters().mbuf.total);
  });

  it('mbuf objects are reused from the free list', () => {
    const { a } = fixture();
    const m = now(mGet(a, M_NOWAIT, MT_DATA));
    mFree(a, m);
    expect(now(mGet(a, M_NOWAIT, MT_DATA))).toBe(m);
  });

  it('a double free is a kernel assertion', () => {
    const { a } = fixture();
    const m = now(mGet(a, M_NOWAIT, MT_DATA));
    mFree(a, m);
    expect(() => mFree(a, m)).toThrow(KernelAssertionError);
  });

  it('m_getcl attaches a 2 KiB cluster that goes back to its zone', () => {
    const { a } = fixture();
    const m = now(mGetcl(a, M_NOWAIT, MT_DATA, M_PKTHDR));
    expect(m.m_flags & (M_EXT | M_PKTHDR)).toBe(M_EXT | M_PKTHDR);
    expect(m.m_ext?.ext_type).toBe(EXT_CLUSTER);
    expect(m.m_ext?.ext_size).toBe(MCLBYTES);
    expect(m.m_ext?.ext_flags).toBe(EXT_FLAG_EMBREF);
    expect(m.m_buf.length).toBe(MCLBYTES);
    expect(a.counters().mbuf_cluster.current).toBe(1);
    mFree(a, m);
    expect(a.counters().mbuf_cluster).toMatchObject({ current: 0, cache: 16, total: 16 }); // one slab of 16 clusters;
    expect(a.atRest()).toEqual([]);
  });

  it('data appended into a cluster is a copy: changing the source later changes nothing', () => {
    const { a } = fixture();
    const m = now(mGetcl(a, M_NOWAIT, MT_DATA, 0));
    const src = pattern(1500);
    expect(mAppend(a, m, src)).toBe(true);
    src.fill(0xee);
    expect(m.m_buf.buffer).not.toBe(src.buffer);
    expect(chainBytes(a, m)).toEqual(pattern(1500));
    mFreem(a, m);
  });
});

describe('external storage', () => {
  it('m_extadd: the free routine runs once, with the owner, when the last copy goes', () => {
    const { a, page } = fixture();
    const calls: [Mbuf, unknown, unknown][] = [];
    const m = now(mGet(a, M_NOWAIT, MT_DATA));
    mExtadd(
      a,
      m,
      page(1),
      PAGE_SIZE,
      (o) => calls.push([o, o.m_ext?.ext_arg1, o.m_ext?.ext_arg2]),
      'a1',
      'a2',
      M_RDONLY,
      EXT_SFBUF,
    );
    m.m_data = 100;
    m.m_len = 1000;
    const c1 = now(mCopym(a, m, 10, 500, M_NOWAIT));
    const c2 = now(mCopym(a, m, 0, M_COPYALL, M_NOWAIT));
    expect(m.m_ext?.ext_count).toBe(3);
    expect(c1.m_ext).toBe(m.m_ext);
    expect(c1.m_data).toBe(110);
    expect(c1.m_flags & M_RDONLY).toBe(M_RDONLY);
    mFree(a, m);
    expect(calls).toEqual([]);
    expect(a.counters().mbuf.current).toBe(3); // the owner outlives its own m_free
    mFree(a, c2);
    expect(calls).toEqual([]);
    mFree(a, c1);
    expect(calls).toEqual([[m, 'a1', 'a2']]);
    expect(a.atRest()).toEqual([]);
  });

  it('a copy of internal data is a copy, of external data a reference', () => {
    const { a } = fixture();
    const m = now(mGet(a, M_NOWAIT, MT_DATA));
    mAppend(a, m, pattern(100));
    const n = now(mCopym(a, m, 20, 50, M_NOWAIT));
    expect(n.m_buf.buffer === m.m_buf.buffer && n.m_buf.byteOffset === m.m_buf.byteOffset).toBe(false);
    expect(chainBytes(a, n)).toEqual(pattern(100).subarray(20, 70));
    mFreem(a, m);
    mFreem(a, n);
    expect(a.atRest()).toEqual([]);
  });
});

describe('M_EXTPG', () => {
  function extpg(a: ReturnType<typeof fixture>['a'], pages: [number, number, number][], freed: Mbuf[]): Mbuf {
    const m = now(mbAllocExtPgs(a, M_NOWAIT, (o) => freed.push(o), null, null, 0));
    for (const [pa, off, len] of pages) mExtPgAppend(a, m, pa, off, len);
    return m;
  }

  it('page lengths: first page from its offset, middle pages whole, last page last_len', () => {
    const { a, page } = fixture();
    const freed: Mbuf[] = [];
    for (let i = 0; i < 4; i++) page(i).set(pattern(PAGE_SIZE, i));
    const m = extpg(
      a,
      [
        [0, 1000, PAGE_SIZE - 1000],
        [PAGE_SIZE, 0, PAGE_SIZE],
        [2 * PAGE_SIZE, 0, 77],
      ],
      freed,
    );
    expect(m.m_flags & (M_EXT | M_EXTPG | M_RDONLY)).toBe(M_EXT | M_EXTPG | M_RDONLY);
    expect(m.m_len).toBe(PAGE_SIZE - 1000 + PAGE_SIZE + 77);
    expect(m.m_ext?.ext_size).toBe(3 * PAGE_SIZE);
    expect(m.m_epg).toMatchObject({ m_epg_npgs: 3, m_epg_1st_off: 1000, m_epg_last_len: 77 });
    const want = concat([page(0).subarray(1000), page(1), page(2).subarray(0, 77)]);
    expect(chainBytes(a, m)).toEqual(want);
    const views: Uint8Array[] = [];
    expect(a.mbufViews(m, 1 << 30, views)).toBe(m.m_len);
    expect(views.length).toBe(1); // three physically contiguous pages, one view
    expect(views[0]?.byteOffset).toBe(1000);
    mFree(a, m);
    expect(freed).toEqual([m]);
    expect(a.atRest()).toEqual([]);
  });

  it('views are not joined across a gap in physical memory', () => {
    const { a } = fixture();
    const m = extpg(
      a,
      [
        [0, 0, PAGE_SIZE],
        [2 * PAGE_SIZE, 0, PAGE_SIZE],
        [3 * PAGE_SIZE, 0, 10],
      ],
      [],
    );
    const views: Uint8Array[] = [];
    a.mbufViews(m, 1 << 30, views);
    expect(views.map((v) => [v.byteOffset, v.length])).toEqual([
      [0, PAGE_SIZE],
      [2 * PAGE_SIZE, PAGE_SIZE + 10],
    ]);
    mFree(a, m);
  });

  it('two M_EXTPG mbufs whose pages continue each other give one view', () => {
    const { a } = fixture();
    const m = extpg(
      a,
      [
        [0, 0, PAGE_SIZE],
        [PAGE_SIZE, 0, PAGE_SIZE],
      ],
      [],
    );
    m.m_next = extpg(
      a,
      [
        [2 * PAGE_SIZE, 0, PAGE_SIZE],
        [3 * PAGE_SIZE, 0, 5],
      ],
      [],
    );
    const c = now(mCopym(a, m, 100, 3 * PAGE_SIZE - 95, M_NOWAIT));
    const views: Uint8Array[] = [];
    expect(a.mbufViews(c, 1 << 30, views)).toBe(3 * PAGE_SIZE - 95);
    expect(views.map((v) => [v.byteOffset, v.length])).toEqual([[100, 3 * PAGE_SIZE - 95]]);
    mFreem(a, m);
    mFreem(a, c);
    expect(a.atRest()).toEqual([]);
  });

  it('a page after a partial page is refused', () => {
    const { a } = fixture();
    const m = extpg(a, [[0, 0, 100]], []);
    expect(() => mExtPgAppend(a, m, PAGE_SIZE, 0, 10)).toThrow(KernelAssertionError);
  });
});
