// Options of `npm run bench` / `zcsim bench`, every scenario: one table (the zcsim commands'
// option style) gives parseArgs its config and --help its text; each knob has its unit and is
// printed at the head of every report. `--quick` picks a smaller set that finishes in a couple of
// minutes; explicit options still win over it.
import { helpText, type OptionTable, parseWith, UsageError } from '../../src/cli/options.js';
import { parseSizeBytes } from '../../src/kern/index.js';

export type Section = 'tcp' | 'http';
export type LoaderChoice = 'auto' | 'wrk' | 'node';
export const SCENARIOS = [
  'compare',
  'many-clients',
  'slow-clients',
  'micro',
  'ktls',
  'soak',
  'profile',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface BenchOptions {
  scenario: Scenario;
  sizesBytes: number[];
  connections: number[];
  durationSeconds: number;
  warmupSeconds: number;
  reps: number;
  systems: string[] | null; // null = every system available here
  sections: Section[];
  loader: LoaderChoice;
  autocannonMaxBytes: number; // autocannon runs on files up to this size
  tcpSizesBytes: number[];
  quick: boolean;
  progress: boolean;
  outDir: string | null; // null = bench/runs/<scenario> (ignored by git)
  physmemBytes: number; // simulated physical memory of each zcsim server and of the TCP kernel
  profileDir: string | null; // --profile DIR: Node servers run under --cpu-prof
  sndbufBytes: number | null; // --sndbuf SIZE: send buffer of the simulated sockets (null: the demo's 1 MiB)
  clients: number; // soak, many-clients, slow-clients
  seed: number; // soak
  eioPct: number; // soak
  callers: string | null; // profile: the call paths into this function
  files: string[]; // profile: the .cpuprofile files
}

const TABLE: OptionTable = {
  scenario: {
    type: 'string',
    default: 'compare',
    value: 'NAME',
    help: `${SCENARIOS.join(' | ')} (bench/README.md says what each measures)`,
  },
  sizes: { type: 'string', value: 'LIST', help: 'HTTP file sizes (4K,64K,1M,64M; quick 4K,1M)' },
  conns: { type: 'string', value: 'LIST', help: 'connections (1,32; quick 32)' },
  duration: { type: 'string', value: 'SECONDS', help: 'measured time of each run (5; quick 1; soak 180)' },
  warmup: { type: 'string', value: 'SECONDS', help: 'warm-up before each run (1; quick 0.3)' },
  reps: { type: 'string', value: 'N', help: 'interleaved repetitions, the median is reported (3; quick 1)' },
  systems: { type: 'string', value: 'LIST', help: 'systems to run (all available; the report names them)' },
  section: { type: 'string', value: 'LIST', default: 'tcp,http', help: 'compare: tcp,http' },
  loader: { type: 'string', value: 'NAME', default: 'auto', help: 'auto (wrk if installed) | wrk | node' },
  'autocannon-max': { type: 'string', value: 'SIZE', default: '4K', help: 'autocannon on files up to SIZE' },
  'tcp-sizes': { type: 'string', value: 'LIST', default: '1M,64M', help: 'raw TCP file sizes' },
  physmem: { type: 'string', value: 'SIZE', help: 'simulated memory of each kernel (256M; soak 32M)' },
  sndbuf: { type: 'string', value: 'SIZE', help: "send buffer of the simulated sockets (the demo's 1M)" },
  clients: { type: 'string', value: 'N', help: 'clients (soak 200, many-clients 1000, slow-clients 100)' },
  seed: { type: 'string', value: 'N', default: '424242', help: 'soak: the seed of every random choice' },
  'eio-pct': { type: 'string', value: 'PCT', default: '1', help: 'soak: page-ins that fail with EIO, in %' },
  callers: { type: 'string', value: 'NAME', help: 'profile: the call paths that lead to function NAME' },
  out: {
    type: 'string',
    value: 'DIR',
    help: 'where results go (bench/runs/<scenario>, ignored by git; committed reference runs: --out bench/results)',
  },
  profile: {
    type: 'string',
    value: 'DIR',
    help: 'run each Node server under --cpu-prof, profiles in DIR (then --scenario profile DIR/*.cpuprofile)',
  },
  'no-progress': { type: 'boolean', help: 'no progress bar' },
  quick: { type: 'boolean', help: 'a smoke run in a couple of minutes (targets are not judged from it)' },
  help: { type: 'boolean', short: 'h', help: 'this text' },
};

export const USAGE = helpText(
  'zcsim bench [options] [FILE...]   (npm run bench -- [options])',
  'The benchmark: every system in its own process, the load in another, interleaved repetitions.',
  TABLE,
).trimEnd();

function sizeList(text: string, option: string): number[] {
  return text.split(',').map((part) => {
    const bytes = parseSizeBytes(part);
    if (bytes === null || bytes <= 0) throw new UsageError(`${option}: not a size: ${part}`);
    return bytes;
  });
}

function positiveNumber(text: string, option: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0)
    throw new UsageError(`${option}: not a positive number: ${text}`);
  return value;
}

