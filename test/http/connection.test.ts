// Goal: keep-alive and pipelining work through the kernel routes (the response head goes in
// front of the file data through the simulated socket buffer), a client that leaves mid-body
// frees everything, and a file that shrinks while it is sent never gets a wrong body.
// Method: raw HTTP/1.1 on one net socket, sequential and pipelined, mixing routes, methods,
// ranges and 304s; a client that stops reading then resets; a file truncated mid-send.
import { renameSync, truncateSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { type Fixture, makeFixture, patternBytes, sha256 } from './fixture.js';
import { atRestSoon, parseResponses, type Running, rawExchange, startServer } from './helpers.js';

let fx: Fixture;
let srv: Running;
/** Without the O(n) invariant checks: the cut-short tests send files larger than loopback buffers. */
let fast: Running;
/** Larger than what loopback's socket buffers take in without the client reading. */
const HUGE_BYTES = 48 * 1024 * 1024;

beforeAll(async () => {
  fx = makeFixture();
  writeFileSync(join(fx.root, 'huge.bin'), patternBytes(HUGE_BYTES, 5));
  srv = await startServer({ root: fx.root, revalidateMs: 0 });
  fast = await startServer({
    root: fx.root,
    revalidateMs: 0,
    kernel: { physmemBytes: 32 * 1024 * 1024, invariants: false },
  });
});
afterAll(async () => {
  await srv.server.close();
  await fast.server.close();
  expect(srv.server.zcsim.closeReport).toEqual({ atRest: true, leaks: [] });
  expect(fast.server.zcsim.closeReport).toEqual({ atRest: true, leaks: [] });
  fx.cleanup();
});
afterEach(async () => {
  expect((await atRestSoon(srv.server)).leaks).toEqual([]);
  expect((await atRestSoon(fast.server)).leaks).toEqual([]);
});

function mixedRequests(etag: string) {
  return [
    { method: 'GET', path: '/zerocopy/hello.txt' },
    { method: 'GET', path: '/copy/data.bin' },
    { method: 'HEAD', path: '/zerocopy/big.bin' },
    { method: 'GET', path: '/zerocopy/big.bin' },
    { method: 'GET', path: '/zerocopy/hello.txt', headers: `If-None-Match: ${etag}\r\n` },
    { method: 'GET', path: '/stream/data.bin', headers: 'Range: bytes=10-19\r\n' },
    { method: 'GET', path: '/zerocopy/data.bin', headers: 'Range: bytes=0-9,100-199\r\n' },
    { method: 'GET', path: '/zerocopy/nope.txt' },
    { method: 'GET', path: '/copy/big.bin', headers: 'Range: bytes=1000-\r\n' },
    { method: 'GET', path: '/zerocopy/empty.txt' },
    { method: 'GET', path: '/zerocopy/sub/inner.txt' },
  ];
}

function checkMixed(responses: Awaited<ReturnType<typeof rawExchange>>) {
  const big = fx.files['big.bin']!;
  expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 304, 206, 206, 404, 206, 200, 200]);
  expect(responses[0]!.body.toString()).toBe(fx.files['hello.txt']!.toString());
  expect(sha256(responses[1]!.body)).toBe(sha256(fx.files['data.bin']!));
  expect(responses[2]!.headers['content-length']).toBe(String(big.length));
  expect(sha256(responses[3]!.body)).toBe(sha256(big));
  expect(responses[5]!.body).toEqual(fx.files['data.bin']!.subarray(10, 20));
  expect(responses[6]!.headers['content-type']).toMatch(/^multipart\/byteranges/);
  expect(sha256(responses[8]!.body)).toBe(sha256(big.subarray(1000)));
  expect(responses[10]!.body.toString()).toBe('inner file\n');
  for (const r of responses.slice(0, -1)) expect(r.headers.connection).toBe('keep-alive');
}

describe('one connection, many requests', () => {
  it('keep-alive: sequential requests on one connection', async () => {
    const head = await rawExchange(srv.port, [{ method: 'HEAD', path: '/zerocopy/hello.txt' }], false);
    const responses = await rawExchange(srv.port, mixedRequests(head[0]!.headers.etag!), false);
    checkMixed(responses);
  });

  it('pipelining: all requests written at once, answered in order', async () => {
    const head = await rawExchange(srv.port, [{ method: 'HEAD', path: '/zerocopy/hello.txt' }], false);
    for (let round = 0; round < 3; round++) {
      checkMixed(await rawExchange(srv.port, mixedRequests(head[0]!.headers.etag!), true));
    }
  });

  it('twenty pipelined GETs of a large file on /zerocopy', async () => {
    const reqs = Array.from({ length: 20 }, () => ({ method: 'GET', path: '/zerocopy/data.bin' }));
    const responses = await rawExchange(srv.port, reqs, true);
    expect(responses).toHaveLength(20);
    for (const r of responses) expect(sha256(r.body)).toBe(sha256(fx.files['data.bin']!));
  });
});

