// Goal: the hot path (pages resident, space available) creates no promise and allocates no memory
// per page: sending 256 resident pages creates as many promises, and allocates as many bytes, as
// sending 16, in every mapping mode.
// Method: promises are counted by an async_hooks hook; bytes by the growth of V8's young
// generation while one sendfile call runs, keeping only calls during which no collection ran
// (v8.GCProfiler says). Both files are first read into the cache, and the send buffer holds either
// file in one chunk. Both probes see the whole process (the test runner's work too), so each size
// is sent many times, interleaved, and the fewest seen for each is compared: a promise or a small
// object per page would put 240 of them more on the 256-page file.
import { createHook } from 'node:async_hooks';
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import { createKernel, type Kernel, type KFile, type KSocket } from '../../src/index.js';
import { MemoryTransport } from '../../src/net/index.js';
import { testFile } from '../e2e/helpers.js';

async function promisesDuring(run: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') count++;
    },
  });
  hook.enable();
  try {
    await run();
  } finally {
    hook.disable();
  }
  return count;
}

function youngBytes(): number {
  const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
  if (space === undefined) throw new Error('V8 reports no new_space');
  return space.space_used_size;
}

/** Bytes the young generation grew by while `run` ran, or null when a collection ran meanwhile. */
async function bytesDuring(run: () => Promise<unknown>): Promise<number | null> {
  const gc = new v8.GCProfiler();
  gc.start();
  const before = youngBytes();
  await run();
  const after = youngBytes();
  return gc.stop().statistics.length === 0 ? after - before : null;
}

/** The fewest `probe` saw for each file, over `rounds` interleaved calls of `send`. */
async function fewest(
  files: readonly KFile[],
  rounds: number,
  probe: (run: () => Promise<unknown>) => Promise<number | null>,
  send: (f: KFile) => Promise<unknown>,
): Promise<number[]> {
  const least = files.map(() => Number.POSITIVE_INFINITY);
  for (let i = 0; i < rounds; i++) {
    for (const [j, f] of files.entries()) {
      const seen = await probe(() => send(f));
      if (seen !== null) least[j] = Math.min(least[j] as number, seen);
      await new Promise((r) => setTimeout(r, 2));
    }
  }
  return least;
}

async function hotKernel(
  mapping: 'dmap' | 'kva' | 'extpg',
): Promise<{ k: Kernel; so: KSocket; small: KFile; large: KFile }> {
  const k = createKernel({ physmemBytes: 8 * 1024 * 1024, mapping, nsfbufs: 512, invariants: false });
  const small = await k.open(await testFile(16 * 4096, 41));
  const large = await k.open(await testFile(256 * 4096, 42));
  const so = k.socket(new MemoryTransport({ autoDrain: true }), { sndbufBytes: 1024 * 1024 });
  for (const f of [small, large]) await k.read(f, 0, new Uint8Array(256 * 4096));
  return { k, so, small, large };
}

describe('the hot path', () => {
  it.each(['dmap', 'kva', 'extpg'] as const)('creates no promise per page (%s)', async (mapping) => {
    const { k, so, small, large } = await hotKernel(mapping);
    const pagesReadBefore = k.stats().sendfile.sf_pages_read;
    const rounds = 5;
    const [s, l] = await fewest([small, large], rounds, promisesDuring, (f) => k.sendfile(f, so, 0, 0));
    expect(k.stats().sendfile.sf_pages_read).toBe(pagesReadBefore);
    expect(k.stats().sendfile.sf_pages_valid).toBe(rounds * (16 + 256));
    // 240 more pages may not cost even 16 more promises, and a call costs a bounded few.
    expect((l as number) - (s as number)).toBeLessThan(16);
    expect(l).toBeLessThan(40);
    await k.destroy();
  });

  it.each(['dmap', 'kva', 'extpg'] as const)('allocates nothing per page (%s)', async (mapping) => {
    const { k, so, small, large } = await hotKernel(mapping);
    const pagesReadBefore = k.stats().sendfile.sf_pages_read;
    // Warm up first: the first calls compile code and grow the zones' and pools' free lists.
    for (let i = 0; i < 50; i++) for (const f of [small, large]) await k.sendfile(f, so, 0, 0);
    const [s, l] = await fewest([small, large], 40, bytesDuring, (f) => k.sendfile(f, so, 0, 0));
    expect(Number.isFinite(s) && Number.isFinite(l)).toBe(true);
    expect(k.stats().sendfile.sf_pages_read).toBe(pagesReadBefore);
    // The smallest object V8 makes is 16 bytes; less than 4 bytes a page is none per page (an
    // array growing by half now and then may show as a few bytes).
    expect(((l as number) - (s as number)) / 240).toBeLessThan(4);
    await k.destroy();
  });

  it('the byte probe sees an allocation per page', async () => {
    // The control: the same probe around a loop that makes one 16-byte object per page.
    const keep: object[] = [];
    const perPage = async (pages: number): Promise<void> => {
      for (let i = 0; i < pages; i++) keep.push({ i });
      keep.length = 0;
    };
    const least = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
    for (let i = 0; i < 40; i++) {
      for (const [j, pages] of [16, 256].entries()) {
        const seen = await bytesDuring(() => perPage(pages));
        if (seen !== null) least[j] = Math.min(least[j] as number, seen);
      }
    }
    expect(((least[1] as number) - (least[0] as number)) / 240).toBeGreaterThanOrEqual(12);
  });
});
