// HTTP section (issue 5): every system in its own server process, every load generator in its
// own process, the same files. Per cell (size x connections): reps interleaved across systems
// (A B C D, A B C D, ...), medians reported. Throughput comes from wrk when installed, else the
// built-in Node loader; autocannon adds req/s and latency on small files. Around each measured
// window: the server's CPU time, its RSS and (zcsim) its /stats counters.
import os from 'node:os';
import type { AutocannonRequest, AutocannonSummary } from './children/autocannon-loader.js';
import type { LoadRequest, LoadResult } from './children/http-loader.js';
import { type CounterDelta, copiesPerByte, counterDelta } from './lib/counters.js';
import type { BenchFile } from './lib/files.js';
import type { ChildHandle } from './lib/ipc.js';
import type { HttpSystem, LiveServer } from './lib/servers.js';
import { megabytesPerSecond } from './lib/stats.js';
import { runWrk, writeWrkScript } from './lib/wrk.js';

export type Generator = 'wrk' | 'node-loader' | 'autocannon';

export interface HttpRun {
  system: HttpSystem;
  sizeBytes: number;
  connections: number;
  rep: number;
  generator: Generator;
  requestsPerSecond: number;
  payloadMegabytesPerSecond: number;
  latencyMs: { p50: number; p97_5: number; p99: number };
  serverCpuSecondsPerGB: number;
  serverRssBytes: number;
  counters: CounterDelta;
  copiesPerByte: number;
  errors: string[];
}

export interface HttpContext {
  files: Map<number, BenchFile>;
  servers: Map<HttpSystem, LiveServer>;
  nodeLoader: ChildHandle;
  autocannon: ChildHandle | null;
  wrkPath: string | null;
  wrkScriptPath: string | null;
  warmupSeconds: number;
  durationSeconds: number;
  headerBytes: Map<string, number>; // per system+size, from the verify step (wrk's bytes include headers)
}

export function makeWrkScript(wrkPath: string | null): string | null {
  return wrkPath ? writeWrkScript(os.tmpdir()) : null;
}

/** The window bookkeeping shared by every generator: CPU, RSS, counters before and after. */
async function aroundWindow<T>(server: LiveServer, generatorRun: (marks: WindowMarks) => Promise<T>) {
  const statsBefore = await server.stats();
  const marks = new WindowMarks(server);
  const value = await generatorRun(marks);
  const cpuSeconds = await marks.cpuSeconds();
  const statsAfter = await server.stats();
  const rssBytes = await server.rssBytes();
  const route = server.urlPath('').split('/')[1] ?? '';
  const delta = statsBefore ? counterDelta(statsBefore, statsAfter) : {};
  return { value, cpuSeconds, rssBytes, delta, copiesPerByte: copiesPerByte(statsBefore, statsAfter, route) };
}

/** CPU readings at the loader's window-start and window-end events (or around the whole run). */
class WindowMarks {
  private start: Promise<number> | null = null;
  private end: Promise<number> | null = null;
  constructor(private readonly server: LiveServer) {}
  markStart(): void {
    this.start = this.server.cpuSeconds();
  }
  markEnd(): void {
    this.end = this.server.cpuSeconds();
  }
  async cpuSeconds(): Promise<number> {
    if (!this.start || !this.end) return Number.NaN;
    return (await this.end) - (await this.start);
  }
}

/** Asks a loader child to run, reading the server's CPU at the child's window events. */
async function childRunInWindow<T>(
  context: HttpContext,
  child: ChildHandle,
  request: unknown,
  marks: WindowMarks,
): Promise<T> {
  const stop = child.onEvent((e) => {
    if (e.event === 'window-start') marks.markStart();
    if (e.event === 'window-end') marks.markEnd();
  });
  try {
    return await child.request<T>(
      'run',
      request,
      (context.durationSeconds + context.warmupSeconds + 90) * 1000,
    );
  } finally {
    stop();
  }
}

function finishRun(
  base: Pick<HttpRun, 'system' | 'sizeBytes' | 'connections' | 'rep' | 'generator'>,
  measured: {
    requests: number;
    payloadBytes: number;
    seconds: number;
    latencyMs: HttpRun['latencyMs'];
    errors: string[];
  },
  around: { cpuSeconds: number; rssBytes: number; delta: CounterDelta; copiesPerByte: number },
): HttpRun {
  return {
    ...base,
    requestsPerSecond: measured.requests / measured.seconds,
    payloadMegabytesPerSecond: megabytesPerSecond(measured.payloadBytes, measured.seconds),
    latencyMs: measured.latencyMs,
    serverCpuSecondsPerGB: around.cpuSeconds / (measured.payloadBytes / 1e9),
    serverRssBytes: around.rssBytes,
    counters: around.delta,
    copiesPerByte: around.copiesPerByte,
    errors: measured.errors,
  };
}

/** Which run: one system, file size, connection count and repetition. */
export interface RunCell {
  system: HttpSystem;
  sizeBytes: number;
  connections: number;
  rep: number;
}

