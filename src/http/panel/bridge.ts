// The panel's answers on a connection: fastify answers /stats, /metrics, /files, /trace, the
// dashboard, POST /compare and every 404 through app.inject() (its routing, hooks and logging),
// and the bytes it produced are written with write(2) on the connection's kernel socket, in
// request order. GET /events, a stream that lasts, is not fastify's (inject answers once the
// response is whole): it holds its connection, an SseSink is the event hub's sink on it, and
// later pipelined requests wait behind it.
import type { FastifyInstance } from 'fastify';
import type { KSocket } from '../../index.js';
import type { Connection, HttpRequest } from '../conn/index.js';
import { targetPath } from '../files/index.js';
import type { EventHub, EventSink } from './events.js';

/**
 * The kernel socket of the connection a panel request came on, for the at-rest verdict of /stats:
 * what the asking connection holds itself (a TLS handshake's tickets, an earlier response still
 * going out) is not the server's activity. The bridge names it in a request field of its own.
 */
const ASKING_FIELD = 'zcsim-asking-socket';
const askingSockets = new WeakMap<FastifyInstance, Map<string, KSocket>>();
let askingNext = 0;

function askingOf(app: FastifyInstance): Map<string, KSocket> {
  let m = askingSockets.get(app);
  if (m === undefined) {
    m = new Map();
    askingSockets.set(app, m);
  }
  return m;
}

/** The kernel socket a panel request came on (null for a request fastify got another way). */
export function askingSocket(
  app: FastifyInstance,
  headers: Readonly<Record<string, unknown>>,
): KSocket | null {
  const token = headers[ASKING_FIELD];
  return typeof token === 'string' ? (askingSockets.get(app)?.get(token) ?? null) : null;
}

/** Fields the server sets itself on every head. */
const OWN_FIELDS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'date', 'content-length']);

/** Answers `req` through fastify (light-my-request) and writes the response on the connection. */
export async function respondPanel(
  app: FastifyInstance,
  conn: Connection,
  req: HttpRequest,
): Promise<number> {
  const token = String(++askingNext);
  const asking = askingOf(app);
  asking.set(token, conn.so);
  let res: Awaited<ReturnType<FastifyInstance['inject']>>;
  try {
    res = await app.inject({
      method: req.method as 'GET',
      url: req.target,
      // The bridge's own field replaces one a client sent under the same name.
      headers: { ...req.headers, [ASKING_FIELD]: token },
      ...(req.body !== null ? { payload: req.body } : {}),
    });
  } finally {
    asking.delete(token);
  }
  const fields: string[] = [];
  for (const [name, value] of Object.entries(res.headers)) {
    if (value === undefined || OWN_FIELDS.has(name)) continue;
    for (const v of Array.isArray(value) ? value : [value]) fields.push(name, String(v));
  }
  const status = res.statusCode;
  const noBody = status === 204 || status === 304;
  const body = res.rawPayload;
  if (!noBody) fields.push('Content-Length', String(body.length));
  await conn.writeHead(status, fields, req.keepAlive, noBody ? null : body, req.method !== 'HEAD');
  return status;
}

/**
 * The part of a ServerResponse the event hub uses, over a connection: the head and frames go
 * through the kernel socket in order; the stream is close-delimited (no length), so the
 * connection ends with it.
 */
class SseSink implements EventSink {
  private chain: Promise<unknown> = Promise.resolve();
  private pendingBytes = 0;
  private closeListeners: (() => void)[] = [];
  private finished = false;
  readonly done: Promise<void>;
  private resolveDone!: () => void;

  constructor(private readonly conn: Connection) {
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
    conn.socket.once('close', () => this.finish());
  }

  /** Bytes written and not yet taken by the host socket (the hub drops a listener past a bound). */
  get writableLength(): number {
    return this.pendingBytes + this.conn.so.so_snd.sb_ccc + this.conn.socket.writableLength;
  }

  writeHead(status: number, headers: Record<string, string>): this {
    const fields: string[] = [];
    for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() !== 'connection') fields.push(k, v);
    this.queue(this.conn.heads.build(status, fields, false));
    return this;
  }

  write(chunk: string): boolean {
    this.queue(Buffer.from(chunk, 'utf8'));
    return true;
  }

  end(chunk?: string): void {
    if (chunk !== undefined) this.write(chunk);
    void this.chain.then(() => this.finish());
  }

  destroy(): void {
    this.conn.destroy();
    this.finish();
  }

  once(event: 'close', fn: () => void): this {
    if (event === 'close') {
      if (this.finished) fn();
      else this.closeListeners.push(fn);
    }
    return this;
  }

  private queue(buf: Buffer): void {
    if (this.finished) return;
    this.pendingBytes += buf.length;
    this.chain = this.chain
      .then(() => this.conn.write(buf))
      .catch(() => this.conn.destroy())
      .finally(() => {
        this.pendingBytes -= buf.length;
      });
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    for (const fn of this.closeListeners.splice(0)) fn();
    this.resolveDone();
  }
}

/** Whether a request is the event stream's: GET /events, with or without a query. */
export function isEventsRequest(req: HttpRequest): boolean {
  const path = targetPath(req.target);
  return req.method === 'GET' && (path === '/events' || path.startsWith('/events?'));
}

/** GET /events on a connection: resolves when the stream ends (the connection then closes). */
export async function respondEvents(hub: EventHub, conn: Connection, req: HttpRequest): Promise<number> {
  const sink = new SseSink(conn);
  if (!hub.attach(sink)) {
    const body = Buffer.from('too many listeners\n\n');
    const fields = ['Content-Type', 'text/plain', 'Content-Length', String(body.length)];
    await conn.writeHead(503, fields, req.keepAlive, body);
    return 503;
  }
  conn.closeAfterResponse();
  await sink.done;
  return 200;
}
