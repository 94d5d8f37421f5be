// Many slow clients held open at once, for a bounded time: each GETs one big file and reads it at
// a fixed rate (SlowReader). Reports the bytes each one got and
// any response that was not a 200 of the expected length.
import { SlowReader } from './slow.js';

export interface HeldClientsRequest {
  readonly port: number;
  readonly urlPath: string;
  readonly clients: number;
  readonly bytesPerSecondPerClient: number;
  readonly durationMs: number;
  readonly expectedSizeBytes: number;
}
export interface HeldClientsResult {
  readonly clients: number;
  readonly connected: number;
  readonly bytesTotal: number;
  readonly bytesMinPerClient: number;
  readonly badResponses: readonly string[];
}

const BURST_BYTES = 64 * 1024;
const PERIOD_MS = 50;
const BAD_KEPT_MAX = 10;

export async function runHeldClients(request: HeldClientsRequest): Promise<HeldClientsResult> {
  const rate = request.bytesPerSecondPerClient;
  const opened = await Promise.allSettled(
    Array.from({ length: request.clients }, () =>
      SlowReader.open(request.port, request.urlPath, rate, { burstBytes: BURST_BYTES, periodMs: PERIOD_MS }),
    ),
  );
  const readers = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  await new Promise((r) => setTimeout(r, request.durationMs));
  for (const reader of readers) reader.stop();
  const want = new RegExp(`^HTTP/1\\.1 200[^]*\\r\\ncontent-length: ${request.expectedSizeBytes}\\r\\n`, 'i');
  const badResponses = readers
    .filter((r) => r.head.includes('\r\n\r\n') && !want.test(r.head))
    .slice(0, BAD_KEPT_MAX)
    .map((r) => r.head.split('\r\n')[0] ?? '');
  const read = readers.map((r) => r.bytesRead);
  return {
    clients: request.clients,
    connected: readers.length,
    bytesTotal: read.reduce((a, b) => a + b, 0),
    bytesMinPerClient: read.length > 0 ? Math.min(...read) : 0,
    badResponses,
  };
}
