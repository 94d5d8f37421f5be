// The siege's legitimate clients, in their own process: keep-alive connections that GET one file
// again and again for a bounded time, as a browser would: a 503 is an answer (its latency counts,
// and the client goes on after it, reconnecting when the server closed), a cut or a wrong length
// is an error. Driven over IPC: 'run' -> every answer's latency and the counts by outcome.
import { type ClientResponse, HttpClient, serveIpc } from '../../src/load/index.js';

export interface SiegeClientsRequest {
  readonly port: number;
  readonly urlPath: string;
  readonly connections: number;
  readonly durationMs: number;
  readonly sizeBytes: number;
}

export interface SiegeClientsResult {
  /** Request written -> last byte of every answer (200 or 503), sorted. */
  readonly latenciesMs: number[];
  /** Request written -> first byte of its answer, the longest over every answer (200 or 503). */
  readonly maxFirstByteMs: number | null;
  readonly ok: number;
  readonly unavailable: number;
  readonly errors: number;
  readonly firstErrors: string[];
  /** The slowest answers: when they were asked (ms into the run), their status, first byte and latency. */
  readonly slowest: { atMs: number; status: number; firstByteMs: number; latencyMs: number }[];
}

/** Requests per connection at most (every loop is bounded). */
const REQUESTS_MAX = 1_000_000;
/** One answer waited for at most, in ms: a longer wait is an error. */
const ANSWER_TIMEOUT_MS = 30_000;

async function run(r: SiegeClientsRequest): Promise<SiegeClientsResult> {
  const startMs = performance.now();
  const endMs = startMs + r.durationMs;
  const out: { -readonly [K in keyof SiegeClientsResult]: SiegeClientsResult[K] } = {
    latenciesMs: [],
    maxFirstByteMs: null,
    ok: 0,
    unavailable: 0,
    errors: 0,
    firstErrors: [],
    slowest: [],
  };
  const error = (why: string): void => {
    out.errors++;
    if (out.firstErrors.length < 5) out.firstErrors.push(why);
  };
  const one = async (): Promise<void> => {
    let client: HttpClient | null = null;
    for (let i = 0; i < REQUESTS_MAX && performance.now() < endMs; i++) {
      if (client === null) {
        try {
          client = await HttpClient.connect(r.port, 10_000);
        } catch (e) {
          error(`connect: ${(e as Error).message}`);
          continue;
        }
      }
      const askedMs = performance.now() - startMs;
      const res: ClientResponse = await client.request(r.urlPath, { timeoutMs: ANSWER_TIMEOUT_MS });
      if (res.latencyMs > 1000 && out.slowest.length < 10)
        out.slowest.push({
          atMs: Math.round(askedMs),
          status: res.status,
          firstByteMs: Math.round(res.firstByteMs),
          latencyMs: Math.round(res.latencyMs),
        });
      if (res.complete && (res.status === 200 || res.status === 503)) {
        out.latenciesMs.push(res.latencyMs);
        out.maxFirstByteMs = Math.max(out.maxFirstByteMs ?? 0, res.firstByteMs);
      }
      if (res.complete && res.status === 200 && res.bodyBytes === r.sizeBytes) out.ok++;
      else if (res.complete && res.status === 503) out.unavailable++;
      else error(res.complete ? `status ${res.status}` : `cut: ${res.cut}`);
      if (!res.complete || res.headers.connection === 'close') {
        client.close();
        client = null;
      }
    }
    client?.close();
  };
  await Promise.all(Array.from({ length: r.connections }, one));
  out.latenciesMs.sort((a, b) => a - b);
  return out;
}

serveIpc({ run: (body) => run(body as SiegeClientsRequest) }, () => {});
