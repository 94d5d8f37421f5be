// Goal: the file routes speak HTTP as nginx does (GET, HEAD, validators, 304, 412, Range, 206,
// multipart/byteranges, 416, If-Range, max ranges, 405), identically on all three routes.
// Method: a real server on 127.0.0.1 port 0 over a fixture folder, undici requests; bodies are
// compared byte for byte with the files; after each test the kernel is back at rest.
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RANGES } from '../../src/http/index.js';
import { waitFor } from '../support/wait.js';
import { type Fixture, makeFixture, sha256 } from './fixture.js';
import { atRestSoon, type Running, startServer } from './helpers.js';

const ROUTES = ['zerocopy', 'copy', 'stream'] as const;
let fx: Fixture;
let srv: Running;

const unfinished = new Map<object, string>();
beforeAll(async () => {
  fx = makeFixture();
  srv = await startServer({ root: fx.root });
  srv.server.server.on('request', (req, res) => {
    unfinished.set(res, `${req.method} ${req.url} ${req.headers.range ?? ''}`);
    res.on('close', () => unfinished.delete(res));
  });
});
afterAll(async () => {
  await waitFor(
    () => unfinished.size === 0,
    () => `every response to end: ${[...unfinished.values()].join('; ')}`,
  );
  await srv.server.close();
  expect(srv.server.zcsim.closeReport).toEqual({ atRest: true, leaks: [] });
  fx.cleanup();
});
afterEach(async () => {
  expect(await atRestSoon(srv.server)).toEqual({ atRest: true, leaks: [] });
});

async function get(path: string, headers: Record<string, string> = {}, method: 'GET' | 'HEAD' = 'GET') {
  const r = await request(`${srv.origin}${path}`, { method, headers });
  const body = Buffer.from(await r.body.arrayBuffer());
  return { status: r.statusCode, headers: r.headers as Record<string, string>, body };
}

/** Splits a multipart/byteranges body into its parts' Content-Range and bytes. */
function parseMultipart(body: Buffer, contentType: string): { range: string; type: string; bytes: Buffer }[] {
  const boundary = /boundary=(\S+)/.exec(contentType)?.[1];
  if (!boundary) throw new Error(`no boundary in ${contentType}`);
  const parts: { range: string; type: string; bytes: Buffer }[] = [];
  const delim = Buffer.from(`\r\n--${boundary}`);
  let at = body.indexOf(delim);
  while (at !== -1) {
    const after = at + delim.length;
    if (body.subarray(after, after + 2).toString() === '--') break;
    const headEnd = body.indexOf('\r\n\r\n', after);
    const head = body.subarray(after + 2, headEnd).toString('latin1');
    const next = body.indexOf(delim, headEnd + 4);
    parts.push({
      range: /Content-Range: (.*)/.exec(head)?.[1] ?? '',
      type: /Content-Type: (.*)/.exec(head)?.[1] ?? '',
      bytes: body.subarray(headEnd + 4, next),
    });
    at = next;
  }
  return parts;
}

