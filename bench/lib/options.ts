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
  'siege',
  'micro',
  'ktls',
  'soak',
  'profile',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** What every scenario takes. */
interface ScenarioBase {
  /** A smoke run: fewer and shorter runs, not judged. */
  readonly quick: boolean;
  readonly progress: boolean;
  /** Where the report goes; null: bench/runs/<scenario> (ignored by git). */
  readonly outDir: string | null;
}

/** The simulated kernel of the zcsim servers a scenario starts. */
interface KernelKnobs {
  /** Simulated physical memory of each zcsim server (and of the TCP section's kernel). */
  readonly physmemBytes: number;
  /** --sndbuf: the simulated sockets' send buffer (null: the demo's, a 32nd of each pool, at most 1 MiB). */
  readonly sndbufBytes: number | null;
}

/** compare: the raw TCP section and the HTTP comparison, every system, interleaved reps. */
export interface CompareOptions extends ScenarioBase, KernelKnobs {
  readonly scenario: 'compare';
  readonly sizesBytes: readonly number[];
  readonly connections: readonly number[];
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
  readonly reps: number;
  /** null: every system available here. */
  readonly systems: readonly string[] | null;
  readonly sections: readonly Section[];
  readonly loader: LoaderChoice;
  /** autocannon runs on files up to this size. */
  readonly autocannonMaxBytes: number;
  readonly tcpSizesBytes: readonly number[];
  /** --profile DIR: the Node servers run under --cpu-prof. */
  readonly profileDir: string | null;
}

/** many-clients, slow-clients: clients held open against one system. */
export interface HeldOptions extends ScenarioBase, KernelKnobs {
  readonly scenario: 'many-clients' | 'slow-clients';
  readonly clients: number;
  readonly durationSeconds: number;
  /** The system held against (the first of --systems; zerocopy-dmap). */
  readonly system: string;
}

/** soak: a seeded random load with faults, then the at-rest check. */
export interface SoakOptions extends ScenarioBase, KernelKnobs {
  readonly scenario: 'soak';
  readonly clients: number;
  readonly durationSeconds: number;
  readonly seed: number;
  /** Page-ins that fail with EIO, in %. */
  readonly eioPct: number;
}

/** siege: legitimate clients beside every attack at once, in two fixed kernels. */
export interface SiegeOptions extends ScenarioBase {
  readonly scenario: 'siege';
  /** --profile DIR: the Node servers run under --cpu-prof. */
  readonly profileDir: string | null;
}

/** micro: the hot operations one by one. */
export interface MicroOptions extends ScenarioBase {
  readonly scenario: 'micro';
}

/** profile: a summary of .cpuprofile files. */
export interface ProfileOptions extends ScenarioBase {
  readonly scenario: 'profile';
  readonly files: readonly string[];
  /** The call paths into this function (null: the top functions). */
  readonly callers: string | null;
}

/** ktls: the simulated kernel alone, sendfile(2) plain and over KTLS, per file size. */
export interface KtlsOptions extends ScenarioBase {
  readonly scenario: 'ktls';
  readonly sizesBytes: readonly number[];
  readonly reps: number;
}

export type BenchOptions =
  | SiegeOptions
  | CompareOptions
  | HeldOptions
  | SoakOptions
  | MicroOptions
  | KtlsOptions
  | ProfileOptions;

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

/** The option values of one command line, read as text, sizes and numbers. */
class Args {
  constructor(
    private readonly v: Record<string, unknown>,
    readonly quick: boolean,
  ) {}

  text(name: string): string | undefined {
    const value = this.v[name];
    return typeof value === 'string' ? value : undefined;
  }

  sizes(name: string, fallback: string): number[] {
    return sizeList(this.text(name) ?? fallback, `--${name}`);
  }

  size(name: string, fallback: string): number {
    return this.sizes(name, fallback)[0] ?? 0;
  }

  number(name: string, fallback: string): number {
    return positiveNumber(this.text(name) ?? fallback, `--${name}`);
  }

