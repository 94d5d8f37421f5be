// Goal: the hot path (pages resident, space available) creates no promise per page: sending 256
// resident pages creates as many promises as sending 16, in every mapping mode.
// Method: an async_hooks hook counts the promises created while one sendfile call runs; both
// files are first read into the cache, and the send buffer holds either file in one chunk. The
// hook sees every promise of the process (the test runner's too), so each size is sent five
// times, interleaved, and the fewest promises seen for each is compared: a promise per page would
// put 240 more on the 256-page file.
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
    const fewest = { small: Number.POSITIVE_INFINITY, large: Number.POSITIVE_INFINITY };
    const rounds = 5;
    for (let i = 0; i < rounds; i++) {
      for (const [name, f] of [
        ['small', small],
        ['large', large],
      ] as const) {
        fewest[name] = Math.min(fewest[name], await promisesDuring(() => k.sendfile(f, so, 0, 0)));
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    expect(k.stats().sendfile.sf_pages_read).toBe(pagesReadBefore);
    expect(k.stats().sendfile.sf_pages_valid).toBe(rounds * (16 + 256));
    // 240 more pages may not cost even 16 more promises, and a call costs a bounded few.
    expect(fewest.large - fewest.small).toBeLessThan(16);
    expect(fewest.large).toBeLessThan(40);
    await k.destroy();
  });
});
