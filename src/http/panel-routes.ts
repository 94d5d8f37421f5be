// The dashboard's routes: the page and its assets, /stats (JSON), /metrics (Prometheus),
// /events (SSE), /files (the table of files) and POST /compare (the side-by-side load).
import { readdir, stat } from 'node:fs/promises';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Asset } from './assets.js';
import type { Comparer } from './compare.js';
import type { EventHub } from './events.js';
import { registerJourneyRoute } from './journey-route.js';
import { loopbackOf } from './loopback.js';
import type { Metrics } from './metrics.js';
import { decodeRequestPath, resolveInsideRoot } from './path.js';
import { takeSnapshot } from './snapshot.js';
import type { ServerState } from './state.js';

/** Files listed on the dashboard at most. */
const FILES_LISTED_MAX = 200;

export interface PanelDeps {
  readonly state: ServerState;
  readonly hub: EventHub;
  readonly comparer: Comparer;
  readonly metrics: Metrics;
  readonly assets: Map<string, Asset>;
}

/** Regular, non-hidden files at the top of the root, smallest first. */
async function listFiles(realRoot: string): Promise<{ name: string; sizeBytes: number }[]> {
  const out: { name: string; sizeBytes: number }[] = [];
  for (const name of await readdir(realRoot)) {
    if (name.startsWith('.') || out.length >= FILES_LISTED_MAX) continue;
    try {
      // The same check as the routes: a symlink leading out of the root is not listed.
      const st = await stat(await resolveInsideRoot(realRoot, name));
      if (st.isFile()) out.push({ name, sizeBytes: st.size });
    } catch {
      // gone meanwhile, a dangling symlink, or one leading out
    }
  }
  return out.sort((a, b) => a.sizeBytes - b.sizeBytes || a.name.localeCompare(b.name));
}

export function registerPanelRoutes(app: FastifyInstance, deps: PanelDeps): void {
  const { state, hub, comparer, metrics, assets } = deps;
  const serveAsset = (path: string) => async (_req: unknown, reply: FastifyReply) => {
    const a = assets.get(path);
    if (!a) return reply.code(404).send('404 Not Found\n');
    return reply.header('Content-Type', a.contentType).header('Cache-Control', 'no-cache').send(a.body);
  };
  for (const path of assets.keys()) app.get(path, serveAsset(path));

  app.get('/stats', async (_req, reply) => {
    reply.header('Cache-Control', 'no-store');
    return takeSnapshot(state);
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await metrics.render(takeSnapshot(state));
    return reply.header('Content-Type', metrics.contentType).send(text);
  });
  app.get('/events', (_req, reply) => {
    reply.hijack();
    if (!hub.attach(reply.raw)) {
      reply.raw.writeHead(503, { 'Content-Type': 'text/plain', 'Content-Length': '20' });
      reply.raw.end('too many listeners\n\n');
    }
  });
  app.get('/files', async () => ({ files: await listFiles(state.options.realRoot) }));
  registerJourneyRoute(app, state);
  app.post('/compare', async (request, reply) => {
    const body = request.body as { file?: unknown } | null;
    if (typeof body?.file !== 'string')
      return reply.code(400).send({ error: 'body must be {"file": "<name>"}' });
    if (comparer.busy) return reply.code(409).send({ error: 'a comparison is already running' });
    const decoded = decodeRequestPath(body.file, state.options.dotfiles);
    const entry = await state.files.lookup(decoded.relative);
    if (!entry.isRegular) return reply.code(400).send({ error: `${body.file} is not a regular file` });
    const self = loopbackOf(app);
    if (self === null) return reply.code(500).send({ error: 'not listening on TCP' });
    return comparer.run(self.host, self.port, decoded.relative, entry.sizeBytes);
  });
}
