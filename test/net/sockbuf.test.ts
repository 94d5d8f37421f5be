// Goal: the socket buffer keeps the kernel's accounting (sb_ccc, sb_acc, sb_mbcnt, sb_fnrdy,
// M_BLOCKED) through append, sbready and sbdrop, exactly as section 2.4 of the reference says.
// Method: drive a bare SockBuf with mbufs over a fake physical memory, compare every counter
// with hand-computed values, and run sbcheck (the O(n) recount) after every step.
import { describe, expect, it } from 'vitest';
import { KiB, MiB, PAGE_SIZE } from '../../src/kern/index.js';
import {
  M_BLOCKED,
  M_NOTREADY,
  M_NOWAIT,
  MCLBYTES,
  MS_LIVE,
  MSIZE,
  MT_DATA,
  mbFreeNotready,
  mGet,
  mGetcl,
} from '../../src/mbuf/index.js';
import {
  EINPROGRESS,
  SB_STOP,
  SockBuf,
  sbappendstream,
  sbcheck,
  sbdrop,
  sbflush,
  sbMaxAdjBytes,
  sbready,
  sbreserve,
  sbspace,
  soreserve,
} from '../../src/net/index.js';
import { chainOf, makeRig } from './helpers.js';

function freshSb(hiwat = 32 * KiB): SockBuf {
  const sb = new SockBuf();
  expect(soreserve(sb, hiwat, 2 * MiB)).toBe(true);
  return sb;
}

const PAGE_CHARGE = MSIZE + PAGE_SIZE;

describe('soreserve / sbreserve', () => {
  it('defaults: lowat MCLBYTES, mbmax hiwat*8, and the sb_max_adj ceiling', () => {
    const sb = freshSb();
    expect(sb.sb_hiwat).toBe(32768);
    expect(sb.sb_lowat).toBe(MCLBYTES);
    expect(sb.sb_mbmax).toBe(32768 * 8);
    expect(sbspace(sb)).toBe(32768);
    expect(sbMaxAdjBytes(2 * MiB)).toBe(Math.floor((2 * MiB * 2048) / 2304));
    expect(sbreserve(sb, sbMaxAdjBytes(2 * MiB) + 1, 2 * MiB)).toBe(false);
    expect(sb.sb_hiwat).toBe(32768);
    expect(sbreserve(sb, 1 * MiB, 2 * MiB)).toBe(true);
    expect(sb.sb_mbmax).toBe(2 * MiB);
    const tiny = freshSb(1000);
    expect(tiny.sb_lowat).toBe(1000);
    tiny.sb_flags |= SB_STOP;
    expect(sbspace(tiny)).toBe(0);
  });
});

