// Goal: the load room's client frames keep-alive responses right (pipelined ones in order, bodies
// hashed or kept), aborts where asked, and its statistics and pattern are the ones the reports use.
// Method: a node:http server on 127.0.0.1 answering with known bodies; every wait is bounded.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HttpClient,
  listenLoopback,
  median,
  patternBytes,
  percentile,
  runLoad,
} from '../../src/load/index.js';
import { sha256 as sha } from '../http/fixture.js';

const bodies = new Map([
  ['/a', patternBytes(100_000, 1)],
  ['/b', patternBytes(3, 2)],
  ['/empty', Buffer.alloc(0)],
]);

let server: http.Server;
let port: number;
/** Opens the rest of /gate's body (the test calls it once the first bytes arrived). */
let openGate: () => void = () => {};
beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/gate') {
      // The head and 10 bytes at once, the other 90 only when the test opens the gate.
      res.writeHead(200, { 'Content-Length': 100 });
      res.write(Buffer.alloc(10));
      openGate = () => {
        openGate = () => {};
        res.end(Buffer.alloc(90));
      };
      return;
    }
    if (req.url === '/cut') {
      // The head and part of the body, then the server closes: a response cut mid-way.
      res.writeHead(200, { 'Content-Length': 100 });
      res.write(Buffer.alloc(10));
      setImmediate(() => res.destroy());
      return;
    }
    const body = bodies.get(req.url ?? '');
    res.writeHead(body ? 200 : 404, { 'Content-Length': body?.length ?? 0 });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  server.keepAliveTimeout = 10_000;
  port = await listenLoopback({
    server,
    listen: ({ port: p, host }) => new Promise<void>((r) => server.listen(p, host, () => r())),
  });
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('HttpClient', () => {
  it('times the first byte of an answer apart from its last', async () => {
    const c = await HttpClient.connect(port);
    const r = await c.request('/gate', { timeoutMs: 10_000, onBodyBytes: () => openGate() });
    c.close();
    expect(r.complete).toBe(true);
    expect(r.bodyBytes).toBe(100);
    expect(Number.isFinite(r.firstByteMs)).toBe(true);
    expect(r.firstByteMs).toBeGreaterThanOrEqual(0);
    expect(r.firstByteMs).toBeLessThan(r.latencyMs);
  });

  it('answers pipelined requests in order, hashing each body, keeping it when asked', async () => {
    const c = await HttpClient.connect(port);
    const paths = ['/a', '/b', '/empty', '/nope', '/a'];
    const rs = await Promise.all(paths.map((p) => c.request(p, { keepBody: true, timeoutMs: 10_000 })));
    c.close();
    expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 404, 200]);
    for (const [i, p] of paths.entries()) {
      const want = bodies.get(p) ?? Buffer.alloc(0);
      expect(rs[i]?.complete).toBe(true);
      expect(rs[i]?.sha256).toBe(sha(want));
      expect(rs[i]?.body?.equals(want)).toBe(true);
    }
  });

  it('reads no body for HEAD, and aborts after the bytes asked', async () => {
    const c = await HttpClient.connect(port);
    const head = await c.request('/a', { method: 'HEAD' });
    expect(head.bodyBytes).toBe(0);
    expect(head.headers['content-length']).toBe('100000');
    const cut = await c.request('/a', { abortAfterBytes: 10, abortHow: 'close' });
    expect(cut.cut).toBe('aborted');
    expect(cut.complete).toBe(false);
    expect(cut.bodyBytes).toBeGreaterThanOrEqual(10);
    expect(cut.sha256).toBe(sha((bodies.get('/a') ?? Buffer.alloc(0)).subarray(0, cut.bodyBytes)));
    expect((await c.request('/b')).complete).toBe(false);
  });
});

describe('runLoad', () => {
  it('counts whole responses and checks each length and a sample of hashes', async () => {
    const body = bodies.get('/a') ?? Buffer.alloc(0);
    const r = await runLoad({
      port,
      urlPath: '/a',
      connections: 2,
      warmupMs: 0,
      durationMs: 200,
      expected: { sizeBytes: body.length, sha256: sha(body) },
    });
    expect(r.errors).toEqual([]);
    expect(r.connected).toBe(2);
    // The first response of a run is always hashed, inside the window or not.
    expect(r.hashed).toBeGreaterThan(0);
    expect(r.hashFailed).toBe(0);
    const wrong = await runLoad({
      port,
      urlPath: '/b',
      connections: 1,
      warmupMs: 0,
      durationMs: 50,
      expected: { sizeBytes: body.length, sha256: null },
    });
    expect(wrong.errorCount).toBe(1);
    expect(wrong.connected).toBe(1);
  });

  it('tells connections that failed from responses the server cut on connected ones', async () => {
    const request = {
      urlPath: '/cut',
      warmupMs: 0,
      durationMs: 50,
      expected: { sizeBytes: 100, sha256: null },
    };
    const cut = await runLoad({ ...request, port, connections: 3 });
    expect(cut.connected).toBe(3);
    expect(cut.errorCount).toBe(3);
    expect(cut.errors).toEqual(Array(3).fill('connection closed mid-response'));
    const closed = http.createServer();
    const nobody = await listenLoopback({
      server: closed,
      listen: ({ port: p, host }) => new Promise<void>((r) => closed.listen(p, host, () => r())),
    });
    await new Promise((r) => closed.close(r));
    const refused = await runLoad({ ...request, port: nobody, connections: 2 });
    expect(refused.connected).toBe(0);
    expect(refused.errorCount).toBe(2);
    expect(refused.errors.every((e) => e.startsWith('connect: '))).toBe(true);
  });
});

describe('statistics and pattern', () => {
  it('percentile is by nearest rank; median averages the middle pair', () => {
    const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(percentile(sorted, 50)).toBe(5);
    expect(percentile(sorted, 99)).toBe(10);
    expect(percentile([], 50)).toBeNaN();
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('patternBytes is the same for the same size and seed, and differs with the seed', () => {
    expect(patternBytes(4097, 7).equals(patternBytes(4097, 7))).toBe(true);
    expect(patternBytes(4097, 7).equals(patternBytes(4097, 8))).toBe(false);
    expect(patternBytes(4097, 7).length).toBe(4097);
  });
});
