// Goal: the mbuf and cluster zones keep their limits the way UMA does for kern_mbuf.c, and report
// what `netstat -m` prints. Method: tiny limits; M_NOWAIT at the limit must fail at once and
// count a denial, M_WAITOK must sleep (counted as delayed) and wake in FIFO order when an item is
// freed; the netstat lines are compared text for text.
import diagnosticsChannel from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { TRACE_CHANNELS, type TraceEvent } from '../../src/kern/index.js';
import {
  M_NOWAIT,
  M_WAITOK,
  MBUF_LIMITS_DEFAULT,
  type Mbuf,
  MT_DATA,
  mbAllocExtPgs,
  mFree,
  mFreem,
  mGet,
  mGetcl,
  mGethdr,
  netstatMbufLines,
  tunableMbinit,
} from '../../src/mbuf/index.js';
import { fixture, now, slept } from './helpers.js';

describe('zone limits', () => {
  it('M_NOWAIT at the mbuf limit: null at once and a denial', () => {
    const { a } = fixture({ nmbufs: 4 });
    const ms = [0, 1, 2, 3].map(() => now(mGet(a, M_NOWAIT, MT_DATA)));
    expect(mGet(a, M_NOWAIT, MT_DATA)).toBeNull();
    expect(mGethdr(a, M_NOWAIT, MT_DATA)).toBeNull();
    expect(mbAllocExtPgs(a, M_NOWAIT, () => {}, null, null, 0)).toBeNull();
    expect(a.counters().mbuf).toMatchObject({
      current: 4,
      cache: 0,
      total: 4,
      max: 4,
      failures: 3,
      sleeps: 0,
    });
    for (const m of ms) mFree(a, m);
    expect(a.atRest()).toEqual([]);
  });

  it('slabs grow lazily and never past the limit', () => {
    const { a } = fixture({ nmbufs: 70 });
    expect(a.counters().mbuf.total).toBe(0);
    const ms: Mbuf[] = [];
    for (let i = 0; i < 70; i++) ms.push(now(mGet(a, M_NOWAIT, MT_DATA)));
    expect(a.counters().mbuf.total).toBe(70);
    expect(mGet(a, M_NOWAIT, MT_DATA)).toBeNull();
    mFreem(a, null);
    for (const m of ms) mFree(a, m);
    expect(a.counters().mbuf).toMatchObject({ current: 0, cache: 70, total: 70 });
  });

  it('M_WAITOK at the limit sleeps on "zonelimit" and wakes in FIFO order when mbufs are freed', async () => {
    const { a } = fixture({ nmbufs: 2 });
    const m1 = now(mGet(a, M_NOWAIT, MT_DATA));
    const m2 = now(mGet(a, M_NOWAIT, MT_DATA));
    const first = slept(mGet(a, M_WAITOK, MT_DATA));
    const second = slept(mGethdr(a, M_WAITOK, MT_DATA));
    expect(first).toBeInstanceOf(Promise);
    expect(second).toBeInstanceOf(Promise);
    expect(a.counters().mbuf.sleeps).toBe(2);
    expect(a.atRest()).toContain('mbuf: 2 sleepers on the mbuf zone');
    const order: string[] = [];
    void first.then(() => order.push('first'));
    void second.then(() => order.push('second'));
    mFree(a, m2);
    // The freed mbuf is kept for the oldest sleeper: a caller that does not sleep cannot take it.
    expect(mGet(a, M_NOWAIT, MT_DATA)).toBeNull();
    const w1 = await first;
    expect(w1).toBe(m2);
    expect(order).toEqual(['first']);
    mFree(a, m1);
    const w2 = await second;
    expect(order).toEqual(['first', 'second']);
    expect(w2.m_data).toBe(96);
    mFree(a, w1);
    mFree(a, w2);
    expect(a.atRest()).toEqual([]);
    expect(a.counters().mbuf).toMatchObject({ failures: 1, sleeps: 2 });
  });

  it('m_getcl at the cluster limit: M_NOWAIT gives the mbuf back, M_WAITOK sleeps on the cluster zone', async () => {
    const { a } = fixture({ nmbclusters: 2 });
    const c1 = now(mGetcl(a, M_NOWAIT, MT_DATA, 0));
    const c2 = now(mGetcl(a, M_NOWAIT, MT_DATA, 0));
    expect(mGetcl(a, M_NOWAIT, MT_DATA, 0)).toBeNull();
    expect(a.counters().mbuf.current).toBe(2);
    expect(a.counters().mbuf_cluster).toMatchObject({ current: 2, failures: 1 });
    const w = slept(mGetcl(a, M_WAITOK, MT_DATA, 0));
    expect(w).toBeInstanceOf(Promise);
    expect(a.counters().mbuf_cluster.sleeps).toBe(1);
    expect(a.atRest()).toContain('mbuf: 1 sleepers on the cluster zone');
    const cl1 = c1.m_buf;
    mFree(a, c1);
    const m = await w;
    expect(m.m_buf).toBe(cl1);
    mFree(a, m);
    mFree(a, c2);
    expect(a.atRest()).toEqual([]);
  });

  it('m_getcl with M_WAITOK at the mbuf limit sleeps for the mbuf, then takes a cluster', async () => {
    const { a } = fixture({ nmbufs: 1 });
    const m0 = now(mGet(a, M_NOWAIT, MT_DATA));
    const w = slept(mGetcl(a, M_WAITOK, MT_DATA, 0));
    expect(mGetcl(a, M_NOWAIT, MT_DATA, 0)).toBeNull();
    mFree(a, m0);
    const m = await w;
    expect(m.m_ext?.ext_size).toBe(2048);
    expect(a.counters().mbuf).toMatchObject({ sleeps: 1, failures: 1 });
    mFree(a, m);
    expect(a.atRest()).toEqual([]);
  });
});