  count(name: string, fallback: string): number {
    return Math.round(this.number(name, fallback));
  }

  kernel(physmemDefault: string): KernelKnobs {
    const sndbuf = this.text('sndbuf');
    return {
      physmemBytes: this.size('physmem', physmemDefault),
      sndbufBytes: sndbuf ? (sizeList(sndbuf, '--sndbuf')[0] ?? null) : null,
    };
  }
}

function compareOptions(a: Args, base: ScenarioBase): CompareOptions {
  const q = a.quick;
  return {
    ...base,
    ...a.kernel('256M'),
    scenario: 'compare',
    sizesBytes: a.sizes('sizes', q ? '4K,1M' : '4K,64K,1M,64M'),
    connections: (a.text('conns') ?? (q ? '32' : '1,32')).split(',').map((c) => {
      const n = positiveNumber(c, '--conns');
      if (!Number.isInteger(n) || n > 1024) throw new UsageError(`--conns: 1..1024, got ${c}`);
      return n;
    }),
    durationSeconds: a.number('duration', q ? '1' : '5'),
    warmupSeconds: a.number('warmup', q ? '0.3' : '1'),
    reps: a.count('reps', q ? '1' : '3'),
    systems: a.text('systems')?.split(',') ?? null,
    sections: (a.text('section') ?? 'tcp,http')
      .split(',')
      .map((s) => oneOf(s, ['tcp', 'http'] as const, '--section')),
    loader: oneOf(a.text('loader') ?? 'auto', ['auto', 'wrk', 'node'] as const, '--loader'),
    autocannonMaxBytes: a.size('autocannon-max', '4K') || 4096,
    tcpSizesBytes: a.sizes('tcp-sizes', '1M,64M'),
    profileDir: a.text('profile') ?? null,
  };
}

function scenarioOptions(scenario: Scenario, a: Args, base: ScenarioBase, files: string[]): BenchOptions {
  switch (scenario) {
    case 'compare':
      return compareOptions(a, base);
    case 'many-clients':
    case 'slow-clients':
      return {
        ...base,
        ...a.kernel('256M'),
        scenario,
        clients: a.count('clients', scenario === 'many-clients' ? '1000' : '100'),
        durationSeconds: a.number('duration', a.quick ? '1' : '5'),
        system: a.text('systems')?.split(',')[0] ?? 'zerocopy-dmap',
      };
    case 'soak':
      return {
        ...base,
        ...a.kernel('32M'),
        scenario,
        clients: a.count('clients', '200'),
        durationSeconds: a.number('duration', a.quick ? '20' : '180'),
        seed: a.count('seed', '424242'),
        eioPct: Number(a.text('eio-pct') ?? '1'),
      };
    case 'micro':
      return { ...base, scenario };
    case 'siege':
      return { ...base, scenario, profileDir: a.text('profile') ?? null };
    case 'ktls':
      return {
        ...base,
        scenario,
        sizesBytes: a.sizes('sizes', a.quick ? '1M' : '64K,1M,64M'),
        reps: a.count('reps', a.quick ? '1' : '3'),
      };
    case 'profile':
      return { ...base, scenario, files, callers: a.text('callers') ?? null };
  }
}

export function parseBenchOptions(argv: readonly string[]): BenchOptions {
  const { values: v, positionals } = parseWith(TABLE, argv, 1000);
  if (v.help === true) throw new UsageRequest();
  const args = new Args(v, v.quick === true);
  const scenario = oneOf(args.text('scenario') ?? 'compare', SCENARIOS, '--scenario');
  if (scenario !== 'profile' && positionals.length > 0)
    throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const base: ScenarioBase = {
    quick: args.quick,
    progress: v['no-progress'] !== true && process.stderr.isTTY === true,
    outDir: args.text('out') ?? null,
  };
  return scenarioOptions(scenario, args, base, [...positionals]);
}

/** Thrown by --help: the caller prints USAGE and exits 0. */
export class UsageRequest extends Error {
  constructor() {
    super(USAGE);
  }
}
