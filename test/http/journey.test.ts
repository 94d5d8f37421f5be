// Goal: GET /trace tells each mapping's and each route's story with the kernel's facts: in the
// KVA pool a first send maps each page (hash miss, a shootdown to the other CPU) and a second
// finds the mappings cached (hash hit, no IPI); M_EXTPG carries the pages in one unmapped mbuf
// freed by sendfile_free_mext_pg; a cold file is paged in with its mbufs appended not ready and
// made ready by sbready; /copy copies each byte out and in, with the sizes; /stream uses no
// kernel; over HTTPS the journey shows kernel TLS taking the send side over and encrypting the
// records of its own socket. And the fold keeps a long timeline short and bounded.
// Method: a server per mapping on 127.0.0.1 with a fresh kernel and small files, one over HTTPS
// with a 1 MiB file; the JSON of GET /trace; foldJourney on made-up events.
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JourneyReport } from '../../src/http/index.js';
import type { JourneyEvent } from '../../src/http/journey/index.js';
import { foldJourney, JOURNEY_STEPS_MAX } from '../../src/http/journey/index.js';
import { CERT_PEM, KEY_PEM } from '../ktls/helpers.js';
import { type Fixture, makeFixture } from './fixture.js';
import { atRestSoon, type Running, startServer } from './helpers.js';

const PAGE = 4096;
/** Nine pages: every event of its journey fits in the answer's raw events. */
const NINE_BYTES = 8 * PAGE + 100;
const MIB = 1024 * 1024;
let fx: Fixture;
const servers: Running[] = [];

beforeAll(() => {
  fx = makeFixture();
  writeFileSync(join(fx.root, 'nine.bin'), Buffer.alloc(NINE_BYTES, 0x5a));
  writeFileSync(join(fx.root, 'mib.bin'), Buffer.alloc(MIB, 0x3c));
});
afterAll(async () => {
  for (const s of servers) await s.server.close();
  fx.cleanup();
});

async function serve(mapping: 'dmap' | 'kva' | 'extpg'): Promise<Running> {
  const s = await startServer({
    root: fx.root,
    kernel: { physmemBytes: 16 * 1024 * 1024, mapping, cpuCount: 2, nsfbufs: 64 },
  });
  servers.push(s);
  return s;
}

async function trace(s: Running, route: string, file: string): Promise<JourneyReport> {
  const r = await fetch(`${s.origin}/trace?route=${route}&file=${encodeURIComponent(file)}`);
  expect(r.status).toBe(200);
  const report = (await r.json()) as JourneyReport;
  expect(report.complete).toBe(true);
  expect((await atRestSoon(s.server)).atRest).toBe(true);
  return report;
}

