// A load run: N keep-alive connections, each with one GET in flight, for a warm-up and then a
// measured window. Throughput counts the body bytes that arrive inside the window; latency is
// request written -> last body byte, for responses that finish inside it. Every body's status
// and length are checked, and a sample of bodies is hashed, so a fast wrong answer cannot win.
import { HttpClient } from './client.js';
import { percentile } from './stats.js';

export interface ExpectedBody {
  readonly sizeBytes: number;
  /** null: bodies are not hashed (only their length is checked). */
  readonly sha256: string | null;
}

export interface LoadRequest {
  readonly host?: string;
  readonly port: number;
  readonly urlPath: string;
  readonly connections: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly expected: ExpectedBody;
  /**
   * Count the responses in flight at the window's end too, the window closing when the last one
   * has finished (the dashboard's short Compare runs, where one response may outlast the window).
   */
  readonly countDrain?: boolean;
  /** HTTPS (TLS 1.3, any certificate). */
  readonly tls?: boolean;
}

export interface LatencySummary {
  readonly p50: number;
  readonly p97_5: number;
  readonly p99: number;
  readonly max: number;
}

export interface LoadResult {
  readonly requests: number;
  readonly payloadBytes: number;
  readonly seconds: number;
  readonly latencyMs: LatencySummary;
  /** Head bytes of one response (wrk counts them with the body). */
  readonly headerBytes: number;
  readonly hashed: number;
  readonly hashFailed: number;
  /** Connections that were established (the others failed to connect: counted in errorCount). */
  readonly connected: number;
  /** Failed responses and connections, all of them counted, the first few described. */
  readonly errorCount: number;
  /** Responses still unfinished when the drain's bound ran out, cut by the run itself. */
  readonly cutAfterDrain: number;
  readonly errors: readonly string[];
}

/** The measured window opens and closes (a server's CPU is read at these moments). */
export type WindowEvent = 'window-start' | 'window-end';

const LATENCY_SAMPLES_MAX = 1_000_000;
/** Requests per connection at most in one run: a bound besides the time. */
const REQUESTS_PER_CONNECTION_MAX = 10_000_000;
/** After the window, the longest a response in flight may take before it is cut off. */
const DRAIN_MS_MAX = 60_000;
const ERRORS_KEPT_MAX = 20;

/** Hash one response in so many: every 16th small one, rarer as bodies grow (always the first). */
function hashEveryFor(sizeBytes: number): number {
  return Math.max(16, Math.ceil((sizeBytes * 64) / (1 << 20)));
}

export async function runLoad(
  request: LoadRequest,
  onWindow: (event: WindowEvent) => void = () => undefined,
): Promise<LoadResult> {
  const latencies = new Float64Array(LATENCY_SAMPLES_MAX);
  const hashEvery = hashEveryFor(request.expected.sizeBytes);
  let phase: 'warmup' | 'window' | 'drain' = 'warmup';
  let requests = 0;
  let payloadBytes = 0;
  let samples = 0;
  let responsesSeen = 0;
  let headerBytes = 0;
  let hashed = 0;
  let hashFailed = 0;
  let errorCount = 0;
  let cutAfterDrain = 0;
  let connected = 0;
  let drainOver = false;
  const errors: string[] = [];
  const fail = (reason: string): void => {
    errorCount++;
    if (errors.length < ERRORS_KEPT_MAX) errors.push(reason);
  };
  const counting = (): boolean => phase === 'window' || (phase === 'drain' && request.countDrain === true);
  const onBodyBytes = (count: number): void => {
    if (counting()) payloadBytes += count;
  };
  const clients: HttpClient[] = [];

  const oneConnection = async (): Promise<void> => {
    let client: HttpClient;
    try {
      client = await HttpClient.connect(
        request.port,
        10_000,
        request.host ?? '127.0.0.1',
        request.tls === true,
      );
    } catch (error) {
      fail(`connect: ${(error as Error).message}`);
      return;
    }
    clients.push(client);
    connected++;
    for (let i = 0; i < REQUESTS_PER_CONNECTION_MAX && phase !== 'drain'; i++) {
      const hash = request.expected.sha256 !== null && responsesSeen++ % hashEvery === 0;
      const r = await client.request(request.urlPath, { hash, onBodyBytes, timeoutMs: 0 });
      const problem = !r.complete
        ? `connection ${r.cut ?? 'closed'} mid-response`
        : r.status !== 200
          ? `status ${r.status}`
          : r.bodyBytes !== request.expected.sizeBytes
            ? `Content-Length ${r.bodyBytes} != ${request.expected.sizeBytes}`
            : null;
      if (problem !== null) {
        if (drainOver && !r.complete) cutAfterDrain++;
        else fail(problem);
        break;
      }
      headerBytes = r.headerBytes;
      if (hash) {
        hashed++;
        if (r.sha256 !== request.expected.sha256) hashFailed++;
      }
      if (counting()) {
        requests++;
        if (samples < LATENCY_SAMPLES_MAX) latencies[samples++] = r.latencyMs;
      }
    }
    client.close();
  };

  let windowStartMs = 0;
  let windowEndMs = 0;
  const timers: NodeJS.Timeout[] = [];
  timers.push(
    setTimeout(() => {
      phase = 'window';
      windowStartMs = performance.now();
      onWindow('window-start');
      timers.push(
        setTimeout(() => {
          phase = 'drain';
          windowEndMs = performance.now();
          onWindow('window-end');
          // In-flight responses finish (their bytes no longer count); a stuck one is cut off.
          timers.push(
            setTimeout(() => {
              drainOver = true;
              for (const c of clients) c.close();
            }, DRAIN_MS_MAX),
          );
        }, request.durationMs),
      );
    }, request.warmupMs),
  );
  await Promise.all(Array.from({ length: request.connections }, oneConnection));
  // Every connection may have failed before the window: the run ends now, not at the deadline.
  for (const t of timers) clearTimeout(t);
  if (windowEndMs === 0 || request.countDrain === true) windowEndMs = performance.now();
  if (windowStartMs === 0) windowStartMs = windowEndMs;
  const sorted = latencies.subarray(0, samples).sort();
  return {
    requests,
    payloadBytes,
    seconds: (windowEndMs - windowStartMs) / 1000,
    latencyMs: {
      p50: percentile(sorted, 50),
      p97_5: percentile(sorted, 97.5),
      p99: percentile(sorted, 99),
      max: percentile(sorted, 100),
    },
    headerBytes,
    hashed,
    hashFailed,
    connected,
    errorCount,
    cutAfterDrain,
    errors,
  };
}
