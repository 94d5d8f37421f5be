// buildServer(options): the demo. Routes: /zerocopy/*, /copy/*, /stream/* (files), /stats,
// /metrics, /events, /files, /compare, and the dashboard at / with its assets. Used by the CLI
// (zcsim serve) and by the tests, which listen on 127.0.0.1 port 0.
//
// The server owns its connections (connection.ts): fastify is built with a serverFactory whose
// http.Server hands each accepted socket to us instead of Node's HTTP parser. Each connection
// gets one kernel socket; the file routes are answered on it directly (file-route.ts), the panel
// through fastify's inject (panel-bridge.ts), in request order.
import { realpathSync } from 'node:fs';
import { createServer, type Server, STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import Fastify, { type FastifyInstance } from 'fastify';
import type { KernelConfig } from '../index.js';
import { type Clock, realClock, type TimerHandle } from '../kern/index.js';
import { TCP_TLS_MODE_IFNET, TCP_TLS_MODE_SW } from '../ktls/index.js';
import { ktlsAccept } from '../tls/index.js';
import {
  Connection,
  type ConnectionHost,
  type ConnectionTls,
  Heads,
  KEEP_ALIVE_TIMEOUT_MS,
  POOL_PRESSURE_SEND_TIMEOUT_MS,
  PoolGate,
} from './conn/index.js';
import { httpStatusOf } from './errors.js';
import {
  FileCache,
  type FileRouteContext,
  ROUTES,
  type RouteName,
  respondFile,
  ServerState,
  targetPath,
} from './files/index.js';
import { registerCaptureRoute, registerJourneyRoute } from './journey/index.js';
import kernelPlugin from './kernel-plugin.js';
import {
  Comparer,
  EventHub,
  loadAssets,
  Metrics,
  PANEL_BODY_MAX_BYTES,
  registerPanelRoutes,
  respondEvents,
  respondPanel,
  takeSnapshot,
} from './panel/index.js';

export interface ServerOptions {
  /** The folder served. */
  readonly root: string;
  /** List directories (an HTML index) instead of answering 403. */
  readonly list?: boolean;
  /** Serve names starting with '.' (off: 404). */
  readonly dotfiles?: boolean;
  readonly kernel?: KernelConfig;
  /** How long a cached fstat is trusted, in ms (nginx's open_file_cache_valid); 1000. */
  readonly revalidateMs?: number;
  /** Open-file cache entries at most; 1024. */
  readonly fileCacheCapacity?: number;
  /** /events snapshot period in ms; 500. */
  readonly eventsIntervalMs?: number;
  /** Load time per route of a comparison in ms (at most 3000); 2000. */
  readonly compareDurationMs?: number;
  /** How long close waits for busy connections before cutting them, in ms; 2000. */
  readonly closeGraceMs?: number;
  /** A connection whose socket took no byte for this long is closed (nginx's send_timeout); 60 s. */
  readonly sendTimeoutMs?: number;
  readonly logger?: boolean;
  readonly clock?: Clock;
  /** HTTPS on every connection (TLS 1.3, ALPN http/1.1); /zerocopy then sends with kernel TLS. */
  readonly tls?: TlsOptions;
}

export interface TlsOptions {
  /** PEM certificate chain and private key. */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /** Where kernel TLS encrypts: a kernel worker ('sw', the default) or the NIC ('ifnet'). */
  readonly ktlsMode?: 'sw' | 'ifnet';
}

/** The TLS 1.3 suites kernel TLS can take over (ktls(4): AES-GCM and ChaCha20-Poly1305). */
export const TLS13_CIPHERSUITES =
  'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

function connectionTls(opts: TlsOptions): ConnectionTls {
  const mode = opts.ktlsMode ?? 'sw';
  const secureContext = tls.createSecureContext({
    cert: opts.cert,
    key: opts.key,
    minVersion: 'TLSv1.3',
    ciphers: TLS13_CIPHERSUITES,
  });
  return {
    mode,
    accept: (kernel, so, raw) =>
      ktlsAccept(kernel, so, raw, {
        secureContext,
        mode: mode === 'ifnet' ? TCP_TLS_MODE_IFNET : TCP_TLS_MODE_SW,
        ALPNProtocols: ['http/1.1'],
      }),
  };
}

declare module 'fastify' {
  interface FastifyInstance {
    zcsim: ServerState;
  }
}

export type ZcsimServer = FastifyInstance;

export const SEND_TIMEOUT_MS_DEFAULT = 60_000;
/** Event-loop turns that close waits for the last connections to let go of their kernel objects. */
const CLOSE_TURNS_MAX = 100;

function routeOf(path: string): RouteName | null {
  for (const r of ROUTES) {
    if (path.startsWith(`/${r}`)) {
      const c = path.charCodeAt(r.length + 1);
      if (Number.isNaN(c) || c === 0x2f || c === 0x3f) return r;
    }
  }
  return null;
}

/** Every accepted connection, and the sweep that applies the send and idle timeouts to them. */
class Connections {
  readonly open = new Set<Connection>();
  private sweepTimer: TimerHandle | null = null;

  constructor(
    private readonly clock: Clock,
    private readonly sendTimeoutMs: number,
    /** The pools are under pressure: the send timeout is shortened. */
    private readonly pressure: (nowMs: number) => boolean,
  ) {}

  add(conn: Connection): void {
    this.open.add(conn);
    this.arm();
  }

  private arm(): void {
    if (this.sweepTimer !== null || this.open.size === 0) return;
    const periodMs = Math.max(20, Math.min(1000, Math.floor(this.sendTimeoutMs / 4)));
    this.sweepTimer = this.clock.setTimer(periodMs, () => {
      this.sweepTimer = null;
      const nowMs = this.clock.nowMs();
      const sendTimeoutMs = this.pressure(nowMs)
        ? Math.min(this.sendTimeoutMs, POOL_PRESSURE_SEND_TIMEOUT_MS)
        : this.sendTimeoutMs;
      for (const c of this.open) c.sweep(nowMs, sendTimeoutMs, KEEP_ALIVE_TIMEOUT_MS);
      this.arm();
    });
  }

  stop(): void {
    this.sweepTimer?.cancel();
    this.sweepTimer = null;
  }
}

/** Builds the server; `await server.listen({ port, host })` starts it, `server.close()` ends it. */
export async function buildServer(options: ServerOptions): Promise<ZcsimServer> {
  const clock = options.clock ?? realClock();
  const realRoot = realpathSync(options.root);
  const revalidateMs = options.revalidateMs ?? 1000;
  const sendTimeoutMs = options.sendTimeoutMs ?? SEND_TIMEOUT_MS_DEFAULT;
  const beforeTeardown: (() => Promise<void>)[] = [];
  const conns = new Connections(clock, sendTimeoutMs, (nowMs) => pools.underPressure(nowMs));
  let host: ConnectionHost | null = null;
  const app = Fastify({
    logger: options.logger ?? false,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    serverFactory: (handler) => {
      const server: Server = createServer(handler);
      // The connection is ours: Node's HTTP parser never sees it.
      server.removeAllListeners('connection');
      server.on('connection', (socket: Socket) => {
        if (host === null) socket.destroy();
        else conns.add(new Connection(host, socket));
      });
      return server;
    },
  });
  let stateRef: ServerState | null = null;
  await app.register(kernelPlugin, {
    // The open-file cache re-stats each file every revalidateMs and opens a changed one afresh
    // (a fresh fstat in the kernel too), so the kernel need not fstat it at every sendfile.
    config: { revalidateMs, ...options.kernel },
    beforeTeardown,
    onVerdict: (v) => {
      if (stateRef) stateRef.closeReport = v;
    },
  });
  const files = new FileCache({
    realRoot,
    revalidateMs,
    capacity: options.fileCacheCapacity ?? 1024,
    clock,
    kernel: app.kernel,
  });
  const state = new ServerState(
    {
      root: options.root,
      realRoot,
      list: options.list ?? false,
      dotfiles: options.dotfiles ?? false,
      revalidateMs,
      eventsIntervalMs: options.eventsIntervalMs ?? 500,
      sendTimeoutMs,
      ktls: options.tls ? (options.tls.ktlsMode ?? 'sw') : null,
    },
    app.kernel,
    files,
    clock,
    app.log,
    clock.nowMs(),
  );
  stateRef = state;
  app.decorate('zcsim', state);
  const hub = new EventHub(clock, state.options.eventsIntervalMs, () => JSON.stringify(takeSnapshot(state)));
  const comparer = new Comparer(
    clock,
    state.routes,
    options.compareDurationMs ?? 2000,
    options.tls !== undefined,
  );
  const heads = new Heads(clock);
  const pools = new PoolGate(app.kernel, clock);
  const fileCtx: FileRouteContext = { state, heads, pools, onPool503: () => state.connections.pool_503++ };
  let closing = false;
  host = {
    kernel: app.kernel,
    clock,
    counters: state.connections,
    heads,
    tls: options.tls ? connectionTls(options.tls) : null,
    get closing() {
      return closing;
    },
    // Bodies of GET and HEAD, and of anything sent to a file route, are dropped as they arrive.
    bodyLimit: (method, target) =>
      method === 'GET' || method === 'HEAD' || routeOf(targetPath(target)) !== null
        ? null
        : PANEL_BODY_MAX_BYTES,
    respond: (conn, req) => {
      const path = targetPath(req.target);
      const route = routeOf(path);
      if (route !== null) return respondFile(fileCtx, conn, route, req);
      if (req.method === 'GET' && (path === '/events' || path.startsWith('/events?')))
        return respondEvents(hub, heads, conn, req);
      return respondPanel(app, heads, conn, req);
    },
    closed: (conn) => conns.open.delete(conn),
  };

  // Close: event streams end and the loader dies at once; idle connections close, and those
  // still busy after the grace period (a stalled download, a preconnected socket that never sent
  // a request) are cut, so that close always finishes and the at-rest check runs.
  let grace: TimerHandle | null = null;
  app.addHook('preClose', async () => {
    closing = true;
    hub.closeAll();
    comparer.stop();
    for (const c of conns.open) if (c.idle) c.destroy();
    grace = clock.setTimer(options.closeGraceMs ?? 2000, () => {
      for (const c of conns.open) c.destroy();
    });
  });
  beforeTeardown.push(async () => {
    pools.close();
    grace?.cancel();
    conns.stop();
    // A connection lets go of its kernel socket and files on its own 'close', a turn or two
    // after the listening socket counted it closed: wait for that (bounded), then cut the rest.
    for (let turn = 0; turn < CLOSE_TURNS_MAX && conns.open.size > 0; turn++) {
      // A turn of the event loop, not a timer: it must pass under a manual clock too.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    for (const c of conns.open) c.destroy();
  });
  beforeTeardown.push(() => files.close());

  app.setNotFoundHandler((_request, reply) => {
    void reply.code(404).type('text/plain; charset=utf-8').send('404 Not Found\n');
  });
  app.setErrorHandler((err, request, reply) => {
    const status =
      httpStatusOf(err) === 500 ? ((err as { statusCode?: number }).statusCode ?? 500) : httpStatusOf(err);
    if (status >= 500) request.log.error({ err }, 'request failed');
    void reply
      .code(status)
      .type('text/plain; charset=utf-8')
      .send(`${status} ${STATUS_CODES[status] ?? 'Error'}\n`);
  });
  registerPanelRoutes(app, { state, hub, comparer, metrics: new Metrics(), assets: loadAssets() });
  registerJourneyRoute(app, state);
  registerCaptureRoute(app, state);
  return app;
}
