// autocannon, driven programmatically: requests per second and latency on small files (it
// saturates its own core near 85 MB/s, so bulk throughput goes through runLoad instead).
import autocannon from 'autocannon';
import type { LatencySummary, WindowEvent } from './load.js';

export interface AutocannonRequest {
  readonly url: string;
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
}
export interface AutocannonSummary {
  readonly requests: number;
  readonly seconds: number;
  readonly latencyMs: LatencySummary;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  /** Bytes autocannon read, heads included. */
  readonly bytes: number;
}

function fire(url: string, connections: number, durationSeconds: number): Promise<autocannon.Result> {
  return autocannon({ url, connections, duration: durationSeconds, pipelining: 1, timeout: 30 });
}

export async function runAutocannon(
  request: AutocannonRequest,
  onWindow: (event: WindowEvent) => void = () => undefined,
): Promise<AutocannonSummary> {
  if (request.warmupSeconds > 0) await fire(request.url, request.connections, request.warmupSeconds);
  onWindow('window-start');
  const result = await fire(request.url, request.connections, request.durationSeconds);
  onWindow('window-end');
  return {
    requests: result.requests.total,
    seconds: result.duration,
    latencyMs: {
      p50: result.latency.p50,
      p97_5: result.latency.p97_5,
      p99: result.latency.p99,
      max: result.latency.max,
    },
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    bytes: result.throughput.total,
  };
}
