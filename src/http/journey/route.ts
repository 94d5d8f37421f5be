// GET /trace?route=zerocopy&file=NAME: the journey of one request through the kernel. The server
// makes the request itself with the load room's client, on a fresh loopback connection (over TLS
// when it speaks TLS), with a recorder keyed to that connection's kernel socket by its port; it
// reads the whole response, waits for the socket to close (the last free callbacks run by then),
// and answers the timeline as JSON, on the server's clock. The dashboard's Trace panel and
// `zcsim trace` both use it.
import type { FastifyInstance } from 'fastify';
import { errorEntry, httpStatusOf, PathError } from '../errors.js';
import { ROUTES, type RouteName } from '../files/index.js';
import { fetchOnce, type JourneyContext, requestPath, selfTarget, within } from './fetch.js';
import { foldJourney, type JourneyStep } from './fold.js';
import { type JourneyEvent, JourneyRecorder } from './recorder.js';

/** Journeys at once at most (each holds a connection and a recorder). */
const JOURNEYS_MAX = 2;
/** After the response, how long the socket's close is waited for. */
const CLOSE_WAIT_MS = 2_000;
/** The largest file traced: the recorder keeps a few events per page. */
export const TRACE_FILE_MAX_BYTES = 16 * 1024 * 1024;
/** Raw events included in the answer at most (the steps cover them all). */
const RAW_EVENTS_MAX = 500;

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

async function journey(
  ctx: JourneyContext,
  host: string,
  port: number,
  route: RouteName,
  relative: string,
): Promise<JourneyReport> {
  const clock = ctx.conns.clock;
  const recorder = new JourneyRecorder(clock);
  const startMs = clock.nowMs();
  const path = requestPath(route, relative);
  try {
    // The kernel socket is made at accept: the recorder must know the port before the handshake.
    const got = await fetchOnce(ctx, host, port, path, (socket) =>
      socket.once('connect', () => recorder.setPeerPort(socket.localPort ?? -1)),
    );
    const closed = recorder.so === null || (await within(clock, recorder.closed, CLOSE_WAIT_MS));
    return {
      route,
      file: relative,
      request: `GET ${path}`,
      status: got.status,
      bodyBytes: got.bodyBytes,
      so: recorder.so,
      object: recorder.object,
      durationMs: Math.round((clock.nowMs() - startMs) * 1000) / 1000,
      complete: got.complete && closed,
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
      const t = await selfTarget(app, ctx.files, q.file);
      if (t.sizeBytes > TRACE_FILE_MAX_BYTES)
        return reply.code(413).send({ error: `files above ${TRACE_FILE_MAX_BYTES} bytes are not traced` });
      reply.header('Cache-Control', 'no-store');
      return await journey(ctx, t.host, t.port, route, t.relative);
    } catch (err) {
      // The catalogue's words, never the error's own text: it may hold the server's paths.
      const status = httpStatusOf(err);
      const why =
        err instanceof PathError
          ? err.message
          : status === 404
            ? 'not found'
            : (errorEntry(err)?.message ?? 'the trace failed');
      return reply.code(status).send({ error: `${q.file}: ${why}` });
    } finally {
      running--;
    }
  });
}