function lookup(context: HttpContext, cell: RunCell): { server: LiveServer; file: BenchFile } {
  const server = context.servers.get(cell.system);
  const file = context.files.get(cell.sizeBytes);
  if (!server || !file) throw new Error(`no server or file for ${cell.system} ${cell.sizeBytes}`);
  return { server, file };
}

export async function throughputRun(context: HttpContext, cell: RunCell): Promise<HttpRun> {
  const { server, file } = lookup(context, cell);
  const { system, sizeBytes, connections, rep } = cell;
  if (context.wrkPath && context.wrkScriptPath) return wrkRun(context, server, file, connections, rep);
  const request: LoadRequest = {
    port: server.port,
    urlPath: server.urlPath(file.name),
    connections,
    warmupMs: context.warmupSeconds * 1000,
    durationMs: context.durationSeconds * 1000,
    expected: { sizeBytes: file.sizeBytes, sha256: file.sha256 },
  };
  const around = await aroundWindow(server, (marks) =>
    childRunInWindow<LoadResult>(context, context.nodeLoader, request, marks),
  );
  const r = around.value;
  const errors = [...r.errors];
  if (r.hashFailed > 0) errors.push(`${r.hashFailed} of ${r.hashed} hashed bodies wrong`);
  return finishRun(
    { system, sizeBytes, connections, rep, generator: 'node-loader' },
    { ...r, errors },
    around,
  );
}

async function wrkRun(
  context: HttpContext,
  server: LiveServer,
  file: BenchFile,
  connections: number,
  rep: number,
) {
  const url = `http://127.0.0.1:${server.port}${server.urlPath(file.name)}`;
  const base = {
    wrkPath: context.wrkPath ?? 'wrk',
    scriptPath: context.wrkScriptPath ?? '',
    url,
    connections,
    threads: 1,
  };
  if (context.warmupSeconds >= 1) await runWrk({ ...base, durationSeconds: context.warmupSeconds });
  const around = await aroundWindow(server, async (marks) => {
    marks.markStart();
    const result = await runWrk({ ...base, durationSeconds: context.durationSeconds });
    marks.markEnd();
    return result;
  });
  const r = around.value;
  const headerBytes = context.headerBytes.get(`${server.system} ${file.sizeBytes}`) ?? 0;
  const errors: string[] = [];
  const e = r.errors;
  if (e.connect + e.read + e.write + e.status + e.timeout > 0) errors.push(`wrk errors ${JSON.stringify(e)}`);
  const measured = {
    requests: r.requests,
    payloadBytes: r.bytes - r.requests * headerBytes,
    seconds: r.seconds,
    // No response finished inside the window (a 64 MiB body on a slow server): wrk prints 0.
    latencyMs:
      r.requests > 0 ? r.latencyMs : { p50: Number.NaN, p97_5: Number.NaN, p99: Number.NaN, max: Number.NaN },
    errors,
  };
  const key = {
    system: server.system,
    sizeBytes: file.sizeBytes,
    connections,
    rep,
    generator: 'wrk' as const,
  };
  return finishRun(key, measured, around);
}

export async function autocannonRun(context: HttpContext, cell: RunCell): Promise<HttpRun> {
  const { server, file } = lookup(context, cell);
  const { system, sizeBytes, connections, rep } = cell;
  const child = context.autocannon;
  if (!child) throw new Error('autocannon is not running');
  const request: AutocannonRequest = {
    url: `http://127.0.0.1:${server.port}${server.urlPath(file.name)}`,
    connections,
    warmupSeconds: context.warmupSeconds,
    durationSeconds: context.durationSeconds,
    sizeBytes,
  };
  const around = await aroundWindow(server, (marks) =>
    childRunInWindow<AutocannonSummary>(context, child, request, marks),
  );
  const r = around.value;
  const errors =
    r.non2xx + r.errors + r.timeouts > 0
      ? [`non2xx ${r.non2xx} errors ${r.errors} timeouts ${r.timeouts}`]
      : [];
  const measured = {
    requests: r.requests,
    payloadBytes: r.requests * sizeBytes,
    seconds: r.seconds,
    latencyMs: r.latencyMs,
    errors,
  };
  return finishRun({ system, sizeBytes, connections, rep, generator: 'autocannon' }, measured, around);
}

/** One request per system and size, every body hashed: a wrong answer is out before it is timed. */
export async function verifySystem(
  context: HttpContext,
  system: HttpSystem,
  file: BenchFile,
): Promise<string | null> {
  const server = context.servers.get(system);
  if (!server) return 'not running';
  const request: LoadRequest = {
    port: server.port,
    urlPath: server.urlPath(file.name),
    connections: 1,
    warmupMs: 0,
    durationMs: 50,
    expected: { sizeBytes: file.sizeBytes, sha256: file.sha256 },
  };
  const r = await context.nodeLoader.request<LoadResult>('verify', request, 120_000);
  if (r.errors.length > 0) return r.errors.join('; ');
  if (r.hashed === 0) return 'no body finished';
  if (r.hashFailed > 0) return 'body hash differs from the file';
  context.headerBytes.set(`${system} ${file.sizeBytes}`, r.headerBytes);
  return null;
}