describe('trace', () => {
  it('publishes zone_denied and zone_sleep on the mbuf channel', async () => {
    const { a } = fixture({ nmbufs: 1 });
    const seen: string[] = [];
    const onEvent = (e: unknown): void => {
      seen.push(`${(e as TraceEvent).event}:${String((e as TraceEvent).zone)}`);
    };
    diagnosticsChannel.subscribe(TRACE_CHANNELS.mbuf, onEvent);
    try {
      const m = now(mGet(a, M_NOWAIT, MT_DATA));
      expect(mGet(a, M_NOWAIT, MT_DATA)).toBeNull();
      const w = slept(mGet(a, M_WAITOK, MT_DATA));
      mFree(a, m);
      mFree(a, await w);
    } finally {
      diagnosticsChannel.unsubscribe(TRACE_CHANNELS.mbuf, onEvent);
    }
    expect(seen).toEqual(['zone_denied:mbuf', 'zone_sleep:mbuf']);
  });
});

describe('netstat -m', () => {
  it('default limits follow tunable_mbinit', () => {
    expect(MBUF_LIMITS_DEFAULT).toEqual(tunableMbinit(32 * 1024 * 1024));
    expect(MBUF_LIMITS_DEFAULT).toEqual({
      nmbufs: 26214,
      nmbclusters: 4096,
      nmbjumbop: 2048,
      nmbjumbo9: 606,
      nmbjumbo16: 341,
    });
  });

  it('prints lines 1-11 in the kernel layout', () => {
    const { a } = fixture({ nmbufs: 100, nmbclusters: 50 });
    for (let i = 0; i < 3; i++) now(mGet(a, M_NOWAIT, MT_DATA));
    now(mGetcl(a, M_NOWAIT, MT_DATA, 0));
    now(mGetcl(a, M_NOWAIT, MT_DATA, 0));
    const full = fixture({ nmbclusters: 0 }).a;
    expect(mGetcl(full, M_NOWAIT, MT_DATA, 0)).toBeNull();
    expect(netstatMbufLines(a.counters())).toEqual([
      '5/59/64 mbufs in use (current/cache/total)',
      '2/14/16/50 mbuf clusters in use (current/cache/total/max)',
      '0/0 mbuf+clusters out of packet secondary zone in use (current/cache)',
      '0/0/0/2048 4k (page size) jumbo clusters in use (current/cache/total/max)',
      '0/0/0/606 9k jumbo clusters in use (current/cache/total/max)',
      '0/0/0/341 16k jumbo clusters in use (current/cache/total/max)',
      '5K/42K/48K bytes allocated to network (current/cache/total)',
      '0/0/0 requests for mbufs denied (mbufs/clusters/mbuf+clusters)',
      '0/0/0 requests for mbufs delayed (mbufs/clusters/mbuf+clusters)',
      '0/0/0 requests for jumbo clusters delayed (4k/9k/16k)',
      '0/0/0 requests for jumbo clusters denied (4k/9k/16k)',
    ]);
    expect(netstatMbufLines(full.counters())[7]).toBe(
      '0/1/0 requests for mbufs denied (mbufs/clusters/mbuf+clusters)',
    );
    const c = a.counters();
    expect(c.bytes_in_use).toBe(5 * 256 + 2 * 2048);
    expect(c.bytes_total).toBe(c.bytes_in_use + c.bytes_in_cache);
    expect(Object.isFrozen(c)).toBe(true);
  });
});
