// Goal: the chain routines of uipc_mbuf.c (m_copym, m_copydata, m_copyback, m_append, m_cat,
// m_adj, m_length), mb_free_notready, and the writev listing behave as the socket and sendfile
// rooms rely on. Method: chains mixing internal, cluster, EXT_SFBUF-like and M_EXTPG storage over
// one simulated physical memory; bytes are checked against a plain array model.
import { describe, expect, it } from 'vitest';
import { KernelAssertionError, PAGE_SIZE } from '../../src/kern/index.js';
import {
  EXT_EXTREF,
  EXT_SFBUF,
  M_COPYALL,
  M_EXTPG,
  M_NOTREADY,
  M_NOWAIT,
  M_PKTHDR,
  M_RDONLY,
  type Mbuf,
  MbufAllocator,
  MLEN,
  MT_DATA,
  mAdj,
  mAppend,
  mbAllocExtPgs,
  mbFreeNotready,
  mCat,
  mCopyback,
  mCopydata,
  mCopym,
  mExtadd,
  mExtPgAppend,
  mFree,
  mFreem,
  mGet,
  mGetcl,
  mGethdr,
  mLength,
} from '../../src/mbuf/index.js';
import { chainBytes, concat, type Fixture, fixture, now, pattern } from './helpers.js';

/** An EXT_SFBUF-like mbuf over physical page `pi`, bytes [off, off+len). */
function sfbufMbuf(f: Fixture, pi: number, off: number, len: number, freed: unknown[]): Mbuf {
  const m = now(mGet(f.a, M_NOWAIT, MT_DATA));
  mExtadd(f.a, m, f.page(pi), PAGE_SIZE, (o) => freed.push(o.m_ext?.ext_arg1), pi, null, M_RDONLY, EXT_SFBUF);
  m.m_data = off;
  m.m_len = len;
  return m;
}

function link(...ms: Mbuf[]): Mbuf {
  for (let i = 0; i + 1 < ms.length; i++) (ms[i] as Mbuf).m_next = ms[i + 1] ?? null;
  return ms[0] as Mbuf;
}

describe('m_copym', () => {
  it('copies a range of a mixed chain: internal bytes copied, external storage shared', () => {
    const f = fixture();
    const { a } = f;
    for (let i = 0; i < 4; i++) f.page(i).set(pattern(PAGE_SIZE, i + 1));
    const h = now(mGethdr(a, M_NOWAIT, MT_DATA));
    mAppend(a, h, pattern(100, 9));
    const freed: unknown[] = [];
    const chain = link(h, sfbufMbuf(f, 2, 10, 3000, freed), sfbufMbuf(f, 3, 0, 500, freed));
    expect(h.m_pkthdr_len).toBe(100);
    const all = chainBytes(a, chain);
    expect(all.length).toBe(3600);
    const c = now(mCopym(a, chain, 50, 3100, M_NOWAIT));
    expect(c.m_flags & M_PKTHDR).toBe(0);
    expect(chainBytes(a, c)).toEqual(all.subarray(50, 3150));
    const whole = now(mCopym(a, chain, 0, M_COPYALL, M_NOWAIT));
    expect(whole.m_flags & M_PKTHDR).toBe(M_PKTHDR);
    expect(whole.m_pkthdr_len).toBe(100);
    expect(chainBytes(a, whole)).toEqual(all);
    mFreem(a, chain);
    mFreem(a, c);
    expect(freed).toEqual([]);
    mFreem(a, whole);
    expect(freed.sort()).toEqual([2, 3]);
    expect(a.atRest()).toEqual([]);
  });

  it('a range beyond the chain is a kernel assertion', () => {
    const f = fixture();
    const chain = link(sfbufMbuf(f, 0, 0, 100, []), sfbufMbuf(f, 1, 0, 100, []));
    expect(() => mCopym(f.a, chain, 300, 1, M_NOWAIT)).toThrow(/offset 300 > size/);
    expect(() => mCopym(f.a, chain, 50, 200, M_NOWAIT)).toThrow(/length 200 > size/);
  });

  it('at the mbuf limit returns null and leaks nothing', () => {
    const f = fixture({ nmbufs: 3 });
    const freed: unknown[] = [];
    const chain = link(sfbufMbuf(f, 0, 0, 10, freed), sfbufMbuf(f, 1, 0, 10, freed));
    expect(mCopym(f.a, chain, 0, M_COPYALL, M_NOWAIT)).toBeNull();
    expect(chain.m_ext?.ext_count).toBe(1);
    mFreem(f.a, chain);
    expect(freed).toEqual([0, 1]);
    expect(f.a.atRest()).toEqual([]);
  });
});

