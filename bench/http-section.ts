// Runs the HTTP section: start every system (each in its own process), verify each one's
// bodies, then for each cell the interleaved reps of every system with the throughput generator,
// and autocannon on small files. Servers and loaders are stopped whatever happens.
import {
  autocannonRun,
  type HttpContext,
  type HttpRun,
  makeWrkScript,
  throughputRun,
  verifySystem,
} from './http.js';
import type { BenchFile } from './lib/files.js';
import { ChildHandle } from './lib/ipc.js';
import type { BenchOptions } from './lib/options.js';
import type { HttpSectionResult } from './lib/report.js';
import { COPY_SYSTEM, HTTP_SYSTEMS, type HttpSystem, type LiveServer, startSystem } from './lib/servers.js';
import { checkHttpTargets, summariseHttp } from './lib/summary.js';
import { findExecutable } from './lib/wrk.js';

export function selectHttpSystems(options: BenchOptions): HttpSystem[] {
  if (!options.systems) return [...HTTP_SYSTEMS];
  return options.systems.filter((s): s is HttpSystem => (HTTP_SYSTEMS as readonly string[]).includes(s));
}

export interface HttpPlan {
  systems: HttpSystem[];
  files: BenchFile[];
  useAutocannon: boolean;
}

export function httpRunCount(plan: HttpPlan, options: BenchOptions): number {
  const small = plan.files.filter((f) => f.sizeBytes <= options.autocannonMaxBytes).length;
  return (
    plan.systems.length *
    options.connections.length *
    options.reps *
    (plan.files.length + (plan.useAutocannon ? small : 0))
  );
}

async function startAll(
  plan: HttpPlan,
  root: string,
  options: BenchOptions,
  skipped: Record<string, string>,
) {
  const servers = new Map<HttpSystem, LiveServer>();
  const context = {
    root,
    fileNames: plan.files.map((f) => f.name),
    physmemBytes: options.physmemBytes,
    sndbufBytes: options.sndbufBytes,
    nginxPath: findExecutable('nginx'),
    profileDir: options.profileDir,
  };
  const started = await Promise.allSettled(plan.systems.map((system) => startSystem(system, context)));
  started.forEach((outcome, i) => {
    const system = plan.systems[i] as HttpSystem;
    if (outcome.status === 'fulfilled') servers.set(system, outcome.value);
    else skipped[system] = (outcome.reason as Error).message.split('\n')[0] ?? 'did not start';
  });
  return servers;
}

export async function runHttpSection(
  plan: HttpPlan,
  root: string,
  options: BenchOptions,
  onRunDone: (label: string) => void,
): Promise<HttpSectionResult> {
  const skipped: Record<string, string> = {};
  const wrkPath = options.loader === 'node' ? null : findExecutable('wrk');
  if (options.loader === 'wrk' && !wrkPath)
    throw new Error('--loader wrk: wrk is not on PATH (apt-get install wrk)');
  const servers = await startAll(plan, root, options, skipped);
  const nodeLoader = new ChildHandle(new URL('./children/http-loader.js', import.meta.url));
  const autocannon = plan.useAutocannon
    ? new ChildHandle(new URL('./children/autocannon-loader.js', import.meta.url))
    : null;
  const context: HttpContext = {
    files: new Map(plan.files.map((f) => [f.sizeBytes, f])),
    servers,
    nodeLoader,
    autocannon,
    wrkPath,
    wrkScriptPath: makeWrkScript(wrkPath),
    warmupSeconds: options.warmupSeconds,
    durationSeconds: options.durationSeconds,
    headerBytes: new Map(),
  };
  const runs: HttpRun[] = [];
  try {
    await verifyAll(context, plan, skipped);
    const live = plan.systems.filter((s) => servers.has(s) && !skipped[s]);
    for (const connections of options.connections) {
      for (const file of plan.files) {
        const generators: ('throughput' | 'autocannon')[] = ['throughput'];
        if (autocannon && file.sizeBytes <= options.autocannonMaxBytes) generators.push('autocannon');
        for (const generator of generators) {
          for (let rep = 0; rep < options.reps; rep++) {
            for (const system of live) {
              const run = generator === 'throughput' ? throughputRun : autocannonRun;
              runs.push(await run(context, { system, sizeBytes: file.sizeBytes, connections, rep }));
              onRunDone(`${generator} ${system} ${file.name} c${connections}`);
            }
          }
        }
      }
    }
  } finally {
    await Promise.allSettled([...servers.values()].map((s) => s.stop()));
    await Promise.allSettled([nodeLoader.stop(), autocannon?.stop()]);
  }
  const cells = summariseHttp(runs);
  const throughputGenerator = wrkPath ? 'wrk' : 'node-loader';
  const systems = plan.systems.filter((s) => !skipped[s]);
  return {
    systems,
    skipped,
    throughputGenerator,
    cells,
    targets: checkHttpTargets(cells, throughputGenerator),
  };
}

async function verifyAll(context: HttpContext, plan: HttpPlan, skipped: Record<string, string>) {
  for (const system of plan.systems) {
    if (skipped[system]) continue;
    for (const file of plan.files) {
      const problem = await verifySystem(context, system, file).catch((e: Error) => e.message);
      if (problem) {
        skipped[system] = `wrong answer on ${file.name}: ${problem}`;
        break;
      }
    }
  }
}

export { COPY_SYSTEM };
