// POST /compare {file}: a short, bounded load against each route for one file, run by
// loader.ts in a child process. One comparison at a time; the child is killed if it overstays.
// Each route's result carries the server-side counters over its run (bytes copied per byte
// sent), read from this server's per-route counters between the child's messages.
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Clock } from '../kern/index.js';
import type { LoaderJob, LoaderMessage, LoaderResult } from './loader.js';
import { ROUTES, type RouteCounters, type RouteName } from './route-stats.js';

/** Below this size autocannon is the loader; at and above it the raw client. */
export const RAW_LOADER_MIN_BYTES = 64 * 1024;
/** The longest a route is loaded, whatever the caller asks. */
export const COMPARE_ROUTE_MS_MAX = 3000;

export interface CompareRouteResult extends LoaderResult {
  readonly MBps: number;
  readonly requestsPerSec: number;
  /** Bytes the CPU copied per byte sent (head and body), from the server's counters during the run. */
  readonly copiedPerByte: number;
}

export interface CompareResult {
  readonly file: string;
  readonly sizeBytes: number;
  readonly loader: 'autocannon' | 'raw';
  readonly durationMs: number;
  readonly connections: number;
  readonly results: readonly CompareRouteResult[];
}

/** dist/src/http/loader.js next to us, or in the build when we run from src (tests). */
export function loaderPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, 'loader.js'), resolve(here, '..', '..', 'dist', 'src', 'http', 'loader.js')];
  const found = candidates.find((p) => existsSync(p));
  if (!found)
    throw new Error(`compare loader not built: run \`npm run build\` (looked in ${candidates.join(', ')})`);
  return found;
}

/** The one comparison that may run: taken synchronously, released when the request is done. */
export interface CompareSlot {
  run(host: string, port: number, file: string, sizeBytes: number): Promise<CompareResult>;
  release(): void;
}

export class Comparer {
  private child: ChildProcess | null = null;
  private reserved = false;

  constructor(
    private readonly clock: Clock,
    private readonly routes: Readonly<Record<RouteName, RouteCounters>>,
    private readonly durationMs: number,
  ) {}

  get busy(): boolean {
    return this.reserved || this.child !== null;
  }

  /** The comparison slot, or null while one is taken (answer 409); synchronous, so races lose. */
  reserve(): CompareSlot | null {
    if (this.busy) return null;
    this.reserved = true;
    let held = true;
    return {
      run: (host, port, file, sizeBytes) => {
        if (!held) return Promise.reject(new Error('compare slot released'));
        return this.run(host, port, file, sizeBytes);
      },
      release: () => {
        if (!held) return;
        held = false;
        this.reserved = false;
      },
    };
  }

  /** Runs the comparison for `urlPath` (relative to each route) on host:port. */
  private run(host: string, port: number, file: string, sizeBytes: number): Promise<CompareResult> {
    const durationMs = Math.min(this.durationMs, COMPARE_ROUTE_MS_MAX);
    const loader = sizeBytes < RAW_LOADER_MIN_BYTES ? 'autocannon' : 'raw';
    const connections = sizeBytes >= 16 * 1024 * 1024 ? 2 : sizeBytes >= RAW_LOADER_MIN_BYTES ? 4 : 8;
    const encoded = file.split('/').map(encodeURIComponent).join('/');
    const job: LoaderJob = {
      host,
      port,
      targets: ROUTES.map((route) => ({ route, path: `/${route}/${encoded}` })),
      durationMs,
      connections,
      loader,
    };
    const child = fork(loaderPath(), [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], execArgv: [] });
    this.child = child;
    const results: CompareRouteResult[] = [];
    let before = { copied: 0, sent: 0 };
    return new Promise<CompareResult>((resolvePromise, reject) => {
      const timer = this.clock.setTimer(ROUTES.length * durationMs + 15_000, () => child.kill('SIGKILL'));
      let failure: string | null = null;
      child.on('message', (m: LoaderMessage) => {
        if (m.type === 'begin') {
          const c = this.routes[m.route as RouteName];
          before = { copied: c.copied_bytes, sent: c.body_bytes + c.header_bytes };
        } else if (m.type === 'result') {
          const c = this.routes[m.result.route as RouteName];
          const sent = c.body_bytes + c.header_bytes - before.sent;
          const r = m.result;
          results.push({
            ...r,
            MBps: r.seconds > 0 ? r.bytes / r.seconds / 1e6 : 0,
            requestsPerSec: r.seconds > 0 ? r.requests / r.seconds : 0,
            copiedPerByte: sent > 0 ? (c.copied_bytes - before.copied) / sent : 0,
          });
        } else if (m.type === 'error') failure = m.message;
      });
      child.on('exit', (code, signal) => {
        timer.cancel();
        this.child = null;
        if (results.length === ROUTES.length) {
          resolvePromise({ file, sizeBytes, loader, durationMs, connections, results });
        } else
          reject(new Error(failure ?? `loader exited (${signal ?? code}) after ${results.length} routes`));
      });
      child.send(job);
    });
  }

  /** Kills a running loader (server close). */
  stop(): void {
    this.child?.kill('SIGKILL');
  }
}