describe('m_copydata, m_copyback, m_append', () => {
  it('m_copydata refuses a range beyond the chain', () => {
    const { a } = fixture();
    const m = now(mGet(a, M_NOWAIT, MT_DATA));
    mAppend(a, m, pattern(10));
    expect(() => mCopydata(a, m, 5, 6, new Uint8Array(6))).toThrow(KernelAssertionError);
    mFree(a, m);
  });

  it('m_append spills into new mbufs and clusters and keeps m_pkthdr_len', () => {
    const { a } = fixture();
    const h = now(mGethdr(a, M_NOWAIT, MT_DATA));
    expect(mAppend(a, h, pattern(5000, 3))).toBe(true);
    expect(h.m_len).toBe(160);
    expect(h.m_pkthdr_len).toBe(5000);
    expect(mLength(a, h)).toBe(5000);
    expect(chainBytes(a, h)).toEqual(pattern(5000, 3));
    mFreem(a, h);
    expect(a.atRest()).toEqual([]);
  });

  it('m_copyback overwrites in place and grows the chain with zeroed mbufs past its end', () => {
    const { a } = fixture();
    const h = now(mGethdr(a, M_NOWAIT, MT_DATA));
    mAppend(a, h, pattern(100));
    expect(mCopyback(a, h, 10, 20, pattern(20, 50))).toBe(true);
    const model = pattern(100);
    model.set(pattern(20, 50), 10);
    expect(chainBytes(a, h)).toEqual(model);
    // Dirty a recycled mbuf so that the zero fill is visible.
    const junk = now(mGet(a, M_NOWAIT, MT_DATA));
    junk.m_dat.fill(0xab);
    mFree(a, junk);
    expect(mCopyback(a, h, 700, 300, pattern(300, 7))).toBe(true);
    const grown = new Uint8Array(1000);
    grown.set(model);
    grown.set(pattern(300, 7), 700);
    expect(mLength(a, h)).toBe(1000);
    expect(h.m_pkthdr_len).toBe(1000);
    expect(chainBytes(a, h)).toEqual(grown);
    mFreem(a, h);
    expect(a.atRest()).toEqual([]);
  });

  it('m_copyback refuses to write into read-only storage', () => {
    const f = fixture();
    const m = sfbufMbuf(f, 0, 0, 100, []);
    expect(() => mCopyback(f.a, m, 0, 10, pattern(10))).toThrow(KernelAssertionError);
  });
});

describe('m_cat, m_adj, m_length', () => {
  it('m_cat copies data while it fits in the trailing space, then links the rest', () => {
    const f = fixture();
    const { a } = f;
    const m = now(mGet(a, M_NOWAIT, MT_DATA));
    mAppend(a, m, pattern(50));
    const small = now(mGet(a, M_NOWAIT, MT_DATA));
    mAppend(a, small, pattern(30, 1));
    const freed: unknown[] = [];
    const ro = sfbufMbuf(f, 1, 0, 300, freed);
    small.m_next = ro;
    mCat(a, m, small);
    expect(m.m_len).toBe(80);
    expect(m.m_next).toBe(ro);
    expect(small.m_state).toBe(0);
    expect(chainBytes(a, m)).toEqual(concat([pattern(50), pattern(30, 1), f.page(1).subarray(0, 300)]));
    mFreem(a, m);
    expect(freed).toEqual([1]);
    expect(a.atRest()).toEqual([]);
  });

  it('m_adj trims the head with a positive count and the tail with a negative one', () => {
    const { a } = fixture();
    const h = now(mGethdr(a, M_NOWAIT, MT_DATA));
    mAppend(a, h, pattern(600));
    mAdj(a, h, 200);
    expect(h.m_len).toBe(0);
    expect(h.m_pkthdr_len).toBe(400);
    expect(chainBytes(a, h)).toEqual(pattern(600).subarray(200));
    mAdj(a, h, -150);
    expect(mLength(a, h)).toBe(250);
    expect(h.m_pkthdr_len).toBe(250);
    expect(chainBytes(a, h)).toEqual(pattern(600).subarray(200, 450));
    mAdj(a, h, -10000);
    expect(mLength(a, h)).toBe(0);
    expect(mLength(a, null)).toBe(0);
    mFreem(a, h);
  });
});

