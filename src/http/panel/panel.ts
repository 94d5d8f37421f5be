// The panel of one server: its routes registered in fastify, the live event stream, and the
// comparison runner. fastify is the panel's router: the routes, body parsing, JSON, hooks,
// logging and the error answers of every request that is not a file's; the answers go out
// through the bridge on the request's own connection.
import type { FastifyInstance } from 'fastify';
import type { Connection, HttpRequest } from '../conn/index.js';
import { loadAssets } from './assets.js';
import { isEventsRequest, respondEvents, respondPanel } from './bridge.js';
import { Comparer } from './compare.js';
import type { PanelContext } from './context.js';
import { EventHub } from './events.js';
import { Metrics } from './metrics.js';
import { registerPanelErrors, registerPanelRoutes } from './routes.js';
import { takeSnapshot } from './snapshot.js';

export class Panel {
  private readonly hub: EventHub;
  private readonly comparer: Comparer;

  constructor(
    private readonly app: FastifyInstance,
    ctx: PanelContext,
  ) {
    const clock = ctx.conns.clock;
    this.hub = new EventHub(clock, ctx.options.eventsIntervalMs, () => JSON.stringify(takeSnapshot(ctx)));
    this.comparer = new Comparer(
      clock,
      ctx.files.routes,
      ctx.options.compareDurationMs,
      ctx.options.tls !== null,
    );
    registerPanelErrors(app);
    registerPanelRoutes(app, { ctx, comparer: this.comparer, metrics: new Metrics(), assets: loadAssets() });
  }

  /** Answers a request that is not a file route's on its connection. */
  respond(conn: Connection, req: HttpRequest): Promise<number> {
    if (isEventsRequest(req)) return respondEvents(this.hub, conn, req);
    return respondPanel(this.app, conn, req);
  }

  /** The server closes: event streams end and a running comparison's loader dies at once. */
  stop(): void {
    this.hub.closeAll();
    this.comparer.stop();
  }
}
