// Goal: the HTTP server over the simulated kernel holds 1,000 concurrent keep-alive connections
// downloading a mix of file sizes (whole files and ranges, sendfile and copy routes) for a bounded
// time while a share of them abort midway (TCP reset or close): no error beyond the aborted ones,
// every completed body hashes right, RSS stays within a stated bound, and the kernel is at rest
// afterwards.
// Method: 1,000 raw HTTP/1.1 clients (src/load) on 127.0.0.1, all connected before the first
// request; each loops until the deadline, choosing file, route, range and abort from a seeded
// PRNG. The kernel runs without the O(n) debug checks (64 MiB of pages checked after every page
// operation would take minutes); the smaller tests run with them, and the at-rest check here is
// the same. Bounds: LOAD_MS of load, then at most DRAIN_MS for the last responses.
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createPrng, type Prng } from '../../src/kern/index.js';
import { HttpClient } from '../../src/load/index.js';
import { patternBytes } from '../http/fixture.js';
import { atRestSoon, type Running } from '../http/helpers.js';
import { tempDir } from '../support/tmp.js';
import { startReliabilityServer } from './server.js';

const CONNECTIONS = 1000;
const LOAD_MS = Number(process.env.LOAD_MS ?? 8000);
const DRAIN_MS = 15_000;
/** The share of requests a peer aborts midway, in percent. */
const ABORT_PCT = 10;
/** RSS may grow by at most this much over the process's RSS before the test. */
const RSS_GROWTH_MAX_BYTES = 768 * 1024 * 1024;
const SEED = Number(process.env.SIM_SEED ?? 424242);

const FILES: Readonly<Record<string, number>> = {
  'tiny.txt': 1024,
  'small.bin': 16 * 1024,
  'mid.bin': 256 * 1024 + 17,
  'large.bin': 1024 * 1024 + 5,
};
const NAMES = Object.keys(FILES);

const base = tempDir('zcsim-load');
const contents = new Map<string, Buffer>();
for (const [i, name] of NAMES.entries()) {
  const b = patternBytes(FILES[name]!, 11 + i);
  contents.set(name, b);
  writeFileSync(join(base, name), b);
}
afterAll(() => rmSync(base, { recursive: true, force: true }));

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

interface Tally {
  completed: number;
  aborted: number;
  bytesVerified: number;
  errors: string[];
}

/** One request, chosen from the PRNG; checks what came back. */
async function oneRequest(peer: HttpClient, prng: Prng, t: Tally): Promise<boolean> {
  const name = NAMES[prng.intInclusive(0, NAMES.length - 1)]!;
  const body = contents.get(name)!;
  const route = prng.chancePct(75) ? 'zerocopy' : 'copy';
  let start = 0;
  let end = body.length - 1;
  const headers: Record<string, string> = {};
  if (prng.chancePct(20)) {
    start = prng.intInclusive(0, body.length - 1);
    end = prng.intInclusive(start, body.length - 1);
    headers.Range = `bytes=${start}-${end}`;
  }
  const abort = prng.chancePct(ABORT_PCT) && end - start > 4096;
  const r = await peer.request(`/${route}/${name}`, {
    headers,
    timeoutMs: 20_000,
    ...(abort
      ? {
          abortAfterBytes: prng.intInclusive(1, end - start),
          abortHow: prng.chancePct(50) ? 'reset' : 'close',
        }
      : {}),
  });
  if (r.cut === 'aborted') {
    t.aborted++;
    return false;
  }
  const want = headers.Range === undefined ? 200 : 206;
  if (!r.complete || r.status !== want) {
    t.errors.push(
      `${route}/${name} ${headers.Range ?? ''}: status ${r.status}, cut ${r.cut}, ${r.bodyBytes} bytes`,
    );
    return false;
  }
  if (r.sha256 !== sha(body.subarray(start, end + 1))) {
    t.errors.push(`${route}/${name} ${headers.Range ?? ''}: wrong body`);
    return false;
  }
  t.completed++;
  t.bytesVerified += r.bodyBytes;
  return true;
}

/** A peer's life: requests until the deadline; after its own abort it reconnects. */
async function peerLoop(
  port: number,
  first: HttpClient,
  prng: Prng,
  deadline: number,
  t: Tally,
): Promise<void> {
  let peer = first;
  for (let i = 0; i < 100_000 && performance.now() < deadline; i++) {
    const ok = await oneRequest(peer, prng, t);
    if (!ok) {
      peer.close();
      peer = await HttpClient.connect(port);
    }
  }
  peer.close();
}

async function connectAll(port: number): Promise<HttpClient[]> {
  const peers: HttpClient[] = [];
  for (let i = 0; i < CONNECTIONS; i += 100) {
    peers.push(...(await Promise.all(Array.from({ length: 100 }, () => HttpClient.connect(port)))));
  }
  return peers;
}

describe('load over loopback', () => {
  let srv: Running | null = null;
  afterAll(async () => {
    await srv?.server.close();
  });

  it(`${CONNECTIONS} keep-alive connections, ${ABORT_PCT}% aborting midway, for ${LOAD_MS} ms`, async () => {
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 100);
    srv = await startReliabilityServer({
      root: base,
      kernel: { physmemBytes: 64 * 1024 * 1024, invariants: false },
    });
    const peers = await connectAll(srv.port);
    const held = peers.filter((p) => !p.closed).length;
    const t: Tally = { completed: 0, aborted: 0, bytesVerified: 0, errors: [] };
    const deadline = performance.now() + LOAD_MS;
    const prng = createPrng(SEED);
    const loops = peers.map((p) => peerLoop(srv!.port, p, createPrng(prng.nextU32()), deadline, t));
    const drained = await Promise.race([
      Promise.all(loops).then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), LOAD_MS + DRAIN_MS)),
    ]);
    clearInterval(sampler);
    const verdict = await atRestSoon(srv.server);
    const routes = srv.server.zcsim.routes;
    expect(held).toBe(CONNECTIONS);
    expect(drained, 'every peer finished within the drain bound').toBe(true);
    expect(t.errors.slice(0, 10)).toEqual([]);
    expect(t.completed).toBeGreaterThan(CONNECTIONS);
    expect(t.aborted).toBeGreaterThan(0);
    expect(routes.zerocopy.errors + routes.copy.errors).toBe(0);
    expect(rssPeak - rssBefore).toBeLessThan(RSS_GROWTH_MAX_BYTES);
    expect(verdict.leaks).toEqual([]);
  }, 90_000);
});
