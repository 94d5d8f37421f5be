// The siege (`npm run bench -- --scenario siege`): legitimate keep-alive clients beside every
// attack at once, against one zcsim server in its own process, first in the direct map, then in
// a KVA kernel of 16 sf_bufs. Per kernel: the legitimate clients alone (quiet), a flood of empty
// lines and headers alone (server CPU per GiB received), then the siege: the same legitimate
// clients while CRLF and header floods, pipelined bodies behind downloads never read, slow
// readers (each from its own offset, reading a byte a second) and POST /compare abuse all run.
// Reported: the legitimate clients' p50/p99/max and errors, quiet against siege; the server's
// RSS and CPU; what the attacks got; the kernel at rest after. The attackers run in this process
// (sockets only); the legitimate clients in the load room's loader process.
import { writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChildHandle } from '../../src/load/index.js';
import type { SiegeClientsRequest, SiegeClientsResult } from '../children/siege-clients.js';
import { benchRoot, ensureFile } from '../lib/files.js';
import { machineInfo, machineLine } from '../lib/machine.js';
import type { SiegeOptions } from '../lib/options.js';
import { type HttpSystem, type LiveServer, startSystem } from '../lib/servers.js';

const MIB = 2 ** 20;
const GIB = 2 ** 30;
const LEGIT_CONNECTIONS = 8;
const SLOW_READERS = 120;
const PIPELINERS = 10;
const CRLF_FLOODERS = 4;
const HEADER_FLOODERS = 2;
const COMPARE_EVERY_MS = 500;
/** Each attacker reconnects at most this many times in a run (every loop is bounded). */
const RECONNECTS_MAX = 100_000;

interface KernelCase {
  readonly label: string;
  readonly system: HttpSystem;
  readonly physmemBytes: number;
  readonly nsfbufs?: number;
}

const KERNELS: readonly KernelCase[] = [
  { label: 'dmap, 64 MiB', system: 'zerocopy-dmap', physmemBytes: 64 * MIB },
  { label: 'kva, 16 MiB, 16 sf_bufs', system: 'zerocopy-kva', physmemBytes: 16 * MIB, nsfbufs: 16 },
];

interface Legit {
  /** Whole 200 answers, 503 answers, and errors (cuts, timeouts, other statuses). */
  readonly ok: number;
  readonly unavailable: number;
  readonly errors: number;
  /** Over every answer, 200 and 503 alike. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly maxMs: number | null;
  /** The longest wait for an answer's first byte (the head of a 200, or a 503). */
  readonly maxFirstByteMs: number | null;
  readonly firstErrors: readonly string[];
  readonly slowest: SiegeClientsResult['slowest'];
}

interface AttackTally {
  floodBytes: number;
  connections: number;
  compareStatuses: Record<string, number>;
  slowReaderBytes: number;
}

interface CaseResult {
  readonly kernel: KernelCase;
  readonly quiet: Legit;
  readonly siege: Legit;
  readonly floodCpuSecondsPerGiB: number;
  readonly floodBytes: number;
  readonly siegeCpuSeconds: number;
  readonly rssMaxBytes: number;
  readonly tally: AttackTally;
  readonly atRest: boolean;
  readonly leaks: unknown;
}

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null;
}

async function legitRun(
  clients: ChildHandle,
  server: LiveServer,
  urlPath: string,
  ms: number,
): Promise<Legit> {
  const request: SiegeClientsRequest = {
    port: server.port,
    urlPath,
    connections: LEGIT_CONNECTIONS,
    durationMs: ms,
    sizeBytes: 64 * 1024,
  };
  const r = await clients.request<SiegeClientsResult>('run', request, ms + 120_000);
  return {
    ok: r.ok,
    unavailable: r.unavailable,
    errors: r.errors,
    p50Ms: quantile(r.latenciesMs, 0.5),
    p99Ms: quantile(r.latenciesMs, 0.99),
    maxMs: r.latenciesMs.at(-1) ?? null,
    maxFirstByteMs: r.maxFirstByteMs,
    firstErrors: r.firstErrors.slice(0, 3),
    slowest: r.slowest,
  };
}

/** Whether an attack runs in the siege (ZCSIM_SIEGE_ONLY=kind names one alone, to find a culprit). */
function only(kind: string): boolean {
  const o = process.env.ZCSIM_SIEGE_ONLY;
  return o === undefined || o === '' || o === kind;
}

