// Goal: the HTTP details an attacker or a careful client meets: the absolute-form request target
// maps like the origin form, a suffix range longer than the file gives the whole file, a
// non-date If-Modified-Since is ignored, HEAD works on the panel's pages and other methods get
// 405 with Allow, one comparison at a time however many posts race, and idle event subscribers
// never lock a new dashboard out. Method: a real server on 127.0.0.1 port 0, raw sockets where
// undici would rewrite the request.
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decide, httpDateSec } from '../../src/http/files/index.js';
import { EVENT_CLIENTS_MAX } from '../../src/http/panel/index.js';
import { type Fixture, makeFixture } from './fixture.js';
import { atRestSoon, type Running, rawExchange, rawGet, startServer } from './helpers.js';

/** The server's wall time the answers are decided at (a two-digit year is reckoned from it). */
const NOW_MS = Date.UTC(2026, 0, 1);

const ROUTES = ['zerocopy', 'copy', 'stream'] as const;
let fx: Fixture;
let srv: Running;

beforeAll(async () => {
  fx = makeFixture();
  mkdirSync(join(fx.root, 'zerocopy'));
  writeFileSync(join(fx.root, 'zerocopy', 'hello.txt'), 'the wrong file\n');
  srv = await startServer({ root: fx.root, compareDurationMs: 200, eventsIntervalMs: 50 });
});
afterAll(async () => {
  await srv.server.close();
  expect(srv.server.zcsim.closeReport).toEqual({ atRest: true, leaks: [] });
  fx.cleanup();
});
afterEach(async () => {
  expect((await atRestSoon(srv.server)).leaks).toEqual([]);
});

describe('the absolute-form request target', () => {
  it.each(ROUTES)('/%s: mapped like the origin form, never ROOT/<route>/...', async (route) => {
    for (const host of ['x', '127.0.0.1', 'example.com:8080']) {
      const r = await rawGet(srv.port, `http://${host}/${route}/hello.txt`);
      expect(r.body.toString(), host).not.toContain('wrong file');
      expect(r.status, host).toBe(200);
      expect(r.body.toString()).toBe(fx.files['hello.txt']!.toString());
    }
    const traversal = await rawGet(srv.port, `http://x/${route}/../outside/passwd`);
    expect(traversal.status).toBe(400);
  });
});

describe('Range and conditionals', () => {
  it('a suffix range longer than the file: the whole file (RFC 9110 14.1.2)', async () => {
    const v = { etag: '"e"', lastModifiedSec: 1000, sizeBytes: 12 };
    expect(decide('GET', { range: 'bytes=-100' }, v, NOW_MS)).toEqual({
      status: 206,
      ranges: [{ start: 0, end: 11 }],
    });
    expect(decide('GET', { range: 'bytes=-12' }, v, NOW_MS)).toEqual({
      status: 206,
      ranges: [{ start: 0, end: 11 }],
    });
    for (const route of ROUTES) {
      const size = fx.files['hello.txt']!.length;
      const r = await rawExchange(
        srv.port,
        [{ method: 'GET', path: `/${route}/hello.txt`, headers: 'Range: bytes=-100\r\n' }],
        true,
      );
      expect(r[0]!.status, route).toBe(206);
      expect(r[0]!.headers['content-range']).toBe(`bytes 0-${size - 1}/${size}`);
      expect(r[0]!.body.toString()).toBe(fx.files['hello.txt']!.toString());
    }
  });

  it('If-Modified-Since that is not an HTTP-date is ignored (RFC 9110 5.6.7)', async () => {
    const v = { etag: '"e"', lastModifiedSec: 1000, sizeBytes: 12 };
    for (const junk of ['2030', '2030-01-01', 'Tue, 1 Jan 2030', '9999999999', 'tomorrow']) {
      expect(decide('GET', { 'if-modified-since': junk }, v, NOW_MS).status, junk).toBe(200);
      expect(decide('GET', { 'if-unmodified-since': junk }, v, NOW_MS).status, junk).toBe(200);
    }
    // The three forms a recipient must accept.
    for (const date of [
      'Sun, 06 Nov 2033 08:49:37 GMT',
      'Sunday, 06-Nov-33 08:49:37 GMT',
      'Sun Nov  6 08:49:37 2033',
    ]) {
      expect(decide('GET', { 'if-modified-since': date }, v, NOW_MS).status, date).toBe(304);
    }
    for (const route of ROUTES) {
      const r = await rawExchange(
        srv.port,
        [{ method: 'GET', path: `/${route}/hello.txt`, headers: 'If-Modified-Since: 2030\r\n' }],
        true,
      );
      expect(r[0]!.status, route).toBe(200);
    }
  });
});

