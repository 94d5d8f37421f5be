// POST /compare {file}: a short, bounded load against each route for one file, run by the load
// room's generator in a child process. Bounded in bytes (files up to COMPARE_FILE_MAX_BYTES) and
// in CPU: one comparison at a time, the next only after a rest as long as the last one ran (so
// comparisons take at most half the time), and the child is killed if it overstays. Each route's result carries the server-side counters over its run (bytes copied
// per byte sent), read from this server's per-route counters around the child's run.
import type { Clock } from '../../kern/index.js';
import {
  type AutocannonSummary,
  builtScript,
  ChildHandle,
  hostForUrl,
  LOADER_SCRIPT,
  type LoadResult,
} from '../../load/index.js';
import { ROUTES, type RouteCounters, type RouteName } from '../files/index.js';

/** Below this size autocannon is the loader; at and above it the raw client. */
export const RAW_LOADER_MIN_BYTES = 64 * 1024;
/** The longest a route is loaded, whatever the caller asks. */
export const COMPARE_ROUTE_MS_MAX = 3000;
/** The largest file compared: one response of it must fit well inside a route's run. */
export const COMPARE_FILE_MAX_BYTES = 64 * 1024 * 1024;

/** The loader overstayed its run and was killed (answered 503, with Retry-After). */
export class CompareOverrunError extends Error {
  override readonly name = 'CompareOverrunError';
}

/** What the load generator measured on one route. */
export interface LoaderResult {
  readonly route: string;
  readonly requests: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface CompareRouteResult extends LoaderResult {
  readonly MBps: number;
  readonly requestsPerSec: number;
  /** Bytes the CPU copied per byte sent (head and body), from the server's counters during the run. */
  readonly copiedPerByte: number;
  /** Bytes the CPU read from memory per byte sent (copies and encryption; the same written). */
  readonly memoryPerByte: number;
}

export interface CompareResult {
  readonly file: string;
  readonly sizeBytes: number;
  readonly loader: 'autocannon' | 'raw';
  readonly durationMs: number;
  readonly connections: number;
  readonly results: readonly CompareRouteResult[];
}

interface RouteJob {
  readonly host: string;
  readonly port: number;
  readonly route: string;
  readonly path: string;
  readonly durationMs: number;
  readonly connections: number;
  readonly sizeBytes: number;
  readonly tls: boolean;
}

async function loadRoute(
  child: ChildHandle,
  loader: 'autocannon' | 'raw',
  job: RouteJob,
): Promise<LoaderResult> {
  const timeoutMs = job.durationMs + 60_000;
  if (loader === 'autocannon') {
    const r = await child.request<AutocannonSummary>(
      'autocannon',
      {
        url: `http://${hostForUrl(job.host)}:${job.port}${job.path}`,
        connections: job.connections,
        warmupSeconds: 0,
        durationSeconds: job.durationMs / 1000,
      },
      timeoutMs,
    );
    const errors = r.errors + r.timeouts + r.non2xx;
    return {
      route: job.route,
      requests: r.requests,
      bytes: r.bytes,
      seconds: r.seconds,
      errors,
      p50Ms: r.latencyMs.p50,
      p99Ms: r.latencyMs.p99,
    };
  }
  const r = await child.request<LoadResult>(
    'run',
    {
      host: job.host,
      port: job.port,
      urlPath: job.path,
      connections: job.connections,
      warmupMs: 0,
      durationMs: job.durationMs,
      expected: { sizeBytes: job.sizeBytes, sha256: null },
      countDrain: true,
      tls: job.tls,
    },
    timeoutMs,
  );
  return {
    route: job.route,
    requests: r.requests,
    bytes: r.payloadBytes,
    seconds: r.seconds,
    errors: r.errorCount,
    p50Ms: r.latencyMs.p50,
    p99Ms: r.latencyMs.p99,
  };
}

/** The one comparison that may run: taken synchronously, released when the request is done. */
export interface CompareSlot {
  run(host: string, port: number, file: string, sizeBytes: number): Promise<CompareResult>;
  release(): void;
}

export class Comparer {
  private child: ChildHandle | null = null;
  private reserved = false;
  /** When the last comparison ended, and how long it ran. */
  private lastEndMs = Number.NEGATIVE_INFINITY;
  private lastRunMs = 0;

  constructor(
    private readonly clock: Clock,
    private readonly routes: Readonly<Record<RouteName, RouteCounters>>,
    private readonly durationMs: number,
    /** The server speaks HTTPS: the raw loader connects with TLS (autocannon is not used). */
    private readonly tls = false,
  ) {}

  get busy(): boolean {
    return this.reserved || this.child !== null;
  }

  /** How long until a comparison may start: the last one's run time after it ended (0: now). */
  restLeftMs(): number {
    return Math.max(0, this.lastEndMs + this.lastRunMs - this.clock.nowMs());
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

  /** Runs the comparison for `file` (relative to each route) on host:port. */
  private async run(host: string, port: number, file: string, sizeBytes: number): Promise<CompareResult> {
    const durationMs = Math.min(this.durationMs, COMPARE_ROUTE_MS_MAX);
    const loader = sizeBytes < RAW_LOADER_MIN_BYTES && !this.tls ? 'autocannon' : 'raw';
    const connections = sizeBytes >= 16 * 1024 * 1024 ? 2 : sizeBytes >= RAW_LOADER_MIN_BYTES ? 4 : 8;
    const encoded = file.split('/').map(encodeURIComponent).join('/');
    const child = new ChildHandle(builtScript(LOADER_SCRIPT), { output: 'ignore' });
    this.child = child;
    const startMs = this.clock.nowMs();
    let overran = false;
    const timer = this.clock.setTimer(ROUTES.length * durationMs + 15_000, () => {
      overran = true;
      child.kill();
    });
    const results: CompareRouteResult[] = [];
    try {
      for (const route of ROUTES) {
        const c = this.routes[route];
        const before = {
          copied: c.copied_bytes,
          read: c.cpu_read_bytes,
          sent: c.body_bytes + c.header_bytes,
        };
        const path = `/${route}/${encoded}`;
        const job = { host, port, route, path, durationMs, connections, sizeBytes, tls: this.tls };
        const r = await loadRoute(child, loader, job);
        const sent = c.body_bytes + c.header_bytes - before.sent;
        results.push({
          ...r,
          MBps: r.seconds > 0 ? r.bytes / r.seconds / 1e6 : 0,
          requestsPerSec: r.seconds > 0 ? r.requests / r.seconds : 0,
          copiedPerByte: sent > 0 ? (c.copied_bytes - before.copied) / sent : 0,
          memoryPerByte: sent > 0 ? (c.cpu_read_bytes - before.read) / sent : 0,
        });
      }
    } catch (err) {
      throw overran ? new CompareOverrunError('the comparison overstayed its time and was stopped') : err;
    } finally {
      timer.cancel();
      await child.stop();
      this.child = null;
      this.lastEndMs = this.clock.nowMs();
      this.lastRunMs = this.lastEndMs - startMs;
    }
    return { file, sizeBytes, loader, durationMs, connections, results };
  }

  /** Kills a running loader (server close). */
  stop(): void {
    this.child?.kill();
  }
}
