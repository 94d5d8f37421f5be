// Goal: /metrics is what Prometheus users expect: counters typed counter and named `_total`,
// gauges never `_total`, snake_case names with units, HELP saying what each kernel counter means,
// errno, route and zone as labels (aborts present from the start), the settings as one info
// metric, prom-client's default process metrics; and the values are those of /stats.
// Method: a real server in kva mode; the text is parsed by parse-prometheus-text-format (a
// parser of the exposition format, not a regular expression of ours) and checked family by
// family against the catalogue.
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatsSnapshot } from '../../src/http/index.js';
import { KERNEL_METRICS } from '../../src/http/panel/index.js';
import { type Fixture, makeFixture } from './fixture.js';
import { atRestSoon, type Running, startServer } from './helpers.js';

let fx: Fixture;
let srv: Running;

beforeAll(async () => {
  fx = makeFixture();
  srv = await startServer({ root: fx.root, kernel: { mapping: 'kva', nsfbufs: 64 } });
});
afterAll(async () => {
  await srv.server.close();
  fx.cleanup();
});

async function get(path: string): Promise<{ type: string; text: string }> {
  const r = await request(`${srv.origin}${path}`);
  expect(r.statusCode).toBe(200);
  return { type: String(r.headers['content-type']), text: await r.body.text() };
}

async function scrape(): Promise<Map<string, ParsedFamily>> {
  const { type, text } = await get('/metrics');
  expect(type).toMatch(/^text\/plain; version=0\.0\.4/);
  return new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));
}

function value(f: ParsedFamily | undefined, labels: Record<string, string> = {}): number {
  const m = f?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return Number(m?.value);
}

describe('/metrics', () => {
  it('names, types and HELP as Prometheus expects', async () => {
    const families = await scrape();
    expect(families.size).toBeGreaterThan(60);
    for (const f of families.values()) {
      expect(f.name, f.name).toMatch(/^[a-z_][a-z0-9_]*$/);
      expect(f.help.length, `${f.name} has HELP`).toBeGreaterThan(10);
      if (f.type === 'COUNTER') expect(f.name).toMatch(/_total$/);
      // (prom-client's own nodejs_active_resources_total is a gauge: only ours are held to it.)
      if (f.type === 'GAUGE' && f.name.startsWith('zcsim_')) expect(f.name).not.toMatch(/_total$/);
    }
    // Every kernel counter of the catalogue is there with its type, and its HELP names it.
    for (const k of KERNEL_METRICS) {
      const f = families.get(k.name);
      expect(f, k.name).toBeDefined();
      expect(f!.type).toBe(k.type.toUpperCase());
      expect(f!.help).toContain(k.key);
    }
    // No value is left under a generic name: the catalogue covers the kernel's counters.
    const generic = [...families.values()].filter((f) => f.help.includes('no description yet'));
    expect(generic.map((f) => f.name)).toEqual([]);
    // Units last.
    expect(families.get('zcsim_vm_wired_pages')?.type).toBe('GAUGE');
    expect(families.get('zcsim_copy_out_bytes_total')?.type).toBe('COUNTER');
    expect(families.get('zcsim_mbuf_zone_item_size_bytes')?.type).toBe('GAUGE');
    // prom-client's default process metrics.
    expect(families.get('process_cpu_seconds_total')?.type).toBe('COUNTER');
    expect(families.get('process_resident_memory_bytes')?.type).toBe('GAUGE');
    expect(families.get('nodejs_heap_size_used_bytes')?.type).toBe('GAUGE');
  });

  it('labels: errno from the start, route, status, zone; the settings as one info metric', async () => {
    const families = await scrape();
    const aborts = families.get('zcsim_socket_aborts_total');
    expect(aborts?.type).toBe('COUNTER');
    for (const errno of ['ECONNRESET', 'EPIPE', 'EIO']) expect(value(aborts, { errno })).toBe(0);
    const zones = families.get('zcsim_mbuf_zone_limit')?.metrics.map((m) => m.labels?.zone);
    expect(zones).toEqual(expect.arrayContaining(['mbuf', 'mbuf_cluster', 'mbuf_jumbo_page']));
    const info = families.get('zcsim_config_info');
    expect(info?.type).toBe('GAUGE');
    expect(info?.metrics).toHaveLength(1);
    expect(info?.metrics[0]?.value).toBe('1');
    expect(info?.metrics[0]?.labels).toMatchObject({
      mapping: 'kva',
      nsfbufs: '64',
      physmem_bytes: String(64 * 1024 * 1024),
      cpu_count: '2',
      list: 'false',
    });
  });

  it('values are those of /stats, and scraping twice does not add them up', async () => {
    await (await request(`${srv.origin}/zerocopy/hello.txt`)).body.dump();
    await (await request(`${srv.origin}/copy/hello.txt`)).body.dump();
    expect((await atRestSoon(srv.server)).leaks).toEqual([]);
    const snap = JSON.parse((await get('/stats')).text) as StatsSnapshot;
    const first = await scrape();
    const second = await scrape();
    for (const families of [first, second]) {
      expect(value(families.get('zcsim_http_requests_total'), { route: 'zerocopy' })).toBe(
        snap.http.routes.zerocopy.requests,
      );
      expect(value(families.get('zcsim_http_responses_total'), { route: 'copy', status: '200' })).toBe(
        snap.http.routes.copy.responses['200'],
      );
      const sendfile = snap.kernel.sendfile as Record<string, number>;
      expect(value(families.get('zcsim_sendfile_calls_total'))).toBe(sendfile.sf_syscalls);
      expect(value(families.get('zcsim_sfbufs_max'))).toBe(64);
      expect(value(families.get('zcsim_kernel_at_rest'))).toBe(1);
    }
    expect(snap.http.routes.zerocopy.requests).toBeGreaterThan(0);
  });
});