describe('append / drop accounting', () => {
  it('charges MSIZE + ext_size per mbuf and space is the smaller of bytes and memory', () => {
    const rig = makeRig();
    const sb = freshSb();
    sbappendstream(rig.mbufs, sb, rig.pageChain(0, 3), false);
    expect(sb.sb_ccc).toBe(3 * PAGE_SIZE);
    expect(sb.sb_acc).toBe(3 * PAGE_SIZE);
    expect(sb.sb_mbcnt).toBe(3 * PAGE_CHARGE);
    expect(sbspace(sb)).toBe(32768 - 3 * PAGE_SIZE);
    expect(sbcheck(sb)).toEqual([]);
    // A memory-bound buffer: many tiny mbufs exhaust sb_mbmax before sb_hiwat.
    const small = freshSb(4096);
    for (let i = 0; i < 20; i++) sbappendstream(rig.mbufs, small, rig.pageMbuf(10 + i, 1), false);
    expect(small.sb_ccc).toBe(20);
    expect(sbspace(small)).toBe(4096 * 8 - 20 * PAGE_CHARGE);
    expect(sbspace(small)).toBeLessThan(0);
    sbflush(rig.mbufs, small);
    sbflush(rig.mbufs, sb);
  });

  it('sbdrop splits a partly dropped mbuf by advancing m_data and frees whole ones', () => {
    const rig = makeRig();
    const sb = freshSb();
    sbappendstream(rig.mbufs, sb, rig.pageChain(0, 3), false);
    const first = sb.sb_mb;
    sbdrop(rig.mbufs, sb, 100);
    expect(sb.sb_mb).toBe(first);
    expect(first?.m_data).toBe(100);
    expect(first?.m_len).toBe(PAGE_SIZE - 100);
    expect(sb.sb_ccc).toBe(3 * PAGE_SIZE - 100);
    expect(sb.sb_mbcnt).toBe(3 * PAGE_CHARGE);
    expect(rig.freed[0]).toBe(0);
    sbdrop(rig.mbufs, sb, PAGE_SIZE);
    expect(rig.freed.slice(0, 3)).toEqual([1, 0, 0]);
    expect(sb.sb_mb?.m_data).toBe(100);
    expect(sb.sb_mbcnt).toBe(2 * PAGE_CHARGE);
    expect(sbcheck(sb)).toEqual([]);
    sbdrop(rig.mbufs, sb, sb.sb_ccc);
    expect(rig.freed.slice(0, 3)).toEqual([1, 1, 1]);
    expect(sb.sb_mb).toBeNull();
    expect(sb.sb_mbtail).toBeNull();
    expect([sb.sb_ccc, sb.sb_acc, sb.sb_mbcnt]).toEqual([0, 0, 0]);
    expect(rig.mbufs.atRest()).toEqual([]);
  });

  it('frees empty ready mbufs and coalesces small writes into a writable tail', () => {
    const rig = makeRig();
    const sb = freshSb();
    const cl = mGetcl(rig.mbufs, M_NOWAIT, MT_DATA, 0);
    const small = mGet(rig.mbufs, M_NOWAIT, MT_DATA);
    const empty = mGet(rig.mbufs, M_NOWAIT, MT_DATA);
    if (cl === null || cl instanceof Promise || small === null || small instanceof Promise) throw new Error();
    if (empty === null || empty instanceof Promise) throw new Error();
    cl.m_buf.fill(1, cl.m_data, cl.m_data + 100);
    cl.m_len = 100;
    small.m_buf.fill(2, small.m_data, small.m_data + 50);
    small.m_len = 50;
    sbappendstream(rig.mbufs, sb, cl, false);
    empty.m_next = small;
    sbappendstream(rig.mbufs, sb, empty, false);
    expect(chainOf(sb.sb_mb)).toEqual([cl]);
    expect(cl.m_len).toBe(150);
    expect(cl.m_buf[cl.m_data + 120]).toBe(2);
    expect(sb.sb_ccc).toBe(150);
    expect(sb.sb_mbcnt).toBe(MSIZE + MCLBYTES);
    expect(sbcheck(sb)).toEqual([]);
    // A write bigger than MCLBYTES/4 is linked, not copied.
    const big = mGetcl(rig.mbufs, M_NOWAIT, MT_DATA, 0);
    if (big === null || big instanceof Promise) throw new Error();
    big.m_len = MCLBYTES / 4 + 1;
    sbappendstream(rig.mbufs, sb, big, false);
    expect(chainOf(sb.sb_mb)).toEqual([cl, big]);
    sbflush(rig.mbufs, sb);
    expect(rig.mbufs.atRest()).toEqual([]);
  });
});

