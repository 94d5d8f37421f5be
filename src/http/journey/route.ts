// GET /trace?route=zerocopy&file=NAME: the journey of one request through the kernel. The server
// makes the request itself, on a fresh loopback connection, with a recorder keyed to that
// connection's kernel socket; it reads the whole response, waits for the socket to close (the
// last free callbacks run by then), and answers the timeline as JSON. The dashboard's Trace
// panel and `zcsim trace` both use it.
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { loopbackOf } from '../conn/index.js';
import { httpStatusOf, PathError } from '../errors.js';
import type { ServerState } from '../files/index.js';
import { decodeRequestPath, ROUTES, type RouteName } from '../files/index.js';
import { foldJourney, type JourneyStep } from './fold.js';
import { type JourneyEvent, JourneyRecorder } from './recorder.js';

/** Journeys at once at most (each holds a connection and a recorder). */
const JOURNEYS_MAX = 2;
/** A request that takes longer is cut (the timeline so far is answered, marked incomplete). */
const JOURNEY_TIMEOUT_MS = 30_000;
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

interface Fetched {
  status: number | null;
  bodyBytes: number;
  complete: boolean;
}

/**
 * Sends one GET with Connection: close and reads to the end; the head is parsed, the body counted.
 * Over TLS (the server's own, possibly self-signed, certificate) once the handshake is done.
 */
function fetchOnce(
  host: string,
  port: number,
  path: string,
  recorder: JourneyRecorder,
  tls: boolean,
): Promise<Fetched> {
  return new Promise((resolve) => {
    const socket: Socket = tls
      ? tlsConnect({
          host,
          port,
          rejectUnauthorized: false,
          minVersion: 'TLSv1.3',
          ALPNProtocols: ['http/1.1'],
        })
      : connect({ host, port });
    let head = Buffer.alloc(0);
    let status: number | null = null;
    let headBytes = -1;
    let received = 0;
    const timer = setTimeout(() => finish(false), JOURNEY_TIMEOUT_MS);
    const finish = (complete: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status, bodyBytes: Math.max(0, received - Math.max(0, headBytes)), complete });
    };
    // The kernel socket is made at accept: the recorder must know the port before the handshake.
    socket.once('connect', () => recorder.setPeerPort(socket.localPort ?? -1));
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (headBytes >= 0) return;
      head = Buffer.concat([head, chunk]).subarray(0, 64 * 1024);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headBytes = end + 4;
      status = Number(/^HTTP\/1\.\d (\d{3})/.exec(head.toString('latin1'))?.[1] ?? NaN) || null;
    });
    socket.once('end', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

function requestPath(route: RouteName, relative: string): string {
  return `/${route}/${relative.split('/').map(encodeURIComponent).join('/')}`;
}

async function journey(
  host: string,
  port: number,
  route: RouteName,
  relative: string,
  tls: boolean,
): Promise<JourneyReport> {
  const recorder = new JourneyRecorder();
  const startMs = performance.now();
  const path = requestPath(route, relative);
  try {
    const got = await fetchOnce(host, port, path, recorder, tls);
    let closed = recorder.so === null;
    if (!closed) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<false>((r) => {
        timer = setTimeout(() => r(false), CLOSE_WAIT_MS);
      });
      closed = await Promise.race([recorder.closed.then(() => true), late]);
      clearTimeout(timer);
    }
    return {
      route,
      file: relative,
      request: `GET ${path}`,
      status: got.status,
      bodyBytes: got.bodyBytes,
      so: recorder.so,
      object: recorder.object,
      durationMs: Math.round((performance.now() - startMs) * 1000) / 1000,
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

export function registerJourneyRoute(app: FastifyInstance, state: ServerState): void {
  let running = 0;
  app.get('/trace', async (request, reply) => {
    const q = request.query as { route?: unknown; file?: unknown };
    const route = ROUTES.find((r) => r === q.route);
    if (route === undefined || typeof q.file !== 'string' || q.file === '')
      return reply.code(400).send({ error: `query must be route=${ROUTES.join('|')}&file=<name>` });
    if (running >= JOURNEYS_MAX) return reply.code(409).send({ error: 'traces already running' });
    running++;
    try {
      const decoded = decodeRequestPath(q.file, state.options.dotfiles);
      const entry = await state.files.lookup(decoded.relative);
      if (!entry.isRegular) return reply.code(400).send({ error: `${q.file} is not a regular file` });
      if (entry.sizeBytes > TRACE_FILE_MAX_BYTES)
        return reply.code(413).send({ error: `files above ${TRACE_FILE_MAX_BYTES} bytes are not traced` });
      const self = loopbackOf(app);
      if (self === null) return reply.code(500).send({ error: 'not listening on TCP' });
      reply.header('Cache-Control', 'no-store');
      return await journey(self.host, self.port, route, decoded.relative, state.options.ktls !== null);
    } catch (err) {
      const status = err instanceof PathError ? err.status : httpStatusOf(err);
      return reply.code(status).send({ error: err instanceof Error ? err.message : String(err) });
    } finally {
      running--;
    }
  });
}
