// Goal: a sleep on a zone's limit ends when the caller's signal aborts: EINTR, the sleeper leaves
// the queue, and an mbuf already taken for an m_getcl is given back.
// Method: an allocator with tiny limits, filled by hand; the sleeps are aborted, then everything
// is freed and the zones must be at rest.
import { describe, expect, it } from 'vitest';
import { isSysError } from '../../src/index.js';
import { M_NOWAIT, M_WAITOK, MbufAllocator, MT_DATA, mFree, mGet, mGetcl } from '../../src/mbuf/index.js';

function allocator(nmbufs: number, nmbclusters: number): MbufAllocator {
  return new MbufAllocator({
    nmbufs,
    nmbclusters,
    invariants: true,
    kernelId: 1,
    dmap: new ArrayBuffer(0),
  });
}

async function code(p: unknown): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return isSysError(e) ? e.code : String(e);
  }
}

describe('zone sleeps take the caller signal', () => {
  it('m_get(M_WAITOK) at the mbuf limit: EINTR on abort, no sleeper left', async () => {
    const mb = allocator(2, 2);
    const held = [mGet(mb, M_NOWAIT, MT_DATA), mGet(mb, M_NOWAIT, MT_DATA)];
    const ac = new AbortController();
    const p = mGet(mb, M_WAITOK, MT_DATA, ac.signal);
    expect(p).toBeInstanceOf(Promise);
    expect(mb.atRest()).toContain('mbuf: 1 sleepers on the mbuf zone');
    ac.abort();
    expect(await code(p)).toBe('EINTR');
    for (const m of held) if (m !== null && !(m instanceof Promise)) mFree(mb, m);
    expect(mb.atRest()).toEqual([]);
  });

  it('m_getcl(M_WAITOK) at the cluster limit: EINTR on abort, the mbuf it held is freed', async () => {
    const mb = allocator(8, 1);
    const held = mGetcl(mb, M_NOWAIT, MT_DATA, 0);
    const ac = new AbortController();
    const p = mGetcl(mb, M_WAITOK, MT_DATA, 0, ac.signal);
    expect(p).toBeInstanceOf(Promise);
    expect(mb.counters().mbuf.current).toBe(2);
    ac.abort();
    expect(await code(p)).toBe('EINTR');
    expect(mb.counters().mbuf.current).toBe(1);
    if (held !== null && !(held instanceof Promise)) mFree(mb, held);
    expect(mb.atRest()).toEqual([]);
  });

  it('an already aborted signal never sleeps', async () => {
    const mb = allocator(1, 1);
    const held = mGet(mb, M_NOWAIT, MT_DATA);
    const p = mGet(mb, M_WAITOK, MT_DATA, AbortSignal.abort());
    expect(await code(p)).toBe('EINTR');
    if (held !== null && !(held instanceof Promise)) mFree(mb, held);
    expect(mb.atRest()).toEqual([]);
  });
});