/** Opens a GET, reads `readBytes` (head included), then resets the connection. */
function abortAfter(path: string, readBytes: number): Promise<number> {
  return new Promise((resolve) => {
    const socket = connect(fast.port, '127.0.0.1');
    let got = 0;
    socket.on('connect', () => socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`));
    socket.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= readBytes) {
        socket.pause();
        setTimeout(() => socket.resetAndDestroy(), 50);
      }
    });
    socket.on('close', () => resolve(got));
  });
}

describe('a file replaced between requests', () => {
  it('headers and bytes always describe the same file, whichever it is', async () => {
    const cached = await startServer({ root: fx.root, revalidateMs: 60_000 });
    try {
      const oldBytes = patternBytes(200_000, 11);
      const newBytes = patternBytes(200_000, 12);
      writeFileSync(join(fx.root, 'swap.bin'), oldBytes);
      writeFileSync(join(fx.root, 'swap.new'), newBytes);
      const get = async (route: string) => {
        const [r] = await rawExchange(cached.port, [{ method: 'GET', path: `/${route}/swap.bin` }], true);
        return r!;
      };
      const before = await Promise.all(['zerocopy', 'copy', 'stream'].map(get));
      for (const r of before) expect(sha256(r.body)).toBe(sha256(oldBytes));
      const oldEtag = before[0]!.headers.etag;
      renameSync(join(fx.root, 'swap.new'), join(fx.root, 'swap.bin'));
      for (const route of ['zerocopy', 'copy', 'stream', 'stream', 'zerocopy']) {
        const r = await get(route);
        expect(r.status).toBe(200);
        const isOld = r.headers.etag === oldEtag;
        expect(sha256(r.body), `${route} ${isOld ? 'old' : 'new'} etag`).toBe(
          sha256(isOld ? oldBytes : newBytes),
        );
      }
      expect((await atRestSoon(cached.server)).leaks).toEqual([]);
    } finally {
      await cached.server.close();
    }
  });
});

describe('cut short', () => {
  it('a client that goes away mid-body frees everything', async () => {
    for (const route of ['zerocopy', 'copy', 'stream']) {
      const counters = fast.server.zcsim.routes[route as 'zerocopy'];
      const before = counters.aborted;
      const got = await abortAfter(`/${route}/huge.bin`, 100_000);
      expect(got).toBeLessThan(HUGE_BYTES);
      const rest = await atRestSoon(fast.server);
      expect(rest.leaks, route).toEqual([]);
      await waitFor(() => counters.aborted > before, `${route}: the abort counted`);
      expect(counters.aborted, route).toBe(before + 1);
      expect(counters.inflight).toBe(0);
    }
  });

  it('a client that resets with pipelined requests still queued frees everything', async () => {
    for (const route of ['zerocopy', 'copy', 'stream']) {
      await new Promise<void>((resolve) => {
        const socket = connect(fast.port, '127.0.0.1');
        const one = `GET /${route}/huge.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /${route}/data.bin HTTP/1.1\r\nHost: x\r\n\r\n`;
        socket.on('connect', () => socket.write(one.repeat(4)));
        let got = 0;
        socket.on('data', (d: Buffer) => {
          got += d.length;
          if (got > 200_000) {
            socket.pause();
            setTimeout(() => socket.resetAndDestroy(), 50);
          }
        });
        socket.on('close', () => resolve());
      });
      const rest = await atRestSoon(fast.server);
      expect(rest.leaks, route).toEqual([]);
      await waitFor(
        () => fast.server.zcsim.routes[route as 'zerocopy'].inflight === 0,
        `${route}: nothing in flight`,
      );
      expect(fast.server.zcsim.routes[route as 'zerocopy'].errors, route).toBe(0);
    }
  });

  it('a file that shrinks while being sent: the connection is closed, never a wrong body', async () => {
    for (const route of ['zerocopy', 'copy', 'stream'] as const) {
      const path = join(fx.root, `shrinking-${route}.bin`);
      const content = patternBytes(HUGE_BYTES, 9);
      writeFileSync(path, content);
      const counters = fast.server.zcsim.routes[route];
      const before = counters.file_changed;
      const received = await new Promise<Buffer>((resolve) => {
        const socket = connect(fast.port, '127.0.0.1');
        const chunks: Buffer[] = [];
        let got = 0;
        let truncated = false;
        socket.on('connect', () =>
          socket.write(`GET /${route}/shrinking-${route}.bin HTTP/1.1\r\nHost: x\r\n\r\n`),
        );
        socket.on('data', (d: Buffer) => {
          chunks.push(d);
          got += d.length;
          if (!truncated && got > 64 * 1024) {
            truncated = true;
            socket.pause();
            truncateSync(path, 1024 * 1024);
            setTimeout(() => socket.resume(), 100);
          }
        });
        socket.on('close', () => resolve(Buffer.concat(chunks)));
      });
      const [r] = parseResponses(received, ['GET']);
      expect(r!.headers['content-length']).toBe(String(content.length));
      expect(r!.body.length, route).toBeLessThan(content.length);
      // What did arrive is the file as it was, byte for byte, up to where it stopped.
      expect(sha256(r!.body), route).toBe(sha256(content.subarray(0, r!.body.length)));
      expect((await atRestSoon(fast.server)).leaks).toEqual([]);
      await waitFor(() => counters.file_changed > before, `${route}: the change counted`);
      expect(counters.file_changed, route).toBe(before + 1);
    }
  });
});
