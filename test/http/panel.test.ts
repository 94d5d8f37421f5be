// Goal: /stats and /events tell the truth about the kernel and the routes, the
// dashboard's files are served from the project (no network), /compare runs in a child process
// and reports all three routes, and the errno table is the one documented.
// Method: a real server on 127.0.0.1 port 0; counters are read before and after known requests;
// the SSE stream is read as text; the table is pinned entry by entry.
import { request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ERRNO_HTTP_STATUS, httpStatusOf, type StatsSnapshot } from '../../src/http/index.js';
import { ERRNO_MEANING, ManualClock, SysError } from '../../src/kern/index.js';
import { waitFor } from '../support/wait.js';
import { type Fixture, makeFixture } from './fixture.js';
import { atRestSoon, type Running, startServer } from './helpers.js';

let fx: Fixture;
let srv: Running;

beforeAll(async () => {
  fx = makeFixture();
  srv = await startServer({
    root: fx.root,
    eventsIntervalMs: 100,
    compareDurationMs: 300,
    kernel: { mapping: 'kva', nsfbufs: 64 },
  });
});
afterAll(async () => {
  await srv.server.close();
  expect(srv.server.zcsim.closeReport).toEqual({ atRest: true, leaks: [] });
  fx.cleanup();
});
afterEach(async () => {
  expect((await atRestSoon(srv.server)).leaks).toEqual([]);
});

async function stats(): Promise<StatsSnapshot> {
  const r = await request(`${srv.origin}/stats`);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  return (await r.body.json()) as StatsSnapshot;
}

async function fetchBody(path: string): Promise<Buffer> {
  const r = await request(`${srv.origin}${path}`);
  return Buffer.from(await r.body.arrayBuffer());
}

describe('/stats', () => {
  it('has every section, and counts requests, bytes and copies per route', async () => {
    const before = await stats();
    expect(Object.keys(before.kernel).sort()).toEqual([
      'copy',
      'ktls',
      'mbuf',
      'memory',
      'peaks',
      'sendfile',
      'sfbuf',
      'sockets',
      'tcp',
      'vm',
    ]);
    expect(before.server.kernel.mapping).toBe('kva');
    expect(before.netstat).toContain('mbufs in use');
    expect(before.netstat).toContain('sendfile syscalls');
    const size = fx.files['data.bin']!.length;
    await fetchBody('/zerocopy/data.bin');
    await fetchBody('/copy/data.bin');
    await fetchBody('/stream/data.bin');
    await atRestSoon(srv.server);
    const after = await stats();
    for (const route of ['zerocopy', 'copy', 'stream'] as const) {
      const a = after.http.routes[route];
      const b = before.http.routes[route];
      expect(a.requests - b.requests, route).toBe(1);
      expect(a.body_bytes - b.body_bytes, route).toBe(size);
      expect((a.responses['200'] ?? 0) - (b.responses['200'] ?? 0)).toBe(1);
      expect(a.header_bytes - b.header_bytes, route).toBeGreaterThan(100);
    }
    const copied = (r: 'zerocopy' | 'copy' | 'stream') =>
      after.http.routes[r].copied_bytes - before.http.routes[r].copied_bytes;
    expect(copied('zerocopy')).toBeLessThan(1000); // the head only
    expect(copied('copy')).toBeGreaterThanOrEqual(2 * size); // copy-out and copy-in
    const k = after.kernel as {
      sendfile: { sf_syscalls: number };
      copy: { copy_bytes_out: number };
      sfbuf: { nsfbufs: number; nsfbufspeak: number };
    };
    expect(k.sendfile.sf_syscalls).toBeGreaterThan((before.kernel as typeof k).sendfile.sf_syscalls);
    expect(k.copy.copy_bytes_out - (before.kernel as typeof k).copy.copy_bytes_out).toBe(size);
    expect(k.sfbuf.nsfbufs).toBe(64);
    expect(k.sfbuf.nsfbufspeak).toBeGreaterThan(0);
    // At rest now, but the high-water marks since the previous read saw the sends.
    const peaks = after.kernel.peaks;
    expect(peaks.nsfbufsused).toBeGreaterThan(0);
    expect(peaks.v_wire_count).toBeGreaterThan(0);
    expect(peaks.mbufs).toBeGreaterThan(0);
    expect(peaks.clusters).toBeGreaterThan(0);
    expect(after.http.inflight_peak.zerocopy).toBe(1);
    expect(after.http.inflight_peak.copy).toBe(1);
    const again = await stats();
    expect(again.kernel.peaks.v_wire_count).toBe(0);
    expect(again.http.inflight_peak.zerocopy).toBe(0);
    expect(after.atRest).toBe(true);
    expect(after.leaks).toEqual([]);
  });

  it('counts 304, 404 and 405 per route', async () => {
    const before = (await stats()).http.routes.zerocopy.responses;
    await fetchBody('/zerocopy/nope');
    const r = await request(`${srv.origin}/zerocopy/hello.txt`, { method: 'DELETE' });
    await r.body.dump();
    const after = (await stats()).http.routes.zerocopy.responses;
    expect((after['404'] ?? 0) - (before['404'] ?? 0)).toBe(1);
    expect((after['405'] ?? 0) - (before['405'] ?? 0)).toBe(1);
  });
});

