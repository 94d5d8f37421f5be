// HTTP section: every system in its own server process, the load generator (src/load) in its
// own process, the same files. Per cell (size x connections): reps interleaved across systems
// (A B C D, A B C D, ...), medians reported. Throughput comes from wrk when installed, else the
// built-in Node loader; autocannon adds req/s and latency on small files. Around each measured
// window: the server's CPU time (per response and per GB), its RSS and (zcsim) its /stats counters.
import os from 'node:os';
import {
  type AutocannonRequest,
  type AutocannonSummary,
  type ChildHandle,
  type LoadRequest,
  type LoadResult,
  megabytesPerSecond,
} from '../../src/load/index.js';
import { type CounterDelta, copiesPerByte, counterDelta, memoryPerByte } from './counters.js';
import type { BenchFile } from './files.js';
import type { HttpSystem, LiveServer } from './servers.js';
import { runWrk, writeWrkScript } from './wrk.js';

export type Generator = 'wrk' | 'node-loader' | 'autocannon' | 'wrk-pipelined';

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
  /** The server process's CPU time over the window divided by the responses in it. */
  serverCpuMicrosecondsPerResponse: number;
  serverRssBytes: number;
  counters: CounterDelta;
  copiesPerByte: number;
  /** CPU memory traffic per body byte (reads; as many writes), from the route's counters. */
  memoryPerByte: number;
  errors: string[];
}

export interface HttpContext {
  files: Map<number, BenchFile>;
  servers: Map<HttpSystem, LiveServer>;
  /** The load room's generator process (runLoad and autocannon). */
  loader: ChildHandle;
  useAutocannon: boolean;
  wrkPath: string | null;
  wrkScriptPath: string | null;
  /** The same with requests pipelined 16 deep (null without wrk). */
  wrkPipelinedScriptPath: string | null;
  warmupSeconds: number;
  durationSeconds: number;
  headerBytes: Map<string, number>; // per system+size, from the verify step (wrk's bytes include headers)
}

export function makeWrkScript(wrkPath: string | null, pipelined = false): string | null {
  return wrkPath ? writeWrkScript(os.tmpdir(), pipelined) : null;
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
  const both = statsBefore !== null && statsAfter !== null;
  return {
    value,
    cpuSeconds,
    rssBytes,
    delta: both ? counterDelta(statsBefore.kernel, statsAfter.kernel) : {},
    copiesPerByte: both ? copiesPerByte(statsBefore, statsAfter, route) : Number.NaN,
    memoryPerByte: both ? memoryPerByte(statsBefore, statsAfter, route) : Number.NaN,
  };
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

/** Asks the loader child to run, reading the server's CPU at the child's window events. */
async function childRunInWindow<T>(
  context: HttpContext,
  type: 'run' | 'autocannon',
  request: unknown,
  marks: WindowMarks,
): Promise<T> {
  const child = context.loader;
  const stop = child.onEvent((e) => {
    if (e.event === 'window-start') marks.markStart();
    if (e.event === 'window-end') marks.markEnd();
  });
  try {
    return await child.request<T>(
      type,
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
    errors: readonly string[];
  },
  around: {
    cpuSeconds: number;
    rssBytes: number;
    delta: CounterDelta;
    copiesPerByte: number;
    memoryPerByte: number;
  },
): HttpRun {
  return {
    ...base,
    requestsPerSecond: measured.requests / measured.seconds,
    payloadMegabytesPerSecond: megabytesPerSecond(measured.payloadBytes, measured.seconds),
    latencyMs: measured.latencyMs,
    serverCpuSecondsPerGB: around.cpuSeconds / (measured.payloadBytes / 1e9),
    serverCpuMicrosecondsPerResponse:
      measured.requests > 0 ? (around.cpuSeconds * 1e6) / measured.requests : Number.NaN,
    serverRssBytes: around.rssBytes,
    counters: around.delta,
    copiesPerByte: around.copiesPerByte,
    memoryPerByte: around.memoryPerByte,
    errors: [...measured.errors],
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
  if (context.wrkPath && context.wrkScriptPath)
    return wrkRun(context, server, file, connections, rep, context.wrkScriptPath, 'wrk');
  const request: LoadRequest = {
    port: server.port,
    urlPath: server.urlPath(file.name),
    connections,
    warmupMs: context.warmupSeconds * 1000,
    durationMs: context.durationSeconds * 1000,
    expected: { sizeBytes: file.sizeBytes, sha256: file.sha256 },
    tls: server.scheme === 'https',
  };
  const around = await aroundWindow(server, (marks) =>
    childRunInWindow<LoadResult>(context, 'run', request, marks),
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

/** wrk with requests pipelined 16 deep on each connection (wrk must be installed). */
export async function pipelinedRun(context: HttpContext, cell: RunCell): Promise<HttpRun> {
  const { server, file } = lookup(context, cell);
  if (!context.wrkPath || !context.wrkPipelinedScriptPath) throw new Error('wrk is not installed');
  return wrkRun(
    context,
    server,
    file,
    cell.connections,
    cell.rep,
    context.wrkPipelinedScriptPath,
    'wrk-pipelined',
  );
}

async function wrkRun(
  context: HttpContext,
  server: LiveServer,
  file: BenchFile,
  connections: number,
  rep: number,
  scriptPath: string,
  generator: 'wrk' | 'wrk-pipelined',
) {
  const url = `${server.scheme}://127.0.0.1:${server.port}${server.urlPath(file.name)}`;
  const base = {
    wrkPath: context.wrkPath ?? 'wrk',
    scriptPath,
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
    generator,
  };
  return finishRun(key, measured, around);
}

export async function autocannonRun(context: HttpContext, cell: RunCell): Promise<HttpRun> {
  const { server, file } = lookup(context, cell);
  const { system, sizeBytes, connections, rep } = cell;
  const request: AutocannonRequest = {
    url: `http://127.0.0.1:${server.port}${server.urlPath(file.name)}`,
    connections,
    warmupSeconds: context.warmupSeconds,
    durationSeconds: context.durationSeconds,
  };
  const around = await aroundWindow(server, (marks) =>
    childRunInWindow<AutocannonSummary>(context, 'autocannon', request, marks),
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

/** The verification windows, tried in turn until a body has finished. */
const VERIFY_WINDOWS_MS = [50, 1000, 5000] as const;

/** One request per system and size, every body hashed: a wrong answer is out before it is timed. */
export async function verifySystem(
  context: HttpContext,
  system: HttpSystem,
  file: BenchFile,
): Promise<string | null> {
  const server = context.servers.get(system);
  if (!server) return 'not running';
  // A window in which no body finished (a TLS handshake on a busy machine can outlast a short one)
  // is tried again, longer, before the system is judged.
  let r: LoadResult | null = null;
  for (const durationMs of VERIFY_WINDOWS_MS) {
    const request: LoadRequest = {
      port: server.port,
      urlPath: server.urlPath(file.name),
      connections: 1,
      warmupMs: 0,
      durationMs,
      expected: { sizeBytes: file.sizeBytes, sha256: file.sha256 },
      tls: server.scheme === 'https',
    };
    r = await context.loader.request<LoadResult>('verify', request, 120_000);
    if (r.errors.length > 0 || r.hashed > 0) break;
  }
  if (r === null) return 'not verified';
  if (r.errors.length > 0) return r.errors.join('; ');
  if (r.hashed === 0) return 'no body finished';
  if (r.hashFailed > 0) return 'body hash differs from the file';
  context.headerBytes.set(`${system} ${file.sizeBytes}`, r.headerBytes);
  return null;
}
