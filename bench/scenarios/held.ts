// Clients held open at once against one zcsim server, for a bounded time, while the server's
// /stats (wired pages, send buffers) and RSS are sampled every 200 ms:
// - slow-clients: 100 clients each read a 1 GiB file at 128 KiB/s;
// - many-clients: 1,000 keep-alive connections download a 1 MiB file at once, again and again.
// Holds when the wired bytes never exceed the sum of the clients' send buffers and the RSS stays
// under the simulated physical memory plus a slack; afterwards, once the clients are gone, the
// kernel must come back to rest (nothing wired, no sf_buf or mbuf in use). In slow-clients, 20
// fast keep-alive clients download a 1 MiB file alone first, then again beside the slow readers:
// they must keep a share of their throughput and answer within a latency bound.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatBytes } from '../../src/kern/index.js';
import {
  builtScript,
  ChildHandle,
  type HeldClientsRequest,
  type HeldClientsResult,
  LOADER_SCRIPT,
  type LoadRequest,
  type LoadResult,
} from '../../src/load/index.js';
import { type BenchFile, benchRoot, ensureFile } from '../lib/files.js';
import { machineInfo, machineLine } from '../lib/machine.js';
import type { HeldOptions } from '../lib/options.js';
import { type HttpSystem, type LiveServer, startSystem, type WiredSample } from '../lib/servers.js';

const SAMPLE_MS = 200;
/** The fast clients of slow-clients: how many, for how long each time, and what they must keep. */
const FAST_CLIENTS = 20;
const FAST_MS = 3000;
const FAST_SHARE_MIN = 0.15;
const FAST_P99_MS_MAX = 2000;
const PAGE_BYTES = 4096;
const MIB = 2 ** 20;

interface Held {
  readonly scenario: 'slow-clients' | 'many-clients';
  readonly fileBytes: number;
  readonly clients: number;
  /** null: as fast as the server sends, on keep-alive connections. */
  readonly readBytesPerSecond: number | null;
  readonly rssSlackBytes: number;
  readonly durationMs: number;
}

function heldFor(options: HeldOptions): Held {
  if (options.scenario === 'slow-clients')
    return {
      scenario: 'slow-clients',
      fileBytes: 1024 * MIB,
      clients: options.clients,
      readBytesPerSecond: 128 * 1024,
      rssSlackBytes: 150 * MIB,
      durationMs: (options.quick ? 10 : Math.max(30, options.durationSeconds * 6)) * 1000,
    };
  return {
    scenario: 'many-clients',
    fileBytes: MIB,
    clients: options.clients,
    readBytesPerSecond: null,
    rssSlackBytes: 200 * MIB,
    durationMs: (options.quick ? 5 : Math.max(10, options.durationSeconds * 2)) * 1000,
  };
}

/** One sample of the server: its wired pages and peaks (WiredSample), when it was taken. */
interface Sample extends WiredSample {
  atMs: number;
}

/** What the clients got: bytes in all, the least one client got, and wrong answers. */
interface Delivered {
  connected: number;
  bytesTotal: number;
  bytesMinPerClient: number | null;
  responses: number | null;
  cpuMicrosecondsPerResponse: number | null;
  /** Wrong answers and failed connections, all counted; the first few described. */
  badCount: number;
  badResponses: readonly string[];
  /** Responses the clients themselves cut when the drain's bound ran out (not the server's). */
  harnessCuts: number;
}

/** One sample (read inside the server process), or null when the server did not answer. */
async function sample(server: LiveServer, started: number): Promise<Sample | null> {
  const w = await server.wired().catch(() => null);
  return w === null ? null : { atMs: performance.now() - started, ...w };
}

interface Rest {
  atRest: boolean;
  leaks: unknown;
  /** The server's own count of what it cut or refused (from the last /stats). */
  cuts: ServerCuts | null;
}

/** Responses the server cut after their head (by reason) and connections it closed or refused. */
interface ServerCuts {
  aborted: number;
  file_changed: number;
  errors: number;
  send_timeouts: number;
  idle_timeouts: number;
  pool_503: number;
}

function serverCuts(stats: unknown, route: string): ServerCuts | null {
  const http = (stats as { http?: { routes?: Record<string, ServerCuts>; connections?: ServerCuts } } | null)
    ?.http;
  const r = http?.routes?.[route];
  const c = http?.connections;
  if (r === undefined || c === undefined) return null;
  return {
    aborted: r.aborted,
    file_changed: r.file_changed,
    errors: r.errors,
    send_timeouts: c.send_timeouts,
    idle_timeouts: c.idle_timeouts,
    pool_503: c.pool_503,
  };
}

