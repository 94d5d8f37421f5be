// Clients held open at once against one zcsim server, for a bounded time, while the server's
// /stats (wired pages, send buffers) and RSS are sampled every 200 ms:
// - slow-clients: 100 clients each read a 1 GiB file at 128 KiB/s;
// - many-clients: 1,000 keep-alive connections download a 1 MiB file at once, again and again.
// Holds when the wired bytes never exceed the sum of the clients' send buffers and the RSS stays
// under the simulated physical memory plus a slack; afterwards, once the clients are gone, the
// kernel must come back to rest (nothing wired, no sf_buf or mbuf in use).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatBytes } from '../src/kern/index.js';
import {
  builtScript,
  ChildHandle,
  type HeldClientsRequest,
  type HeldClientsResult,
  LOADER_SCRIPT,
  type LoadRequest,
  type LoadResult,
} from '../src/load/index.js';
import { type BenchFile, benchRoot, ensureFile } from './lib/files.js';
import { machineInfo, machineLine } from './lib/machine.js';
import type { BenchOptions } from './lib/options.js';
import { type HttpSystem, type LiveServer, startSystem } from './lib/servers.js';

const SAMPLE_MS = 200;
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

function heldFor(options: BenchOptions): Held {
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

interface Sample {
  atMs: number;
  wiredPages: number;
  sndbufBytesSum: number;
  sndbufBytes: number;
  rssBytes: number;
}

/** What the clients got: bytes in all, the least one client got, and wrong answers. */
interface Delivered {
  connected: number;
  bytesTotal: number;
  bytesMinPerClient: number | null;
  responses: number | null;
  cpuMicrosecondsPerResponse: number | null;
  badResponses: readonly string[];
}

/** One sample (read inside the server process), or null when the server did not answer. */
async function sample(server: LiveServer, started: number): Promise<Sample | null> {
  const w = await server.wired().catch(() => null);
  return w === null ? null : { atMs: performance.now() - started, ...w };
}

async function waitAtRest(
  server: LiveServer,
  timeoutMs: number,
): Promise<{ atRest: boolean; leaks: unknown }> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown = null;
  while (performance.now() < deadline) {
    last = await server.stats();
    if ((last as { atRest?: boolean } | null)?.atRest === true) return { atRest: true, leaks: [] };
    await new Promise((r) => setTimeout(r, 200));
  }
  return { atRest: false, leaks: (last as { leaks?: unknown } | null)?.leaks ?? 'no /stats' };
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
    return { ...r, responses: null, cpuMicrosecondsPerResponse: null };
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
    connected: held.clients - r.errors.filter((e) => e.startsWith('connect')).length,
    bytesTotal: r.payloadBytes,
    bytesMinPerClient: null,
    responses: r.requests,
    cpuMicrosecondsPerResponse: r.requests > 0 ? (cpuSeconds * 1e6) / r.requests : null,
    badResponses: r.hashFailed > 0 ? [...r.errors, `${r.hashFailed} hashed bodies wrong`] : r.errors,
  };
}

export async function runHeld(options: BenchOptions, dir: string): Promise<string> {
  const held = heldFor(options);
  const file = ensureFile(benchRoot(), held.fileBytes);
  const system = (options.systems?.[0] ?? 'zerocopy-dmap') as HttpSystem;
  const server = await startSystem(system, {
    root: benchRoot(),
    fileNames: [file.name],
    physmemBytes: options.physmemBytes,
    sndbufBytes: options.sndbufBytes,
    nginxPath: null,
  });
  const loader = new ChildHandle(builtScript(LOADER_SCRIPT));
  const samples: Sample[] = [];
  let result: Delivered;
  let rest: { atRest: boolean; leaks: unknown };
  try {
    const started = performance.now();
    const running = clientsRun(loader, server, file, held);
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
    rest = await waitAtRest(server, 10_000);
  } finally {
    await loader.stop();
    await server.stop();
  }
  return report({ options, held, dir, system, samples, result, rest });
}

/** One sample per elapsed second (the first at or after each whole second). */
function everySecond(samples: Sample[]): Sample[] {
  const out: Sample[] = [];
  for (const s of samples) if (out.length === 0 || s.atMs >= out.length * 1000) out.push(s);
  return out;
}

function report(r: {
  options: BenchOptions;
  held: Held;
  dir: string;
  system: string;
  samples: Sample[];
  result: Delivered;
  rest: { atRest: boolean; leaks: unknown };
}): string {
  const h = r.held;
  const maxWired = Math.max(...r.samples.map((s) => s.wiredPages));
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
    `| wired bytes (max sampled v_wire_count × 4 KiB) ≤ clients × send buffer | ${mib(maxWired * PAGE_BYTES)} MiB (${maxWired} pages) | ${mib(sndbufSum)} MiB | ${wiredOk ? 'pass' : '**MISS**'} |`,
    `| server RSS ≤ physmem + ${formatBytes(h.rssSlackBytes)} | ${mib(maxRss)} MiB | ${mib(rssLimit)} MiB | ${rssOk ? 'pass' : '**MISS**'} |`,
    `| kernel at rest after the clients left | ${r.rest.atRest ? 'at rest' : JSON.stringify(r.rest.leaks).slice(0, 200)} | at rest | ${r.rest.atRest ? 'pass' : '**MISS**'} |`,
    `| every response 200 with Content-Length ${formatBytes(h.fileBytes)} | ${d.badResponses.length === 0 ? 'yes' : d.badResponses.join('; ')} | – | ${d.badResponses.length === 0 ? 'pass' : '**MISS**'} |`,
    '',
    `Bytes delivered: ${mib(d.bytesTotal)} MiB in total${d.bytesMinPerClient === null ? '' : `, at least ${mib(d.bytesMinPerClient)} MiB per client`}${d.responses === null ? '' : `; ${d.responses} whole responses`}${d.cpuMicrosecondsPerResponse === null ? '' : `; server CPU ${d.cpuMicrosecondsPerResponse.toFixed(0)} µs per response`}.`,
    '',
    'Samples (about one a second): the wired pages rise once the host socket buffers of the readers are full and the backpressure reaches so_snd.',
    '',
    '| t s | wired pages | wired MiB | Σ send buffers of open sockets MiB | server RSS MiB |',
    '|---|---|---|---|---|',
    ...everySecond(r.samples).map(
      (s) =>
        `| ${(s.atMs / 1000).toFixed(1)} | ${s.wiredPages} | ${mib(s.wiredPages * PAGE_BYTES)} | ${mib(s.sndbufBytesSum)} | ${mib(s.rssBytes)} |`,
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