/** Whether a kernel runs in the siege (ZCSIM_SIEGE_KERNEL=dmap|kva names one alone). */
function kernelChosen(k: KernelCase): boolean {
  const o = process.env.ZCSIM_SIEGE_KERNEL;
  return o === undefined || o === '' || k.system === `zerocopy-${o}`;
}

/** A set of attackers that stop together. */
class Attack {
  private stopped = false;
  private readonly sockets = new Set<Socket>();
  readonly tally: AttackTally = { floodBytes: 0, connections: 0, compareStatuses: {}, slowReaderBytes: 0 };
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly port: number) {}

  private open(): Promise<Socket | null> {
    return new Promise((resolve) => {
      const s = connect(this.port, '127.0.0.1');
      s.on('error', () => {});
      s.once('connect', () => {
        this.tally.connections++;
        this.sockets.add(s);
        s.once('close', () => this.sockets.delete(s));
        resolve(s);
      });
      s.once('close', () => resolve(null));
    });
  }

  /** Runs `one` on a fresh connection again and again until stop (reconnecting when it closes). */
  private repeat(one: (s: Socket) => Promise<void>): void {
    this.loops.push(
      (async () => {
        for (let i = 0; i < RECONNECTS_MAX && !this.stopped; i++) {
          const s = await this.open();
          if (s === null) continue;
          await one(s).catch(() => {});
          s.destroy();
        }
      })(),
    );
  }

  /** Writes `unit` repeatedly while the socket takes it, until it closes or the attack stops. */
  private flood(s: Socket, prefix: string, unit: Buffer): Promise<void> {
    return new Promise((resolve) => {
      s.resume();
      s.write(prefix);
      const push = (): void => {
        while (!this.stopped && !s.destroyed && s.write(unit)) this.tally.floodBytes += unit.length;
        if (this.stopped || s.destroyed) resolve();
      };
      s.on('drain', push);
      s.once('close', () => resolve());
      push();
    });
  }

  floods(): void {
    const crlf = Buffer.from('\r\n'.repeat(32 * 1024));
    const header = Buffer.from(`X-Flood: ${'h'.repeat(1000)}\r\n`.repeat(64));
    for (let i = 0; i < CRLF_FLOODERS; i++) this.repeat((s) => this.flood(s, '', crlf));
    for (let i = 0; i < HEADER_FLOODERS; i++)
      this.repeat((s) => this.flood(s, 'GET /zerocopy/x HTTP/1.1\r\nHost: a\r\n', header));
  }

  /** Holds `s` (never read) until it closes or the attack stops. */
  private hold(s: Socket): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) resolve();
      s.once('close', () => resolve());
    });
  }

  pipeliners(bigPath: string, smallPath: string): void {
    const body = Buffer.alloc(MIB, 0x62);
    for (let i = 0; i < PIPELINERS; i++)
      this.repeat(async (s) => {
        s.pause();
        s.write(`GET ${bigPath} HTTP/1.1\r\nHost: a\r\n\r\n`);
        for (let k = 0; k < 32; k++) {
          s.write(`GET ${smallPath} HTTP/1.1\r\nHost: a\r\nContent-Length: ${MIB}\r\n\r\n`);
          s.write(body);
        }
        await this.hold(s);
      });
  }

  slowReaders(bigPath: string): void {
    for (let i = 0; i < SLOW_READERS; i++)
      this.repeat(async (s) => {
        s.pause();
        s.write(`GET ${bigPath} HTTP/1.1\r\nHost: a\r\nRange: bytes=${i * 256 * 1024}-\r\n\r\n`);
        const timer = setInterval(() => {
          if (s.read(1) !== null) this.tally.slowReaderBytes++;
        }, 1000);
        await this.hold(s);
        clearInterval(timer);
      });
  }

  compareAbuse(bigPath: string): void {
    this.repeat(async (s) => {
      const payload = JSON.stringify({ file: path.basename(bigPath) });
      for (let k = 0; k < 1000 && !this.stopped && !s.destroyed; k++) {
        const got = new Promise<string>((resolve) => {
          const onData = (d: Buffer): void => {
            s.off('close', onClose);
            resolve(d.toString('latin1', 9, 12));
          };
          const onClose = (): void => {
            s.off('data', onData);
            resolve('closed');
          };
          s.once('data', onData);
          s.once('close', onClose);
        });
        s.write(
          `POST /compare HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n${payload}`,
        );
        const status = await got;
        this.tally.compareStatuses[status] = (this.tally.compareStatuses[status] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, COMPARE_EVERY_MS));
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.loops);
  }
}

