// The dashboard's routes in fastify: the page and its assets, /stats (JSON), /metrics
// (Prometheus), /files (the table of files) and POST /compare (the side-by-side load), with the
// server's 404 and error answers. /events is the bridge's (a stream that lasts, not an inject).
import { readdir } from 'node:fs/promises';
import { STATUS_CODES } from 'node:http';
import { sep } from 'node:path';
import type { FastifyInstance, FastifyReply, RouteHandlerMethod } from 'fastify';
import { loopbackOf } from '../conn/index.js';
import { httpStatusOf } from '../errors.js';
import { decodeRequestPath, openChecked, ROUTES, servableName } from '../files/index.js';
import type { Asset } from './assets.js';
import { askingSocket } from './bridge.js';
import { COMPARE_FILE_MAX_BYTES, CompareOverrunError, type Comparer } from './compare.js';
import type { PanelContext } from './context.js';
import type { Metrics } from './metrics.js';

/**
 * A comparison adds its own load to the server's; past this many file responses in flight (a busy
 * server, or one under attack) it is refused, while a download or two beside it is no reason to.
 */
const COMPARE_BUSY_INFLIGHT_MAX = 8;

import { takeSnapshot } from './snapshot.js';

/** The largest body a panel request may send (POST /compare's JSON names one file); 413 above. */
export const PANEL_BODY_MAX_BYTES = 16 * 1024;

/** Files listed on the dashboard at most. */
const FILES_LISTED_MAX = 200;

export interface PanelDeps {
  readonly ctx: PanelContext;
  readonly comparer: Comparer;
  readonly metrics: Metrics;
  readonly assets: Map<string, Asset>;
}

/** Regular, non-hidden files at the top of the root, smallest first. */
async function listFiles(realRoot: string): Promise<{ name: string; sizeBytes: number }[]> {
  const out: { name: string; sizeBytes: number }[] = [];
  for (const raw of await readdir(realRoot, { encoding: 'buffer' })) {
    const name = servableName(raw);
    if (name === null || name.startsWith('.') || out.length >= FILES_LISTED_MAX) continue;
    try {
      // The same check as the routes: a file leading out of the root is neither listed nor sized.
      const f = await openChecked(realRoot, `${realRoot}${sep}${name}`);
      await f.fh.close().catch(() => {});
      if (f.st.isFile()) out.push({ name, sizeBytes: Number(f.st.size) });
    } catch {
      // gone meanwhile, a dangling symlink, or one leading out
    }
  }
  return out.sort((a, b) => a.sizeBytes - b.sizeBytes || a.name.localeCompare(b.name));
}

/** The methods a page answers (HEAD: the GET head without the body). */
const PAGE_METHODS = 'GET, HEAD';

/**
 * A page answered for GET and HEAD, and 405 with Allow for every other method fastify knows
 * (nginx answers a static location the same way).
 */
function page(app: FastifyInstance, url: string, handler: RouteHandlerMethod): void {
  app.route({ method: ['GET', 'HEAD'], url, handler });
  const others = app.supportedMethods.filter((m) => m !== 'GET' && m !== 'HEAD');
  app.route({
    method: others,
    url,
    handler: (_req, reply) =>
      reply
        .code(405)
        .header('Allow', PAGE_METHODS)
        .type('text/plain; charset=utf-8')
        .send('405 Method Not Allowed\n'),
  });
}

export function registerPanelRoutes(app: FastifyInstance, deps: PanelDeps): void {
  const { ctx, comparer, metrics, assets } = deps;
  const files = ctx.files;
  const serveAsset = (path: string) => async (_req: unknown, reply: FastifyReply) => {
    const a = assets.get(path);
    if (!a) return reply.code(404).send('404 Not Found\n');
    return reply.header('Content-Type', a.contentType).header('Cache-Control', 'no-cache').send(a.body);
  };
  for (const path of assets.keys()) page(app, path, serveAsset(path));

  page(app, '/stats', async (req, reply) => {
    reply.header('Cache-Control', 'no-store');
    return takeSnapshot(ctx, askingSocket(app, req.headers));
  });
  page(app, '/metrics', async (req, reply) => {
    const text = await metrics.render(takeSnapshot(ctx, askingSocket(app, req.headers)));
    return reply.header('Content-Type', metrics.contentType).send(text);
  });
  page(app, '/files', async () => ({ files: await listFiles(files.realRoot) }));
  app.post('/compare', async (request, reply) => {
    const body = request.body as { file?: unknown } | null;
    if (typeof body?.file !== 'string')
      return reply.code(400).send({ error: 'body must be {"file": "<name>"}' });
    // The slot is taken before the first await: of posts that race, one runs, the others get 409.
    const slot = comparer.reserve();
    if (slot === null) return reply.code(409).send({ error: 'a comparison is already running' });
    try {
      const decoded = decodeRequestPath(body.file, files.dotfiles);
      const entry = await files.cache.lookup(decoded.relative);
      if (!entry.isRegular) return reply.code(400).send({ error: `${body.file} is not a regular file` });
      if (entry.sizeBytes > COMPARE_FILE_MAX_BYTES)
        return reply
          .code(413)
          .send({ error: `files above ${COMPARE_FILE_MAX_BYTES} bytes are not compared` });
      const restMs = comparer.restLeftMs();
      if (restMs > 0)
        return reply
          .code(429)
          .header('Retry-After', String(Math.ceil(restMs / 1000)))
          .send({ error: 'the last comparison just ended; the server rests as long as it ran' });
      const inflight = ROUTES.reduce((n, r) => n + files.routes[r].inflight, 0);
      if (inflight > COMPARE_BUSY_INFLIGHT_MAX)
        return reply
          .code(503)
          .header('Retry-After', '5')
          .send({ error: `${inflight} file responses in flight; a comparison would load them too` });
      const self = loopbackOf(app);
      if (self === null) return reply.code(500).send({ error: 'not listening on TCP' });
      return await slot.run(self.host, self.port, decoded.relative, entry.sizeBytes);
    } catch (err) {
      if (!(err instanceof CompareOverrunError)) throw err;
      return reply.code(503).header('Retry-After', '10').send({ error: err.message });
    } finally {
      slot.release();
    }
  });
}

/** The server's own 404 and error answers for what fastify routes: plain text, the errno table's status. */
export function registerPanelErrors(app: FastifyInstance): void {
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
}
