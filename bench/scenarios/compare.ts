// The compare scenario (the default): the raw TCP section (compare-tcp) and the HTTP comparison
// (compare-http), then one report: Markdown, JSON and the throughput chart.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import cliProgress from 'cli-progress';
import { formatBytes } from '../../src/kern/index.js';
import { renderChart } from '../lib/chart.js';
import { benchRoot, ensureFile } from '../lib/files.js';
import { machineInfo, machineLine } from '../lib/machine.js';
import type { CompareOptions } from '../lib/options.js';
import { type HttpSectionResult, httpMarkdown, optionsLine, tcpMarkdown } from '../lib/report.js';
import { COPY_SYSTEM, ZERO_COPY_SYSTEMS } from '../lib/servers.js';
import { httpRunCount, runHttpSection, selectHttpSystems } from './compare-http.js';
import { runTcpSection, TCP_SYSTEMS, type TcpResult, type TcpSystem, tcpRunCount } from './compare-tcp.js';

const QUICK_NOTE =
  'Quick mode: a smoke run (one short repetition per cell on a shared machine). Targets are not judged from it; run `npm run bench` for figures.';

function makeProgress(options: CompareOptions, total: number) {
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

function tcpSystems(options: CompareOptions): TcpSystem[] {
  if (!options.systems) return [...TCP_SYSTEMS];
  const picked = options.systems.filter((s): s is TcpSystem =>
    (TCP_SYSTEMS as readonly string[]).includes(s),
  );
  return picked.length > 0 ? picked : [...TCP_SYSTEMS];
}

function chartSvg(result: HttpSectionResult, options: CompareOptions, machine: string): string {
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

export async function runCompare(options: CompareOptions, dir: string): Promise<string> {
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
