// Goal: the panel's expensive answers are bounded in bytes and in CPU: /compare and /trace of a
// file above their size bound get 413 with a reason at once (never a load run that ends in a bare
// 500), and a comparison right after another gets 429 with Retry-After (comparisons take at most
// half the time), one at a time as before. Method: a sparse file far above the bounds; the
// answers' status and JSON reason; no timing.
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, makeFixture } from './fixture.js';
import { type Running, startServer } from './helpers.js';

let fx: Fixture;
let srv: Running;

beforeAll(async () => {
  fx = makeFixture();
  const huge = join(fx.root, 'huge.bin');
  writeFileSync(huge, '');
  truncateSync(huge, 256 * 1024 * 1024);
  srv = await startServer({ root: fx.root, compareDurationMs: 100 });
});
afterAll(async () => {
  await srv.server.close();
  fx.cleanup();
});

async function compare(file: string): Promise<{ status: number; retryAfter: unknown; body: unknown }> {
  const r = await request(`${srv.origin}/compare`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ file }),
  });
  return { status: r.statusCode, retryAfter: r.headers['retry-after'], body: await r.body.json() };
}

describe('expensive panel work', () => {
  it('POST /compare of a 256 MiB file: 413 with a reason', async () => {
    const r = await compare('huge.bin');
    expect(r.status).toBe(413);
    expect(r.body).toMatchObject({ error: expect.stringContaining('not compared') });
  }, 60_000);

  it('GET /trace of a 256 MiB file: 413 with a reason', async () => {
    const r = await request(`${srv.origin}/trace?route=zerocopy&file=huge.bin`);
    expect(r.statusCode).toBe(413);
    expect(await r.body.json()).toMatchObject({ error: expect.stringContaining('not traced') });
  }, 60_000);

  it('a comparison right after another: 429 with Retry-After and a reason', async () => {
    const first = await compare('hello.txt');
    expect(first.status).toBe(200);
    const second = await compare('hello.txt');
    expect(second.status).toBe(429);
    expect(Number(second.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(second.body).toMatchObject({ error: expect.any(String) });
  }, 60_000);
});
