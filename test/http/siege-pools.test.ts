// Goal: slow readers cannot take a pool from everyone. Each connection's send buffer is its share
// of every pool (pages, mbufs, clusters, sf_bufs), so a few dozen downloads that are never read
// leave room for others; and when many do exhaust a pool, a response that has not started gets
// 503 with Retry-After instead of waiting for the send timeout; and a body under way that sleeps
// for an sf_buf the stallers hold (it has no deadline of its own) waits only until they are cut,
// which comes within the wait a new response is given. Method: raw HTTP/1.1 over loopback with
// stallers (connections that ask for a large body and never read), then one more request; its
// status and the server's counters are checked, never its latency; the cut is seen on a clock that
// moves only when told; the kernel at rest after.
import { writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POOL_WAIT_MS } from '../../src/http/conn/index.js';
import type { KernelConfig } from '../../src/index.js';
import { ManualClock } from '../../src/kern/index.js';
import { type Fixture, makeFixture, patternBytes, sha256 } from './fixture.js';
import { atRestSoon, type Running, rawExchange, staller, startServer, until } from './helpers.js';

const MiB = 1024 * 1024;
let fx: Fixture;

beforeAll(() => {
  fx = makeFixture();
  writeFileSync(join(fx.root, 'big16.bin'), patternBytes(16 * MiB, 8));
});
afterAll(() => fx.cleanup());

/** `count` stallers of /<route>/big16.bin, each from its own offset (so each holds its own pages). */
async function stallers(port: number, route: string, count: number): Promise<Socket[]> {
  const out: Socket[] = [];
  for (let i = 0; i < count; i++)
    out.push(await staller(port, `/${route}/big16.bin`, `Range: bytes=${i * 256 * 1024}-\r\n`));
  return out;
}

/** With the stallers holding what they can, one more small request: its status (0: no answer). */
async function oneMore(kernel: KernelConfig, route: string, count: number): Promise<number> {
  const srv: Running = await startServer({ root: fx.root, kernel: { ...kernel, invariants: false } });
  const held = await stallers(srv.port, route, count);
  try {
    // Every staller's first send buffer is full (or it waits for a pool).
    const k = srv.server.kernel;
    await until(
      () => k.sockets.counters().tcps_sndbyte > 0 && k.sockets.counters().snd_batches >= count,
      5000,
    );
    const answer = rawExchange(srv.port, [{ method: 'GET', path: `/${route}/data.bin` }], true);
    const bounded = new Promise<[]>((r) => setTimeout(() => r([]), 15_000));
    const [r] = await Promise.race([answer, bounded]);
    if (r?.status === 200) expect(sha256(r.body)).toBe(sha256(fx.files['data.bin']!));
    if (r?.status === 503) expect(r.headers['retry-after']).toBe('1');
    return r?.status ?? 0;
  } finally {
    for (const s of held) s.destroy();
    expect((await atRestSoon(srv.server, 5000)).leaks).toEqual([]);
    await srv.server.close();
  }
}

describe('a few dozen slow readers', () => {
  it('dmap, 16 MiB: 40 stalled /zerocopy downloads leave mbufs and pages for another client', async () => {
    expect(await oneMore({ physmemBytes: 16 * MiB }, 'zerocopy', 40)).toBe(200);
  }, 60_000);

  it('64 MiB: 20 stalled /copy downloads leave clusters for another client', async () => {
    expect(await oneMore({ physmemBytes: 64 * MiB }, 'copy', 20)).toBe(200);
  }, 60_000);
});

describe('many slow readers', () => {
  it('kva, 16 sf_bufs: 40 stalled downloads; another client gets an answer (200 or 503), not a hang', async () => {
    const status = await oneMore({ physmemBytes: 16 * MiB, mapping: 'kva', nsfbufs: 16 }, 'zerocopy', 40);
    expect([200, 503]).toContain(status);
  }, 60_000);

  it('dmap, 16 MiB, 4 mbufs a staller: 600 stalled downloads; another client gets 200 or 503', async () => {
    const status = await oneMore({ physmemBytes: 16 * MiB, nmbufs: 2048 }, 'zerocopy', 600);
    expect([200, 503]).toContain(status);
  }, 120_000);
});

describe('stalled holders of a pool others sleep for', () => {
  it('kva, 16 sf_bufs: 16 of 24 stalled downloads hold every sf_buf; the holders are cut within the wait of a new response', async () => {
    const clock = new ManualClock();
    const srv = await startServer({
      root: fx.root,
      clock,
      kernel: { physmemBytes: 16 * MiB, mapping: 'kva', nsfbufs: 16, invariants: false },
    });
    const k = srv.server.kernel;
    const held = await stallers(srv.port, 'zerocopy', 24);
    try {
      // Quiet: every sf_buf held (the other eight wait for one, asleep in sf_buf_alloc or at the
      // admission), and no byte sent for five looks.
      let lastSent = -1;
      let stillLooks = 0;
      const quiet = (): boolean => {
        const sent = k.sockets.counters().tcps_sndbyte;
        stillLooks = sent === lastSent ? stillLooks + 1 : 0;
        lastSent = sent;
        return stillLooks >= 5 && k.sfbufs.counters().nsfbufsused === 16;
      };
      expect(await until(quiet, 30_000)).toBe(true);
      const counted = srv.server.zcsim.connections;
      expect(counted.send_timeouts).toBe(0);
      // The server's clock moves by steps up to the wait of a new response and two sweeps more,
      // each step after the host's I/O of the step before has run.
      const stepMs = 25;
      for (let ms = 0; ms < POOL_WAIT_MS + 250; ms += stepMs) {
        clock.advance(stepMs);
        await new Promise((r) => setImmediate(r));
      }
      // Every holder was cut.
      expect(counted.send_timeouts).toBeGreaterThanOrEqual(16);
    } finally {
      for (const s of held) s.destroy();
      expect((await atRestSoon(srv.server, 5000)).leaks).toEqual([]);
      await srv.server.close();
    }
  }, 60_000);
});
