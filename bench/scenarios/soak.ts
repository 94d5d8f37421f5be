// The soak run (`npm run soak` = `npm run bench -- --scenario soak`, not part of `npm test`): the HTTP demo over the simulated kernel
// for minutes under mixed load with faults on. Page-ins fail with EIO (seeded, by chance) in a
// physical memory smaller than the served files; peers abort midway (reset or close), stall, read
// at 1 KiB/s, or send hostile requests; the rest download whole files and ranges on the three
// routes and hash every body. Prints requests served, errors by kind, faults injected by kind,
// bytes verified, peak RSS, and at the end the kernel's at-rest check. Exits non-zero on a leak
// (the kernel not at rest once every client has gone) or on a wrong body.
//
//   npm run soak -- [--duration 180] [--clients 200] [--seed 424242] [--eio-pct 1] [--physmem 32M]
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildServer, type ZcsimServer } from '../../src/http/index.js';
import { createPrng, formatBytes, type Prng } from '../../src/kern/index.js';
import {
  type ClientResponse,
  HttpClient,
  listenLoopback,
  patternBytes,
  SlowReader,
} from '../../src/load/index.js';
import type { SoakOptions } from '../lib/options.js';

/** After the deadline: the longest wait for clients to finish, and for the kernel to come to rest. */
const FINISH_MS_MAX = 30_000;
const REST_MS_MAX = 20_000;
/** Time between two clients' starts. */
const RAMP_MS = 10;

