// Goal: the connection is the socket. One kernel socket per TCP connection, responses in request
// order through its one send buffer, a bounded pipeline, no client that can exhaust the pools for
// everyone: a deep pipeline of cold files completes in every mapping mode, a slow pipelining
// reader does not hold other connections up, clients that never read are closed by the send
// timeout, a parser error after good requests comes after their answers and never inside a body,
// and an exhausted pool answers within the wait (503 with Retry-After) instead of without bound.
// Method: raw HTTP/1.1 over loopback (test/http/pipeline.ts reads responses as a stream and
// hashes each body); counters from /stats and the kernel; every server at rest at the end.

import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/kern/index.js';
import { waitFor } from '../support/wait.js';
import { type Fixture, makeFixture, patternBytes, sha256 } from './fixture.js';
import { atRestSoon, type Running, rawExchange, staller, startServer } from './helpers.js';
import { getMany, pipeline } from './pipeline.js';

const KiB = 1024;
const MiB = 1024 * KiB;
let fx: Fixture;

beforeAll(() => {
  fx = makeFixture();
  writeFileSync(join(fx.root, 'mib.bin'), patternBytes(MiB, 7));
  writeFileSync(join(fx.root, 'big16.bin'), patternBytes(16 * MiB, 8));
});
afterAll(() => fx.cleanup());

async function stop(srv: Running): Promise<void> {
  expect((await atRestSoon(srv.server)).leaks).toEqual([]);
  await srv.server.close();
  expect(srv.server.zcsim.closeReport).toEqual({ atRest: true, leaks: [] });
}

/** Reads a staller's socket: 'closed' when the server closed it, '503' when it was refused. */
function stallerOutcome(s: Socket, timeoutMs: number): Promise<'closed' | '503' | 'timeout'> {
  if (s.destroyed) return Promise.resolve('closed');
  return new Promise((resolve) => {
    let first = '';
    const timer = setTimeout(() => resolve('timeout'), timeoutMs);
    const done = (o: 'closed' | '503'): void => {
      clearTimeout(timer);
      resolve(o);
    };
    s.on('data', (d: Buffer) => {
      if (first.length < 16) first += d.toString('latin1', 0, 16);
      if (first.startsWith('HTTP/1.1 503')) done('503');
    });
    s.on('close', () => done('closed'));
    s.resume();
  });
}

const PIPELINE_DEPTH = 8000;
const MAPPINGS = [
  { mapping: 'dmap', physmemBytes: 64 * MiB },
  { mapping: 'kva', physmemBytes: 16 * MiB },
  { mapping: 'extpg', physmemBytes: 64 * MiB },
] as const;

describe(`${PIPELINE_DEPTH} pipelined GETs of a cold 64 KiB file on one connection`, () => {
  for (const { mapping, physmemBytes } of MAPPINGS) {
    it(`${mapping}: every response arrives, in order, with the right bytes, on /copy and /zerocopy`, async () => {
      const srv = await startServer({
        root: fx.root,
        kernel: { mapping, physmemBytes, invariants: false },
      });
      try {
        for (const route of ['copy', 'zerocopy'] as const) {
          const name = `cold-${mapping}-${route}.bin`;
          const body = patternBytes(64 * KiB, mapping.length + route.length);
          writeFileSync(join(fx.root, name), body);
          const methods = Array.from({ length: PIPELINE_DEPTH }, () => 'GET');
          const r = await pipeline(srv.port, getMany(`/${route}/${name}`, PIPELINE_DEPTH), methods, {
            timeoutMs: 120_000,
          });
          expect(r.responses.length, `/${route}`).toBe(PIPELINE_DEPTH);
          const want = sha256(body);
          const wrong = r.responses.filter((x) => x.status !== 200 || x.sha256 !== want).length;
          expect(wrong, `/${route}: responses not 200 with the file's bytes`).toBe(0);
          expect(r.stream.trailingBytes).toBe(0);
          expect((await atRestSoon(srv.server)).leaks).toEqual([]);
        }
      } finally {
        await stop(srv);
      }
    }, 240_000);
  }
});

describe('a slow pipelining reader', () => {
  it('300 pipelined 1 MiB GETs read slowly do not hold up other connections: they are answered first', async () => {
    const srv = await startServer({ root: fx.root, kernel: { physmemBytes: 64 * MiB, invariants: false } });
    try {
      const methods = Array.from({ length: 300 }, () => 'GET');
      let slowDone = false;
      const slow = pipeline(srv.port, getMany('/zerocopy/mib.bin', 300), methods, {
        readBytesPerSecond: 2 * MiB,
        timeoutMs: 20_000,
      }).then((r) => {
        slowDone = true;
        return r;
      });
      const zerocopy = srv.server.zcsim.routes.zerocopy;
      await waitFor(() => zerocopy.body_bytes > 0, 'the slow pipeline to be under way');
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let i = 0; i < 5; i++) {
            const [res] = await rawExchange(srv.port, [{ method: 'GET', path: '/copy/hello.txt' }], true);
            expect(res?.status).toBe(200);
            expect(res?.body.toString()).toBe(fx.files['hello.txt']!.toString());
          }
        }),
      );
      // The small requests were answered while the slow pipeline was still under way.
      expect(slowDone).toBe(false);
      const r = await slow;
      expect(r.responses.length).toBeGreaterThan(0);
      expect(r.responses.every((x) => x.status === 200 && x.bodyBytes === MiB)).toBe(true);
    } finally {
      await stop(srv);
    }
  });
});

