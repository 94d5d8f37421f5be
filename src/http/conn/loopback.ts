// Where the server can reach itself: the routes that make requests of their own (Compare, Trace)
// connect to the listening address, with a wildcard address read as loopback.
import type { FastifyInstance } from 'fastify';

/** The host and port to connect to for a request to this server, or null if not on TCP. */
export function loopbackOf(app: FastifyInstance): { host: string; port: number } | null {
  const address = app.server.address();
  if (address === null || typeof address === 'string') return null;
  const host = address.address === '::' || address.address === '0.0.0.0' ? '127.0.0.1' : address.address;
  return { host, port: address.port };
}
