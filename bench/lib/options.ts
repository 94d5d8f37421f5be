// Options of `npm run bench` / `zcsim bench`: one object with every knob, each with its unit,
// printed at the head of every report. `--quick` picks a smaller set that finishes in under
// two minutes; explicit options still win over it.
import { parseArgs } from 'node:util';
import { parseSizeBytes } from '../../src/kern/index.js';

export type Section = 'tcp' | 'http';
export type LoaderChoice = 'auto' | 'wrk' | 'node';

export interface BenchOptions {
  sizesBytes: number[];
  connections: number[];
  durationSeconds: number;
  warmupSeconds: number;
  reps: number;
  systems: string[] | null; // null = every system available here
  sections: Section[];
  scenario: 'compare' | 'slow-clients';
  loader: LoaderChoice;
  autocannonMaxBytes: number; // autocannon runs on files up to this size
  tcpSizesBytes: number[];
  quick: boolean;
  progress: boolean;
  outDir: string | null; // null = bench/results (bench/results/quick with --quick)
  physmemBytes: number; // simulated physical memory of each zcsim server and of the TCP kernel
  profileDir: string | null; // --profile DIR: Node servers run under --cpu-prof
  sndbufBytes: number | null; // --sndbuf SIZE: send buffer of the simulated sockets (null: the demo's 1 MiB)
}

export const USAGE = `usage: zcsim bench [options]   (npm run bench -- [options])
  --sizes LIST        file sizes of the HTTP section (default 4K,64K,1M,64M; quick 4K,1M)
  --conns LIST        connections (default 1,32; quick 32)
  --duration SECONDS  measured time of each run (default 5; quick 1)
  --warmup SECONDS    warm-up before each run (default 1; quick 0.3)
  --reps N            interleaved repetitions, the median is reported (default 3; quick 1)
  --systems LIST      systems to run (default all available; see the report for names)
  --section LIST      tcp,http (default both)
  --scenario NAME     compare (default) | slow-clients (1 GiB file, 100 slow clients)
  --loader NAME       auto (wrk when installed, else the built-in Node loader) | wrk | node
  --autocannon-max SIZE  autocannon runs on files up to SIZE (default 4K)
  --tcp-sizes LIST    file sizes of the raw TCP section (default 1M,64M)
  --physmem SIZE      simulated physical memory of each kernel (default 256M)
  --sndbuf SIZE       send buffer of the simulated sockets (default: the demo's 1M)
  --out DIR           where results go (default bench/results, quick: bench/results/quick)
  --profile DIR       run each Node server under --cpu-prof, profiles in DIR
                      (summarise: node dist/bench/profile-summary.js DIR/*.cpuprofile)
  --no-progress       no progress bar
  --quick             a smoke run in under two minutes`;

function sizeList(text: string, option: string): number[] {
  return text.split(',').map((part) => {
    const bytes = parseSizeBytes(part);
    if (bytes === null || bytes <= 0) throw new Error(`${option}: not a size: ${part}`);
    return bytes;
  });
}

function positiveNumber(text: string, option: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${option}: not a positive number: ${text}`);
  return value;
}

export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    allowPositionals: false,
    options: {
      sizes: { type: 'string' },
      conns: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      reps: { type: 'string' },
      systems: { type: 'string' },
      section: { type: 'string' },
      scenario: { type: 'string' },
      loader: { type: 'string' },
      'autocannon-max': { type: 'string' },
      'tcp-sizes': { type: 'string' },
      physmem: { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'string' },
      sndbuf: { type: 'string' },
      'no-progress': { type: 'boolean' },
      quick: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) throw new UsageRequest();
  const quick = values.quick === true;
  const scenario = values.scenario ?? 'compare';
  if (scenario !== 'compare' && scenario !== 'slow-clients')
    throw new Error(`--scenario: unknown ${scenario}`);
  const loader = values.loader ?? 'auto';
  if (loader !== 'auto' && loader !== 'wrk' && loader !== 'node')
    throw new Error(`--loader: unknown ${loader}`);
  const sections = (values.section ?? 'tcp,http').split(',').map((s) => {
    if (s !== 'tcp' && s !== 'http') throw new Error(`--section: unknown ${s}`);
    return s;
  });
  const physmemBytes = values.physmem ? sizeList(values.physmem, '--physmem')[0] : undefined;
  return {
    sizesBytes: sizeList(values.sizes ?? (quick ? '4K,1M' : '4K,64K,1M,64M'), '--sizes'),
    connections: (values.conns ?? (quick ? '32' : '1,32')).split(',').map((c) => {
      const n = positiveNumber(c, '--conns');
      if (!Number.isInteger(n) || n > 1024) throw new Error(`--conns: 1..1024, got ${c}`);
      return n;
    }),
    durationSeconds: positiveNumber(values.duration ?? (quick ? '1' : '5'), '--duration'),
    warmupSeconds: positiveNumber(values.warmup ?? (quick ? '0.3' : '1'), '--warmup'),
    reps: Math.round(positiveNumber(values.reps ?? (quick ? '1' : '3'), '--reps')),
    systems: values.systems ? values.systems.split(',') : null,
    sections,
    scenario,
    loader,
    autocannonMaxBytes: sizeList(values['autocannon-max'] ?? '4K', '--autocannon-max')[0] ?? 4096,
    tcpSizesBytes: sizeList(values['tcp-sizes'] ?? '1M,64M', '--tcp-sizes'),
    quick,
    progress: values['no-progress'] !== true && process.stderr.isTTY === true,
    outDir: values.out ?? null,
    physmemBytes: physmemBytes ?? 256 * 2 ** 20,
    profileDir: values.profile ?? null,
    sndbufBytes: values.sndbuf ? (sizeList(values.sndbuf, '--sndbuf')[0] ?? null) : null,
  };
}

/** Thrown by --help: the caller prints USAGE and exits 0. */
export class UsageRequest extends Error {
  constructor() {
    super(USAGE);
  }
}
