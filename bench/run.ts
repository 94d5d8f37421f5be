// `npm run bench` / `zcsim bench`: the one entry point of the benchmarks. `--scenario` picks the
// raw TCP section and the HTTP comparison (compare, the default), the clients held open
// (slow-clients, many-clients), the micro-benchmarks, the soak, or a profile summary. Each run's
// Markdown, JSON and SVG go to bench/runs/<scenario>/ (ignored by git) unless --out names a folder
// (bench/results holds the reference runs that are committed); the report says where it went.
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cliProgress from 'cli-progress';
import { UsageError } from '../src/cli/options.js';
import { formatBytes } from '../src/kern/index.js';
import { runHeld } from './held.js';
import { httpRunCount, runHttpSection, selectHttpSystems } from './http-section.js';
import { runKtlsCost } from './ktls.js';
import { renderChart } from './lib/chart.js';
import { benchRoot, ensureFile } from './lib/files.js';
import { machineInfo, machineLine } from './lib/machine.js';
import { type BenchOptions, parseBenchOptions, USAGE, UsageRequest } from './lib/options.js';
import { type HttpSectionResult, httpMarkdown, optionsLine, tcpMarkdown } from './lib/report.js';
import { COPY_SYSTEM, ZERO_COPY_SYSTEMS } from './lib/servers.js';
import { runMicro } from './micro.js';
import { summariseProfiles } from './profile-summary.js';
import { runSoak } from './soak.js';
import { runTcpSection, TCP_SYSTEMS, type TcpResult, type TcpSystem, tcpRunCount } from './tcp.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const QUICK_NOTE =
  'Quick mode: a smoke run (one short repetition per cell on a shared machine). Targets are not judged from it; run `npm run bench` for figures.';

