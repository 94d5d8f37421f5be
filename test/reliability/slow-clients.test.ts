// Goal: 200 clients reading 1 KiB/s do not starve 20 clients downloading at full speed, and what
// the slow ones pin stays bounded: every fast client gets its downloads, whole, while the slow
// readers hold their connections, and the wired pages never exceed what the open send buffers can
// hold (per socket: sb_hiwat in pages, plus one page a chunk may straddle and one being paged in).
// How fast the fast clients go beside the slow ones is measured by the benchmark
// (`npm run bench -- --scenario slow-clients`), not here.
// Method: one server over the simulated kernel (32 KiB send buffers); the 200 slow readers
// (socket.read of 256 bytes every 250 ms, each asking for the rest of a 16 MiB file from its own
// offset, 40 KiB apart, so that their pages are not the same pages: a page wired by many sockets
// counts once). The host's loopback TCP first soaks up a few MiB per slow connection at full
// speed (its buffers autotune; Node cannot set SO_RCVBUF), so the fast clients start once that
// fill is over: the steady state of 200 stalled readers, whose send buffers stay full and whose
// pages stay wired. Then each fast client downloads FAST_DOWNLOADS files. The kernel's peaks
// (stats().peaks, reset by each read) give the most pages wired in between. At the end every
// client goes away and the kernel must be at rest.
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/kern/index.js';
import { HttpClient, SlowReader } from '../../src/load/index.js';
import { patternBytes } from '../http/fixture.js';
import { atRestSoon, type Running } from '../http/helpers.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';
import { startReliabilityServer } from './server.js';

const SLOW_CLIENTS = 200;
const FAST_CLIENTS = 20;
/** Downloads of the 1 MiB file by each fast client while the slow readers hold on. */
const FAST_DOWNLOADS = 5;
const SLOW_BYTES_PER_SECOND = 1024;
const SNDBUF_BYTES = 32 * 1024;
/** Filled: most of the stalled readers' send buffers are full, their pages wired. */
const FILLED_WIRED_PAGES = (SLOW_CLIENTS * SNDBUF_BYTES) / PAGE_SIZE / 2;
/** The longest wait for the host's buffers of the slow connections to fill. */
const FILL_MS_MAX = 60_000;

const base = tempDir('zcsim-slow');
const fastBody = patternBytes(1024 * 1024 + 3, 21);
const slowBody = patternBytes(16 * 1024 * 1024, 22);
writeFileSync(join(base, 'fast.bin'), fastBody);
writeFileSync(join(base, 'slow.bin'), slowBody);
const fastSha = createHash('sha256').update(fastBody).digest('hex');
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Each fast client downloads fast.bin FAST_DOWNLOADS times, back to back; returns the bytes. */
async function fastClients(port: number, errors: string[]): Promise<number> {
  let bytes = 0;
  await Promise.all(
    Array.from({ length: FAST_CLIENTS }, async () => {
      const peer = await HttpClient.connect(port);
      for (let i = 0; i < FAST_DOWNLOADS; i++) {
        const r = await peer.request('/zerocopy/fast.bin', { timeoutMs: 30_000 });
        if (!r.complete || r.status !== 200 || r.sha256 !== fastSha) {
          errors.push(`fast client: status ${r.status}, cut ${r.cut}, ${r.bodyBytes} bytes`);
          break;
        }
        bytes += r.bodyBytes;
      }
      peer.close();
    }),
  );
  return bytes;
}

describe('slow clients', () => {
  let srv: Running | null = null;
  afterAll(async () => {
    await srv?.server.close();
  });

  it(`${SLOW_CLIENTS} clients at 1 KiB/s beside ${FAST_CLIENTS} fast ones`, async () => {
    srv = await startReliabilityServer({
      root: base,
      kernel: { physmemBytes: 64 * 1024 * 1024, sndbufBytes: SNDBUF_BYTES, invariants: false },
    });
    const errors: string[] = [];
    const k = srv.server.kernel;
    // This read resets the peaks: those read at the end are the slow readers' and the fast clients'.
    k.stats();
    const slow: SlowReader[] = [];
    for (let i = 0; i < SLOW_CLIENTS; i += 50) {
      const batch = Array.from({ length: 50 }, (_, j) =>
        SlowReader.open(srv!.port, '/zerocopy/slow.bin', SLOW_BYTES_PER_SECOND, {
          extraHeaders: `Range: bytes=${(i + j) * 40960}-\r\n`,
        }),
      );
      slow.push(...(await Promise.all(batch)));
    }
    const filled = (): boolean =>
      k.sockets.counters().so_open >= SLOW_CLIENTS && k.vm.stats.v_wire_count >= FILLED_WIRED_PAGES;
    await waitFor(
      filled,
      () =>
        `the slow readers' send buffers to fill (${k.sockets.counters().so_open} sockets open, ` +
        `${k.vm.stats.v_wire_count} of ${FILLED_WIRED_PAGES} pages wired)`,
      FILL_MS_MAX,
    );
    const openWithSlow = k.sockets.counters().so_open;
    const fastBytes = await fastClients(srv.port, errors);
    const wiredPeak = k.stats().peaks.v_wire_count;
    for (const s of slow) s.stop();
    const verdict = await atRestSoon(srv.server);
    expect(errors).toEqual([]);
    expect(fastBytes).toBe(FAST_CLIENTS * FAST_DOWNLOADS * fastBody.length);
    expect(openWithSlow).toBeGreaterThanOrEqual(SLOW_CLIENTS);
    // At most every slow reader's and every fast client's socket open at once, each full.
    const pagesPerSocket = Math.ceil(SNDBUF_BYTES / PAGE_SIZE) + 2;
    expect(wiredPeak, 'most pages wired at once').toBeLessThanOrEqual(
      (SLOW_CLIENTS + FAST_CLIENTS) * pagesPerSocket,
    );
    // The stalled readers' send buffers are full: most of their pages are wired, none beyond.
    expect(wiredPeak).toBeGreaterThanOrEqual(FILLED_WIRED_PAGES);
    expect(verdict.leaks).toEqual([]);
  }, 120_000);
});
