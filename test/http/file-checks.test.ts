// Goal: a file served again and again costs at most one fstat(2) per response, not two: the check
// that starts a response (a write since its entry was made gets new bytes) also settles the
// after-send check of the bodies sent before it; requests that arrive together share one check,
// taken after the last of them began; and a write that raced a body is still counted
// (changed_during_send) when no later request comes. Method: fs.fstatSync is counted (the ESM
// bindings synced), on a server whose clock only moves when told, so the one-turn-later check
// runs only when the test advances it; GETs one after another on one connection; and the file
// cache alone, with lookups started in one turn.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileCache } from '../../src/http/files/file-cache.js';
import { createKernel } from '../../src/index.js';
import { ManualClock } from '../../src/kern/index.js';
import { type Fixture, makeFixture, patternBytes } from './fixture.js';
import { rawExchange, startServer } from './helpers.js';

const RESPONSES = 20;
let fx: Fixture;

beforeAll(() => {
  fx = makeFixture();
});
afterAll(() => fx.cleanup());

/** Runs `body` with fs.fstatSync counted; returns how many calls it made. */
async function fstatsDuring(body: () => Promise<void>): Promise<number> {
  const original = fs.fstatSync;
  let calls = 0;
  fs.fstatSync = ((...args: Parameters<typeof original>) => {
    calls++;
    return original(...args);
  }) as typeof original;
  syncBuiltinESMExports();
  try {
    await body();
  } finally {
    fs.fstatSync = original;
    syncBuiltinESMExports();
  }
  return calls;
}

describe('the checks of a file', () => {
  it.each(['zerocopy', 'copy'] as const)('cost one fstat per response on /%s', async (route) => {
    const clock = new ManualClock();
    const srv = await startServer({ root: fx.root, clock });
    try {
      const requests = Array.from({ length: RESPONSES }, () => ({
        method: 'GET',
        path: `/${route}/data.bin`,
      }));
      // The entry is made (opened and checked) before counting.
      await rawExchange(srv.port, requests.slice(0, 1), false);
      clock.advance(0);
      let ok = 0;
      const calls = await fstatsDuring(async () => {
        const got = await rawExchange(srv.port, requests, false);
        ok = got.filter((r) => r.status === 200 && r.body.length === 300_000).length;
        clock.advance(0);
      });
      expect(ok).toBe(RESPONSES);
      // Each request's check, and one more for the last body's after-send check.
      expect(calls).toBe(RESPONSES + 1);
      expect(srv.server.zcsim.routes[route].changed_during_send).toBe(0);
    } finally {
      await srv.server.close();
    }
  });

  it('count a write that raced the last body, found by the check a turn later', async () => {
    const clock = new ManualClock();
    const srv = await startServer({ root: fx.root, clock });
    const path = join(fx.root, 'raced.bin');
    fs.writeFileSync(path, patternBytes(64 * 1024, 3));
    try {
      const [r] = await rawExchange(srv.port, [{ method: 'GET', path: '/zerocopy/raced.bin' }], false);
      expect(r?.status).toBe(200);
      // The body went out; its check waits for the next fstat. A write lands before it.
      fs.writeFileSync(path, patternBytes(64 * 1024 + 1, 4));
      expect(srv.server.zcsim.routes.zerocopy.changed_during_send).toBe(0);
      clock.advance(0);
      expect(srv.server.zcsim.routes.zerocopy.changed_during_send).toBe(1);
    } finally {
      await srv.server.close();
    }
  });

  it('of lookups begun in one turn are one fstat, taken after the last began', async () => {
    const path = join(fx.root, 'shared.bin');
    fs.writeFileSync(path, patternBytes(8192, 5));
    const kernel = createKernel({ physmemBytes: 4 * 1024 * 1024 });
    const cache = new FileCache({
      realRoot: fs.realpathSync(fx.root),
      revalidateMs: 60_000,
      capacity: 8,
      clock: new ManualClock(),
      kernel,
    });
    try {
      const first = await cache.lookup('shared.bin');
      let same: unknown[] = [];
      const calls = await fstatsDuring(async () => {
        same = await Promise.all(Array.from({ length: 10 }, () => cache.lookup('shared.bin')));
      });
      expect(calls).toBe(1);
      expect(same.every((e) => e === first)).toBe(true);
      // Lookups begun before and after a write in the same turn: the shared check follows both,
      // so each gets the file as written.
      const before = cache.lookup('shared.bin');
      fs.writeFileSync(path, patternBytes(12_288, 6));
      const after = cache.lookup('shared.bin');
      const [b, a] = await Promise.all([before, after]);
      expect(a.sizeBytes).toBe(12_288);
      expect(b).toBe(a);
    } finally {
      await cache.close();
      await kernel.destroy();
    }
  });
});