describe('not-ready data', () => {
  it('ready mbufs behind a not-ready one are M_BLOCKED and uncounted until sbready', () => {
    const rig = makeRig();
    const sb = freshSb();
    const a = rig.pageMbuf(0);
    const b = rig.pageMbuf(1, PAGE_SIZE, 0, true);
    const c = rig.pageMbuf(2);
    sbappendstream(rig.mbufs, sb, a, false);
    sbappendstream(rig.mbufs, sb, b, true);
    sbappendstream(rig.mbufs, sb, c, false);
    expect(sb.sb_ccc).toBe(3 * PAGE_SIZE);
    expect(sb.sb_acc).toBe(PAGE_SIZE);
    expect(sb.sb_fnrdy).toBe(b);
    expect(b.m_flags & M_NOTREADY).toBe(M_NOTREADY);
    expect(c.m_flags & M_BLOCKED).toBe(M_BLOCKED);
    expect(sbspace(sb)).toBe(32768 - 3 * PAGE_SIZE);
    expect(sbcheck(sb)).toEqual([]);
    expect(sbready(sb, b, 1)).toBe(0);
    expect(sb.sb_acc).toBe(3 * PAGE_SIZE);
    expect(sb.sb_fnrdy).toBeNull();
    expect(b.m_flags & (M_NOTREADY | M_BLOCKED)).toBe(0);
    expect(c.m_flags & M_BLOCKED).toBe(0);
    expect(sbcheck(sb)).toEqual([]);
    sbflush(rig.mbufs, sb);
  });

  it('sbready returns EINPROGRESS when m0 is not the blocker, and 0 once the blocker is ready', () => {
    const rig = makeRig();
    const sb = freshSb();
    const b = rig.pageMbuf(1, PAGE_SIZE, 0, true);
    const c = rig.pageMbuf(2, PAGE_SIZE, 0, true);
    const d = rig.pageMbuf(3);
    sbappendstream(rig.mbufs, sb, b, true);
    sbappendstream(rig.mbufs, sb, c, true);
    sbappendstream(rig.mbufs, sb, d, false);
    expect(sb.sb_acc).toBe(0);
    expect(sbready(sb, c, 1)).toBe(EINPROGRESS);
    expect(sb.sb_acc).toBe(0);
    expect(c.m_flags & M_NOTREADY).toBe(0);
    expect(c.m_flags & M_BLOCKED).toBe(M_BLOCKED);
    expect(sbcheck(sb)).toEqual([]);
    expect(sbready(sb, b, 1)).toBe(0);
    expect(sb.sb_acc).toBe(3 * PAGE_SIZE);
    expect(sb.sb_fnrdy).toBeNull();
    expect(sbcheck(sb)).toEqual([]);
    sbflush(rig.mbufs, sb);
    expect(rig.mbufs.atRest()).toEqual([]);
  });

  it('an M_EXTPG mbuf is m_epg_nrdy units and stays not ready until the last one', () => {
    const rig = makeRig();
    const sb = freshSb();
    const m = rig.extpgMbuf(4, 3, 3);
    sbappendstream(rig.mbufs, sb, m, true);
    expect(sb.sb_mbcnt).toBe(MSIZE + 3 * PAGE_SIZE);
    expect(sbready(sb, m, 2)).toBe(EINPROGRESS);
    expect(m.m_epg?.m_epg_nrdy).toBe(1);
    expect(m.m_flags & M_NOTREADY).toBe(M_NOTREADY);
    expect(sb.sb_acc).toBe(0);
    expect(sbready(sb, m, 1)).toBe(0);
    expect(sb.sb_acc).toBe(3 * PAGE_SIZE);
    sbflush(rig.mbufs, sb);
    expect(rig.freed.slice(4, 7)).toEqual([1, 1, 1]);
    expect(rig.mbufs.atRest()).toEqual([]);
  });

  it('a flush unlinks not-ready mbufs without freeing them; their owner frees them later', () => {
    const rig = makeRig();
    const sb = freshSb();
    sbappendstream(rig.mbufs, sb, rig.pageMbuf(0), false);
    const nr = rig.pageChain(1, 2, true);
    sbappendstream(rig.mbufs, sb, nr, true);
    sbappendstream(rig.mbufs, sb, rig.pageMbuf(3), false);
    sbflush(rig.mbufs, sb);
    expect(rig.freed.slice(0, 4)).toEqual([1, 0, 0, 1]);
    expect(nr.m_state).toBe(MS_LIVE);
    expect(nr.m_next?.m_state).toBe(MS_LIVE);
    expect(nr.m_next?.m_next).toBeNull();
    mbFreeNotready(rig.mbufs, nr, 2);
    expect(rig.freed.slice(0, 4)).toEqual([1, 1, 1, 1]);
    expect(rig.mbufs.atRest()).toEqual([]);
  });
});
