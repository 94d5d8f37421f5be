// Goal: the dashboard works in a real browser: the charts move while a download runs, the file
// table links every route, Compare draws the three routes side by side, Trace shows a journey
// and Download .pcapng saves the same request on the model's wire.
// Method: Chromium (see chromium-setup.ts) driven by playwright-core against a real server on
// 127.0.0.1 port 0; downloads run from the test while the page listens to /events; a screenshot
// is saved under test-output/ for people to look at.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, makeFixture, patternBytes } from '../http/fixture.js';
import { atRestSoon, type Running, startServer } from '../http/helpers.js';
import { launchChromium } from './chromium.js';

const OUTPUT = resolve(import.meta.dirname, '..', '..', 'test-output');
let fx: Fixture;
let srv: Running;
let browser: Browser;
const open = new Map<object, string>();

beforeAll(async () => {
  fx = makeFixture();
  writeFileSync(join(fx.root, 'movie.bin'), patternBytes(24 * 1024 * 1024, 3));
  srv = await startServer({
    root: fx.root,
    eventsIntervalMs: 250,
    compareDurationMs: 400,
    kernel: { physmemBytes: 64 * 1024 * 1024, invariants: false },
  });
  srv.server.server.on('request', (req, res) => {
    open.set(res, `${req.method} ${req.url}`);
    res.on('close', () => open.delete(res));
  });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  expect([...open.values()]).toEqual([]);
  await srv?.server.close();
  expect(srv.server.zcsim.closeReport).toEqual({ atRest: true, leaks: [] });
  fx?.cleanup();
});