describe('/events', () => {
  it('sends a snapshot at once, then one per interval of its clock', async () => {
    // The server's own clock is a manual one: the test moves time, and each snapshot says when
    // (uptime_ms) it was taken.
    const clock = new ManualClock();
    const own = await startServer({ root: fx.root, eventsIntervalMs: 100, clock });
    const ac = new AbortController();
    try {
      const r = await request(`${own.origin}/events`, { signal: ac.signal });
      expect(r.headers['content-type']).toMatch(/^text\/event-stream/);
      let text = '';
      r.body.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      r.body.on('error', () => {});
      const snapshots = (): StatsSnapshot[] =>
        text
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => JSON.parse(l.slice(6)) as StatsSnapshot);
      await waitFor(() => snapshots().length === 1, 'the first snapshot');
      clock.advance(99);
      clock.advance(1);
      await waitFor(() => snapshots().length === 2, 'the second snapshot');
      clock.advance(100);
      await waitFor(() => snapshots().length === 3, 'the third snapshot');
      expect((text.match(/^event: snapshot$/gm) ?? []).length).toBe(3);
      expect(snapshots().map((s) => s.uptime_ms)).toEqual([0, 100, 200]);
      const snap = snapshots()[0]!;
      expect(snap.http.routes.zerocopy).toBeDefined();
      expect(typeof snap.atRest).toBe('boolean');
    } finally {
      ac.abort();
      await own.server.close();
    }
  });
});

describe('/events and close', () => {
  it('server close ends every event stream at once and does not wait for them', async () => {
    // Under a manual clock that never moves, close's grace timer never fires: close finishing
    // shows that it did not wait for the streams.
    const own = await startServer({ root: fx.root, clock: new ManualClock() });
    const streams = await Promise.all([1, 2, 3].map(() => request(`${own.origin}/events`)));
    const ended = streams.map(
      (r) =>
        new Promise<void>((resolve) => {
          r.body.on('data', () => {});
          r.body.on('end', () => resolve());
          r.body.on('error', () => resolve());
        }),
    );
    await own.server.close();
    await Promise.all(ended);
    expect(own.server.zcsim.closeReport).toEqual({ atRest: true, leaks: [] });
  });
});

describe('dashboard files', () => {
  it('the page, its script and style, and uPlot come from the server', async () => {
    const page = await request(`${srv.origin}/`);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    const html = await page.body.text();
    for (const src of ['/vendor/uPlot.js', '/vendor/uPlot.css', '/assets/app.js', '/assets/style.css']) {
      expect(html).toContain(src);
      const r = await request(`${srv.origin}${src}`);
      expect(r.statusCode, src).toBe(200);
      expect((await r.body.text()).length, src).toBeGreaterThan(100);
    }
    expect(html).not.toMatch(/https?:\/\//);
    const files = (await (await request(`${srv.origin}/files`)).body.json()) as { files: { name: string }[] };
    expect(files.files.map((f) => f.name)).toContain('big.bin');
    expect(files.files.map((f) => f.name)).not.toContain('link-out');
    expect(files.files.map((f) => f.name)).not.toContain('.secret');
  });

  it('answers /favicon.ico with the icon the page names, not 404', async () => {
    const html = await (await request(`${srv.origin}/`)).body.text();
    expect(html).toContain('rel="icon" href="/favicon.ico"');
    const r = await request(`${srv.origin}/favicon.ico`);
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('image/svg+xml');
    expect(await r.body.text()).toMatch(/^<svg /);
  });
});

describe('/compare', () => {
  it('loads each route from a child process and reports them side by side', async () => {
    const r = await request(`${srv.origin}/compare`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ file: 'data.bin' }),
    });
    const body = (await r.body.json()) as {
      loader: string;
      results: { route: string; requests: number; bytes: number; copiedPerByte: number; errors: number }[];
    };
    expect(r.statusCode).toBe(200);
    expect(body.loader).toBe('raw');
    expect(body.results.map((x) => x.route)).toEqual(['zerocopy', 'copy', 'stream']);
    for (const x of body.results) {
      expect(x.requests, x.route).toBeGreaterThan(0);
      expect(x.bytes, x.route).toBeGreaterThanOrEqual(x.requests * fx.files['data.bin']!.length * 0.9);
    }
    const [zc, cp] = body.results;
    expect(zc!.copiedPerByte).toBeLessThan(0.01);
    expect(cp!.copiedPerByte).toBeGreaterThan(1.9);
  });

  it('refuses bad input', async () => {
    const bad = async (body: string) => {
      const r = await request(`${srv.origin}/compare`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      await r.body.dump();
      return r.statusCode;
    };
    expect(await bad('{}')).toBe(400);
    expect(await bad('{"file":"../outside/passwd"}')).toBe(400);
    expect(await bad('{"file":"nope.bin"}')).toBe(404);
    expect(await bad('{"file":"sub"}')).toBe(400);
  });
});

describe('errno -> HTTP status', () => {
  it('one table, one status per errno of the kernel catalogue', () => {
    expect(Object.keys(ERRNO_HTTP_STATUS).sort()).toEqual(Object.keys(ERRNO_MEANING).sort());
    expect(ERRNO_HTTP_STATUS).toMatchObject({
      ENOENT: 404,
      EACCES: 403,
      EISDIR: 403,
      EINVAL: 400,
      EIO: 500,
      ENOMEM: 503,
      ENOBUFS: 503,
    });
    expect(httpStatusOf(new SysError('ENOENT', 'x'))).toBe(404);
    expect(httpStatusOf({ code: 'ENOTDIR' })).toBe(404);
    expect(httpStatusOf(new Error('no code'))).toBe(500);
  });
});