async function waitAtRest(
  server: LiveServer,
  timeoutMs: number,
): Promise<{ atRest: boolean; leaks: unknown }> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown = null;
  while (performance.now() < deadline) {
    last = await server.stats().catch(() => null);
    if ((last as { atRest?: boolean } | null)?.atRest === true) return { atRest: true, leaks: [] };
    await new Promise((r) => setTimeout(r, 200));
  }
  return { atRest: false, leaks: (last as { leaks?: unknown } | null)?.leaks ?? 'no /stats' };
}

async function runCase(k: KernelCase, options: SiegeOptions, loader: ChildHandle): Promise<CaseResult> {
  const root = benchRoot();
  const small = ensureFile(root, 64 * 1024);
  const big = ensureFile(root, 64 * MIB);
  const server = await startSystem(k.system, {
    root,
    fileNames: [small.name, big.name],
    physmemBytes: k.physmemBytes,
    sndbufBytes: null,
    nginxPath: null,
    profileDir: options.profileDir,
    ...(k.nsfbufs !== undefined ? { nsfbufs: k.nsfbufs } : {}),
  });
  const quietMs = (options.quick ? 5 : 15) * 1000;
  const floodMs = (options.quick ? 3 : 10) * 1000;
  const siegeMs = (options.quick ? 10 : 60) * 1000;
  try {
    const urlPath = server.urlPath(small.name);
    const quiet = await legitRun(loader, server, urlPath, quietMs);
    // The floods alone: the server's CPU per byte they got through.
    const flood = new Attack(server.port);
    const cpu0 = await server.cpuSeconds();
    flood.floods();
    await new Promise((r) => setTimeout(r, floodMs));
    await flood.stop();
    const floodCpu = (await server.cpuSeconds()) - cpu0;
    const floodBytes = flood.tally.floodBytes;
    // The siege: everything at once beside the same legitimate clients.
    const attack = new Attack(server.port);
    if (only('floods')) attack.floods();
    const bigPath = server.urlPath(big.name);
    if (only('pipeliners')) attack.pipeliners(bigPath, urlPath);
    if (only('slow')) attack.slowReaders(bigPath);
    if (only('compare')) attack.compareAbuse(bigPath);
    let rssMaxBytes = await server.rssBytes();
    const sampler = setInterval(() => {
      void server.rssBytes().then(
        (b) => {
          rssMaxBytes = Math.max(rssMaxBytes, b);
        },
        () => {},
      );
    }, 1000);
    const cpu1 = await server.cpuSeconds();
    const siege = await legitRun(loader, server, urlPath, siegeMs);
    const siegeCpuSeconds = (await server.cpuSeconds()) - cpu1;
    clearInterval(sampler);
    await attack.stop();
    const rest = await waitAtRest(server, 30_000);
    return {
      kernel: k,
      quiet,
      siege,
      floodCpuSecondsPerGiB: floodBytes > 0 ? floodCpu / (floodBytes / GIB) : 0,
      floodBytes,
      siegeCpuSeconds,
      rssMaxBytes,
      tally: attack.tally,
      ...rest,
    };
  } finally {
    await server.stop();
  }
}

/** A latency in ms, or a dash when there was none (no request finished). */
function ms(x: number | null, digits = 1): string {
  return x === null || !Number.isFinite(x) ? '–' : x.toFixed(digits);
}

function verdict(ok: boolean): string {
  return ok ? 'pass' : '**MISS**';
}

