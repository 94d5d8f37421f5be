// GET /capture.pcapng?route=zerocopy&file=NAME[&frames=tso]: one request on the wire, as pcapng.
// The server makes the request itself on a fresh loopback connection (as the journey does), with
// a capture tapped to that connection's client port; once the connection has closed (its FIN
// exchange recorded) it answers the file: both directions, and over TLS the key log in a
// Decryption Secrets Block, so that Wireshark shows the HTTP inside with no extra step. The
// dashboard's "Download .pcapng" and `zcsim capture` both use it.
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { MiB, wallMs } from '../../kern/index.js';
import { PcapBuffer } from '../../net/index.js';
import { httpStatusOf, PathError } from '../errors.js';
import { ROUTES } from '../files/index.js';
import { fetchOnce, type JourneyContext, requestPath, selfTarget, within } from './fetch.js';

/** Captures at once at most (each holds a connection and its packets). */
const CAPTURES_MAX = 2;
/** The packets of one capture are held in memory up to this; later ones are dropped (and said). */
export const CAPTURE_MAX_BYTES = 64 * MiB;
/** After the response, how long the connection's close is waited for. */
const CLOSE_WAIT_MS = 2_000;
/** Names the file's writer in its Section Header. */
export const PCAP_USERAPPL = 'zcsim (a model of FreeBSD tcp_output on the wire)';

export function registerCaptureRoute(app: FastifyInstance, ctx: JourneyContext): void {
  let running = 0;
  app.get('/capture.pcapng', async (request, reply) => {
    const q = request.query as { route?: unknown; file?: unknown; frames?: unknown };
    const route = ROUTES.find((r) => r === q.route);
    const frames = q.frames === 'tso' ? 'tso' : 'wire';
    if (route === undefined || typeof q.file !== 'string' || q.file === '')
      return reply
        .code(400)
        .send({ error: `query must be route=${ROUTES.join('|')}&file=<name>[&frames=tso]` });
    if (running >= CAPTURES_MAX) return reply.code(409).send({ error: 'captures already running' });
    running++;
    try {
      const t = await selfTarget(app, ctx.files, q.file);
      const kernel = ctx.conns.kernel;
      const sockets = kernel.sockets;
      const pcap = new PcapBuffer(sockets.inet.ifp, PCAP_USERAPPL, CAPTURE_MAX_BYTES);
      let client: Socket | null = null;
      // The kernel socket is made at accept; by then the client's port is bound.
      const stop = sockets.pcapTap({
        frames,
        epochOffsetMs: wallMs(kernel.clock) - kernel.clock.nowMs(),
        match: (peerPort) => (client !== null && peerPort === client.localPort ? pcap : null),
      });
      try {
        await fetchOnce(ctx, t.host, t.port, requestPath(route, t.relative), (s) => {
          client = s;
        });
        await within(kernel.clock, pcap.whenClosed(), CLOSE_WAIT_MS);
      } finally {
        stop();
      }
      const name = `${route}-${t.relative.replace(/[^A-Za-z0-9._-]+/g, '_')}.pcapng`;
      reply.header('Cache-Control', 'no-store');
      reply.header('Content-Type', 'application/vnd.tcpdump.pcap');
      reply.header('Content-Disposition', `attachment; filename="${name}"`);
      return reply.send(Buffer.from(pcap.bytes().buffer));
    } catch (err) {
      const status = err instanceof PathError ? err.status : httpStatusOf(err);
      return reply.code(status).send({ error: err instanceof Error ? err.message : String(err) });
    } finally {
      running--;
    }
  });
}
