// Goal: the hot path (pages resident, space available) creates no promise per page: sending 256
// resident pages creates as many promises as sending 16, in every mapping mode.
// Method: an async_hooks hook counts the promises created while one sendfile call runs; both
// files are first read into the cache, and the send buffer holds either file in one chunk.
import { createHook } from 'node:async_hooks';
import { describe, expect, it } from 'vitest';
import { createKernel } from '../../src/index.js';
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

describe('the hot path', () => {
  it.each(['dmap', 'kva', 'extpg'] as const)('creates no promise per page (%s)', async (mapping) => {
    const k = createKernel({ physmemBytes: 8 * 1024 * 1024, mapping, nsfbufs: 512, invariants: false });
    const small = await k.open(await testFile(16 * 4096, 41));
    const large = await k.open(await testFile(256 * 4096, 42));
    const t = new MemoryTransport({ autoDrain: true });
    const so = k.socket(t, { sndbufBytes: 1024 * 1024 });
    for (const f of [small, large]) await k.read(f, 0, new Uint8Array(256 * 4096));
    const pagesReadBefore = k.stats().sendfile.sf_pages_read;
    const counts: number[] = [];
    for (const f of [small, large, small, large]) {
      counts.push(await promisesDuring(() => k.sendfile(f, so, 0, 0)));
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(k.stats().sendfile.sf_pages_read).toBe(pagesReadBefore);
    expect(k.stats().sendfile.sf_pages_valid).toBe(2 * (16 + 256));
    // Same count for 16 and 256 pages (the first call may warm up lazily created state).
    expect(counts[3]).toBe(counts[2]);
    expect(counts[3]).toBeLessThan(40);
    await k.destroy();
  });
});
