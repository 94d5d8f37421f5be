// The server's own request, on a fresh loopback connection (plain or TLS, the server's own
// certificate accepted): one GET with Connection: close, read to the end. The journey and the
// capture both make it; `onSocket` sees the client socket at once, before its connection.
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import { loopbackOf } from '../conn/index.js';
import { PathError } from '../errors.js';
import { decodeRequestPath, type RouteName, type ServerState } from '../files/index.js';

/** A request that takes longer is cut (what was seen so far is answered, marked incomplete). */
const FETCH_TIMEOUT_MS = 30_000;

export interface Fetched {
  status: number | null;
  bodyBytes: number;
  complete: boolean;
}

/**
 * Sends one GET with Connection: close and reads to the end; the head is parsed, the body counted.
 * Over TLS (the server's own, possibly self-signed, certificate) once the handshake is done.
 */
export function fetchOnce(
  host: string,
  port: number,
  path: string,
  tls: boolean,
  onSocket: (socket: Socket) => void,
): Promise<Fetched> {
  return new Promise((resolve) => {
    const socket: Socket = tls
      ? tlsConnect({
          host,
          port,
          rejectUnauthorized: false,
          minVersion: 'TLSv1.3',
          ALPNProtocols: ['http/1.1'],
        })
      : connect({ host, port });
    let head = Buffer.alloc(0);
    let status: number | null = null;
    let headBytes = -1;
    let received = 0;
    const timer = setTimeout(() => finish(false), FETCH_TIMEOUT_MS);
    const finish = (complete: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status, bodyBytes: Math.max(0, received - Math.max(0, headBytes)), complete });
    };
    onSocket(socket);
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (headBytes >= 0) return;
      head = Buffer.concat([head, chunk]).subarray(0, 64 * 1024);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      headBytes = end + 4;
      status = Number(/^HTTP\/1\.\d (\d{3})/.exec(head.toString('latin1'))?.[1] ?? NaN) || null;
    });
    socket.once('end', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

export function requestPath(route: RouteName, relative: string): string {
  return `/${route}/${relative.split('/').map(encodeURIComponent).join('/')}`;
}

/** Where the server's own request goes: its loopback address, and the file's path (checked). */
export interface SelfTarget {
  readonly host: string;
  readonly port: number;
  readonly relative: string;
  readonly sizeBytes: number;
}

/** The target of a self-request for `file`; PathError for a bad name or not a regular file. */
export async function selfTarget(
  app: FastifyInstance,
  state: ServerState,
  file: string,
): Promise<SelfTarget> {
  const decoded = decodeRequestPath(file, state.options.dotfiles);
  const entry = await state.files.lookup(decoded.relative);
  if (!entry.isRegular) throw new PathError(400, `${file} is not a regular file`);
  const self = loopbackOf(app);
  if (self === null) throw new Error('not listening on TCP');
  return { host: self.host, port: self.port, relative: decoded.relative, sizeBytes: entry.sizeBytes };
}
