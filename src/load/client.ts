// The one HTTP/1.1 client of the project: one keep-alive TCP connection to a server on this
// machine, requests pipelined in order, responses framed by Content-Length and handed over as
// they complete. Each body is hashed (SHA-256) as it streams in, counted, and kept only when
// asked; a request can abort midway (reset or close) and every wait has a timeout.
// Chunked responses are not parsed: every server it talks to sends Content-Length.
import { createHash, type Hash } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

export interface ClientResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Bytes of the status line and headers, the blank line included. */
  readonly headerBytes: number;
  /** Body bytes received (all of Content-Length when complete). */
  readonly bodyBytes: number;
  /** SHA-256 (hex) of the body bytes received; empty when hashing was off. */
  readonly sha256: string;
  /** The body itself, when the request asked to keep it. */
  readonly body: Buffer | null;
  /** Request written -> last body byte. */
  readonly latencyMs: number;
  /** Request written -> first byte of its response (NaN when none came). */
  readonly firstByteMs: number;
  /** The whole body arrived. */
  readonly complete: boolean;
  /** Why it did not (the client's own abort, the server closing, an error, a timeout). */
  readonly cut: 'aborted' | 'closed' | 'error' | 'timeout' | null;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Hash the body (default true). */
  readonly hash?: boolean;
  /** Keep the body bytes in the response (default false). */
  readonly keepBody?: boolean;
  /** Body bytes as they arrive (throughput windows count them here). */
  readonly onBodyBytes?: (count: number) => void;
  /** Abort after this many body bytes: 'reset' sends a TCP RST, 'close' a FIN. */
  readonly abortAfterBytes?: number;
  readonly abortHow?: 'reset' | 'close';
  /** 0: no timeout. */
  readonly timeoutMs?: number;
}

interface Pending {
  readonly method: string;
  readonly opts: RequestOptions;
  readonly resolve: (r: ClientResponse) => void;
  readonly timer: NodeJS.Timeout | null;
  readonly sentAtMs: number;
  /** When the response's first byte came (NaN until then). */
  firstByteAtMs: number;
  headParts: Buffer[];
  headLength: number;
  headerBytes: number;
  status: number;
  headers: Record<string, string>;
  /** -1 while the head is still arriving. */
  lengthBytes: number;
  gotBytes: number;
  hash: Hash | null;
  bodyParts: Buffer[] | null;
}

const HEAD_END = Buffer.from('\r\n\r\n');
const HEAD_BYTES_MAX = 64 * 1024;
const TIMEOUT_MS_DEFAULT = 30_000;