describe('mbufViews', () => {
  it('joins EXT_SFBUF mbufs on adjacent pages and stops at a gap and at maxBytes', () => {
    const f = fixture();
    const chain = link(
      sfbufMbuf(f, 4, 100, PAGE_SIZE - 100, []),
      sfbufMbuf(f, 5, 0, PAGE_SIZE, []),
      sfbufMbuf(f, 6, 0, 10, []),
      sfbufMbuf(f, 8, 0, PAGE_SIZE, []),
    );
    const views: Uint8Array[] = [];
    expect(f.a.mbufViews(chain, 1 << 30, views)).toBe(3 * PAGE_SIZE - 90);
    expect(views.map((v) => [v.byteOffset, v.length])).toEqual([
      [4 * PAGE_SIZE + 100, 2 * PAGE_SIZE - 90],
      [8 * PAGE_SIZE, PAGE_SIZE],
    ]);
    views.length = 0;
    expect(f.a.mbufViews(chain, 5000, views)).toBe(5000);
    expect(views.map((v) => v.length)).toEqual([5000]);
    expect(views[0]?.buffer).toBe(f.physmem);
    mFreem(f.a, chain);
  });

  it('joins neighbouring full clusters, never internal mbufs (their headers sit between)', () => {
    const { a } = fixture();
    const m = now(mGetcl(a, M_NOWAIT, MT_DATA, 0));
    mAppend(a, m, pattern(2048 * 3));
    const views: Uint8Array[] = [];
    a.mbufViews(m, 1 << 30, views);
    expect(views.length).toBe(1);
    expect(concat(views)).toEqual(pattern(2048 * 3));
    const p = now(mGet(a, M_NOWAIT, MT_DATA));
    mAppend(a, p, pattern(MLEN * 2));
    views.length = 0;
    a.mbufViews(p, 1 << 30, views);
    expect(views.length).toBe(2);
    mFreem(a, m);
    mFreem(a, p);
  });

  it('lists page storage attached with its physical address (ext_pa) as it lists it by its view', () => {
    const f = fixture();
    const byView = link(sfbufMbuf(f, 2, 50, PAGE_SIZE - 50, []), sfbufMbuf(f, 3, 0, 300, []));
    const byPa = [2, 3].map((pi) => {
      const m = now(mGet(f.a, M_NOWAIT, MT_DATA));
      mExtadd(f.a, m, f.page(pi), PAGE_SIZE, null, null, null, M_RDONLY, EXT_SFBUF, pi * PAGE_SIZE);
      return m;
    });
    (byPa[0] as Mbuf).m_data = 50;
    (byPa[0] as Mbuf).m_len = PAGE_SIZE - 50;
    (byPa[1] as Mbuf).m_len = 300;
    const chain = link(...byPa);
    expect(chain.m_ext?.ext_pa).toBe(2 * PAGE_SIZE);
    const views: Uint8Array[] = [];
    const expected: Uint8Array[] = [];
    expect(f.a.mbufViews(chain, 1 << 30, views)).toBe(f.a.mbufViews(byView, 1 << 30, expected));
    expect(views.map((v) => [v.buffer, v.byteOffset, v.length])).toEqual(
      expected.map((v) => [v.buffer, v.byteOffset, v.length]),
    );
    expect(views.length).toBe(1);
    mFreem(f.a, chain);
    mFreem(f.a, byView);
  });

  it('refuses, in debug mode, a physical address that is not where the buffer lies', () => {
    const f = fixture();
    const m = now(mGet(f.a, M_NOWAIT, MT_DATA));
    expect(() =>
      mExtadd(f.a, m, f.page(2), PAGE_SIZE, null, null, null, 0, EXT_SFBUF, 3 * PAGE_SIZE),
    ).toThrow(KernelAssertionError);
  });

  it('does not join views of different ArrayBuffers even at equal offsets', () => {
    const f = fixture();
    const g = fixture();
    const m = sfbufMbuf(f, 0, 0, 100, []);
    const other = now(mGet(f.a, M_NOWAIT, MT_DATA));
    mExtadd(f.a, other, g.page(0).subarray(100), 200, null, null, null, 0, EXT_SFBUF);
    other.m_len = 200;
    m.m_next = other;
    const views: Uint8Array[] = [];
    f.a.mbufViews(m, 1 << 30, views);
    expect(views.length).toBe(2);
    mFreem(f.a, m);
  });
});

