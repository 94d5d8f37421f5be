// The Markdown report: every table names the generator that produced its numbers, units sit in
// the column labels, and the targets are listed with the ratio measured in this one run.
import { formatBytes } from '../../src/kern/index.js';
import type { TcpResult } from '../scenarios/compare-tcp.js';
import type { CompareOptions } from './options.js';
import type { HttpCell, TargetCheck } from './summary.js';
import { tlsLines } from './tls-report.js';
import { PIPELINE_DEPTH } from './wrk.js';

export interface HttpSectionResult {
  systems: string[];
  skipped: Record<string, string>;
  /** What was missing and left out (a tool not installed). */
  notes: string[];
  throughputGenerator: string;
  cells: HttpCell[];
  targets: TargetCheck[];
  /** CPU s/GB of the ifnet "NIC"'s encryption, measured in its server's process (NaN: not run). */
  nicEncryptSecondsPerGB: number;
}

/** A number for a table cell: fixed digits by magnitude, an en dash for a missing value. */
export function n(value: number, digits?: number): string {
  if (!Number.isFinite(value)) return '–';
  const fractionDigits = digits ?? (Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2);
  return value.toFixed(fractionDigits);
}

const row = (cells: (string | number)[]) => `| ${cells.join(' | ')} |`;
const rule = (count: number) => row(Array.from({ length: count }, () => '---'));
const passText = (pass: boolean | null, quick = false) =>
  quick ? 'not judged (quick)' : pass === null ? 'n/a' : pass ? 'pass' : '**MISS**';

export function optionsLine(o: CompareOptions): string {
  return `sizes ${o.sizesBytes.map(formatBytes).join(', ')}; connections ${o.connections.join(', ')}; ${o.durationSeconds} s measured + ${o.warmupSeconds} s warm-up per run; ${o.reps} interleaved reps (median); keep-alive; 127.0.0.1; simulated physmem ${formatBytes(o.physmemBytes)}, send buffer ${o.sndbufBytes ? formatBytes(o.sndbufBytes) : "the demo's default (a 32nd of each pool, at most 1 MiB)"}${o.quick ? '; --quick' : ''}`;
}

export function tcpMarkdown(
  result: TcpResult,
  reps: number,
  durationSeconds: number,
  quick: boolean,
): string {
  const out = [
    '## Raw TCP over loopback',
    '',
    `Sender in the benchmark process, receiver in a child process that drains and counts; hot cache; ${durationSeconds} s per run, median of ${reps} interleaved reps. Upper bound = \`socket.write()\` of one in-memory Buffer.`,
    '',
    row([
      'file',
      'system',
      'MB/s (median)',
      'runs MB/s',
      '× upper bound',
      '× copy path',
      'sender CPU s/GB',
      'file copies/byte (kernel)',
    ]),
    rule(8),
  ];
  for (const c of result.cells) {
    out.push(
      row([
        formatBytes(c.sizeBytes),
        c.system,
        n(c.megabytesPerSecond),
        c.runs.map((v) => n(v)).join(' / '),
        n(c.vsUpperBound),
        n(c.vsCopy),
        n(c.senderCpuSecondsPerGB),
        n(c.copiesPerByte),
      ]),
    );
  }
  const cell = (system: string, size: number) =>
    result.cells.find((c) => c.system === system && c.sizeBytes === size);
  const big = 64 * 1024 * 1024;
  const dmap = cell('sendfile-dmap', big);
  out.push('', '| target | measured | pass |', '|---|---|---|');
  out.push(
    row([
      'sendfile-dmap ≥ 0.85× upper bound (64 MiB)',
      n(dmap?.vsUpperBound ?? Number.NaN),
      passText(dmap ? dmap.vsUpperBound >= 0.85 : null, quick),
    ]),
  );
  out.push(
    row([
      'sendfile-dmap ≥ 1.3× copy path (64 MiB)',
      n(dmap?.vsCopy ?? Number.NaN),
      passText(dmap ? dmap.vsCopy >= 1.3 : null, quick),
    ]),
  );
  for (const size of new Set(result.cells.map((c) => c.sizeBytes))) {
    const copy = cell('copy', size);
    for (const mode of ['sendfile-dmap', 'sendfile-kva', 'sendfile-extpg']) {
      const sf = cell(mode, size);
      const measured = copy && sf ? copy.megabytesPerSecond / sf.megabytesPerSecond : Number.NaN;
      out.push(
        row([
          `copy ≤ ${mode} (${formatBytes(size)})`,
          n(measured),
          passText(Number.isNaN(measured) ? null : measured <= 1, quick),
        ]),
      );
    }
  }
  for (const [system, reason] of Object.entries(result.skipped)) out.push('', `Skipped ${system}: ${reason}`);
  return out.join('\n');
}

