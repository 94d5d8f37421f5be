// `--scenario slow-clients` (issue 5): one zcsim server serves a 1 GiB file to 100 clients that
// each read slowly, for a bounded time. Every 200 ms it samples the server's /stats (wired pages,
// send buffers) and RSS. Holds when the wired bytes never exceed the sum of the clients' send
// buffers and the RSS stays under the simulated physical memory + 150 MiB; afterwards, once the
// clients are gone, the kernel must come back to rest (nothing wired, no sf_buf or mbuf in use).
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SlowClientsRequest, SlowClientsResult } from './children/slow-clients.js';
import { findCounter } from './lib/counters.js';
import { benchRoot, ensureFile } from './lib/files.js';
import { ChildHandle } from './lib/ipc.js';
import { machineInfo, machineLine } from './lib/machine.js';
import type { BenchOptions } from './lib/options.js';
import { type HttpSystem, type LiveServer, startSystem } from './lib/servers.js';

const FILE_BYTES = 1024 * 2 ** 20;
const CLIENTS = 100;
const SNDBUF_BYTES_DEFAULT = 32 * 1024;
const SAMPLE_MS = 200;
const RSS_SLACK_BYTES = 150 * 2 ** 20;
const PAGE_BYTES = 4096;
const READ_BYTES_PER_SECOND = 128 * 1024;

interface Sample {
  atMs: number;
  wiredPages: number;
  sndbufBytesSum: number;
  rssBytes: number;
}

async function sample(server: LiveServer, started: number, clients: number): Promise<Sample> {
  const stats = await server.stats();
  // The sum of send buffers: from /stats when it lists them, else clients x the default hiwat.
  const hiwatSum =
    findCounter(stats, 'sb_hiwat_sum') ??
    clients * (findCounter(stats, 'sndbufBytes') ?? SNDBUF_BYTES_DEFAULT);
  return {
    atMs: performance.now() - started,
    wiredPages: findCounter(stats, 'v_wire_count') ?? Number.NaN,
    sndbufBytesSum: hiwatSum,
    rssBytes: await server.rssBytes(),
  };
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

export async function runSlowClients(options: BenchOptions, dir: string): Promise<string> {
  const file = ensureFile(benchRoot(), FILE_BYTES);
  const durationMs = (options.quick ? 10 : Math.max(30, options.durationSeconds * 6)) * 1000;
  const system = (options.systems?.[0] ?? 'zerocopy-dmap') as HttpSystem;
  const server = await startSystem(system, {
    root: benchRoot(),
    fileNames: [file.name],
    physmemBytes: options.physmemBytes,
    sndbufBytes: options.sndbufBytes,
    nginxPath: null,
  });
  const clients = new ChildHandle(new URL('./children/slow-clients.js', import.meta.url));
  const samples: Sample[] = [];
  let result: SlowClientsResult;
  let rest: { atRest: boolean; leaks: unknown };
  try {
    const started = performance.now();
    const request: SlowClientsRequest = {
      port: server.port,
      urlPath: server.urlPath(file.name),
      clients: CLIENTS,
      bytesPerSecondPerClient: READ_BYTES_PER_SECOND,
      durationMs,
      expectedSizeBytes: FILE_BYTES,
    };
    const running = clients.request<SlowClientsResult>('run', request, durationMs + 30_000);
    let done = false;
    running.finally(() => {
      done = true;
    });
    while (!done) {
      samples.push(await sample(server, started, CLIENTS));
      await Promise.race([running.catch(() => undefined), new Promise((r) => setTimeout(r, SAMPLE_MS))]);
    }
    result = await running;
    rest = await waitAtRest(server, 10_000);
  } finally {
    await clients.stop();
    await server.stop();
  }
  return report({ options, dir, system, durationMs, samples, result, rest });
}

/** One sample per elapsed second (the first at or after each whole second). */
function everySecond(samples: Sample[]): Sample[] {
  const out: Sample[] = [];
  for (const s of samples) if (out.length === 0 || s.atMs >= out.length * 1000) out.push(s);
  return out;
}

function report(r: {
  options: BenchOptions;
  dir: string;
  system: string;
  durationMs: number;
  samples: Sample[];
  result: SlowClientsResult;
  rest: { atRest: boolean; leaks: unknown };
}): string {
  const maxWired = Math.max(...r.samples.map((s) => s.wiredPages));
  const sndbufSum = Math.max(...r.samples.map((s) => s.sndbufBytesSum));
  const maxRss = Math.max(...r.samples.map((s) => s.rssBytes));
  const wiredOk = maxWired * PAGE_BYTES <= sndbufSum;
  const rssOk = maxRss <= r.options.physmemBytes + RSS_SLACK_BYTES;
  const mib = (b: number) => (b / 2 ** 20).toFixed(1);
  const md = [
    '# zcsim slow-clients scenario (`npm run bench -- --scenario slow-clients`)',
    '',
    `Machine: ${machineLine(machineInfo())}`,
    '',
    `System ${r.system}; 1 GiB file; ${r.result.clients} clients (${r.result.connected} connected) reading ${READ_BYTES_PER_SECOND / 1024} KiB/s each for ${(r.durationMs / 1000).toFixed(0)} s; simulated physmem ${mib(r.options.physmemBytes)} MiB; ${r.samples.length} samples of /stats and RSS every ${SAMPLE_MS} ms.`,
    '',
    '| check | measured | limit | result |',
    '|---|---|---|---|',
    `| wired bytes (max sampled v_wire_count × 4 KiB) ≤ Σ send buffers | ${mib(maxWired * PAGE_BYTES)} MiB (${maxWired} pages) | ${mib(sndbufSum)} MiB | ${wiredOk ? 'pass' : '**MISS**'} |`,
    `| server RSS ≤ physmem + 150 MiB | ${mib(maxRss)} MiB | ${mib(r.options.physmemBytes + RSS_SLACK_BYTES)} MiB | ${rssOk ? 'pass' : '**MISS**'} |`,
    `| kernel at rest after the clients left | ${r.rest.atRest ? 'at rest' : JSON.stringify(r.rest.leaks).slice(0, 200)} | at rest | ${r.rest.atRest ? 'pass' : '**MISS**'} |`,
    `| every response 200 with Content-Length 1 GiB | ${r.result.badResponses.length === 0 ? 'yes' : r.result.badResponses.join('; ')} | – | ${r.result.badResponses.length === 0 ? 'pass' : '**MISS**'} |`,
    '',
    `Bytes delivered: ${mib(r.result.bytesTotal)} MiB in total, at least ${mib(r.result.bytesMinPerClient)} MiB per client.`,
    '',
    'Samples (about one a second): the wired pages rise once the host socket buffers of the slow readers are full and the backpressure reaches so_snd.',
    '',
    '| t s | wired pages | wired MiB | Σ send buffers MiB | server RSS MiB |',
    '|---|---|---|---|---|',
    ...everySecond(r.samples).map(
      (s) =>
        `| ${(s.atMs / 1000).toFixed(1)} | ${s.wiredPages} | ${mib(s.wiredPages * PAGE_BYTES)} | ${mib(s.sndbufBytesSum)} | ${mib(s.rssBytes)} |`,
    ),
    '',
  ].join('\n');
  writeFileSync(path.join(r.dir, 'slow-clients.md'), md);
  writeFileSync(
    path.join(r.dir, 'slow-clients.json'),
    `${JSON.stringify({ machine: machineInfo(), ...r, options: r.options }, null, 1)}\n`,
  );
  return md;
}