/** A not-ready EXT_SFBUF mbuf followed by a three-page M_EXTPG mbuf with every page pending. */
function notReadyChain(): { f: Fixture; freed: unknown[]; a1: Mbuf; x: Mbuf } {
  const f = fixture();
  const freed: unknown[] = [];
  const a1 = sfbufMbuf(f, 0, 0, PAGE_SIZE, freed);
  const x = now(mbAllocExtPgs(f.a, M_NOWAIT, () => freed.push('extpg'), null, null, 0));
  for (let i = 1; i <= 3; i++) mExtPgAppend(f.a, x, i * PAGE_SIZE, 0, PAGE_SIZE);
  x.m_epg!.m_epg_nrdy = 3;
  return { f, freed, a1, x };
}

describe('mb_free_notready and EXT_EXTREF', () => {
  it('asking for more units than the chain holds is a kernel assertion', () => {
    const { f, a1, x } = notReadyChain();
    for (const m of [a1, x]) m.m_flags |= M_NOTREADY;
    link(a1, x);
    expect(x.m_flags & M_EXTPG).toBe(M_EXTPG);
    expect(() => mbFreeNotready(f.a, a1, 5)).toThrow(KernelAssertionError);
  });

  it('frees exactly the not-ready units asked for', () => {
    const { f, freed, a1, x } = notReadyChain();
    link(a1, x);
    mbFreeNotready(f.a, a1, 4);
    expect(freed).toEqual([0, 'extpg']);
    expect(f.a.atRest()).toEqual([]);
  });

  it('EXT_EXTREF: the free routine gets the last mbuf, and no owner waits', () => {
    const { a } = fixture();
    const seen: Mbuf[] = [];
    const m = now(mGet(a, M_NOWAIT, MT_DATA));
    mExtadd(a, m, new Uint8Array(64), 64, (o) => seen.push(o), null, null, 0, EXT_EXTREF);
    m.m_len = 64;
    const c = now(mCopym(a, m, 0, 64, M_NOWAIT));
    mFree(a, m);
    expect(a.counters().mbuf.current).toBe(1);
    mFree(a, c);
    expect(seen).toEqual([c]);
    expect(a.atRest()).toEqual([]);
  });
});

describe('invariants and rest', () => {
  it('checkInvariants names a broken reference count; atRest lists live storage', () => {
    const f = fixture();
    const m = sfbufMbuf(f, 0, 0, 10, []);
    expect(f.a.atRest()).toEqual(['mbuf: 1 mbufs in use', 'mbuf: 1 external storages not freed']);
    m.m_ext!.ext_count = 2;
    expect(() => f.a.checkInvariants()).toThrow(/count 2 but 1 live mbufs/);
    m.m_ext!.ext_count = 1;
    mFree(f.a, m);
    expect(f.a.atRest()).toEqual([]);
  });

  it('one allocator per kernel: two allocators share nothing', () => {
    const dmap = new ArrayBuffer(0);
    const cfg = { nmbufs: 8, nmbclusters: 8, invariants: true, kernelId: 1, dmap };
    const a = new MbufAllocator(cfg);
    const b = new MbufAllocator({ ...cfg, kernelId: 2 });
    now(mGet(a, M_NOWAIT, MT_DATA));
    expect(b.counters().mbuf.current).toBe(0);
  });
});