function throughputTable(
  cells: HttpCell[],
  systems: string[],
  generator: string,
  metric: 'MB/s' | 'req/s' | 'µs CPU/response',
): string[] {
  const out: string[] = [];
  const connectionsList = [...new Set(cells.map((c) => c.connections))];
  const sizes = [...new Set(cells.map((c) => c.sizeBytes))].sort((a, b) => a - b);
  out.push(row(['file', 'conns', ...systems.map((s) => `${s} ${metric}`)]), rule(systems.length + 2));
  for (const connections of connectionsList) {
    for (const size of sizes) {
      const values = systems.map((s) => {
        const c = cells.find(
          (x) =>
            x.generator === generator &&
            x.system === s &&
            x.sizeBytes === size &&
            x.connections === connections,
        );
        const value =
          metric === 'MB/s'
            ? c?.payloadMegabytesPerSecond
            : metric === 'req/s'
              ? c?.requestsPerSecond
              : c?.serverCpuMicrosecondsPerResponse;
        return c && value !== undefined ? `${n(value)}${c.errors.length > 0 ? ' (errors)' : ''}` : '–';
      });
      if (values.some((v) => v !== '–')) out.push(row([formatBytes(size), connections, ...values]));
    }
  }
  return out;
}

function detailTable(cells: HttpCell[]): string[] {
  const out = [
    row([
      'generator',
      'system',
      'file',
      'conns',
      'req/s',
      'payload MB/s',
      'p50 ms',
      'p97.5 ms',
      'p99 ms',
      'server CPU s/GB',
      'server CPU µs/response',
      'server RSS MiB (max)',
      'CPU copies/body byte (/stats)',
      'CPU memory read/body byte (/stats)',
      'sf_buf allocs',
      'nsfbufspeak',
      'sf_allocwait',
      'TLB shootdowns',
      'IPIs',
      'page-ins',
      'errors',
    ]),
    rule(21),
  ];
  for (const c of cells) {
    const k = c.counters;
    out.push(
      row([
        c.generator,
        c.system,
        formatBytes(c.sizeBytes),
        c.connections,
        n(c.requestsPerSecond),
        n(c.payloadMegabytesPerSecond),
        n(c.latencyMs.p50, 2),
        n(c.latencyMs.p97_5, 2),
        n(c.latencyMs.p99, 2),
        n(c.serverCpuSecondsPerGB, 2),
        n(c.serverCpuMicrosecondsPerResponse, 1),
        n(c.serverRssBytesMax / 2 ** 20, 0),
        n(c.copiesPerByte, 2),
        n(c.memoryPerByte, 2),
        n(k.alloc_calls ?? Number.NaN, 0),
        n(k.nsfbufspeak ?? Number.NaN, 0),
        n(k.sf_allocwait ?? Number.NaN, 0),
        n(k.shootdowns ?? Number.NaN, 0),
        n(k.ipis ?? Number.NaN, 0),
        n(k.pageins ?? k.sf_iocnt ?? Number.NaN, 0),
        c.errors.length > 0 ? c.errors.join('; ').slice(0, 120) : '',
      ]),
    );
  }
  return out;
}

