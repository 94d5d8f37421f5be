// From runs to cells: the medians of the interleaved repetitions of one system in one cell
// (size x connections x generator), and the ratios the targets are stated in.

import { median, ratio } from '../../src/load/index.js';
import type { CounterDelta } from './counters.js';
import type { Generator, HttpRun } from './http-runs.js';

export interface HttpCell {
  system: string;
  sizeBytes: number;
  connections: number;
  generator: Generator;
  reps: number;
  requestsPerSecond: number;
  payloadMegabytesPerSecond: number;
  runsMegabytesPerSecond: number[];
  latencyMs: { p50: number; p97_5: number; p99: number };
  serverCpuSecondsPerGB: number;
  serverCpuMicrosecondsPerResponse: number;
  serverRssBytesMax: number;
  copiesPerByte: number;
  memoryPerByte: number;
  counters: CounterDelta;
  errors: string[];
}

function medianCounters(runs: HttpRun[]): CounterDelta {
  const out: CounterDelta = {};
  const keys = new Set(runs.flatMap((r) => Object.keys(r.counters))) as Set<keyof CounterDelta>;
  for (const key of keys) out[key] = median(runs.map((r) => r.counters[key] ?? Number.NaN));
  return out;
}

export function summariseHttp(runs: HttpRun[]): HttpCell[] {
  const groups = new Map<string, HttpRun[]>();
  for (const run of runs) {
    const key = `${run.generator}|${run.connections}|${run.sizeBytes}|${run.system}`;
    groups.set(key, [...(groups.get(key) ?? []), run]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0] as HttpRun;
    const med = (pick: (r: HttpRun) => number) => median(group.map(pick));
    return {
      system: first.system,
      sizeBytes: first.sizeBytes,
      connections: first.connections,
      generator: first.generator,
      reps: group.length,
      requestsPerSecond: med((r) => r.requestsPerSecond),
      payloadMegabytesPerSecond: med((r) => r.payloadMegabytesPerSecond),
      runsMegabytesPerSecond: group.map((r) => r.payloadMegabytesPerSecond),
      latencyMs: {
        p50: med((r) => r.latencyMs.p50),
        p97_5: med((r) => r.latencyMs.p97_5),
        p99: med((r) => r.latencyMs.p99),
      },
      serverCpuSecondsPerGB: med((r) => r.serverCpuSecondsPerGB),
      serverCpuMicrosecondsPerResponse: med((r) => r.serverCpuMicrosecondsPerResponse),
      serverRssBytesMax: Math.max(...group.map((r) => r.serverRssBytes)),
      copiesPerByte: med((r) => r.copiesPerByte),
      memoryPerByte: med((r) => r.memoryPerByte),
      counters: medianCounters(group),
      errors: [...new Set(group.flatMap((r) => r.errors))],
    };
  });
}

export interface TargetCheck {
  target: string;
  sizeBytes: number;
  connections: number;
  measured: number; // the ratio
  required: number;
  atMost: boolean; // the ratio must stay at or below `required`
  pass: boolean | null; // null: a side is missing
}

/** The HTTP targets, each a ratio of two medians measured in this one run (throughput generator). */
export function checkHttpTargets(cells: HttpCell[], generator: Generator): TargetCheck[] {
  const cell = (system: string, sizeBytes: number, connections: number) =>
    cells.find(
      (c) =>
        c.generator === generator &&
        c.system === system &&
        c.sizeBytes === sizeBytes &&
        c.connections === connections,
    );
  const mbps = (system: string, sizeBytes: number, connections: number) =>
    cell(system, sizeBytes, connections)?.payloadMegabytesPerSecond ?? Number.NaN;
  const cpu = (system: string, sizeBytes: number, connections: number) =>
    cell(system, sizeBytes, connections)?.serverCpuMicrosecondsPerResponse ?? Number.NaN;
  const checks: TargetCheck[] = [];
  const add = (
    target: string,
    a: string,
    b: string,
    sizeBytes: number,
    connections: number,
    required: number,
    atMost = false,
    metric = mbps,
  ) => {
    const measured = ratio(metric(a, sizeBytes, connections), metric(b, sizeBytes, connections));
    const pass = Number.isNaN(measured) ? null : atMost ? measured <= required : measured >= required;
    checks.push({ target, sizeBytes, connections, measured, required, atMost, pass });
  };
  const sizes = [...new Set(cells.map((c) => c.sizeBytes))].sort((x, y) => x - y);
  const connectionsList = [...new Set(cells.map((c) => c.connections))];
  const conns = connectionsList.includes(32) ? 32 : (connectionsList[0] ?? 32);
  for (const size of sizes) {
    const big = size >= 64 * 1024;
    const huge = size >= 1 << 20;
    add(
      'zerocopy-dmap / node-memory',
      'zerocopy-dmap',
      'node-memory',
      size,
      conns,
      huge ? 0.95 : big ? 0.9 : 0.6,
    );
    add(
      'CPU per response: zerocopy-dmap / node-memory',
      'zerocopy-dmap',
      'node-memory',
      size,
      conns,
      huge ? 1.1 : 1.5,
      true,
      cpu,
    );
    add('zerocopy-dmap / fastify-static', 'zerocopy-dmap', 'fastify-static', size, conns, big ? 8 : 3);
    if (size >= 1 << 20) {
      add('zerocopy-dmap / nginx-sendfile-off', 'zerocopy-dmap', 'nginx-sendfile-off', size, conns, 1.2);
      add('copy / zerocopy-dmap (below)', 'copy', 'zerocopy-dmap', size, conns, 1, true);
    }
  }
  return checks;
}