async function waitAtRest(server: LiveServer, route: string, timeoutMs: number): Promise<Rest> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown = null;
  while (performance.now() < deadline) {
    last = await server.stats();
    if ((last as { atRest?: boolean } | null)?.atRest === true)
      return { atRest: true, leaks: [], cuts: serverCuts(last, route) };
    await new Promise((r) => setTimeout(r, 200));
  }
  const leaks = (last as { leaks?: unknown } | null)?.leaks ?? 'no /stats';
  return { atRest: false, leaks, cuts: serverCuts(last, route) };
}

/** The clients' run in the loader process: slow readers, or runLoad on keep-alive connections. */
async function clientsRun(
  loader: ChildHandle,
  server: LiveServer,
  file: BenchFile,
  held: Held,
): Promise<Delivered> {
  const urlPath = server.urlPath(file.name);
  if (held.readBytesPerSecond !== null) {
    const request: HeldClientsRequest = {
      port: server.port,
      urlPath,
      clients: held.clients,
      bytesPerSecondPerClient: held.readBytesPerSecond,
      durationMs: held.durationMs,
      expectedSizeBytes: file.sizeBytes,
    };
    const r = await loader.request<HeldClientsResult>('held', request, held.durationMs + 60_000);
    return {
      ...r,
      responses: null,
      cpuMicrosecondsPerResponse: null,
      badCount: r.badResponses.length,
      harnessCuts: 0,
    };
  }
  const request: LoadRequest = {
    port: server.port,
    urlPath,
    connections: held.clients,
    warmupMs: 0,
    durationMs: held.durationMs,
    expected: { sizeBytes: file.sizeBytes, sha256: file.sha256 },
  };
  const cpuBefore = await server.cpuSeconds();
  const r = await loader.request<LoadResult>('run', request, held.durationMs + 120_000);
  const cpuSeconds = (await server.cpuSeconds()) - cpuBefore;
  return {
    connected: r.connected,
    bytesTotal: r.payloadBytes,
    bytesMinPerClient: null,
    responses: r.requests,
    cpuMicrosecondsPerResponse: r.requests > 0 ? (cpuSeconds * 1e6) / r.requests : null,
    badCount: r.errorCount + r.hashFailed,
    badResponses: r.hashFailed > 0 ? [...r.errors, `${r.hashFailed} hashed bodies wrong`] : r.errors,
    harnessCuts: r.cutAfterDrain,
  };
}

/** The fast clients alone, then beside the slow readers (slow-clients only). */
interface Fast {
  alone: LoadResult;
  beside: LoadResult;
}

/** The fast clients' run: FAST_CLIENTS keep-alive connections downloading `file` for FAST_MS. */
function fastRun(loader: ChildHandle, server: LiveServer, file: BenchFile): Promise<LoadResult> {
  const request: LoadRequest = {
    port: server.port,
    urlPath: server.urlPath(file.name),
    connections: FAST_CLIENTS,
    warmupMs: 0,
    durationMs: FAST_MS,
    expected: { sizeBytes: file.sizeBytes, sha256: file.sha256 },
  };
  return loader.request<LoadResult>('run', request, FAST_MS + 120_000);
}

export async function runHeld(options: HeldOptions, dir: string): Promise<string> {
  const held = heldFor(options);
  const file = ensureFile(benchRoot(), held.fileBytes);
  const fastFile = held.scenario === 'slow-clients' ? ensureFile(benchRoot(), MIB) : null;
  const system = options.system as HttpSystem;
  const server = await startSystem(system, {
    root: benchRoot(),
    fileNames: fastFile === null ? [file.name] : [file.name, fastFile.name],
    physmemBytes: options.physmemBytes,
    sndbufBytes: options.sndbufBytes,
    nginxPath: null,
  });
  const loader = new ChildHandle(builtScript(LOADER_SCRIPT));
  const fastLoader = fastFile === null ? null : new ChildHandle(builtScript(LOADER_SCRIPT));
  const samples: Sample[] = [];
  let result: Delivered;
  let rest: Rest;
  let fast: Fast | null = null;
  try {
    const alone =
      fastLoader !== null && fastFile !== null ? await fastRun(fastLoader, server, fastFile) : null;
    const started = performance.now();
    const running = clientsRun(loader, server, file, held);
    // Beside the slow readers once their host buffers have had a third of the run to fill.
    const beside =
      fastLoader !== null && fastFile !== null
        ? new Promise((r) => setTimeout(r, held.durationMs / 3)).then(() =>
            fastRun(fastLoader, server, fastFile),
          )
        : null;
    let done = false;
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    settled.then(() => {
      done = true;
    });
    while (!done) {
      const s = await sample(server, started);
      if (s !== null) samples.push(s);
      await Promise.race([settled, new Promise((r) => setTimeout(r, SAMPLE_MS))]);
    }
    result = await running;
    if (alone !== null && beside !== null) fast = { alone, beside: await beside };
    rest = await waitAtRest(server, server.urlPath(file.name).split('/')[1] ?? '', 10_000);
  } finally {
    await loader.stop();
    await fastLoader?.stop();
    await server.stop();
  }
  return report({ options, held, dir, system, samples, result, rest, fast });
}

