// Goal: a request that starts after a write to the file has completed gets exactly the new
// bytes, although the open-file cache and the kernel each trust what they know for a second; and
// a write that lands while a body is being sent is counted. Method: a 256 KiB file rewritten in
// place (same size, new bytes) again and again, each time fetched on every route and compared
// byte for byte; then a paused download of a large file with a rewrite in its middle.
import { closeSync, fstatSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { type Fixture, makeFixture, patternBytes, sha256 } from './fixture.js';
import { atRestSoon, type Running, startServer } from './helpers.js';

const ROUTES = ['zerocopy', 'copy', 'stream'] as const;
const SIZE = 256 * 1024;
const ROUNDS = 12;

let fx: Fixture;
let srv: Running;

beforeAll(async () => {
  fx = makeFixture();
  writeFileSync(join(fx.root, 'rw.bin'), patternBytes(SIZE, 100));
  writeFileSync(join(fx.root, 'large.bin'), patternBytes(24 * 1024 * 1024, 7));
  srv = await startServer({ root: fx.root, revalidateMs: 1000, kernel: { physmemBytes: 64 * 1024 * 1024 } });
});
afterAll(async () => {
  await srv.server.close();
  expect(srv.server.zcsim.closeReport).toEqual({ atRest: true, leaks: [] });
  fx.cleanup();
});
afterEach(async () => {
  expect((await atRestSoon(srv.server)).leaks).toEqual([]);
});

/**
 * Writes `bytes` over the file in place (same inode, same size). The change is seen through the
 * file's timestamps: on a file system whose clock ticks coarsely, the write is repeated until
 * ctime moved, so that the test does not depend on the tick.
 */
async function rewriteInPlace(path: string, bytes: Buffer): Promise<void> {
  const before = statSync(path, { bigint: true });
  for (let i = 0; i < 50; i++) {
    const fd = openSync(path, 'r+');
    try {
      writeSync(fd, bytes, 0, bytes.length, 0);
      const st = fstatSync(fd, { bigint: true });
      if (st.ctimeNs !== before.ctimeNs || st.mtimeNs !== before.mtimeNs) return;
    } finally {
      closeSync(fd);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('the file system never moved the timestamps');
}

async function fetchBody(path: string): Promise<{ status: number; etag: string; body: Buffer }> {
  const r = await request(`${srv.origin}${path}`);
  return {
    status: r.statusCode,
    etag: String(r.headers.etag),
    body: Buffer.from(await r.body.arrayBuffer()),
  };
}

describe('a same-size rewrite in place', () => {
  it('every request after the write gets exactly the new bytes, on every route', async () => {
    const path = join(fx.root, 'rw.bin');
    const wrong: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      // Warm both caches with the current bytes, then rewrite.
      const etags = new Map<string, string>();
      for (const route of ROUTES) etags.set(route, (await fetchBody(`/${route}/rw.bin`)).etag);
      const next = patternBytes(SIZE, 101 + round);
      await rewriteInPlace(path, next);
      for (const route of ROUTES) {
        const r = await fetchBody(`/${route}/rw.bin`);
        if (r.status !== 200 || sha256(r.body) !== sha256(next)) wrong.push(`round ${round} /${route}`);
        // A new version has a new validator: a cached copy is not revalidated as current.
        if (r.etag === etags.get(route)) wrong.push(`round ${round} /${route}: same ETag`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('a write during a send is counted (changed_during_send)', async () => {
    const path = join(fx.root, 'large.bin');
    for (const route of ['zerocopy', 'copy'] as const) {
      const before = srv.server.zcsim.routes[route].changed_during_send;
      const length = await new Promise<number>((resolve, reject) => {
        const socket = connect(srv.port, '127.0.0.1');
        let got = 0;
        let rewritten = false;
        socket.on('data', (d: Buffer) => {
          got += d.length;
          if (!rewritten) {
            // The head is here and the body is under way: pause, rewrite, go on reading.
            rewritten = true;
            socket.pause();
            rewriteInPlace(path, patternBytes(24 * 1024 * 1024, 8 + got)).then(() => socket.resume(), reject);
          }
        });
        socket.on('error', reject);
        socket.on('close', () => resolve(got));
        socket.write(`GET /${route}/large.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
      });
      expect(length).toBeGreaterThan(24 * 1024 * 1024);
      await waitFor(
        () => srv.server.zcsim.routes[route].changed_during_send > before,
        `${route}: the change counted`,
      );
      expect(srv.server.zcsim.routes[route].changed_during_send, route).toBe(before + 1);
      const stats = (await (await request(`${srv.origin}/stats`)).body.json()) as {
        http: { routes: Record<string, { changed_during_send: number }> };
      };
      expect(stats.http.routes[route]!.changed_during_send).toBe(before + 1);
    }
  });
});