/** An IPv6 literal goes in brackets in a URL and a Host header. */
export function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * Sees the client socket at once, before it connects: a caller that must know the connection by
 * its port (the server's own journey and capture) listens for 'connect' or reads localPort later.
 */
export type OnSocket = (socket: Socket) => void;

/**
 * A TCP connection to host:port (127.0.0.1 unless told), connected, with no listeners attached.
 * With `tls`, a TLS 1.3 connection (ALPN http/1.1) that trusts any certificate: the load client
 * measures a server of this machine, often with a self-signed certificate.
 */
export function connectRaw(
  port: number,
  timeoutMs = 10_000,
  host = '127.0.0.1',
  tls = false,
  onSocket: OnSocket | null = null,
): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tls
      ? tlsConnect({
          port,
          host,
          rejectUnauthorized: false,
          minVersion: 'TLSv1.3',
          ALPNProtocols: ['http/1.1'],
        })
      : connect({ port, host });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('connect timeout'));
    }, timeoutMs);
    onSocket?.(socket);
    socket.once(tls ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      socket.removeListener('error', reject);
      socket.setNoDelay(true);
      resolve(socket);
    });
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** The head of a GET (or `method`) of `path`, with extra header lines. */
export function requestHead(
  path: string,
  method = 'GET',
  headers: Readonly<Record<string, string>> = {},
  host = '127.0.0.1',
): string {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: ${hostForUrl(host)}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

export class HttpClient {
  /** Requests written and not yet answered, oldest first (the order of their responses). */
  private readonly queue: Pending[] = [];
  closed = false;

  private constructor(
    readonly socket: Socket,
    private readonly host: string,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.finishAll('error'));
    socket.on('close', () => {
      this.closed = true;
      this.finishAll('closed');
    });
  }

  static async connect(
    port: number,
    timeoutMs = 10_000,
    host = '127.0.0.1',
    tls = false,
    onSocket: OnSocket | null = null,
  ): Promise<HttpClient> {
    return new HttpClient(await connectRaw(port, timeoutMs, host, tls, onSocket), host);
  }

  /** Requests written and not yet answered. */
  get inFlight(): number {
    return this.queue.length;
  }

  /** Sends raw bytes (a hostile request, or several) and reads one response. */
  raw(bytes: string | Buffer, opts: RequestOptions = {}): Promise<ClientResponse> {
    return this.exchange(bytes, opts);
  }

  /** One GET (or opts.method) of `path`, keep-alive; pipelined behind those in flight. */
  request(path: string, opts: RequestOptions = {}): Promise<ClientResponse> {
    return this.exchange(requestHead(path, opts.method, opts.headers, this.host), opts);
  }

  private exchange(bytes: string | Buffer, opts: RequestOptions): Promise<ClientResponse> {
    return new Promise((resolve) => {
      const timeoutMs = opts.timeoutMs ?? TIMEOUT_MS_DEFAULT;
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.finishAll('timeout');
              this.socket.destroy();
            }, timeoutMs)
          : null;
      const pending: Pending = {
        method: opts.method ?? 'GET',
        opts,
        resolve,
        timer,
        sentAtMs: performance.now(),
        firstByteAtMs: Number.NaN,
        headParts: [],
        headLength: 0,
        headerBytes: 0,
        status: 0,
        headers: {},
        lengthBytes: -1,
        gotBytes: 0,
        hash: null,
        bodyParts: null,
      };
      this.queue.push(pending);
      if (this.closed) this.finishAll('closed');
      else this.socket.write(bytes);
    });
  }

  private onData(chunk: Buffer): void {
    let rest = chunk;
    while (rest.length > 0) {
      const p = this.queue[0];
      if (p === undefined) return; // bytes nobody asked for (answers to a raw pipeline)
      if (p.lengthBytes === -1) {
        const consumed = this.takeHead(p, rest);
        if (consumed < 0) return;
        rest = rest.subarray(consumed);
        if (p.lengthBytes === -1) return;
      } else {
        const take = Math.min(rest.length, p.lengthBytes - p.gotBytes);
        this.takeBody(p, take === rest.length ? rest : rest.subarray(0, take));
        rest = rest.subarray(take);
        if (this.queue[0] !== p) continue; // aborted
      }
      if (p.gotBytes >= p.lengthBytes) this.finishHead(null);
    }
  }

  /** Takes head bytes from `chunk`; returns how many it consumed, or -1 after a failure. */
  private takeHead(p: Pending, chunk: Buffer): number {
    if (p.headLength === 0) p.firstByteAtMs = performance.now();
    p.headParts.push(chunk);
    p.headLength += chunk.length;
    const joined = p.headParts.length === 1 ? chunk : Buffer.concat(p.headParts, p.headLength);
    const end = joined.indexOf(HEAD_END);
    if (end < 0) {
      if (p.headLength > HEAD_BYTES_MAX) {
        this.finishAll('error');
        this.socket.destroy();
        return -1;
      }
      p.headParts = [joined];
      return chunk.length;
    }
    const earlier = p.headLength - chunk.length;
    p.headParts = [];
    p.headerBytes = end + HEAD_END.length;
    const lines = joined.toString('latin1', 0, end).split('\r\n');
    p.status = Number(lines[0]?.split(' ')[1] ?? 0);
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) p.headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
    const noBody = p.method === 'HEAD' || p.status === 304 || p.status === 204;
    p.lengthBytes = noBody ? 0 : Number(p.headers['content-length'] ?? 0);
    p.hash = p.opts.hash === false ? null : createHash('sha256');
    p.bodyParts = p.opts.keepBody === true ? [] : null;
    return p.headerBytes - earlier;
  }

  private takeBody(p: Pending, body: Buffer): void {
    if (body.length > 0) {
      p.hash?.update(body);
      p.bodyParts?.push(body);
      p.gotBytes += body.length;
      p.opts.onBodyBytes?.(body.length);
    }
    const abortAt = p.opts.abortAfterBytes;
    if (abortAt !== undefined && p.gotBytes >= abortAt && p.gotBytes < p.lengthBytes) {
      this.finishHead('aborted');
      this.abort(p.opts.abortHow ?? 'reset');
    }
  }

  /** Resolves the oldest request. */
  private finishHead(cut: ClientResponse['cut']): void {
    const p = this.queue.shift();
    if (p === undefined) return;
    if (p.timer !== null) clearTimeout(p.timer);
    const complete = cut === null && p.lengthBytes >= 0;
    p.resolve({
      status: p.status,
      headers: p.headers,
      headerBytes: p.headerBytes,
      bodyBytes: p.gotBytes,
      sha256: p.hash?.digest('hex') ?? (p.opts.hash === false ? '' : createHash('sha256').digest('hex')),
      body: p.bodyParts ? Buffer.concat(p.bodyParts) : null,
      latencyMs: performance.now() - p.sentAtMs,
      firstByteMs: p.firstByteAtMs - p.sentAtMs,
      complete,
      cut,
    });
    if (complete && p.headers.connection === 'close') this.socket.end();
  }

  private finishAll(cut: NonNullable<ClientResponse['cut']>): void {
    while (this.queue.length > 0) this.finishHead(cut);
  }

  /** The client goes away: 'reset' sends RST (SO_LINGER 0), 'close' a FIN. */
  abort(how: 'reset' | 'close'): void {
    if (how === 'reset') this.socket.resetAndDestroy();
    else this.socket.destroy();
  }

  /** Half-closes the sending side (FIN) and keeps reading. */
  end(): void {
    this.socket.end();
  }

  close(): void {
    this.socket.destroy();
  }
}