/** The table rows of the fast clients: their share of the throughput they had alone, their p99. */
function fastRows(f: Fast | null): string[] {
  if (f === null) return [];
  const mibps = (r: LoadResult) => r.payloadBytes / MIB / r.seconds;
  const share = mibps(f.beside) / mibps(f.alone);
  const bad = f.alone.errorCount + f.alone.hashFailed + f.beside.errorCount + f.beside.hashFailed;
  const p99 = f.beside.latencyMs.p99;
  return [
    `| ${FAST_CLIENTS} fast clients (1 MiB, keep-alive) beside the slow readers keep a share of their throughput alone | ${mibps(f.beside).toFixed(1)} of ${mibps(f.alone).toFixed(1)} MiB/s (${(share * 100).toFixed(0)}%) | ≥ ${FAST_SHARE_MIN * 100}% | ${share >= FAST_SHARE_MIN ? 'pass' : '**MISS**'} |`,
    `| the fast clients' p99 latency beside the slow readers | ${p99.toFixed(0)} ms | ≤ ${FAST_P99_MS_MAX} ms | ${p99 <= FAST_P99_MS_MAX ? 'pass' : '**MISS**'} |`,
    `| every fast response whole (alone and beside) | ${bad === 0 ? 'yes' : `${bad} failed`} | – | ${bad === 0 ? 'pass' : '**MISS**'} |`,
  ];
}

/** The most wired pages of a sample: its peak since the previous one (the gauge if none). */
function wiredPeak(s: Sample): number {
  return Number.isFinite(s.wiredPagesPeak) ? Math.max(s.wiredPages, s.wiredPagesPeak) : s.wiredPages;
}

/**
 * One row per elapsed second: the first sample at or after each whole second, with the peaks of
 * every sample since the previous row (so no high-water mark between rows is lost).
 */
function everySecond(samples: Sample[]): Sample[] {
  const out: Sample[] = [];
  const pending = { wiredPagesPeak: 0, sfbufsPeak: 0, mbufsPeak: 0, clustersPeak: 0 };
  for (const s of samples) {
    pending.wiredPagesPeak = Math.max(pending.wiredPagesPeak, wiredPeak(s));
    pending.sfbufsPeak = Math.max(pending.sfbufsPeak, s.sfbufsPeak);
    pending.mbufsPeak = Math.max(pending.mbufsPeak, s.mbufsPeak);
    pending.clustersPeak = Math.max(pending.clustersPeak, s.clustersPeak);
    if (out.length === 0 || s.atMs >= out.length * 1000) {
      out.push({ ...s, ...pending });
      pending.wiredPagesPeak = pending.sfbufsPeak = pending.mbufsPeak = pending.clustersPeak = 0;
    }
  }
  return out;
}

/** The failures: how many in all, then each reason described with how often it was seen. */
function describeBad(d: Delivered): string {
  const seen = new Map<string, number>();
  for (const b of d.badResponses) seen.set(b, (seen.get(b) ?? 0) + 1);
  const reasons = [...seen].map(([b, n]) => `${b} (${n})`).join('; ');
  const more = d.badCount > d.badResponses.length ? `, the first ${d.badResponses.length}:` : ':';
  return `${d.badCount} failed${more} ${reasons}`;
}

function cutsLine(c: ServerCuts | null): string {
  if (c === null) return "The server's counters: no /stats.";
  return `The server's counters: responses cut after their head ${c.errors} (errors), ${c.aborted} (client gone), ${c.file_changed} (file changed); connections closed by send_timeout ${c.send_timeouts}, by the idle timeout ${c.idle_timeouts}; 503 for a dry pool ${c.pool_503}.`;
}