describe.each(ROUTES)('/%s', (route) => {
  it('GET: 200 with the whole file and its headers', async () => {
    for (const name of [
      'hello.txt',
      'data.bin',
      'big.bin',
      'with%20space.txt',
      'sub/inner.txt',
      'link-in.txt',
    ]) {
      const file = fx.files[decodeURIComponent(name)] ?? fx.files['hello.txt']!;
      const r = await get(`/${route}/${name}`);
      expect(r.status, name).toBe(200);
      expect(sha256(r.body), name).toBe(sha256(file));
      expect(r.headers['content-length']).toBe(String(file.length));
      expect(r.headers['accept-ranges']).toBe('bytes');
      expect(r.headers.etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+-[0-9a-f]+"$/);
      expect(new Date(r.headers['last-modified']!).getTime()).toBeGreaterThan(0);
      expect(r.headers['transfer-encoding']).toBeUndefined();
    }
    expect((await get(`/${route}/hello.txt`)).headers['content-type']).toBe('text/plain; charset=utf-8');
    expect((await get(`/${route}/page.html`)).headers['content-type']).toBe('text/html; charset=utf-8');
    expect((await get(`/${route}/data.bin`)).headers['content-type']).toBe('application/octet-stream');
  });

  it('GET of an empty file: 200, Content-Length 0', async () => {
    const r = await get(`/${route}/empty.txt`);
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe('0');
    expect(r.body.length).toBe(0);
  });

  it('HEAD: the GET headers, no body', async () => {
    const g = await get(`/${route}/data.bin`);
    const h = await get(`/${route}/data.bin`, {}, 'HEAD');
    expect(h.status).toBe(200);
    expect(h.body.length).toBe(0);
    for (const k of ['content-length', 'content-type', 'etag', 'last-modified', 'accept-ranges']) {
      expect(h.headers[k], k).toBe(g.headers[k]);
    }
  });

  it('If-None-Match and If-Modified-Since: 304; If-None-Match wins', async () => {
    const g = await get(`/${route}/hello.txt`);
    const etag = g.headers.etag!;
    const lm = g.headers['last-modified']!;
    const a = await get(`/${route}/hello.txt`, { 'if-none-match': etag });
    expect(a.status).toBe(304);
    expect(a.body.length).toBe(0);
    expect(a.headers.etag).toBe(etag);
    expect((await get(`/${route}/hello.txt`, { 'if-none-match': `"other", W/${etag}` })).status).toBe(304);
    expect((await get(`/${route}/hello.txt`, { 'if-none-match': '*' })).status).toBe(304);
    expect((await get(`/${route}/hello.txt`, { 'if-modified-since': lm })).status).toBe(304);
    const past = new Date(Date.parse(lm) - 3600_000).toUTCString();
    expect((await get(`/${route}/hello.txt`, { 'if-modified-since': past })).status).toBe(200);
    // A failing If-None-Match wins over a passing If-Modified-Since: the full body.
    const both = await get(`/${route}/hello.txt`, { 'if-none-match': '"nope"', 'if-modified-since': lm });
    expect(both.status).toBe(200);
    expect(both.body.toString()).toBe(fx.files['hello.txt']!.toString());
    expect((await get(`/${route}/hello.txt`, { 'if-modified-since': 'not a date' })).status).toBe(200);
  });

  it('If-Match and If-Unmodified-Since: 412 when they fail', async () => {
    const g = await get(`/${route}/hello.txt`);
    expect((await get(`/${route}/hello.txt`, { 'if-match': '"nope"' })).status).toBe(412);
    expect((await get(`/${route}/hello.txt`, { 'if-match': g.headers.etag! })).status).toBe(200);
    const past = new Date(Date.parse(g.headers['last-modified']!) - 3600_000).toUTCString();
    expect((await get(`/${route}/hello.txt`, { 'if-unmodified-since': past })).status).toBe(412);
  });

  it('Range, one range: 206 with Content-Range and the bytes', async () => {
    const file = fx.files['big.bin']!;
    const cases: [string, number, number][] = [
      ['bytes=0-0', 0, 0],
      ['bytes=100-4195', 100, 4195],
      ['bytes=-500', file.length - 500, file.length - 1],
      [`bytes=${file.length - 10}-`, file.length - 10, file.length - 1],
      [`bytes=5-${file.length + 1000}`, 5, file.length - 1],
      ['bytes=4096-1052671', 4096, 1052671],
    ];
    for (const [range, start, end] of cases) {
      const r = await get(`/${route}/big.bin`, { range });
      expect(r.status, range).toBe(206);
      expect(r.headers['content-range'], range).toBe(`bytes ${start}-${end}/${file.length}`);
      expect(r.headers['content-length'], range).toBe(String(end - start + 1));
      expect(sha256(r.body), range).toBe(sha256(file.subarray(start, end + 1)));
    }
  });

  it('Range, several ranges: multipart/byteranges, each part right', async () => {
    const file = fx.files['data.bin']!;
    const r = await get(`/${route}/data.bin`, { range: 'bytes=0-99, 5000-70000, -10' });
    expect(r.status).toBe(206);
    expect(r.headers['content-type']).toMatch(/^multipart\/byteranges; boundary=/);
    expect(r.headers['content-length']).toBe(String(r.body.length));
    const parts = parseMultipart(r.body, r.headers['content-type']!);
    const want: [number, number][] = [
      [0, 99],
      [5000, 70000],
      [file.length - 10, file.length - 1],
    ];
    expect(parts.map((p) => p.range)).toEqual(want.map(([s, e]) => `bytes ${s}-${e}/${file.length}`));
    for (let i = 0; i < want.length; i++) {
      const [s, e] = want[i]!;
      expect(parts[i]!.type).toBe('application/octet-stream');
      expect(sha256(parts[i]!.bytes)).toBe(sha256(file.subarray(s, e + 1)));
    }
    // Overlapping ranges are merged (range-parser combine), as nginx does.
    const merged = await get(`/${route}/data.bin`, { range: 'bytes=0-99,50-199' });
    expect(merged.headers['content-range']).toBe(`bytes 0-199/${file.length}`);
  });

  it('Range unsatisfiable: 416 with Content-Range bytes */size; malformed bytes: 416; other units: ignored', async () => {
    const size = fx.files['data.bin']!.length;
    const r = await get(`/${route}/data.bin`, { range: `bytes=${size}-` });
    expect(r.status).toBe(416);
    expect(r.headers['content-range']).toBe(`bytes */${size}`);
    // As nginx's ngx_http_range_parse: a malformed "bytes=" set is refused, not ignored.
    expect((await get(`/${route}/data.bin`, { range: 'bytes=oops' })).status).toBe(416);
    expect((await get(`/${route}/data.bin`, { range: 'pages=1-2' })).status).toBe(200);
    expect((await get(`/${route}/empty.txt`, { range: 'bytes=0-' })).status).toBe(416);
  });

  it(`more than ${MAX_RANGES} ranges: the Range header is ignored (200, full body)`, async () => {
    const many = Array.from({ length: MAX_RANGES + 1 }, (_, i) => `${i * 100}-${i * 100 + 9}`).join(',');
    const r = await get(`/${route}/data.bin`, { range: `bytes=${many}` });
    expect(r.status).toBe(200);
    expect(r.body.length).toBe(fx.files['data.bin']!.length);
    const ok = Array.from({ length: MAX_RANGES }, (_, i) => `${i * 100}-${i * 100 + 9}`).join(',');
    expect((await get(`/${route}/data.bin`, { range: `bytes=${ok}` })).status).toBe(206);
  });

  it(`${MAX_RANGES} ranges: every part right, and the process warns of nothing`, async () => {
    const file = fx.files['data.bin']!;
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(`${w.name}: ${w.message}`);
    };
    process.on('warning', onWarning);
    try {
      const ranges = Array.from({ length: MAX_RANGES }, (_, i) => [i * 1000, i * 1000 + 9] as const);
      const r = await get(`/${route}/data.bin`, {
        range: `bytes=${ranges.map(([s, e]) => `${s}-${e}`).join(',')}`,
      });
      expect(r.status).toBe(206);
      const parts = parseMultipart(r.body, r.headers['content-type']!);
      expect(parts.map((p) => sha256(p.bytes))).toEqual(
        ranges.map(([s, e]) => sha256(file.subarray(s, e + 1))),
      );
      // A warning is emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings).toEqual([]);
  });

  it('If-Range: the ETag or the exact date keeps the range; anything else gets 200', async () => {
    const g = await get(`/${route}/data.bin`, {}, 'HEAD');
    const range = 'bytes=10-19';
    expect((await get(`/${route}/data.bin`, { range, 'if-range': g.headers.etag! })).status).toBe(206);
    expect((await get(`/${route}/data.bin`, { range, 'if-range': g.headers['last-modified']! })).status).toBe(
      206,
    );
    expect((await get(`/${route}/data.bin`, { range, 'if-range': '"stale"' })).status).toBe(200);
    expect((await get(`/${route}/data.bin`, { range, 'if-range': `W/${g.headers.etag}` })).status).toBe(200);
    const other = new Date(Date.parse(g.headers['last-modified']!) - 1000).toUTCString();
    expect((await get(`/${route}/data.bin`, { range, 'if-range': other })).status).toBe(200);
  });

  it('methods other than GET and HEAD: 405 with Allow', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const) {
      const r = await request(`${srv.origin}/${route}/hello.txt`, {
        method,
        body: method === 'POST' || method === 'PUT' ? 'x' : null,
      });
      await r.body.dump();
      expect(r.statusCode, method).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
    }
  });

  it('unknown file: 404', async () => {
    expect((await get(`/${route}/nope.txt`)).status).toBe(404);
    expect((await get(`/${route}/hello.txt/more`)).status).toBe(404);
  });
});

describe('the three routes agree', () => {
  it('same bytes, same validators, same multipart layout', async () => {
    const range = 'bytes=1-2,100-300000,3000000-';
    const bodies = await Promise.all(ROUTES.map((r) => get(`/${r}/big.bin`, { range })));
    const strip = (b: Buffer) => b.toString('latin1').replace(/zcsim\d+/g, 'B');
    expect(new Set(bodies.map((b) => sha256(Buffer.from(strip(b.body), 'latin1')))).size).toBe(1);
    expect(new Set(bodies.map((b) => b.headers.etag)).size).toBe(1);
    const full = await Promise.all(ROUTES.map((r) => get(`/${r}/big.bin`)));
    expect(new Set(full.map((b) => sha256(b.body)))).toEqual(new Set([sha256(fx.files['big.bin']!)]));
  });
});
