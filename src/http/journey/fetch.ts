// The server's own request, made with the load room's client on a fresh loopback connection
// (plain or TLS, the server's own certificate accepted): one GET with Connection: close, read to
// the end, then the connection's close. The journey and the capture both make it; `onSocket`
// sees the client socket at once, before it connects, as the kernel socket is made at accept.
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../../kern/index.js';
import { HttpClient, type OnSocket } from '../../load/index.js';
import { type Connections, loopbackOf } from '../conn/index.js';
import { PathError } from '../errors.js';
import { decodeRequestPath, type FilesContext, type RouteName } from '../files/index.js';

/** A request that takes longer is cut (what was seen so far is answered, marked incomplete). */
const FETCH_TIMEOUT_MS = 30_000;

/** The journey room's one context: the connections' (the kernel, the clock), the files, TLS or not. */
export interface JourneyContext {
  readonly conns: Connections;
  readonly files: FilesContext;
  readonly tls: boolean;
}

export interface Fetched {
  status: number | null;
  bodyBytes: number;
  complete: boolean;
}

/** Resolves true when `p` settles within `ms` on the clock, false otherwise. */
export function within(clock: Clock, p: Promise<unknown>, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = clock.setTimer(ms, () => resolve(false));
    void p.then(() => {
      timer.cancel();
      resolve(true);
    });
  });
}

/** One GET with Connection: close through the load client; the body is counted, not kept. */
export async function fetchOnce(
  ctx: JourneyContext,
  host: string,
  port: number,
  path: string,
  onSocket: OnSocket,
): Promise<Fetched> {
  let client: HttpClient;
  try {
    client = await HttpClient.connect(port, FETCH_TIMEOUT_MS, host, ctx.tls, onSocket);
  } catch {
    return { status: null, bodyBytes: 0, complete: false };
  }
  try {
    const headers = { Connection: 'close' };
    const r = await client.request(path, { headers, hash: false, timeoutMs: FETCH_TIMEOUT_MS });
    // The client half-closed after the body; the server's FIN ends the connection.
    const closed = new Promise<void>((resolve) => {
      if (client.socket.destroyed) resolve();
      else client.socket.once('close', () => resolve());
    });
    const ended = await within(ctx.conns.clock, closed, FETCH_TIMEOUT_MS);
    return {
      status: r.status === 0 ? null : r.status,
      bodyBytes: r.bodyBytes,
      complete: r.complete && ended,
    };
  } finally {
    client.close();
  }
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
  files: FilesContext,
  file: string,
): Promise<SelfTarget> {
  const decoded = decodeRequestPath(file, files.dotfiles);
  const entry = await files.cache.lookup(decoded.relative);
  if (!entry.isRegular) throw new PathError(400, `${file} is not a regular file`);
  const self = loopbackOf(app);
  if (self === null) throw new Error('not listening on TCP');
  return { host: self.host, port: self.port, relative: decoded.relative, sizeBytes: entry.sizeBytes };
}
