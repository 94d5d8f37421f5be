// Goal: bulk downloads that take their bytes as fast as they come cannot starve new requests of
// a small pool, and the turns they take lose nothing. In a KVA kernel of a few sf_bufs, 32
// downloads keep every sf_buf taken (their sleepers queue in sf_buf_alloc); small requests beside
// them are all answered, byte-exact, each a 200 or a 503 with Retry-After (one a buffer freed
// within the wait lets in; a machine too busy to free one in 0.5 s may refuse), most of them 200;
// every download body that comes whole, preempted and resumed, is byte-exact. Method: keep-alive load
// clients over loopback; the downloads loop until the small requests are done (bounded); statuses
// and body hashes are counted, never latency; the kernel at rest after. The order of the turns
// is tested on a clock that moves only when told (body-turns.test.ts), and the whole under fire
// by the siege benchmark.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../src/load/index.js';
import { type Fixture, makeFixture, patternBytes, sha256 } from './fixture.js';
import { atRestSoon, startServer, until } from './helpers.js';

const MiB = 1024 * 1024;
const BULK = patternBytes(8 * MiB, 21);
const SMALL = patternBytes(64 * 1024, 22);
const DOWNLOADERS = 32;
const SMALL_REQUESTS = 24;
/** Each downloader stops after this many bodies at most (every loop is bounded). */
const DOWNLOADS_MAX = 40;
let fx: Fixture;

beforeAll(() => {
  fx = makeFixture();
  writeFileSync(join(fx.root, 'bulk.bin'), BULK);
  writeFileSync(join(fx.root, 'small.bin'), SMALL);
});
afterAll(() => fx.cleanup());

/**
 * A keep-alive client that downloads bulk.bin from its own offset (so that the downloads map
 * different pages) again and again until `done()`: its statuses, how many bodies came whole and
 * how many of those were exact, and whether its connection was cut (the send timeout under
 * pressure closes a connection that took no byte for half a second: on a machine too busy to run this
 * process's client, a healthy download may be one); a cut ends the client.
 */
async function downloader(port: number, index: number, done: () => boolean) {
  const client = await HttpClient.connect(port);
  const from = index * 128 * 1024;
  const want = sha256(BULK.subarray(from));
  const got = { statuses: {} as Record<number, number>, exact: 0, bodies: 0, cut: false };
  try {
    for (let i = 0; i < DOWNLOADS_MAX && !done(); i++) {
      const headers = { Range: `bytes=${from}-` };
      const r = await client.request('/zerocopy/bulk.bin', { headers, timeoutMs: 60_000 });
      if (r.status === 0 || !r.complete) {
        got.cut = true;
        break;
      }
      got.statuses[r.status] = (got.statuses[r.status] ?? 0) + 1;
      if (r.status !== 206) continue;
      got.bodies++;
      if (r.sha256 === want) got.exact++;
    }
  } finally {
    client.close();
  }
  return got;
}

describe('bulk downloads beside small requests', () => {
  it('kva, 4 sf_bufs: 32 downloads keep the pool taken; 24 small requests are answered, mostly 200, downloads stay exact', async () => {
    const srv = await startServer({
      root: fx.root,
      kernel: { physmemBytes: 16 * MiB, mapping: 'kva', nsfbufs: 4, invariants: false },
    });
    const k = srv.server.kernel;
    let smallDone = false;
    try {
      const downloads = Array.from({ length: DOWNLOADERS }, (_, i) =>
        downloader(srv.port, i, () => smallDone),
      );
      // The downloads are under way: callers sleep in sf_buf_alloc for the pool's few buffers.
      expect(await until(() => k.sfbufs.sleepers > 0, 20_000)).toBe(true);
      const client = await HttpClient.connect(srv.port);
      const statuses: Record<number, number> = {};
      let exact = 0;
      let refusedWithRetry = 0;
      try {
        for (let i = 0; i < SMALL_REQUESTS; i++) {
          const r = await client.request('/zerocopy/small.bin', { timeoutMs: 60_000 });
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          if (r.status === 200 && r.complete && r.sha256 === sha256(SMALL)) exact++;
          if (r.status === 503 && r.headers['retry-after'] === '1') refusedWithRetry++;
        }
      } finally {
        smallDone = true;
        client.close();
      }
      expect(Object.keys(statuses).filter((s) => s !== '200' && s !== '503')).toEqual([]);
      expect(statuses[200] ?? 0).toBeGreaterThan(SMALL_REQUESTS / 2);
      expect(exact).toBe(statuses[200]);
      expect(refusedWithRetry).toBe(statuses[503] ?? 0);
      const all = await Promise.all(downloads);
      for (const d of all) {
        expect(Object.keys(d.statuses).filter((s) => s !== '206' && s !== '503')).toEqual([]);
        expect(d.exact).toBe(d.bodies);
      }
      // The downloads were answered too, not all refused nor cut.
      expect(all.reduce((n, d) => n + d.bodies, 0)).toBeGreaterThan(0);
      expect(all.filter((d) => d.cut).length).toBeLessThan(DOWNLOADERS / 2);
    } finally {
      smallDone = true;
      expect((await atRestSoon(srv.server, 10_000)).leaks).toEqual([]);
      await srv.server.close();
    }
  }, 180_000);
});
