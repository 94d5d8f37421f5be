// The built-in load generator, in its own process: N keep-alive connections, each with one GET
// in flight, for a warm-up and then a fixed measured window. Throughput counts the body bytes
// that arrive inside the window; latency is request sent -> last body byte, for responses that
// finish inside it. Every body's length is checked and a sample is hashed.
import { performance } from 'node:perf_hooks';
import { type ExpectedBody, LoaderConnection, type ResponseSink } from '../lib/http-client.js';
import { postEvent, serveIpc } from '../lib/ipc.js';
import { percentileSorted } from '../lib/stats.js';

export interface LoadRequest {
  port: number;
  urlPath: string;
  connections: number;
  warmupMs: number;
  durationMs: number;
  expected: ExpectedBody;
}
export interface LoadResult {
  requests: number;
  payloadBytes: number;
  seconds: number;
  latencyMs: { p50: number; p97_5: number; p99: number; max: number };
  headerBytes: number;
  hashed: number;
  hashFailed: number;
  errors: string[];
}

const LATENCY_SAMPLES_MAX = 1_000_000;
const DRAIN_MS_MAX = 60_000;

/** Hash one response in `hashEvery`: every 16th small one, rarer as bodies grow (always the first). */
function hashEveryFor(sizeBytes: number): number {
  return Math.max(16, Math.ceil((sizeBytes * 64) / (1 << 20)));
}

function runLoad(request: LoadRequest): Promise<LoadResult> {
  const latencies = new Float64Array(LATENCY_SAMPLES_MAX);
  const state = {
    phase: 'warmup' as 'warmup' | 'window' | 'drain',
    requests: 0,
    payloadBytes: 0,
    samples: 0,
  };
  const result = { headerBytes: 0, hashed: 0, hashFailed: 0, errors: [] as string[] };
  let responsesSeen = 0;
  let open = request.connections;
  let windowStart = 0;
  let windowEnd = 0;
  return new Promise((resolve) => {
    const finish = () => {
      const sorted = latencies.subarray(0, state.samples).sort();
      resolve({
        requests: state.requests,
        payloadBytes: state.payloadBytes,
        seconds: (windowEnd - windowStart) / 1000,
        latencyMs: {
          p50: percentileSorted(sorted, 50),
          p97_5: percentileSorted(sorted, 97.5),
          p99: percentileSorted(sorted, 99),
          max: percentileSorted(sorted, 100),
        },
        ...result,
      });
    };
    const sink: ResponseSink = {
      onBodyBytes: (count) => {
        if (state.phase === 'window') state.payloadBytes += count;
      },
      onResponse: (latencyMs, headerBytes) => {
        result.headerBytes = headerBytes;
        if (state.phase !== 'window') return;
        state.requests++;
        if (state.samples < LATENCY_SAMPLES_MAX) latencies[state.samples++] = latencyMs;
      },
      onBodyError: (reason) => {
        if (result.errors.length < 20) result.errors.push(reason);
      },
      wantHash: () => responsesSeen++ % hashEveryFor(request.expected.sizeBytes) === 0,
      onHash: (ok) => {
        result.hashed++;
        if (!ok) result.hashFailed++;
      },
      keepGoing: () => state.phase !== 'drain',
      onClosed: () => {
        if (--open === 0) finish();
      },
    };
    const connections: LoaderConnection[] = [];
    for (let i = 0; i < request.connections; i++) {
      connections.push(new LoaderConnection(request.port, request.urlPath, request.expected, sink));
    }
    setTimeout(() => {
      state.phase = 'window';
      windowStart = performance.now();
      postEvent('window-start');
      setTimeout(() => {
        state.phase = 'drain';
        windowEnd = performance.now();
        postEvent('window-end');
        // In-flight responses finish (their bytes no longer count); a stuck one is cut off.
        setTimeout(() => {
          for (const c of connections) c.close();
        }, DRAIN_MS_MAX).unref();
      }, request.durationMs);
    }, request.warmupMs);
  });
}

serveIpc(
  {
    run: (body) => runLoad(body as LoadRequest),
    // One connection, a few requests, every body hashed: the correctness check before the runs.
    verify: (body) => runLoad({ ...(body as LoadRequest), connections: 1, warmupMs: 0 }),
  },
  () => undefined,
);
