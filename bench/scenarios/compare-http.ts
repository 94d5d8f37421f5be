// Runs the HTTP section: start every system (each in its own process), verify each one's
// bodies, then for each cell the interleaved reps of every system with the throughput generator,
// autocannon on small files, and wrk pipelining 16 deep on 4 KiB for /zerocopy, res.end(buffer)
// and nginx. A missing tool (wrk, nginx) is said in the report and the rest goes on. Servers and
// the loader are stopped whatever happens.

import os from 'node:os';
import path from 'node:path';
import { formatBytes } from '../../src/kern/index.js';
import { builtScript, ChildHandle, LOADER_SCRIPT } from '../../src/load/index.js';
import { selfSignedCert } from '../../src/tls/index.js';
import type { BenchFile } from '../lib/files.js';
import {
  autocannonRun,
  type HttpContext,
  type HttpRun,
  makeWrkScript,
  pipelinedRun,
  throughputRun,
  verifySystem,
} from '../lib/http-runs.js';
import type { CompareOptions } from '../lib/options.js';
import type { HttpSectionResult } from '../lib/report.js';
import {
  type BenchTls,
  COPY_SYSTEM,
  HTTP_SYSTEMS,
  type HttpSystem,
  isTlsSystem,
  type LiveServer,
  startSystem,
} from '../lib/servers.js';
import { checkHttpTargets, summariseHttp } from '../lib/summary.js';
import { findExecutable } from '../lib/wrk.js';

export function selectHttpSystems(options: CompareOptions): HttpSystem[] {
  if (!options.systems) return [...HTTP_SYSTEMS];
  return options.systems.filter((s): s is HttpSystem => (HTTP_SYSTEMS as readonly string[]).includes(s));
}

export interface HttpPlan {
  systems: HttpSystem[];
  files: BenchFile[];
  useAutocannon: boolean;
  /** The 4 KiB file of the pipelined run (null: no HTTP section). */
  pipelinedFile: BenchFile | null;
}

/** The systems of the pipelined run: /zerocopy, Node's res.end(buffer), nginx. */
const PIPELINED_SYSTEMS: readonly HttpSystem[] = ['zerocopy-dmap', 'node-memory', 'nginx-sendfile-on'];

function pipelinedSystems(plan: HttpPlan): HttpSystem[] {
  return plan.systems.filter((s) => PIPELINED_SYSTEMS.includes(s));
}

/** The connection count of the pipelined run: the largest asked for. */
function pipelinedConnections(options: CompareOptions): number {
  return Math.max(...options.connections);
}

export function httpRunCount(plan: HttpPlan, options: CompareOptions): number {
  const small = plan.files.filter((f) => f.sizeBytes <= options.autocannonMaxBytes).length;
  const plain = plan.systems.filter((s) => !isTlsSystem(s)).length;
  return (
    options.connections.length *
      options.reps *
      (plan.systems.length * plan.files.length + (plan.useAutocannon ? plain * small : 0)) +
    (plan.pipelinedFile ? pipelinedSystems(plan).length * options.reps : 0)
  );
}

async function benchTls(): Promise<BenchTls> {
  const uid = process.getuid?.() ?? 0;
  const pair = await selfSignedCert(path.join(os.tmpdir(), `zcsim-bench-tls-${uid}`));
  return { cert: pair.cert, key: pair.key, certPath: pair.certPath, keyPath: pair.keyPath };
}