function resultsDir(options: BenchOptions): string {
  const dir = options.outDir ?? path.join(repoRoot, 'bench', 'runs', options.scenario);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function makeProgress(options: BenchOptions, total: number) {
  if (!options.progress) {
    let done = 0;
    return {
      tick: (label: string) => process.stderr.write(`[${++done}/${total}] ${label}\n`),
      stop: () => undefined,
    };
  }
  const bar = new cliProgress.SingleBar(
    { format: 'bench [{bar}] {value}/{total} runs | {eta_formatted} left | {label}', etaBuffer: 20 },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { label: 'starting' });
  return { tick: (label: string) => bar.increment(1, { label }), stop: () => bar.stop() };
}

function tcpSystems(options: BenchOptions): TcpSystem[] {
  if (!options.systems) return [...TCP_SYSTEMS];
  const picked = options.systems.filter((s): s is TcpSystem =>
    (TCP_SYSTEMS as readonly string[]).includes(s),
  );
  return picked.length > 0 ? picked : [...TCP_SYSTEMS];
}

function chartSvg(result: HttpSectionResult, options: BenchOptions, machine: string): string {
  const bars = result.cells
    .filter((c) => c.generator === result.throughputGenerator)
    .map((c) => ({
      system: c.system,
      sizeLabel: formatBytes(c.sizeBytes),
      connections: c.connections,
      megabytesPerSecond: c.payloadMegabytesPerSecond,
    }));
  return renderChart(bars, {
    title: `zcsim HTTP throughput by file size (payload MB/s, ${result.throughputGenerator}, median of ${options.reps})`,
    systems: result.systems,
    sizeLabels: options.sizesBytes.map(formatBytes),
    connections: options.connections,
    highlight: { zeroCopy: ZERO_COPY_SYSTEMS, copy: COPY_SYSTEM },
    footnote: machine,
  });
}

async function compare(options: BenchOptions, dir: string): Promise<string> {
  const machine = machineInfo();
  const started = performance.now();
  const root = benchRoot();
  const httpFiles = options.sections.includes('http')
    ? options.sizesBytes.map((s) => ensureFile(root, s))
    : [];
  const tcpFiles = options.sections.includes('tcp')
    ? options.tcpSizesBytes.map((s) => ensureFile(root, s))
    : [];
  const tcpConfig = {
    files: tcpFiles,
    systems: tcpSystems(options),
    reps: options.reps,
    durationSeconds: options.durationSeconds,
    physmemBytes: options.physmemBytes,
    sndbufBytes: options.sndbufBytes,
  };
  const httpPlan = {
    systems: selectHttpSystems(options),
    files: httpFiles,
    useAutocannon: httpFiles.some((f) => f.sizeBytes <= options.autocannonMaxBytes),
    pipelinedFile: httpFiles.length > 0 ? ensureFile(root, 4096) : null,
  };
  const total = tcpRunCount(tcpConfig) + (httpFiles.length > 0 ? httpRunCount(httpPlan, options) : 0);
  const progress = makeProgress(options, total);
  let tcp: TcpResult | null = null;
  let http: HttpSectionResult | null = null;
  const sectionSeconds: Record<string, number> = {};
  try {
    if (tcpFiles.length > 0) {
      const t = performance.now();
      tcp = await runTcpSection({ ...tcpConfig, onRunDone: progress.tick });
      sectionSeconds.tcp = (performance.now() - t) / 1000;
    }
    if (httpFiles.length > 0) {
      const t = performance.now();
      http = await runHttpSection(httpPlan, root, options, progress.tick);
      sectionSeconds.http = (performance.now() - t) / 1000;
    }
  } finally {
    progress.stop();
  }
  const wallSeconds = (performance.now() - started) / 1000;
  const loadAverageEnd = os.loadavg();
  const markdown = [
    '# zcsim benchmark',
    '',
    `Machine: ${machineLine(machine)}`,
    '',
    `Options: ${optionsLine(options)}. Wall time ${wallSeconds.toFixed(1)} s, load average at the end ${loadAverageEnd.map((l) => l.toFixed(2)).join(' ')} (${Object.entries(
      sectionSeconds,
    )
      .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
      .join(', ')}).`,
    '',
    ...(options.quick ? [QUICK_NOTE, ''] : []),
    `Reproduce: \`npm run bench${options.quick ? ' -- --quick' : ''}\``,
    '',
    tcp ? tcpMarkdown(tcp, options.reps, options.durationSeconds, options.quick) : '',
    '',
    http ? httpMarkdown(http, options.quick) : '',
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'bench.md'), markdown);
  writeFileSync(
    path.join(dir, 'bench.json'),
    `${JSON.stringify({ machine, loadAverageEnd, options, wallSeconds, sectionSeconds, tcp, http }, null, 1)}\n`,
  );
  if (http) writeFileSync(path.join(dir, 'bench.svg'), chartSvg(http, options, machineLine(machine)));
  return markdown;
}

/** Runs the scenario; the Markdown to print and the exit code. */
async function runScenario(
  options: BenchOptions,
): Promise<{ text: string; code: number; dir: string | null }> {
  if (options.scenario === 'profile') {
    if (options.files.length === 0) throw new UsageError('--scenario profile: name the .cpuprofile files');
    return { text: summariseProfiles(options.files, options.callers), code: 0, dir: null };
  }
  if (options.scenario === 'soak') return { text: '', code: await runSoak(options), dir: null };
  const dir = resultsDir(options);
  const text =
    options.scenario === 'micro'
      ? await runMicro(dir)
      : options.scenario === 'ktls'
        ? await runKtlsCost(options, dir)
        : options.scenario === 'compare'
          ? await compare(options, dir)
          : await runHeld(options, dir);
  return { text, code: 0, dir };
}

/** Entry point for `zcsim bench` and `npm run bench`; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchOptions(argv);
  } catch (error) {
    if (error instanceof UsageRequest) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    process.stderr.write(`zcsim bench: ${(error as Error).message} (--help lists the options)\n`);
    return 2;
  }
  const { text, code, dir } = await runScenario(options);
  if (text) process.stdout.write(`${text}\n`);
  if (dir) process.stdout.write(`report written to ${path.relative(process.cwd(), dir) || '.'}/\n`);
  return code;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`zcsim bench: ${error.message}\n`);
        process.exit(2);
      }
      process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