const SIZES = [
  1024,
  7 * 1024 + 3,
  64 * 1024,
  300 * 1024 + 11,
  1024 * 1024,
  4 * 1024 * 1024 + 5,
  16 * 1024 * 1024,
];
const HOSTILE = [
  'GET /zerocopy/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /copy/%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n',
  'GET /zerocopy/f0.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=9-1\r\n\r\n',
  'GET /zerocopy/f0.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-99999999999999999999\r\n\r\n',
  `GET /zerocopy/${'a'.repeat(5000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
  `GET /stream/f1.bin HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(70_000)}\r\n\r\n`,
  'BREW /zerocopy/f0.bin HTTP/1.1\r\nHost: x\r\n\r\n',
];

interface Tally {
  requests: number;
  completed: number;
  bytesVerified: number;
  errors: Map<string, number>;
  peerFaults: Map<string, number>;
}

function bump(m: Map<string, number>, key: string): void {
  m.set(key, (m.get(key) ?? 0) + 1);
}

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function makeRoot(prng: Prng): { root: string; files: Buffer[] } {
  const root = mkdtempSync(join(tmpdir(), 'zcsim-soak-'));
  const files = SIZES.concat(SIZES).map((size, i) => {
    const b = patternBytes(size, prng.nextU32());
    writeFileSync(join(root, `f${i}.bin`), b);
    wholeSha.set(b, sha(b));
    return b;
  });
  return { root, files };
}

/** SHA-256 of each whole file, computed once: hashing 16 MiB per response would hog the loop. */
const wholeSha = new WeakMap<Buffer, string>();

/** Checks a normal response: whole and right, or cut by the server (an injected EIO) cleanly. */
function verify(r: ClientResponse, want: Buffer, status: number, t: Tally): boolean {
  if (r.complete && r.status === status) {
    if (r.sha256 !== (wholeSha.get(want) ?? sha(want))) {
      bump(t.errors, 'wrong_body');
      return false;
    }
    t.completed++;
    t.bytesVerified += r.bodyBytes;
    return true;
  }
  if (r.cut === 'timeout') bump(t.errors, 'timeout');
  else if (r.complete) bump(t.errors, `status_${r.status}`);
  else if (r.sha256 !== sha(want.subarray(0, r.bodyBytes))) bump(t.errors, 'wrong_bytes_before_cut');
  else bump(t.errors, 'cut_by_server');
  return false;
}

async function normalRequest(peer: HttpClient, files: Buffer[], prng: Prng, t: Tally): Promise<boolean> {
  const i = prng.intInclusive(0, files.length - 1);
  const body = files[i]!;
  const route = ['zerocopy', 'zerocopy', 'copy', 'stream'][prng.intInclusive(0, 3)]!;
  let start = 0;
  let end = body.length - 1;
  const headers: Record<string, string> = {};
  if (prng.chancePct(15)) {
    start = prng.intInclusive(0, end);
    end = prng.intInclusive(start, end);
    headers.Range = `bytes=${start}-${end}`;
  }
  t.requests++;
  const r = await peer.request(`/${route}/f${i}.bin`, { headers, timeoutMs: 60_000 });
  return verify(
    r,
    headers.Range === undefined ? body : body.subarray(start, end + 1),
    headers.Range === undefined ? 200 : 206,
    t,
  );
}

/** One misbehaving peer, on a connection of its own. */
async function badPeer(port: number, kind: string, prng: Prng, t: Tally): Promise<void> {
  bump(t.peerFaults, kind);
  t.requests++;
  if (kind === 'hostile') {
    const p = await HttpClient.connect(port);
    const which = prng.intInclusive(0, HOSTILE.length - 1);
    const r = await p.raw(HOSTILE[which]!, { timeoutMs: 30_000 });
    p.close();
    if (r.status < 400 || r.status >= 500) {
      bump(t.errors, `hostile_${which}_got_${r.status}${r.cut === null ? '' : `_${r.cut}`}`);
    }
  } else if (kind === 'reset' || kind === 'close') {
    const p = await HttpClient.connect(port);
    const r = await p.request('/zerocopy/f6.bin', {
      abortAfterBytes: prng.intInclusive(1, 8 << 20),
      abortHow: kind,
    });
    // The server may cut it first (an injected EIO): then it is that, not the peer's abort.
    if (r.cut !== 'aborted')
      bump(t.errors, r.cut === 'closed' && !r.complete ? 'cut_by_server' : `${kind}_not_aborted`);
    p.close();
  } else {
    // 'stall' never reads; 'slow' reads 1 KiB/s; each for 2-5 s, then goes away.
    const s = await SlowReader.open(
      port,
      `/zerocopy/f${prng.intInclusive(0, 13)}.bin`,
      kind === 'slow' ? 1024 : 0,
    );
    await new Promise((r) => setTimeout(r, prng.intInclusive(2000, 5000)));
    s.stop();
  }
}

async function client(port: number, files: Buffer[], prng: Prng, deadline: number, t: Tally): Promise<void> {
  let peer: HttpClient | null = null;
  for (let i = 0; i < 10_000_000 && performance.now() < deadline; i++) {
    try {
      const roll = prng.intInclusive(0, 999);
      const kind =
        roll < 20
          ? 'hostile'
          : roll < 35
            ? 'reset'
            : roll < 50
              ? 'close'
              : roll < 55
                ? 'stall'
                : roll < 60
                  ? 'slow'
                  : null;
      if (kind !== null) {
        await badPeer(port, kind, prng, t);
        continue;
      }
      peer ??= await HttpClient.connect(port);
      if (!(await normalRequest(peer, files, prng, t)) || peer.closed) {
        peer.close();
        peer = null;
      }
    } catch (e) {
      bump(t.errors, `client_${(e as { code?: string }).code ?? 'exception'}`);
      peer?.close();
      peer = null;
    }
  }
  peer?.close();
}

function mib(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

function progress(server: ZcsimServer, t: Tally, startMs: number, rssPeak: number): string {
  const s = server.kernel.stats() as unknown as {
    vm: { v_wire_count: number };
    sockets: { so_open: number };
  };
  const errors = [...t.errors.values()].reduce((a, b) => a + b, 0);
  return (
    `${((performance.now() - startMs) / 1000).toFixed(0)} s: ${t.completed} served, ${mib(t.bytesVerified)} verified, ` +
    `${errors} errors, sockets ${s.sockets.so_open}, wired ${s.vm.v_wire_count} pages, RSS ${mib(process.memoryUsage().rss)} (peak ${mib(rssPeak)})`
  );
}

async function waitAtRest(server: ZcsimServer): Promise<{ atRest: boolean; leaks: string[] }> {
  const start = performance.now();
  for (;;) {
    const v = server.kernel.atRest();
    if (v.atRest || performance.now() - start > REST_MS_MAX) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

function report(
  o: SoakOptions,
  server: ZcsimServer,
  t: Tally,
  rssPeak: number,
  connectionsPeak: number,
  verdict: { atRest: boolean; leaks: string[] },
) {
  const routes = server.zcsim.routes;
  const faults = server.kernel.faultCounters?.() ?? { pager_reads: 0, pager_eio: 0 };
  const lines = [
    `soak: ${o.durationSeconds.toFixed(0)} s, ${o.clients} clients, seed ${o.seed}, physmem ${formatBytes(o.physmemBytes)}, pager EIO ${o.eioPct}%`,
    `requests: ${t.requests} sent, ${t.completed} served whole and verified, ${mib(t.bytesVerified)} verified (SHA-256)`,
    `errors by kind: ${JSON.stringify(Object.fromEntries(t.errors))}`,
    `faults injected: pager_eio ${faults.pager_eio} of ${faults.pager_reads} pager reads; peers ${JSON.stringify(Object.fromEntries(t.peerFaults))}`,
    `server counters: ${(['zerocopy', 'copy', 'stream'] as const).map((r) => `${r} ${JSON.stringify({ ...routes[r], responses: undefined })}`).join('; ')}`,
    `connections held: peak ${connectionsPeak} at once; peak RSS: ${mib(rssPeak)}`,
    `at rest: ${verdict.atRest ? 'yes (no sf_buf, mbuf, cluster or wired page in use, no sleeper, every socket buffer empty)' : `NO\n  ${verdict.leaks.join('\n  ')}`}`,
  ];
  console.log(lines.join('\n'));
}

/** Runs the soak; resolves to the exit code (1 on a leak or a wrong body). */
export async function runSoak(o: SoakOptions): Promise<number> {
  const prng = createPrng(o.seed);
  const { root, files } = makeRoot(prng);
  const server = await buildServer({
    root,
    kernel: {
      physmemBytes: o.physmemBytes,
      faults: { pagerEioPct: o.eioPct },
      seed: o.seed,
      invariants: false,
    },
  });
  // The clients live in the server's process, and Node (libuv 1.46) accepts one connection per
  // event-loop turn when the loop is busy: a burst of new connections waits in the accept queue,
  // so it gets room for all of them.
  const port = await listenLoopback(server, 4096);
  const t: Tally = { requests: 0, completed: 0, bytesVerified: 0, errors: new Map(), peerFaults: new Map() };
  let rssPeak = process.memoryUsage().rss;
  const startMs = performance.now();
  // Node accepts one connection per event-loop turn when the loop is busy: its turns bound how
  // fast new connections are served, so their length is reported.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  let connectionsPeak = 0;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    server.server.getConnections((err, n) => {
      if (err === null) connectionsPeak = Math.max(connectionsPeak, n);
    });
  }, 100);
  const ticker = setInterval(() => console.log(progress(server, t, startMs, rssPeak)), 10_000);
  const durationMs = o.durationSeconds * 1000;
  const deadline = startMs + durationMs;
  // Clients start RAMP_MS apart: 200 connections at once would queue behind one accept per turn.
  const clients = Array.from({ length: o.clients }, (_, i) => {
    const clientPrng = createPrng(prng.nextU32());
    return new Promise<void>((r) => setTimeout(r, i * RAMP_MS)).then(() =>
      client(port, files, clientPrng, deadline, t),
    );
  });
  const finished = await Promise.race([
    Promise.all(clients).then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), durationMs + FINISH_MS_MAX)),
  ]);
  if (!finished) bump(t.errors, 'clients_not_finished');
  clearInterval(ticker);
  const verdict = await waitAtRest(server);
  clearInterval(sampler);
  loopDelay.disable();
  report(o, server, t, rssPeak, connectionsPeak, verdict);
  console.log(
    `event loop delay: p50 ${(loopDelay.percentile(50) / 1e6).toFixed(0)} ms, p99 ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms, max ${(loopDelay.max / 1e6).toFixed(0)} ms`,
  );
  await server.close();
  rmSync(root, { recursive: true, force: true });
  const wrong = (t.errors.get('wrong_body') ?? 0) + (t.errors.get('wrong_bytes_before_cut') ?? 0);
  return verdict.atRest && wrong === 0 ? 0 : 1;
}
