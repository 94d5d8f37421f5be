// buildServer(options): the demo server, composed of its subrooms, each with its one context.
// The connections are ours (conn/): fastify's http.Server hands each accepted socket to them
// instead of Node's HTTP parser, and each gets one kernel socket. A request to a file route is
// answered on its connection by files/; any other by the panel (panel/), through fastify, which
// also runs GET /trace and GET /capture.pcapng (journey/) and the server's lifecycle. Used by the CLI (zcsim serve) and
// the tests, which listen on 127.0.0.1 port 0.
import Fastify, { type FastifyInstance } from 'fastify';
import type { KernelAtRest } from '../index.js';
import { type ConnectionCounters, Connections, ownConnectionsServer } from './conn/index.js';
import { FilesContext, fileRouteOf, type RouteCounters, type RouteName, respondFile } from './files/index.js';
import { registerCaptureRoute, registerJourneyRoute } from './journey/index.js';
import kernelPlugin, { httpKernel } from './kernel-plugin.js';
import { resolveServerOptions, type ServerOptions } from './options.js';
import { PANEL_BODY_MAX_BYTES, Panel } from './panel/index.js';

/** What the CLI and the tests read of a server: its counters, and the at-rest verdict of its close. */
export interface ServerView {
  readonly routes: Readonly<Record<RouteName, RouteCounters>>;
  readonly connections: Readonly<ConnectionCounters>;
  closeReport: KernelAtRest | null;
}

declare module 'fastify' {
  interface FastifyInstance {
    zcsim: ServerView;
  }
}

export type ZcsimServer = FastifyInstance;

/** Builds the server; `await server.listen({ port, host })` starts it, `server.close()` ends it. */
export async function buildServer(options: ServerOptions): Promise<ZcsimServer> {
  const o = resolveServerOptions(options);
  const kernel = httpKernel(o.kernel);
  const app = Fastify({
    logger: o.logger,
    exposeHeadRoutes: false,
    return503OnClosing: true,
    serverFactory: ownConnectionsServer,
  });
  const files = new FilesContext(o, kernel, app.log);
  const conns = new Connections(
    kernel,
    o,
    (conn, req) => {
      const route = fileRouteOf(req.target);
      return route === null ? panel.respond(conn, req) : respondFile(files, conn, route, req);
    },
    // Bodies of GET and HEAD, and of anything sent to a file route, are dropped as they arrive.
    (method, target) =>
      method === 'GET' || method === 'HEAD' || fileRouteOf(target) !== null ? null : PANEL_BODY_MAX_BYTES,
  );
  const panel = new Panel(app, { conns, files, options: o, startedAtMs: o.clock.nowMs() });
  const journeys = { conns, files, tls: o.tls !== null };
  registerJourneyRoute(app, journeys);
  registerCaptureRoute(app, journeys);
  const view: ServerView = { routes: files.routes, connections: conns.counters, closeReport: null };
  app.decorate('zcsim', view);
  app.server.on('connection', (socket) => conns.accept(socket));
  // Close: event streams end and the loader dies at once; idle connections close, busy ones are
  // cut after the grace period; then the kernel's at-rest check (the plugin's onClose).
  app.addHook('preClose', async () => {
    panel.stop();
    conns.startClose(o.closeGraceMs);
  });
  const beforeTeardown = async () => {
    await conns.teardown();
    await files.cache.close();
  };
  await app.register(kernelPlugin, { kernel, beforeTeardown, onVerdict: (v) => (view.closeReport = v) });
  return app;
}