describe('clients that never read', () => {
  it('40 stalled 16 MiB downloads do not starve 20 clients; the send timeout closes them and all returns to rest', async () => {
    const srv = await startServer({
      root: fx.root,
      sendTimeoutMs: 1000,
      kernel: { physmemBytes: 128 * MiB, invariants: false },
    });
    const stallers: Socket[] = [];
    try {
      for (let i = 0; i < 40; i++)
        stallers.push(await staller(srv.port, `/${i % 2 === 0 ? 'copy' : 'zerocopy'}/big16.bin`));
      const statuses: number[] = [];
      await Promise.all(
        Array.from({ length: 20 }, async (_, c) => {
          const route = c % 2 === 0 ? 'copy' : 'zerocopy';
          const rs = await rawExchange(
            srv.port,
            Array.from({ length: 5 }, () => ({ method: 'GET', path: `/${route}/hello.txt` })),
            false,
          );
          expect(rs.length).toBe(5);
          for (const r of rs) {
            statuses.push(r.status);
            if (r.status === 503) expect(r.headers['retry-after']).toBeDefined();
            else expect(r.body.toString()).toBe(fx.files['hello.txt']!.toString());
          }
        }),
      );
      expect(statuses.length).toBe(100);
      expect(statuses.every((s) => s === 200 || s === 503)).toBe(true);
      // Each staller was closed by the send timeout, or got a 503 (a pool was dry when it asked).
      const conns = srv.server.zcsim.connections;
      // At rest only once no staller holds a send buffer any more.
      expect((await atRestSoon(srv.server)).leaks).toEqual([]);
      const outcomes = await Promise.all(stallers.map((s) => stallerOutcome(s, 10_000)));
      expect(outcomes.filter((o) => o === 'timeout')).toEqual([]);
      expect(conns.send_timeouts).toBe(outcomes.filter((o) => o === 'closed').length);
      expect(conns.send_timeouts).toBeGreaterThan(0);
      expect((await atRestSoon(srv.server)).leaks).toEqual([]);
      // Everyone is served again.
      const after = await rawExchange(srv.port, [{ method: 'GET', path: '/copy/data.bin' }], true);
      expect(sha256(after[0]!.body)).toBe(sha256(fx.files['data.bin']!));
    } finally {
      for (const s of stallers) s.destroy();
      await stop(srv);
    }
  });
});

describe('a pipeline with an oversized header after good requests', () => {
  it('answers in order, no error text inside a body, and closes after the good responses', async () => {
    const srv = await startServer({ root: fx.root });
    try {
      const raw =
        'GET /zerocopy/data.bin HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /stats HTTP/1.1\r\nHost: x\r\n\r\n' +
        'GET /copy/big.bin HTTP/1.1\r\nHost: x\r\n\r\n' +
        `GET /zerocopy/hello.txt HTTP/1.1\r\nHost: x\r\nX-A: ${'b'.repeat(70 * KiB)}\r\n\r\n` +
        'GET /zerocopy/hello.txt HTTP/1.1\r\nHost: x\r\n\r\n';
      const r = await pipeline(srv.port, raw, ['GET', 'GET', 'GET', 'GET', 'GET'], { timeoutMs: 20_000 });
      expect(r.responses.map((x) => x.status)).toEqual([200, 200, 200, 431]);
      expect(r.responses[0]!.sha256).toBe(sha256(fx.files['data.bin']!));
      expect(() => JSON.parse(r.responses[1]!.text)).not.toThrow();
      expect(r.responses[2]!.sha256).toBe(sha256(fx.files['big.bin']!));
      expect(r.responses[3]!.text).toContain('431');
      expect(r.responses[3]!.headers.connection).toBe('close');
      expect(r.stream.trailingBytes).toBe(0);
      expect(r.closed).toBe(true);
    } finally {
      await stop(srv);
    }
  });
});