async function startAll(
  plan: HttpPlan,
  root: string,
  options: CompareOptions,
  skipped: Record<string, string>,
) {
  const servers = new Map<HttpSystem, LiveServer>();
  const context = {
    root,
    fileNames: [
      ...new Set([...plan.files, ...(plan.pipelinedFile ? [plan.pipelinedFile] : [])].map((f) => f.name)),
    ],
    physmemBytes: options.physmemBytes,
    sndbufBytes: options.sndbufBytes,
    nginxPath: findExecutable('nginx'),
    profileDir: options.profileDir,
    tls: plan.systems.some(isTlsSystem) ? await benchTls() : null,
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
  options: CompareOptions,
  onRunDone: (label: string) => void,
): Promise<HttpSectionResult> {
  const skipped: Record<string, string> = {};
  const wrkInstalled = findExecutable('wrk');
  const wrkPath = options.loader === 'node' ? null : wrkInstalled;
  if (options.loader === 'wrk' && !wrkPath)
    throw new Error('--loader wrk: wrk is not on PATH (apt-get install wrk)');
  const notes: string[] = [];
  if (!wrkInstalled) {
    const line =
      'wrk is not installed (apt-get install wrk): throughput comes from the load room, and the pipelined run is skipped';
    notes.push(line);
    process.stderr.write(`bench: ${line}\n`);
  }
  if (plan.systems.some((s) => s.startsWith('nginx-')) && !findExecutable('nginx')) {
    const line = 'nginx is not installed (apt-get install nginx): its columns are empty';
    notes.push(line);
    process.stderr.write(`bench: ${line}\n`);
  }
  const servers = await startAll(plan, root, options, skipped);
  const loader = new ChildHandle(builtScript(LOADER_SCRIPT));
  const context: HttpContext = {
    files: new Map(
      [...(plan.pipelinedFile ? [plan.pipelinedFile] : []), ...plan.files].map((f) => [f.sizeBytes, f]),
    ),
    servers,
    loader,
    useAutocannon: plan.useAutocannon,
    wrkPath,
    wrkScriptPath: makeWrkScript(wrkPath),
    wrkPipelinedScriptPath: makeWrkScript(wrkInstalled, true),
    warmupSeconds: options.warmupSeconds,
    durationSeconds: options.durationSeconds,
    headerBytes: new Map(),
  };
  const runs: HttpRun[] = [];
  let nicSecondsPerGB = Number.NaN;
  try {
    await verifyAll(context, plan, skipped);
    const live = plan.systems.filter((s) => servers.has(s) && !skipped[s]);
    for (const connections of options.connections) {
      for (const file of plan.files) {
        const generators: ('throughput' | 'autocannon')[] = ['throughput'];
        if (plan.useAutocannon && file.sizeBytes <= options.autocannonMaxBytes) generators.push('autocannon');
        for (const generator of generators) {
          for (let rep = 0; rep < options.reps; rep++) {
            // autocannon is not pointed at the HTTPS systems (their generator is wrk or the load room).
            for (const system of live.filter((s) => generator !== 'autocannon' || !isTlsSystem(s))) {
              const run = generator === 'throughput' ? throughputRun : autocannonRun;
              runs.push(await run(context, { system, sizeBytes: file.sizeBytes, connections, rep }));
              onRunDone(`${generator} ${system} ${formatBytes(file.sizeBytes)} ×${connections}`);
            }
          }
        }
      }
    }
    const pipelinedFile = plan.pipelinedFile;
    if (pipelinedFile) {
      const connections = pipelinedConnections(options);
      const systems = pipelinedSystems(plan).filter((s) => live.includes(s));
      for (let rep = 0; rep < options.reps; rep++) {
        for (const system of systems) {
          if (wrkInstalled) {
            const cell = { system, sizeBytes: pipelinedFile.sizeBytes, connections, rep };
            runs.push(await pipelinedRun(context, cell));
          }
          onRunDone(`wrk-pipelined ${system} ${formatBytes(pipelinedFile.sizeBytes)} ×${connections}`);
        }
      }
    }
    // The NIC's encryption, measured where it runs: in the ifnet server's process, after its runs.
    const ifnet = skipped['https-zerocopy-ifnet'] ? undefined : servers.get('https-zerocopy-ifnet');
    if (ifnet) nicSecondsPerGB = (await ifnet.nicEncryptSecondsPerGB()) ?? Number.NaN;
  } finally {
    await Promise.allSettled([...servers.values()].map((s) => s.stop()));
    await loader.stop();
  }
  const cells = summariseHttp(runs);
  const throughputGenerator = wrkPath ? 'wrk' : 'node-loader';
  const systems = plan.systems.filter((s) => !skipped[s]);
  return {
    systems,
    skipped,
    notes,
    throughputGenerator,
    cells,
    targets: checkHttpTargets(cells, throughputGenerator),
    nicEncryptSecondsPerGB: nicSecondsPerGB,
  };
}

async function verifyAll(context: HttpContext, plan: HttpPlan, skipped: Record<string, string>) {
  const files = [...plan.files];
  if (plan.pipelinedFile && !files.some((f) => f.name === plan.pipelinedFile?.name))
    files.push(plan.pipelinedFile);
  for (const system of plan.systems) {
    if (skipped[system]) continue;
    for (const file of files) {
      const problem = await verifySystem(context, system, file).catch((e: Error) => e.message);
      if (problem) {
        skipped[system] = `wrong answer on ${file.name}: ${problem}`;
        break;
      }
    }
  }
}

export { COPY_SYSTEM };
