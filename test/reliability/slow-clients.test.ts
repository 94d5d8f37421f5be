// Goal: 200 clients reading 1 KiB/s do not starve 20 clients downloading at full speed, and what
// the slow ones pin stays bounded: the fast clients keep at least FAST_SHARE_MIN of the throughput
// they get alone, and the wired pages never exceed what the open send buffers can hold
// (per socket: sb_hiwat in pages, plus one page a chunk may straddle and one being paged in).
// Method: one server over the simulated kernel (32 KiB send buffers); first the 20 fast clients
// alone for PHASE_MS (their solo throughput, measured in this same test), then the 200 slow
// readers (socket.read of 256 bytes every 250 ms, each asking for the rest of a 16 MiB file from
// its own offset, 40 KiB apart, so that their pages are not the same pages: a page wired by many
// sockets counts once). The host's loopback TCP first soaks up a few MiB per slow connection at full speed
// (its buffers autotune; Node cannot set SO_RCVBUF), so the fast phase starts once that fill is
// over (bounded by FILL_MS_MAX): the steady state of 200 stalled readers, whose send buffers stay
// full. Then the 20 fast clients run again for PHASE_MS. Wired pages and open kernel sockets are
// sampled every 20 ms. At the end every client goes away and the kernel must be at rest.
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/kern/index.js';
import { HttpClient, SlowReader } from '../../src/load/index.js';
import { patternBytes } from '../http/fixture.js';
import { atRestSoon, type Running } from '../http/helpers.js';
import { tempDir } from '../support/tmp.js';
import { startReliabilityServer } from './server.js';

const SLOW_CLIENTS = 200;
const FAST_CLIENTS = 20;
const SLOW_BYTES_PER_SECOND = 1024;
const PHASE_MS = 3000;
const SNDBUF_BYTES = 32 * 1024;
/** The fast clients must keep at least this share of their solo throughput (conservative). */
const FAST_SHARE_MIN = 0.15;
/** The longest wait for the host's buffers of the slow connections to fill. */
const FILL_MS_MAX = 20_000;
/** Filled: the kernel sends less than this per 250 ms (200 readers at 1 KiB/s take 50 KiB). */
const FILL_QUIET_BYTES = 1024 * 1024;

const base = tempDir('zcsim-slow');
const fastBody = patternBytes(1024 * 1024 + 3, 21);
const slowBody = patternBytes(16 * 1024 * 1024, 22);
writeFileSync(join(base, 'fast.bin'), fastBody);
writeFileSync(join(base, 'slow.bin'), slowBody);
const fastSha = createHash('sha256').update(fastBody).digest('hex');
afterAll(() => rmSync(base, { recursive: true, force: true }));

interface KernelView {
  vm: { v_wire_count: number };
  sockets: { so_open: number; tcps_sndbyte: number };
}

/** Waits until the kernel's output slows to the slow readers' pace, `open` sockets being open. */
async function waitFilled(stats: () => KernelView, open: number): Promise<number> {
  const start = performance.now();
  let last = stats().sockets.tcps_sndbyte;
  while (performance.now() - start < FILL_MS_MAX) {
    await new Promise((r) => setTimeout(r, 250));
    const s = stats().sockets;
    const delta = s.tcps_sndbyte - last;
    last = s.tcps_sndbyte;
    if (s.so_open >= open && delta < FILL_QUIET_BYTES) break;
  }
  return performance.now() - start;
}

/** The fast clients download fast.bin back to back for `ms`; returns verified bytes per second. */
async function fastPhase(port: number, ms: number, errors: string[]): Promise<number> {
  const deadline = performance.now() + ms;
  const start = performance.now();
  let bytes = 0;
  await Promise.all(
    Array.from({ length: FAST_CLIENTS }, async () => {
      const peer = await HttpClient.connect(port);
      for (let i = 0; i < 10_000 && performance.now() < deadline; i++) {
        const r = await peer.request('/zerocopy/fast.bin', { timeoutMs: 20_000 });
        if (!r.complete || r.status !== 200 || r.sha256 !== fastSha) {
          errors.push(`fast client: status ${r.status}, cut ${r.cut}, ${r.bodyBytes} bytes`);
          break;
        }
        bytes += r.bodyBytes;
      }
      peer.close();
    }),
  );
  return bytes / ((performance.now() - start) / 1000);
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
    const solo = await fastPhase(srv.port, PHASE_MS, errors);
    const stats = (): KernelView => srv!.server.kernel.stats() as unknown as KernelView;
    let wiredPeak = 0;
    let boundAtPeak = 0;
    let overBound = 0;
    const pagesPerSocket = Math.ceil(SNDBUF_BYTES / PAGE_SIZE) + 2;
    const sampler = setInterval(() => {
      const s = stats();
      const bound = s.sockets.so_open * pagesPerSocket;
      if (s.vm.v_wire_count > bound) overBound++;
      if (s.vm.v_wire_count >= wiredPeak) {
        wiredPeak = s.vm.v_wire_count;
        boundAtPeak = bound;
      }
    }, 20);
    const slow: SlowReader[] = [];
    for (let i = 0; i < SLOW_CLIENTS; i += 50) {
      const batch = Array.from({ length: 50 }, (_, j) =>
        SlowReader.open(srv!.port, '/zerocopy/slow.bin', SLOW_BYTES_PER_SECOND, {
          extraHeaders: `Range: bytes=${(i + j) * 40960}-\r\n`,
        }),
      );
      slow.push(...(await Promise.all(batch)));
    }
    const fillMs = await waitFilled(stats, SLOW_CLIENTS);
    const openWithSlow = stats().sockets.so_open;
    const loaded = await fastPhase(srv.port, PHASE_MS, errors);
    clearInterval(sampler);
    const slowRead = slow.reduce((n, s) => n + s.bytesRead, 0);
    for (const s of slow) s.stop();
    const verdict = await atRestSoon(srv.server, 10_000);
    const share = loaded / solo;
    console.log(
      `slow clients: fast solo ${(solo / 2 ** 20).toFixed(1)} MiB/s, beside ${SLOW_CLIENTS} slow ` +
        `${(loaded / 2 ** 20).toFixed(1)} MiB/s (share ${(share * 100).toFixed(0)}%, min ${FAST_SHARE_MIN * 100}%); ` +
        `${openWithSlow} kernel sockets open with the slow readers (host buffers filled in ${(fillMs / 1000).toFixed(1)} s); wired peak ${wiredPeak} pages, bound then ` +
        `${boundAtPeak}; slow readers read ${slowRead} bytes; at rest: ${verdict.atRest}`,
    );
    expect(errors).toEqual([]);
    expect(openWithSlow).toBeGreaterThanOrEqual(SLOW_CLIENTS);
    expect(share).toBeGreaterThan(FAST_SHARE_MIN);
    expect(overBound, 'samples with more wired pages than the send buffers can hold').toBe(0);
    // The stalled readers' send buffers are full: most of their pages are wired, none beyond.
    expect(wiredPeak).toBeGreaterThan((SLOW_CLIENTS * SNDBUF_BYTES) / PAGE_SIZE / 2);
    expect(verdict.leaks).toEqual([]);
  }, 60_000);
});