describe('dashboard', () => {
  it('charts update while a download runs; Compare shows the routes side by side', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(srv.origin);
    await page.waitForFunction('Number(document.body.dataset.updates ?? 0) >= 2');
    expect(await page.locator('#pill-live').textContent()).toBe('live');

    // The file table links each file on each route.
    await page.waitForSelector('#files tbody tr');
    const hrefs = await page.locator('#files a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    expect(hrefs).toContain('/zerocopy/movie.bin');
    expect(hrefs).toContain('/copy/hello.txt');
    expect(hrefs).toContain('/stream/with%20space.txt');
    expect(hrefs).not.toContain('/zerocopy/link-out');

    // A download held in flight (its body not read): normal work, said in words, never a leak;
    // the wired pages it holds are drawn off the zero line of the Physical pages chart.
    const held = await request(`${srv.origin}/zerocopy/movie.bin`);
    await page.waitForFunction(
      "document.getElementById('pill-rest').textContent.startsWith('working: 1 response in flight holds')",
      null,
      { timeout: 30_000 },
    );
    const pill = await page.locator('#pill-rest');
    expect(await pill.getAttribute('class')).toBe('pill busy');
    expect(await pill.textContent()).toMatch(/^working: 1 response in flight holds \d+ pages wired/);
    expect(await pill.textContent()).not.toMatch(/leak|item/);
    const wiredLift = Number(
      await page.evaluate(`(() => {
        const u = window.zcsimDashboard.charts['chart-pages'];
        const wired = u.data[1][u.data[1].length - 1];
        return u.valToPos(0, u.series[1].scale) - u.valToPos(wired, u.series[1].scale);
      })()`),
    );
    expect(wiredLift).toBeGreaterThan(20);
    await page.waitForTimeout(600);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'dashboard-busy.png'), fullPage: true });
    await held.body.dump();

    // Downloads for about two seconds; the throughput chart must see them.
    const until = performance.now() + 2000;
    while (performance.now() < until) {
      for (const route of ['zerocopy', 'copy']) {
        const r = await request(`${srv.origin}/${route}/movie.bin`);
        await r.body.dump();
      }
    }
    await page.waitForFunction('window.zcsimDashboard.throughputMax > 0');
    const netstat = await page.locator('#netstat').textContent();
    expect(netstat).toContain('mbufs in use');
    // netstat -m whole: every line shown (the sfbufs lines last), none cut, none wrapped.
    expect(netstat).toContain('requests for sfbufs delayed');
    const box = await page.locator('#netstat').evaluate((e) => ({
      hidden: e.scrollHeight - e.clientHeight,
      wide: e.scrollWidth - e.clientWidth,
    }));
    expect(box.hidden).toBeLessThanOrEqual(1);
    expect(box.wide).toBeLessThanOrEqual(1);
    expect(await page.locator('#routes tbody tr').count()).toBe(3);

    // Gauges are drawn with their peaks; away from the cursor every legend shows a value, not "--".
    const legends = await page.locator('#chart-mbufs .u-legend .u-value').allTextContents();
    expect(legends.length).toBeGreaterThanOrEqual(5);
    for (const v of legends) expect(v).not.toBe('--');
    const mbufLabels = await page.locator('#chart-mbufs .u-legend .u-label').allTextContents();
    expect(mbufLabels).toContain('mbufs peak');
    const peaks = Number(await page.evaluate("Math.max(...window.zcsimDashboard.data['chart-mbufs'][2])"));
    expect(peaks).toBeGreaterThan(0);

    // Compare on the small file: one bar per route for each metric, the file named while it runs.
    await page.locator('button[data-file="hello.txt"]').click();
    expect(await page.locator('#compare-status').textContent()).toMatch(/^loading hello\.txt .*…$/);
    await page.waitForSelector('#compare-bars', { timeout: 30_000 });
    const bars = await page
      .locator('#compare-bars .bar')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-route')));
    expect(bars.filter((r) => r === 'zerocopy')).toHaveLength(6);
    const titles = await page.locator('#compare-bars .metric h3').allTextContents();
    expect(titles.some((t) => t.startsWith('latency p50'))).toBe(true);
    expect(titles.some((t) => t.startsWith('latency p99'))).toBe(true);
    const ratio = (route: string): string => `([\\d.]+× |1/[\\d.]+ of )/${route}`;
    for (const t of titles.slice(0, 2))
      expect(t).toMatch(new RegExp(`/zerocopy: ${ratio('copy')} · ${ratio('stream')}$`));
    expect(await page.locator('#compare-errors').textContent()).toMatch(
      /^errors: \/zerocopy 0 · \/copy 0 · \/stream 0$/,
    );
    expect(await page.locator('#compare-bars .noise').textContent()).toContain('shared machine is noisy');
    expect(new Set(bars)).toEqual(new Set(['zerocopy', 'copy', 'stream']));
    for (const t of titles) expect(t).not.toMatch(/(^|[^\d])0\.0×/);
    expect(await page.locator('#compare-status').textContent()).not.toContain('(Compare)');
    // A ratio far below 1 reads as a fraction, never as 0.0×.
    expect(
      await page.evaluate(
        "[window.zcsimDashboard.ratioText(0.004, 1, 'copy', String), window.zcsimDashboard.ratioText(0, 1, 'copy', String)]",
      ),
    ).toEqual(['1/250 of /copy', 'none; /copy 1']);
    const values = await page.locator('#compare-bars .metric').nth(1).locator('.val').allTextContents();
    for (const v of values) expect(Number.parseFloat(v)).toBeGreaterThan(0);

    // Trace: pick a file and a route, press Trace, read the journey.
    await page.selectOption('#trace-file', 'data.bin');
    await page.selectOption('#trace-route', 'zerocopy');
    await page.locator('#trace-button').click();
    await page.waitForSelector('#trace-steps li', { timeout: 30_000 });
    expect(await page.locator('#trace-status').textContent()).toMatch(
      /^GET \/zerocopy\/data\.bin: 200, 293\.0 KiB on socket \d+, vm object \d+: \d+ kernel events in /,
    );
    const steps = await page.locator('#trace-steps li .lines').allTextContents();
    expect(steps[0]).toMatch(/^socreate so \d+/);
    expect(steps.some((l) => l.startsWith('sendfile(fd '))).toBe(true);
    expect(steps.some((l) => /^sf_buf_alloc page \d+ -> (direct map )?kva 0x/.test(l))).toBe(true);
    expect(steps.some((l) => /^tcp_output so \d+: \d+ bytes, \d+ mbufs as \d+ views/.test(l))).toBe(true);
    expect(steps.some((l) => l.includes('sendfile_free_mext'))).toBe(true);
    expect(steps[steps.length - 1]).toMatch(/^soclose so \d+$/);
    // Its 74 pages go in one chunk: the per-page steps fold into counts.
    expect(await page.locator('#trace-steps li .n').allTextContents()).toContain(
      `×${Math.ceil(300_000 / 4096)}`,
    );

    // Download .pcapng: the same request on the model's wire, saved as a file.
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: 30_000 }),
      page.locator('#capture-button').click(),
    ]);
    expect(download.suggestedFilename()).toBe('zerocopy-data.bin.pcapng');
    const saved = readFileSync((await download.path()) as string);
    expect(saved.readUInt32LE(0)).toBe(0x0a0d0d0a);
    expect(saved.includes(Buffer.from('GET /zerocopy/data.bin HTTP/1.1'))).toBe(true);

    await page.waitForTimeout(600);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'dashboard.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
    expect((await atRestSoon(srv.server)).leaks).toEqual([]);
  });

  it('is readable at 400 px without horizontal scrolling, and has a favicon', async () => {
    const page = await browser.newPage({ viewport: { width: 400, height: 900 } });
    const errors: string[] = [];
    const missing: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('response', (r) => {
      if (r.status() >= 400) missing.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(srv.origin);
    await page.waitForFunction('Number(document.body.dataset.updates ?? 0) >= 2');
    await page.waitForSelector('#files tbody tr');
    expect(Number(await page.evaluate('document.documentElement.scrollWidth'))).toBeLessThanOrEqual(400);
    // Every cell of the routes table, the statuses included, is inside the page's width.
    const cells = await page
      .locator('#routes td')
      .evaluateAll((tds) =>
        tds.map((td) => ({ text: td.textContent, right: td.getBoundingClientRect().right })),
      );
    expect(cells.length).toBe(3 * 7);
    for (const c of cells) expect(c.right, String(c.text)).toBeLessThanOrEqual(400);
    await page.locator('.card.routes').screenshot({ path: join(OUTPUT, 'dashboard-400px-routes.png') });
    const favicon = await page.request.get(`${srv.origin}/favicon.ico`);
    expect(favicon.status()).toBe(200);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'dashboard-400px.png'), fullPage: true });
    expect(missing).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});
