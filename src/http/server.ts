// buildServer(options): the fastify demo. Routes: /zerocopy/*, /copy/*, /stream/* (files),
// /stats, /metrics, /events, /files, /compare, and the dashboard at / with its assets. Used by
// the CLI (zcsim serve) and by the tests, which listen on 127.0.0.1 port 0.
import { realpathSync } from 'node:fs';
import { STATUS_CODES } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { type Clock, realClock, type TimerHandle } from '../kern/index.js';
import { loadAssets } from './assets.js';
import { lingeringClientError } from './client-error.js';
import { Comparer } from './compare.js';
import { httpStatusOf } from './errno-status.js';
import { EventHub } from './events.js';
import { FileCache } from './file-cache.js';
import { handleFileRequest } from './file-route.js';
import kernelPlugin from './kernel-plugin.js';
import type { HttpKernelPort, KernelConfigForHttp } from './kernel-port.js';
import { Metrics } from './metrics.js';
import { registerPanelRoutes } from './panel-routes.js';
import { PathError } from './path.js';
import { countResponse, ROUTES, type RouteName } from './route-stats.js';
import { takeSnapshot } from './snapshot.js';
import { ServerState } from './state.js';

export interface ServerOptions {
  /** The folder served. */
  readonly root: string;
  /** List directories (an HTML index) instead of answering 403. */
  readonly list?: boolean;
  /** Serve names starting with '.' (off: 404). */
  readonly dotfiles?: boolean;
  readonly kernel?: KernelConfigForHttp;
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
  readonly logger?: boolean;
  readonly clock?: Clock;
  /** Makes the kernel; the default is the simulator (src/kernel.ts). */
  readonly kernelPort?: (config: KernelConfigForHttp) => HttpKernelPort;
}

declare module 'fastify' {
  interface FastifyInstance {
    zcsim: ServerState;
  }
}

export type ZcsimServer = FastifyInstance;

const ALLOW = 'GET, HEAD';

function routeOfUrl(url: string): RouteName | null {
  for (const r of ROUTES) if (url.startsWith(`/${r}/`) || url === `/${r}`) return r;
  return null;
}

function sendError(reply: FastifyReply, status: number, extra?: Record<string, string>): void {
  reply.code(status).type('text/plain; charset=utf-8');
  if (extra) reply.headers(extra);
  void reply.send(`${status} ${STATUS_CODES[status] ?? 'Error'}\n`);
}

/** The file routes, and the error and not-found handlers that speak for them (errno table, 405). */
function registerFileRoutes(app: FastifyInstance, state: ServerState): void {
  app.setErrorHandler((err, request, reply) => {
    const route = routeOfUrl(request.url);
    const status =
      err instanceof PathError
        ? err.status
        : ((err as { statusCode?: number }).statusCode ?? httpStatusOf(err));
    if (route) countResponse(state.routes[route], status);
    if (status >= 500) request.log.error({ err }, 'request failed');
    sendError(reply, status);
  });
  app.setNotFoundHandler((request, reply) => {
    const route = routeOfUrl(request.url);
    if (route && request.method !== 'GET' && request.method !== 'HEAD') {
      state.routes[route].requests++;
      countResponse(state.routes[route], 405);
      return sendError(reply, 405, { Allow: ALLOW });
    }
    sendError(reply, 404);
  });
  for (const route of ROUTES) {
    const handler = (request: FastifyRequest, reply: FastifyReply): Promise<void> =>
      handleFileRequest(state, route, request, reply);
    app.route({ method: ['GET', 'HEAD'], url: `/${route}`, handler });
    app.route({ method: ['GET', 'HEAD'], url: `/${route}/*`, handler });
  }
}

/** Builds the server; `await server.listen({ port, host })` starts it, `server.close()` ends it. */
export async function buildServer(options: ServerOptions): Promise<ZcsimServer> {
  const clock = options.clock ?? realClock();
  const realRoot = realpathSync(options.root);
  const beforeTeardown: (() => Promise<void>)[] = [];
  let stateRef: ServerState | null = null;
  const app = Fastify({
    logger: options.logger ?? false,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    clientErrorHandler: lingeringClientError(clock),
  });
  const makePort = options.kernelPort ?? (await import('./kernel-adapter.js')).createKernelPort;
  await app.register(kernelPlugin, {
    // The open-file cache re-stats each file every revalidateMs and opens a changed one afresh
    // (a fresh fstat in the kernel too), so the kernel need not fstat it at every sendfile.
    config: { revalidateMs: options.revalidateMs ?? 1000, ...options.kernel },
    makePort,
    beforeTeardown,
    onVerdict: (v) => {
      if (stateRef) stateRef.closeReport = v;
    },
  });
  const files = new FileCache({
    realRoot,
    revalidateMs: options.revalidateMs ?? 1000,
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
      revalidateMs: options.revalidateMs ?? 1000,
      eventsIntervalMs: options.eventsIntervalMs ?? 500,
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
  const comparer = new Comparer(clock, state.routes, options.compareDurationMs ?? 2000);
  // Close: event streams end and the loader dies at once; connections still open after the
  // grace period (a stalled download, a preconnected socket that never sent a request) are cut,
  // so that close always finishes and the at-rest check runs.
  let grace: TimerHandle | null = null;
  app.addHook('preClose', async () => {
    hub.closeAll();
    comparer.stop();
    app.server.closeIdleConnections();
    grace = clock.setTimer(options.closeGraceMs ?? 2000, () => app.server.closeAllConnections());
  });
  beforeTeardown.push(async () => grace?.cancel());
  beforeTeardown.push(() => files.close());

  registerFileRoutes(app, state);
  registerPanelRoutes(app, { state, hub, comparer, metrics: new Metrics(), assets: loadAssets() });
  return app;
}