describe('httpDateSec', () => {
  it('reads the three HTTP-date forms and nothing else', () => {
    const nowMs = Date.UTC(2026, 0, 1);
    const sec = Date.UTC(1994, 10, 6, 8, 49, 37) / 1000;
    expect(httpDateSec('Sun, 06 Nov 1994 08:49:37 GMT', nowMs)).toBe(sec);
    expect(httpDateSec('Sunday, 06-Nov-94 08:49:37 GMT', nowMs)).toBe(sec);
    expect(httpDateSec('Sun Nov  6 08:49:37 1994', nowMs)).toBe(sec);
    // A two-digit year more than 50 years ahead is in the past century.
    expect(httpDateSec('Monday, 01-Jan-76 00:00:00 GMT', nowMs)).toBe(Date.UTC(2076, 0, 1) / 1000);
    expect(httpDateSec('Friday, 01-Jan-77 00:00:00 GMT', nowMs)).toBe(Date.UTC(1977, 0, 1) / 1000);
    for (const junk of [
      'Sun, 31 Feb 2030 08:49:37 GMT',
      'Sun, 06 Nov 1994 24:00:00 GMT',
      'Sun, 06 Nov 1994 08:49:37 gmt',
      'Sun, 6 Nov 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 08:49:37 +0000',
      '1994-11-06T08:49:37Z',
      '',
    ]) {
      expect(httpDateSec(junk, nowMs), junk).toBeNaN();
    }
  });
});

describe('the panel pages', () => {
  it.each(['/', '/stats', '/metrics', '/files'])('HEAD %s: the GET head, no body', async (path) => {
    const [get, head] = await rawExchange(
      srv.port,
      [
        { method: 'GET', path },
        { method: 'HEAD', path },
      ],
      false,
    );
    expect(head!.status).toBe(200);
    expect(head!.headers['content-type']).toBe(get!.headers['content-type']);
    expect(head!.body.length).toBe(0);
  });

  it.each(['/', '/stats', '/metrics', '/files'])('other methods on %s: 405 with Allow', async (path) => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      const r = await request(`${srv.origin}${path}`, { method, body: method === 'DELETE' ? null : '' });
      await r.body.dump();
      expect(r.statusCode, method).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
    }
  });
});

describe('POST /compare', () => {
  it('one comparison at a time: of 6 concurrent posts, 5 get 409', async () => {
    const posts = await Promise.all(
      [1, 2, 3, 4, 5, 6].map(async () => {
        const r = await request(`${srv.origin}/compare`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ file: 'hello.txt' }),
        });
        await r.body.dump();
        return r.statusCode;
      }),
    );
    expect(posts.filter((s) => s === 409).length).toBe(5);
    expect(posts.filter((s) => s === 200).length).toBe(1);
  });
});

/** Opens a GET /events, takes its first bytes (it is attached) and never reads again. */
function idleSubscriber(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write('GET /events HTTP/1.1\r\nHost: x\r\n\r\n'));
    s.once('data', () => {
      s.pause();
      resolve(s);
    });
    s.on('error', reject);
  });
}

describe('/events', () => {
  it('subscribers that never read do not lock a new dashboard out', async () => {
    const idle: Socket[] = [];
    try {
      for (let i = 0; i < EVENT_CLIENTS_MAX; i++) idle.push(await idleSubscriber(srv.port));
      for (let n = 0; n < 3; n++) {
        const ac = new AbortController();
        const r = await request(`${srv.origin}/events`, { signal: ac.signal });
        expect(r.statusCode).toBe(200);
        const first = await new Promise<string>((resolve) =>
          r.body.once('data', (d: Buffer) => resolve(d.toString())),
        );
        expect(first).toContain('retry:');
        ac.abort();
        await r.body.dump().catch(() => {});
      }
    } finally {
      for (const s of idle) s.destroy();
    }
  });
});
