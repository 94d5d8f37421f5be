// autocannon, driven programmatically in its own process: req/s and latency p50/p97.5/p99 on
// small files (it saturates its own core near 85 MB/s, so it is not used for bulk throughput).
import autocannon from 'autocannon';
import { postEvent, serveIpc } from '../lib/ipc.js';

export interface AutocannonRequest {
  url: string;
  connections: number;
  warmupSeconds: number;
  durationSeconds: number;
  sizeBytes: number;
}
export interface AutocannonSummary {
  requests: number;
  requestsPerSecond: number;
  seconds: number;
  latencyMs: { p50: number; p97_5: number; p99: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  bodyBytes: number; // bytes autocannon read (headers included)
}

function fire(url: string, connections: number, durationSeconds: number): Promise<autocannon.Result> {
  return autocannon({ url, connections, duration: durationSeconds, pipelining: 1, timeout: 30 });
}

serveIpc(
  {
    run: async (body) => {
      const request = body as AutocannonRequest;
      if (request.warmupSeconds > 0) await fire(request.url, request.connections, request.warmupSeconds);
      postEvent('window-start');
      const result = await fire(request.url, request.connections, request.durationSeconds);
      postEvent('window-end');
      const summary: AutocannonSummary = {
        requests: result.requests.total,
        requestsPerSecond: result.requests.total / result.duration,
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
        bodyBytes: result.throughput.total,
      };
      return summary;
    },
  },
  () => undefined,
);
