// GET /trace?route=zerocopy&file=NAME: the journey of one request through the kernel. The server
// makes the request itself with the load room's client, on a fresh loopback connection (over TLS
// when the server speaks it), with a recorder keyed to that connection's kernel socket by its
// port, learned on connect; it reads the whole response, waits for the socket to close (the last
// free callbacks run by then), and answers the timeline as JSON. The dashboard's Trace panel and
// `zcsim trace` both use it.
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../kern/index.js';
import { type ClientResponse, HttpClient } from '../../load/index.js';
import { loopbackOf } from '../conn/index.js';
import { httpStatusOf, PathError } from '../errors.js';
import { decodeRequestPath, type FilesContext, ROUTES, type RouteName } from '../files/index.js';
import { foldJourney, type JourneyStep } from './fold.js';
import { type JourneyEvent, JourneyRecorder } from './recorder.js';

/** Journeys at once at most (each holds a connection and a recorder). */
const JOURNEYS_MAX = 2;
/** A request that takes longer is cut (the timeline so far is answered, marked incomplete). */
const JOURNEY_TIMEOUT_MS = 30_000;
/** After the response, how long the socket's close is waited for. */
const CLOSE_WAIT_MS = 2_000;
/** Raw events included in the answer at most (the steps cover them all). */
const RAW_EVENTS_MAX = 500;

/** The journey room's one context: the files it may trace, the server's clock, and whether it speaks TLS. */
export interface JourneyContext {
  readonly files: FilesContext;
  readonly clock: Clock;
  readonly tls: boolean;
}

export interface JourneyReport {
  readonly route: RouteName;
  readonly file: string;
  readonly request: string;
  readonly status: number | null;
  readonly bodyBytes: number;
  /** The kernel socket and vm object the journey followed (null: the kernel was not used). */
  readonly so: number | null;
  readonly object: number | null;
  readonly durationMs: number;
  /** False when the request was cut or the socket did not close in time. */
  readonly complete: boolean;
  readonly eventsTotal: number;
  readonly eventsDropped: number;
  readonly steps: readonly JourneyStep[];
  readonly events: readonly JourneyEvent[];
}

/**
 * One GET with Connection: close through the load client, read to its end; the recorder learns
 * the connection's port on connect, before a TLS handshake, as the kernel socket is made at accept.
 */
async function fetchJourney(
  host: string,
  port: number,
  path: string,
  recorder: JourneyRecorder,
  tls: boolean,
): Promise<ClientResponse | null> {
  const onConnect = (socket: { localPort?: number | undefined }): void =>
    recorder.setPeerPort(socket.localPort ?? -1);
  let client: HttpClient;
  try {
    client = await HttpClient.connect(port, JOURNEY_TIMEOUT_MS, host, tls, onConnect);
  } catch {
    return null;
  }
  try {
    return await client.request(path, {
      headers: { Connection: 'close' },
      hash: false,
      timeoutMs: JOURNEY_TIMEOUT_MS,
    });
  } finally {
    client.close();
  }
}

/** Resolves true when `p` settles within `ms` on the clock, false otherwise. */
function within(clock: Clock, p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = clock.setTimer(ms, () => resolve(false));
    void p.then(() => {
      timer.cancel();
      resolve(true);
    });
  });
}

function requestPath(route: RouteName, relative: string): string {
  return `/${route}/${relative.split('/').map(encodeURIComponent).join('/')}`;
}

async function journey(
  ctx: JourneyContext,
  host: string,
  port: number,
  route: RouteName,
  relative: string,
): Promise<JourneyReport> {
  const recorder = new JourneyRecorder(ctx.clock);
  const startMs = ctx.clock.nowMs();
  const path = requestPath(route, relative);
  try {
    const got = await fetchJourney(host, port, path, recorder, ctx.tls);
    const closed = recorder.so === null || (await within(ctx.clock, recorder.closed, CLOSE_WAIT_MS));
    return {
      route,
      file: relative,
      request: `GET ${path}`,
      status: got === null || got.status === 0 ? null : got.status,
      bodyBytes: got?.bodyBytes ?? 0,
      so: recorder.so,
      object: recorder.object,
      durationMs: Math.round((ctx.clock.nowMs() - startMs) * 1000) / 1000,
      complete: (got?.complete ?? false) && closed,
      eventsTotal: recorder.events.length + recorder.droppedEvents,
      eventsDropped: recorder.droppedEvents,
      steps: foldJourney(recorder.events),
      events: recorder.events.slice(0, RAW_EVENTS_MAX),
    };
  } finally {
    recorder.stop();
  }
}

export function registerJourneyRoute(app: FastifyInstance, ctx: JourneyContext): void {
  let running = 0;
  app.get('/trace', async (request, reply) => {
    const q = request.query as { route?: unknown; file?: unknown };
    const route = ROUTES.find((r) => r === q.route);
    if (route === undefined || typeof q.file !== 'string' || q.file === '')
      return reply.code(400).send({ error: `query must be route=${ROUTES.join('|')}&file=<name>` });
    if (running >= JOURNEYS_MAX) return reply.code(409).send({ error: 'traces already running' });
    running++;
    try {
      const decoded = decodeRequestPath(q.file, ctx.files.dotfiles);
      const entry = await ctx.files.cache.lookup(decoded.relative);
      if (!entry.isRegular) return reply.code(400).send({ error: `${q.file} is not a regular file` });
      const self = loopbackOf(app);
      if (self === null) return reply.code(500).send({ error: 'not listening on TCP' });
      reply.header('Cache-Control', 'no-store');
      return await journey(ctx, self.host, self.port, route, decoded.relative);
    } catch (err) {
      const status = err instanceof PathError ? err.status : httpStatusOf(err);
      return reply.code(status).send({ error: err instanceof Error ? err.message : String(err) });
    } finally {
      running--;
    }
  });
}