/** GET /trace over HTTPS, trusting the test certificate. */
function traceHttps(s: Running, route: string, file: string): Promise<JourneyReport> {
  return new Promise((resolve, reject) => {
    const path = `/trace?route=${route}&file=${encodeURIComponent(file)}`;
    const opts = {
      host: '127.0.0.1',
      port: s.port,
      path,
      ca: CERT_PEM,
      servername: 'localhost',
      agent: false,
    };
    https
      .get(opts, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          expect(res.statusCode).toBe(200);
          resolve(JSON.parse(Buffer.concat(parts).toString('utf8')) as JourneyReport);
        });
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

const named = (r: JourneyReport, room: string, event: string) =>
  r.events.filter((e) => e.room === room && e.event === event).map((e) => e.fields);

describe('GET /trace', () => {
  it('KVA pool: a first send maps every page with a shootdown, a second hits the cache', async () => {
    const s = await serve('kva');
    const pages = Math.ceil(NINE_BYTES / PAGE);
    const cold = await trace(s, 'zerocopy', 'nine.bin');
    const first = named(cold, 'sfbuf', 'alloc');
    expect(first).toHaveLength(pages);
    for (const a of first)
      expect(a).toMatchObject({ hit: false, cpumask: 0b11, ipis: 1, invlpg: 1, refs: 1 });
    expect(named(cold, 'sfbuf', 'map')).toHaveLength(pages);
    expect(named(cold, 'vm', 'pagein').length).toBeGreaterThan(0);
    expect(named(cold, 'net', 'sbappend').some((f) => f.notready === true)).toBe(true);
    expect(named(cold, 'net', 'sbready').length).toBeGreaterThan(0);
    const frees = named(cold, 'sfbuf', 'free');
    expect(frees).toHaveLength(pages);
    for (const f of frees) expect(f.refs).toBe(0);

    const warm = await trace(s, 'zerocopy', 'nine.bin');
    const again = named(warm, 'sfbuf', 'alloc');
    expect(again).toHaveLength(pages);
    for (const a of again) expect(a).toMatchObject({ hit: true, ipis: 0 });
    expect(again.map((a) => a.kva)).toEqual(first.map((a) => a.kva));
    expect(named(warm, 'vm', 'pagein')).toEqual([]);
    expect(named(warm, 'vm', 'lookup').every((f) => f.state === 'valid')).toBe(true);
  });

  it('M_EXTPG: pages in unmapped mbufs, no sf_buf, freed by sendfile_free_mext_pg', async () => {
    const s = await serve('extpg');
    await trace(s, 'zerocopy', 'nine.bin');
    const r = await trace(s, 'zerocopy', 'nine.bin');
    expect(named(r, 'sfbuf', 'alloc')).toEqual([]);
    const chunk = named(r, 'sendfile', 'chunk')[0]!;
    const mbufs = chunk.mbufs as { ext: string; pages: number[] }[];
    expect(mbufs.every((m) => m.ext === 'M_EXTPG')).toBe(true);
    const freed = named(r, 'sendfile', 'free_mext_pg').flatMap((f) => f.pages as number[]);
    expect(freed).toEqual(mbufs.flatMap((m) => m.pages));
    expect(named(r, 'vm', 'unwire')).toHaveLength(freed.length);
  });

  it('/copy: each read(2) copies out and each write(2) copies in, with the sizes; /stream: no kernel send', async () => {
    const s = await serve('dmap');
    const size = fx.files['data.bin']!.length;
    const r = await trace(s, 'copy', 'data.bin');
    expect(r.eventsTotal).toBe(r.events.length);
    expect(r.bodyBytes).toBe(size);
    const out = named(r, 'sendfile', 'copyout');
    expect(out.reduce((n, f) => n + (f.bytes as number), 0)).toBe(size);
    const into = named(r, 'sendfile', 'copyin');
    expect(into.reduce((n, f) => n + (f.bytes as number), 0)).toBe(size + (into[0]!.bytes as number));
    expect(
      named(r, 'net', 'sbappend').every((f) => (f.ext as Record<string, number>).EXT_SFBUF === undefined),
    ).toBe(true);
    expect(r.steps.length).toBeLessThan(150);

    // /stream writes to the net.Socket itself: its connection's kernel socket is made and
    // dropped, and nothing goes through it.
    const stream = await trace(s, 'stream', 'hello.txt');
    expect(stream).toMatchObject({ status: 200, bodyBytes: 23 });
    expect(stream.events.map((e) => `${e.room}:${e.event}`)).toEqual(['net:socreate', 'net:drop']);
  });
});

describe('GET /trace over HTTPS', () => {
  it('a 1 MiB /zerocopy: the takeover on its socket, then kernel TLS encrypting its records', async () => {
    const s = await startServer({
      root: fx.root,
      kernel: { physmemBytes: 16 * 1024 * 1024, cpuCount: 2 },
      tls: { cert: CERT_PEM, key: KEY_PEM, ktlsMode: 'sw' },
    });
    servers.push(s);
    const r = await traceHttps(s, 'zerocopy', 'mib.bin');
    expect(r).toMatchObject({ status: 200, bodyBytes: MIB, complete: true });
    const enable = named(r, 'ktls', 'enable');
    expect(enable).toHaveLength(1);
    expect(enable[0]).toMatchObject({ so: r.so, mode: 1 });
    const lines = r.steps.flatMap((step) => [...step.lines, ...(step.lastLines ?? [])]);
    expect(lines.some((l) => l.startsWith(`setsockopt(TCP_TXTLS_ENABLE) so ${r.so}:`))).toBe(true);
    expect(lines.some((l) => l.startsWith(`ktls_enqueue so ${r.so}:`))).toBe(true);
    expect(lines.some((l) => l.startsWith(`ktls_encrypt so ${r.so}:`))).toBe(true);
    expect((await atRestSoon(s.server)).atRest).toBe(true);
  });
});

describe('foldJourney', () => {
  const ev = (event: string, pindex: number, tMs: number): JourneyEvent => ({
    tMs,
    room: 'vm',
    event,
    fields: { object: 1, pindex, physIndex: pindex, wired: 1, state: 'valid' },
  });

  it('folds per-page cycles, keeps the first and the last, and bounds the steps', () => {
    const events = [0, 1, 2, 3].flatMap((p) => [ev('lookup', p, p), ev('wire', p, p + 0.5)]);
    const steps = foldJourney(events);
    expect(steps).toHaveLength(1);
    expect(steps[0]).toMatchObject({ tMs: 0, untilMs: 3.5, repeat: 4 });
    expect(steps[0]!.lines).toEqual([
      'vm_page_lookup(obj 1 pindex 0) -> page 0 valid',
      'vm_page_wire page 0 (obj 1 pindex 0) wire_count 1',
    ]);
    expect(steps[0]!.lastLines).toEqual([
      'vm_page_lookup(obj 1 pindex 3) -> page 3 valid',
      'vm_page_wire page 3 (obj 1 pindex 3) wire_count 1',
    ]);

    // Nothing repeats: every event is a step, and past the bound one step counts the rest.
    const varied: JourneyEvent[] = [];
    for (let i = 0; i < 4 * JOURNEY_STEPS_MAX; i++) varied.push(ev(`event${i}`, i, i));
    const bounded = foldJourney(varied);
    expect(bounded.length).toBeLessThanOrEqual(JOURNEY_STEPS_MAX);
    expect(bounded[bounded.length - 1]!.lines[0]).toMatch(/^\.\.\. \d+ more steps$/);
  });
});