describe('one kernel socket per connection', () => {
  it('20 keep-alive requests on one connection create one socket, whose send buffer every response uses', async () => {
    const srv = await startServer({ root: fx.root });
    try {
      const before = srv.server.kernel.stats().sockets;
      const accepted = srv.server.zcsim.connections.accepted;
      const routes = ['zerocopy', 'copy', 'stream', 'zerocopy'];
      const rs = await rawExchange(
        srv.port,
        Array.from({ length: 20 }, (_, i) => ({ method: 'GET', path: `/${routes[i % 4]}/data.bin` })),
        false,
      );
      expect(rs.map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 200));
      for (const r of rs) expect(sha256(r.body)).toBe(sha256(fx.files['data.bin']!));
      const after = srv.server.kernel.stats().sockets;
      expect(after.so_created - before.so_created).toBe(1);
      expect(srv.server.zcsim.connections.accepted - accepted).toBe(1);
      // Every kernel-route body went through that one socket's send buffer.
      expect(after.tcps_sndbyte - before.tcps_sndbyte).toBeGreaterThanOrEqual(
        15 * fx.files['data.bin']!.length,
      );
    } finally {
      await stop(srv);
    }
  });
});

describe('a head sent too slowly', () => {
  it('gets 408 once its first byte is 60 s old, then the connection closes', async () => {
    const clock = new ManualClock();
    const srv = await startServer({ root: fx.root, clock });
    try {
      // What the server's side of the connection has read (its own reader runs first).
      let serverRead = 0;
      srv.server.server.once('connection', (sock: Socket) => {
        sock.on('data', (d: Buffer) => {
          serverRead += d.length;
        });
      });
      const s = connect(srv.port, '127.0.0.1');
      let got = '';
      s.on('data', (d: Buffer) => {
        got += d.toString('latin1');
      });
      const closed = new Promise((r) => s.on('close', r));
      await new Promise((r) => s.on('connect', r));
      const first = 'GET /zerocopy/hello.txt HTTP/1.1\r\nHo';
      s.write(first);
      await waitFor(() => serverRead === first.length, 'the server to read the first bytes of the head');
      clock.advance(59_000);
      const more = 'st: x\r\nX-A: 1\r\n';
      s.write(more);
      await waitFor(() => serverRead === first.length + more.length, 'the server to read the rest');
      expect(got).toBe('');
      clock.advance(2000);
      await closed;
      expect(got).toMatch(/^HTTP\/1\.1 408 /);
    } finally {
      await stop(srv);
    }
  });
});

describe('counted as it goes', () => {
  it('body bytes of a long download are counted while it is under way', async () => {
    const srv = await startServer({ root: fx.root, kernel: { physmemBytes: 64 * MiB, invariants: false } });
    const s = await staller(srv.port, '/zerocopy/big16.bin');
    try {
      const route = srv.server.zcsim.routes.zerocopy;
      await waitFor(() => route.body_bytes > 0, 'body bytes counted');
      expect(route.inflight).toBe(1);
      expect(route.body_bytes).toBeLessThan(16 * MiB);
    } finally {
      s.destroy();
      await stop(srv);
    }
  });
});

describe('pool exhaustion', () => {
  // While the zone is dry, the stallers that took no byte for half a second are closed: the new
  // response gets 503 with Retry-After if they still held the zone at its deadline, or 200 once
  // they were closed; never a wait without bound.
  it('a dry cluster zone answers a response that has not started within its wait (503 with Retry-After, or 200 once stallers were closed); the server keeps serving', async () => {
    const srv = await startServer({
      root: fx.root,
      kernel: { physmemBytes: 64 * MiB, nmbclusters: 64, invariants: false },
    });
    // Each connection holds its share of the zone (its send buffer): it takes many to dry it.
    const held: Socket[] = [];
    for (let i = 0; i < 40; i++) held.push(await staller(srv.port, '/copy/big16.bin'));
    const s = {
      destroy: () => {
        for (const h of held) h.destroy();
      },
    };
    try {
      const zone = () => srv.server.kernel.mbufs.clusterZone;
      await waitFor(() => zone().current >= zone().limit, 'the cluster zone to run dry');
      const [r] = await rawExchange(srv.port, [{ method: 'GET', path: '/copy/data.bin' }], true);
      const counted = srv.server.zcsim.connections;
      if (r?.status === 200) {
        expect(sha256(r.body)).toBe(sha256(fx.files['data.bin']!));
        expect(counted.send_timeouts).toBeGreaterThan(0);
      } else {
        expect(r?.status).toBe(503);
        expect(r?.headers['retry-after']).toBe('1');
        expect(counted.pool_503).toBeGreaterThan(0);
      }
      s.destroy();
      expect((await atRestSoon(srv.server)).leaks).toEqual([]);
      const [ok] = await rawExchange(srv.port, [{ method: 'GET', path: '/copy/data.bin' }], true);
      expect(ok?.status).toBe(200);
      expect(sha256(ok!.body)).toBe(sha256(fx.files['data.bin']!));
    } finally {
      s.destroy();
      await stop(srv);
    }
  });
});
