// The Compare button's load generator, run in a child process (child_process.fork) so that it
// never steals the server's CPU. It gets one job by IPC, loads each route in turn for a bounded
// time, sends one result message per route and exits. Small bodies go through autocannon; large
// ones through a raw keep-alive HTTP/1.1 client on node:net, which counts body bytes without
// copying them (autocannon tops out near 85 MB/s on large bodies).
import { connect, type Socket } from 'node:net';
import autocannon from 'autocannon';

export interface LoaderJob {
  readonly host: string;
  readonly port: number;
  /** URL paths, one per route, loaded one after the other. */
  readonly targets: readonly { readonly route: string; readonly path: string }[];
  readonly durationMs: number;
  readonly connections: number;
  readonly loader: 'autocannon' | 'raw';
}

export interface LoaderResult {
  readonly route: string;
  readonly requests: number;
  readonly bytes: number;
  readonly seconds: number;
  readonly errors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export type LoaderMessage =
  | { readonly type: 'begin'; readonly route: string }
  | { readonly type: 'result'; readonly result: LoaderResult }
  | { readonly type: 'done' }
  | { readonly type: 'error'; readonly message: string };

/** Requests per connection at most in one run (a bound besides the time). */
const REQUESTS_PER_CONNECTION_MAX = 200_000;

/** An IPv6 literal goes in brackets in a URL and a Host header. */
function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function runAutocannon(job: LoaderJob, path: string, route: string): Promise<LoaderResult> {
  const r = await autocannon({
    url: `http://${hostForUrl(job.host)}:${job.port}${path}`,
    connections: job.connections,
    duration: job.durationMs / 1000,
  });
  return {
    route,
    requests: r.requests.total,
    bytes: r.throughput.total,
    seconds: r.duration,
    errors: r.errors + r.timeouts + r.non2xx,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
  };
}

/** One keep-alive connection issuing GETs back to back until the deadline. */
function rawConnection(
  job: LoaderJob,
  path: string,
  deadlineMs: number,
  latencies: number[],
): Promise<{ requests: number; bytes: number; errors: number }> {
  const request = Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: ${hostForUrl(job.host)}:${job.port}\r\n\r\n`,
    'latin1',
  );
  return new Promise((resolve) => {
    const socket: Socket = connect(job.port, job.host);
    let requests = 0;
    let bytes = 0;
    let errors = 0;
    let head: Buffer = Buffer.alloc(0);
    let bodyLeft = -1; // -1: reading the head
    let sentAtMs = 0;
    const next = (): void => {
      if (performance.now() >= deadlineMs || requests >= REQUESTS_PER_CONNECTION_MAX) {
        socket.end();
        return;
      }
      sentAtMs = performance.now();
      socket.write(request);
    };
    const finishOne = (): void => {
      requests++;
      latencies.push(performance.now() - sentAtMs);
      bodyLeft = -1;
      next();
    };
    socket.on('connect', next);
    socket.on('data', (chunk: Buffer) => {
      let data = chunk;
      while (data.length > 0) {
        if (bodyLeft >= 0) {
          const take = Math.min(bodyLeft, data.length);
          bodyLeft -= take;
          bytes += take;
          data = data.subarray(take);
          if (bodyLeft === 0) finishOne();
          continue;
        }
        head = head.length === 0 ? data : Buffer.concat([head, data]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        const text = head.subarray(0, end).toString('latin1');
        data = head.subarray(end + 4);
        head = Buffer.alloc(0);
        if (!/^HTTP\/1\.1 2\d\d/.test(text)) errors++;
        bodyLeft = Number(/\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1] ?? 0);
        if (bodyLeft === 0) finishOne();
      }
    });
    socket.on('error', () => {
      errors++;
    });
    socket.on('close', () => resolve({ requests, bytes, errors }));
  });
}

async function runRaw(job: LoaderJob, path: string, route: string): Promise<LoaderResult> {
  const startMs = performance.now();
  const latencies: number[] = [];
  const runs = await Promise.all(
    Array.from({ length: job.connections }, () =>
      rawConnection(job, path, startMs + job.durationMs, latencies),
    ),
  );
  latencies.sort((a, b) => a - b);
  return {
    route,
    requests: runs.reduce((s, r) => s + r.requests, 0),
    bytes: runs.reduce((s, r) => s + r.bytes, 0),
    seconds: (performance.now() - startMs) / 1000,
    errors: runs.reduce((s, r) => s + r.errors, 0),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

async function runJob(job: LoaderJob, send: (m: LoaderMessage) => void): Promise<void> {
  for (const { route, path } of job.targets) {
    send({ type: 'begin', route });
    const result =
      job.loader === 'autocannon' ? await runAutocannon(job, path, route) : await runRaw(job, path, route);
    send({ type: 'result', result });
  }
}

if (process.send) {
  const send = (m: LoaderMessage): void => {
    process.send?.(m);
  };
  process.once('message', (job: LoaderJob) => {
    runJob(job, send)
      .catch((err: unknown) => send({ type: 'error', message: String(err) }))
      .finally(() => {
        // Exit once the last message is out: autocannon may leave timers behind.
        process.send?.({ type: 'done' } satisfies LoaderMessage, () => process.exit(0));
      });
  });
}
