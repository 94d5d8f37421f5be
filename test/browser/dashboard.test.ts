// Goal: the dashboard works in a real browser: the charts move while a download runs, the file
// table links every route, and Compare draws the three routes side by side.
// Method: Chromium (see chromium-setup.ts) driven by playwright-core against a real server on
// 127.0.0.1 port 0; downloads run from the test while the page listens to /events; a screenshot
// is saved under test-output/ for people to look at.
import { mkdirSync, writeFileSync } from 'node:fs';
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
    expect(await page.locator('#routes tbody tr').count()).toBe(3);

    // Compare on the small file: one bar per route for each metric.
    await page.locator('button[data-file="hello.txt"]').click();
    await page.waitForSelector('#compare-bars', { timeout: 30_000 });
    const bars = await page
      .locator('#compare-bars .bar')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-route')));
    expect(bars.filter((r) => r === 'zerocopy')).toHaveLength(4);
    expect(new Set(bars)).toEqual(new Set(['zerocopy', 'copy', 'stream']));
    const values = await page.locator('#compare-bars .metric').nth(1).locator('.val').allTextContents();
    for (const v of values) expect(Number.parseFloat(v)).toBeGreaterThan(0);

    await page.waitForTimeout(600);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'dashboard.png'), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
    expect((await atRestSoon(srv.server)).leaks).toEqual([]);
  });
});
