// Goal: the file routes send the same bytes whatever the kernel's mapping: the KVA sf_buf pool
// (tiny, so that senders sleep for sf_bufs), unmapped M_EXTPG mbufs, and a small memory that
// forces the page daemon to evict; and the kernel is at rest after each burst.
// Method: one server per mapping, concurrent GETs (whole files and ranges) on every route,
// SHA-256 of each body against the file.

import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, makeFixture, sha256 } from './fixture.js';
import { atRestSoon, startServer } from './helpers.js';

let fx: Fixture;
beforeAll(() => {
  fx = makeFixture();
});
afterAll(() => fx.cleanup());

const CONFIGS = [
  { name: 'kva, 8 sf_bufs', kernel: { mapping: 'kva' as const, nsfbufs: 8, physmemBytes: 32 * 1024 * 1024 } },
  { name: 'extpg', kernel: { mapping: 'extpg' as const, physmemBytes: 32 * 1024 * 1024 } },
  { name: 'dmap, 4 MiB of memory', kernel: { mapping: 'dmap' as const, physmemBytes: 4 * 1024 * 1024 } },
];

describe.each(CONFIGS)('$name', ({ kernel }) => {
  it('concurrent whole and ranged GETs on every route: the file bytes, then at rest', async () => {
    const srv = await startServer({ root: fx.root, kernel });
    try {
      const big = fx.files['big.bin']!;
      const jobs: Promise<void>[] = [];
      for (const route of ['zerocopy', 'copy', 'stream']) {
        for (let i = 0; i < 3; i++) {
          jobs.push(
            (async () => {
              const r = await request(`${srv.origin}/${route}/big.bin`);
              expect(sha256(Buffer.from(await r.body.arrayBuffer()))).toBe(sha256(big));
            })(),
            (async () => {
              const r = await request(`${srv.origin}/${route}/big.bin`, {
                headers: { range: 'bytes=4000-1200000' },
              });
              expect(r.statusCode).toBe(206);
              expect(sha256(Buffer.from(await r.body.arrayBuffer()))).toBe(
                sha256(big.subarray(4000, 1200001)),
              );
            })(),
          );
        }
      }
      await Promise.all(jobs);
      expect((await atRestSoon(srv.server)).leaks).toEqual([]);
      const snap = srv.server.zcsim;
      expect(snap.routes.zerocopy.errors + snap.routes.copy.errors).toBe(0);
    } finally {
      await srv.server.close();
    }
    expect(srv.server.zcsim.closeReport).toEqual({ atRest: true, leaks: [] });
  });
});
