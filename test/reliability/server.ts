// The HTTP server of the reliability tests: the demo over the simulated kernel on 127.0.0.1
// port 0, listening with a backlog of 4096. Its clients live in the same process, and Node (libuv
// 1.46) accepts one connection per event-loop turn when the loop is busy, so a burst of
// connections (1,000 at once, reconnects after aborts) waits in the accept queue: room for all.
import { buildServer, type ServerOptions } from '../../src/http/index.js';
import { listenLoopback } from '../../src/load/index.js';
import type { Running } from '../http/helpers.js';

export async function startReliabilityServer(options: ServerOptions): Promise<Running> {
  const server = await buildServer(options);
  const port = await listenLoopback(server, 4096);
  return { server, port, origin: `http://127.0.0.1:${port}` };
}