function oneOf<T extends string>(text: string, allowed: readonly T[], option: string): T {
  if (!(allowed as readonly string[]).includes(text)) throw new UsageError(`${option}: unknown ${text}`);
  return text as T;
}

export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const { values: v, positionals } = parseWith(TABLE, argv, 1000);
  const text = (name: string): string | undefined => {
    const value = v[name];
    return typeof value === 'string' ? value : undefined;
  };
  if (v.help === true) throw new UsageRequest();
  const quick = v.quick === true;
  const scenario = oneOf(text('scenario') ?? 'compare', SCENARIOS, '--scenario');
  if (scenario !== 'profile' && positionals.length > 0)
    throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const soak = scenario === 'soak';
  const sections = (text('section') ?? 'tcp,http')
    .split(',')
    .map((s) => oneOf(s, ['tcp', 'http'] as const, '--section'));
  const clientsDefault = soak ? 200 : scenario === 'many-clients' ? 1000 : 100;
  const duration = text('duration') ?? (soak ? (quick ? '20' : '180') : quick ? '1' : '5');
  return {
    scenario,
    sizesBytes: sizeList(text('sizes') ?? (quick ? '4K,1M' : '4K,64K,1M,64M'), '--sizes'),
    connections: (text('conns') ?? (quick ? '32' : '1,32')).split(',').map((c) => {
      const n = positiveNumber(c, '--conns');
      if (!Number.isInteger(n) || n > 1024) throw new UsageError(`--conns: 1..1024, got ${c}`);
      return n;
    }),
    durationSeconds: positiveNumber(duration, '--duration'),
    warmupSeconds: positiveNumber(text('warmup') ?? (quick ? '0.3' : '1'), '--warmup'),
    reps: Math.round(positiveNumber(text('reps') ?? (quick ? '1' : '3'), '--reps')),
    systems: text('systems')?.split(',') ?? null,
    sections,
    loader: oneOf(text('loader') ?? 'auto', ['auto', 'wrk', 'node'] as const, '--loader'),
    autocannonMaxBytes: sizeList(text('autocannon-max') ?? '4K', '--autocannon-max')[0] ?? 4096,
    tcpSizesBytes: sizeList(text('tcp-sizes') ?? '1M,64M', '--tcp-sizes'),
    quick,
    progress: v['no-progress'] !== true && process.stderr.isTTY === true,
    outDir: text('out') ?? null,
    physmemBytes: sizeList(text('physmem') ?? (soak ? '32M' : '256M'), '--physmem')[0] ?? 256 * 2 ** 20,
    profileDir: text('profile') ?? null,
    sndbufBytes: text('sndbuf') ? (sizeList(text('sndbuf') ?? '', '--sndbuf')[0] ?? null) : null,
    clients: Math.round(positiveNumber(text('clients') ?? String(clientsDefault), '--clients')),
    seed: Math.round(positiveNumber(text('seed') ?? '424242', '--seed')),
    eioPct: Number(text('eio-pct') ?? '1'),
    callers: text('callers') ?? null,
    files: [...positionals],
  };
}

/** Thrown by --help: the caller prints USAGE and exits 0. */
export class UsageRequest extends Error {
  constructor() {
    super(USAGE);
  }
}
