// The one server starter of the tests, the soak and the benchmark: any server with fastify's
// listen() (or a node:http one) on 127.0.0.1, an ephemeral port, and the port it got.
import type { AddressInfo, Server } from 'node:net';

export interface Listening {
  listen(options: { port: number; host: string; backlog?: number }): Promise<unknown>;
  readonly server: Server;
}

/** Listens on 127.0.0.1 port 0 and returns the port. */
export async function listenLoopback(app: Listening, backlog?: number): Promise<number> {
  await app.listen({ port: 0, host: '127.0.0.1', ...(backlog === undefined ? {} : { backlog }) });
  const address = app.server.address() as AddressInfo | string | null;
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}