function report(r: {
  options: HeldOptions;
  held: Held;
  dir: string;
  system: string;
  samples: Sample[];
  result: Delivered;
  rest: Rest;
  fast: Fast | null;
}): string {
  const h = r.held;
  const maxWired = Math.max(...r.samples.map(wiredPeak));
  const maxOf = (key: 'sfbufsPeak' | 'mbufsPeak' | 'clustersPeak') =>
    Math.max(...r.samples.map((s) => s[key]));
  // The bound: every client's connection with a full send buffer (samples fall between event-loop
  // turns, when the sockets of finished responses are gone).
  const sndbufSum = h.clients * Math.max(...r.samples.map((s) => s.sndbufBytes));
  const maxRss = Math.max(...r.samples.map((s) => s.rssBytes));
  const wiredOk = maxWired * PAGE_BYTES <= sndbufSum;
  const rssLimit = r.options.physmemBytes + h.rssSlackBytes;
  const rssOk = maxRss <= rssLimit;
  const mib = (b: number) => (b / MIB).toFixed(1);
  const reading =
    h.readBytesPerSecond === null
      ? 'keep-alive, each downloading as fast as it can'
      : `each reading ${h.readBytesPerSecond / 1024} KiB/s`;
  const d = r.result;
  const md = [
    `# zcsim ${h.scenario} scenario (\`npm run bench -- --scenario ${h.scenario}\`)`,
    '',
    `Machine: ${machineLine(machineInfo())}`,
    '',
    `System ${r.system}; ${formatBytes(h.fileBytes)} file; ${h.clients} clients (${d.connected} connected), ${reading}, for ${(h.durationMs / 1000).toFixed(0)} s; simulated physmem ${formatBytes(r.options.physmemBytes)}; ${r.samples.length} samples of /stats and RSS every ${SAMPLE_MS} ms. One run on a shared machine: the figures are noisy.`,
    '',
    '| check | measured | limit | result |',
    '|---|---|---|---|',
    `| wired bytes (most v_wire_count between samples × 4 KiB) ≤ clients × send buffer | ${mib(maxWired * PAGE_BYTES)} MiB (${maxWired} pages) | ${mib(sndbufSum)} MiB | ${wiredOk ? 'pass' : '**MISS**'} |`,
    `| server RSS ≤ physmem + ${formatBytes(h.rssSlackBytes)} | ${mib(maxRss)} MiB | ${mib(rssLimit)} MiB | ${rssOk ? 'pass' : '**MISS**'} |`,
    `| kernel at rest after the clients left | ${r.rest.atRest ? 'at rest' : JSON.stringify(r.rest.leaks).slice(0, 200)} | at rest | ${r.rest.atRest ? 'pass' : '**MISS**'} |`,
    `| every response 200 with Content-Length ${formatBytes(h.fileBytes)} | ${d.badCount === 0 ? 'yes' : describeBad(d)} | – | ${d.badCount === 0 ? 'pass' : '**MISS**'} |`,
    ...fastRows(r.fast),
    '',
    `Bytes delivered: ${mib(d.bytesTotal)} MiB in total${d.bytesMinPerClient === null ? '' : `, at least ${mib(d.bytesMinPerClient)} MiB per client`}${d.responses === null ? '' : `; ${d.responses} whole responses`}${d.cpuMicrosecondsPerResponse === null ? '' : `; server CPU ${d.cpuMicrosecondsPerResponse.toFixed(0)} µs per response`}. Cut by the clients when the drain's bound ran out (not counted above): ${d.harnessCuts}.`,
    '',
    cutsLine(r.rest.cuts),
    '',
    `Most in use at once between samples: ${maxWired} wired pages, ${maxOf('sfbufsPeak')} sf_bufs, ${maxOf('mbufsPeak')} mbufs, ${maxOf('clustersPeak')} clusters.`,
    '',
    'Samples (about one a second): the gauge at the sample, and the peaks since the previous row; the wired pages rise once the host socket buffers of the readers are full and the backpressure reaches so_snd.',
    '',
    '| t s | wired pages | wired pages peak | wired MiB peak | sf_bufs peak | mbufs peak | clusters peak | Σ send buffers of open sockets MiB | server RSS MiB |',
    '|---|---|---|---|---|---|---|---|---|',
    ...everySecond(r.samples).map(
      (s) =>
        `| ${(s.atMs / 1000).toFixed(1)} | ${s.wiredPages} | ${s.wiredPagesPeak} | ${mib(s.wiredPagesPeak * PAGE_BYTES)} | ${s.sfbufsPeak} | ${s.mbufsPeak} | ${s.clustersPeak} | ${mib(s.sndbufBytesSum)} | ${mib(s.rssBytes)} |`,
    ),
    '',
  ].join('\n');
  writeFileSync(path.join(r.dir, `${h.scenario}.md`), md);
  writeFileSync(
    path.join(r.dir, `${h.scenario}.json`),
    `${JSON.stringify({ machine: machineInfo(), ...r, options: r.options }, null, 1)}\n`,
  );
  return md;
}