export function httpMarkdown(result: HttpSectionResult, quick: boolean): string {
  const out = [
    '## HTTP comparison',
    '',
    ...result.notes.map((line) => `Note: ${line}.`),
    ...(result.notes.length > 0 ? [''] : []),
    `### Payload throughput, MB/s — generator: **${result.throughputGenerator}** (median of interleaved reps)`,
    '',
    ...throughputTable(result.cells, result.systems, result.throughputGenerator, 'MB/s'),
    '',
    `### Server CPU time per response, µs — the server process's \`process.cpuUsage()\` (or /proc for nginx) over the window ÷ responses; steadier than throughput on a shared machine`,
    '',
    ...throughputTable(result.cells, result.systems, result.throughputGenerator, 'µs CPU/response'),
  ];
  if (result.cells.some((c) => c.generator === 'wrk-pipelined')) {
    const pipelined = result.systems.filter((s) =>
      result.cells.some((c) => c.generator === 'wrk-pipelined' && c.system === s),
    );
    out.push(
      '',
      `### Pipelined, ${PIPELINE_DEPTH} requests deep — generator: **wrk** with a pipelining script`,
      '',
      ...throughputTable(result.cells, pipelined, 'wrk-pipelined', 'req/s'),
      '',
      ...throughputTable(result.cells, pipelined, 'wrk-pipelined', 'µs CPU/response'),
    );
  }
  if (result.cells.some((c) => c.generator === 'autocannon')) {
    out.push(
      '',
      '### Small files, req/s — generator: **autocannon** (latency in the table below)',
      '',
      ...throughputTable(result.cells, result.systems, 'autocannon', 'req/s'),
    );
  }
  out.push(
    '',
    '### Every cell (req/s, latency, server CPU, /stats counters of the run)',
    '',
    ...detailTable(result.cells),
  );
  out.push(
    '',
    `### Targets (ratios of medians in this run, generator ${result.throughputGenerator})`,
    '',
    row(['target', 'file', 'conns', 'measured ×', 'required ×', 'result']),
    rule(6),
  );
  for (const t of result.targets) {
    out.push(
      row([
        t.target,
        formatBytes(t.sizeBytes),
        t.connections,
        n(t.measured, 2),
        `${t.atMost ? '≤' : '≥'} ${t.required}`,
        passText(t.pass, quick),
      ]),
    );
  }
  out.push('', ...copiesLines(result));
  const tls = tlsLines(result.cells, result.throughputGenerator, result.nicEncryptSecondsPerGB, n);
  if (tls.length > 0) out.push('', ...tls);
  for (const [system, reason] of Object.entries(result.skipped)) out.push('', `Skipped ${system}: ${reason}`);
  return out.join('\n');
}

const COUNTED_SYSTEMS = [
  'zerocopy-dmap',
  'zerocopy-kva',
  'zerocopy-extpg',
  'copy',
  'stream',
  'https-zerocopy-sw',
  'https-zerocopy-ifnet',
  'https-copy',
];

/**
 * Copies and memory traffic per body byte beside the copy/zerocopy comparison ("2 vs 0"), for
 * the zcsim systems that ran.
 */
function copiesLines(result: HttpSectionResult): string[] {
  const out = [
    'Per body byte sent, bytes copied by the CPU / bytes of memory the CPU read (as many written),',
    "from GET /stats route counters, median of the runs (the NIC's DMA read, 1 a byte everywhere,",
    'is not included; in ifnet mode the "NIC" encrypts on the host CPU, counted apart):',
    '',
  ];
  const systems = COUNTED_SYSTEMS.filter((s) => result.systems.includes(s));
  const sizes = [...new Set(result.cells.map((c) => c.sizeBytes))].sort((a, b) => a - b);
  for (const size of sizes) {
    const parts = systems.map((system) => {
      const cell = result.cells.find(
        (c) => c.generator === result.throughputGenerator && c.system === system && c.sizeBytes === size,
      );
      return `${system} ${cell ? `${n(cell.copiesPerByte, 2)} / ${n(cell.memoryPerByte, 2)}` : '–'}`;
    });
    out.push(`- ${formatBytes(size)}: ${parts.join(', ')}`);
  }
  return out;
}