function caseMarkdown(r: CaseResult): string[] {
  const q = r.quiet;
  const s = r.siege;
  const p99Limit = 3 * (q.p99Ms ?? 0);
  const rssLimit = r.kernel.physmemBytes + 200 * MIB;
  const mib = (b: number) => (b / MIB).toFixed(1);
  return [
    `## ${r.kernel.label}`,
    '',
    '| legitimate clients | 200 | 503 | errors | p50 ms | p99 ms | max ms |',
    '|---|---|---|---|---|---|---|',
    `| quiet | ${q.ok} | ${q.unavailable} | ${q.errors} | ${ms(q.p50Ms)} | ${ms(q.p99Ms)} | ${ms(q.maxMs)} |`,
    `| under siege | ${s.ok} | ${s.unavailable} | ${s.errors} | ${ms(s.p50Ms)} | ${ms(s.p99Ms)} | ${ms(s.maxMs)} |`,
    '',
    '| check | measured | limit | result |',
    '|---|---|---|---|',
    `| longest wait of a legitimate client for an answer's first byte (a 200's head, or a 503; no error) | ${ms(s.maxFirstByteMs, 0)} ms | 1000 ms | ${verdict(s.maxFirstByteMs !== null && s.maxFirstByteMs <= 1000 && s.errors === 0)} |`,
    `| longest wait for a whole answer (its 64 KiB body, or a 503) | ${ms(s.maxMs, 0)} ms | 1000 ms | ${verdict(s.maxMs !== null && s.maxMs <= 1000)} |`,
    `| p99 under siege ≤ 3 × quiet | ${ms(s.p99Ms)} ms | ${ms(p99Limit)} ms | ${verdict(s.p99Ms !== null && s.p99Ms <= p99Limit)} |`,
    `| server RSS ≤ physmem + 200 MiB | ${mib(r.rssMaxBytes)} MiB | ${mib(rssLimit)} MiB | ${verdict(r.rssMaxBytes <= rssLimit)} |`,
    `| flood of empty lines and headers: server CPU per GiB sent | ${r.floodCpuSecondsPerGiB.toFixed(2)} s (${mib(r.floodBytes)} MiB sent) | 20 s | ${verdict(r.floodCpuSecondsPerGiB <= 20)} |`,
    `| kernel at rest after | ${r.atRest ? 'at rest' : JSON.stringify(r.leaks).slice(0, 200)} | at rest | ${verdict(r.atRest)} |`,
    '',
    `Server CPU during the siege: ${r.siegeCpuSeconds.toFixed(1)} s. Attack connections opened: ${r.tally.connections}; flood bytes written: ${mib(r.tally.floodBytes)} MiB; bytes the slow readers read: ${r.tally.slowReaderBytes}; POST /compare answers: ${JSON.stringify(r.tally.compareStatuses)}.${s.firstErrors.length > 0 ? ` First errors of the legitimate clients: ${s.firstErrors.join('; ')}.` : ''}${s.slowest.length > 0 ? ` Answers slower than 1 s (ms into the siege, status, ms to the first byte, ms to the last): ${s.slowest.map((x) => `${x.atMs} ${x.status} ${x.firstByteMs} ${x.latencyMs}`).join('; ')}.` : ''}`,
    '',
  ];
}

export async function runSiege(options: SiegeOptions, dir: string): Promise<string> {
  const loader = new ChildHandle(fileURLToPath(new URL('../children/siege-clients.js', import.meta.url)), {
    output: 'ignore',
  });
  const results: CaseResult[] = [];
  try {
    for (const k of KERNELS) if (kernelChosen(k)) results.push(await runCase(k, options, loader));
  } finally {
    await loader.stop();
  }
  writeFileSync(
    path.join(dir, 'siege.json'),
    `${JSON.stringify({ machine: machineInfo(), results }, null, 1)}\n`,
  );
  const md = [
    '# zcsim siege scenario (`npm run bench -- --scenario siege`)',
    '',
    `Machine: ${machineLine(machineInfo())}`,
    '',
    `${LEGIT_CONNECTIONS} legitimate keep-alive connections download a 64 KiB file on /zerocopy, alone (quiet), then beside every attack at once: ${CRLF_FLOODERS} connections sending only CRLF and ${HEADER_FLOODERS} sending header lines without end (each reconnecting when refused), ${PIPELINERS} connections that ask for a 64 MiB file, never read, and pipeline 32 GETs with 1 MiB bodies, ${SLOW_READERS} slow readers of the 64 MiB file (each from its own offset, a byte a second), and a POST /compare of the 64 MiB file every ${COMPARE_EVERY_MS} ms. The floods' CPU cost is measured alone first. One run on a shared machine: the figures are noisy.`,
    '',
    ...results.flatMap(caseMarkdown),
  ].join('\n');
  writeFileSync(path.join(dir, 'siege.md'), md);
  writeFileSync(
    path.join(dir, 'siege.json'),
    `${JSON.stringify({ machine: machineInfo(), results }, null, 1)}\n`,
  );
  return md;
}
