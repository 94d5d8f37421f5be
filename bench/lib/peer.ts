// Test peers of the HTTP reliability tests and of the soak (bench/soak.ts): a raw HTTP/1.1 client
// over one keep-alive TCP connection to 127.0.0.1 that hashes each body as it streams in (never
// buffering it), and can misbehave on purpose: abort midway (reset or plain close), half-close its
// sending side, read one KiB a second, or never read at all. Bounded: every wait has a timeout.
import { createHash, type Hash } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface PeerResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** Body bytes received (all of Content-Length when complete). */
  readonly bodyBytes: number;
  readonly sha256: string;
  /** The whole body arrived. */
  readonly complete: boolean;
  /** Why it did not (the peer's own abort, the server closing, an error, a timeout). */
  readonly cut: 'aborted' | 'closed' | 'error' | 'timeout' | null;
}

export interface RequestOptions {
  readonly method?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Abort after this many body bytes: 'reset' sends a TCP RST, 'close' a FIN. */
  readonly abortAfterBytes?: number;
  readonly abortHow?: 'reset' | 'close';
  readonly timeoutMs?: number;
}

interface Pending {
  readonly method: string;
  readonly opts: RequestOptions;
  readonly resolve: (r: PeerResponse) => void;
  readonly timer: NodeJS.Timeout;
  head: Buffer;
  status: number;
  headers: Record<string, string>;
  length: number;
  got: number;
  hash: Hash | null;
}

const HEAD_MAX_BYTES = 64 * 1024;

/** A TCP connection to 127.0.0.1:port, no listeners attached (paused). */
export function connectRaw(port: number, timeoutMs = 10_000): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('connect timeout'));
    }, timeoutMs);
    socket.once('connect', () => {
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

export class HttpPeer {
  private pending: Pending | null = null;
  closed = false;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => this.finish('error'));
    socket.on('close', () => {
      this.closed = true;
      this.finish('closed');
    });
  }

  static async connect(port: number, timeoutMs = 10_000): Promise<HttpPeer> {
    return new HttpPeer(await connectRaw(port, timeoutMs));
  }

  /** Sends raw bytes (a hostile request) and reads one response. */
  raw(bytes: string | Buffer, opts: RequestOptions = {}): Promise<PeerResponse> {
    return this.exchange(bytes, opts);
  }

  /** One GET (or opts.method) of `path`, keep-alive. */
  request(path: string, opts: RequestOptions = {}): Promise<PeerResponse> {
    const lines = [`${opts.method ?? 'GET'} ${path} HTTP/1.1`, 'Host: 127.0.0.1'];
    for (const [k, v] of Object.entries(opts.headers ?? {})) lines.push(`${k}: ${v}`);
    return this.exchange(`${lines.join('\r\n')}\r\n\r\n`, opts);
  }

  private exchange(bytes: string | Buffer, opts: RequestOptions): Promise<PeerResponse> {
    if (this.pending !== null) throw new Error('HttpPeer: one request at a time');
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.finish('timeout');
        this.socket.destroy();
      }, opts.timeoutMs ?? 30_000);
      this.pending = {
        method: opts.method ?? 'GET',
        opts,
        resolve,
        timer,
        head: Buffer.alloc(0),
        status: 0,
        headers: {},
        length: -1,
        got: 0,
        hash: null,
      };
      if (this.closed) this.finish('closed');
      else this.socket.write(bytes);
    });
  }

  private onData(chunk: Buffer): void {
    const p = this.pending;
    if (p === null) return;
    let body = chunk;
    if (p.hash === null) {
      p.head = Buffer.concat([p.head, chunk]);
      const end = p.head.indexOf('\r\n\r\n');
      if (end === -1) {
        if (p.head.length > HEAD_MAX_BYTES) this.finish('error');
        return;
      }
      this.parseHead(p, p.head.subarray(0, end).toString('latin1'));
      body = p.head.subarray(end + 4);
      p.hash = createHash('sha256');
    }
    const take = Math.min(body.length, p.length - p.got);
    if (take > 0) {
      p.hash.update(body.subarray(0, take));
      p.got += take;
    }
    const abortAt = p.opts.abortAfterBytes;
    if (abortAt !== undefined && p.got >= abortAt && p.got < p.length) {
      this.finish('aborted');
      this.abort(p.opts.abortHow ?? 'reset');
      return;
    }
    if (p.got >= p.length) this.finish(null);
  }

  private parseHead(p: Pending, text: string): void {
    const lines = text.split('\r\n');
    p.status = Number(lines[0]?.split(' ')[1] ?? 0);
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i > 0) p.headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
    const noBody = p.method === 'HEAD' || p.status === 304 || p.status === 204;
    p.length = noBody ? 0 : Number(p.headers['content-length'] ?? 0);
  }

  private finish(cut: PeerResponse['cut']): void {
    const p = this.pending;
    if (p === null) return;
    this.pending = null;
    clearTimeout(p.timer);
    const complete = cut === null && p.hash !== null;
    p.resolve({
      status: p.status,
      headers: p.headers,
      bodyBytes: p.got,
      sha256: (p.hash ?? createHash('sha256')).digest('hex'),
      complete,
      cut,
    });
    if (complete && p.headers.connection === 'close') this.socket.end();
  }

  /** The peer goes away: 'reset' sends RST (SO_LINGER 0), 'close' a FIN. */
  abort(how: 'reset' | 'close'): void {
    if (how === 'reset') this.socket.resetAndDestroy();
    else this.socket.destroy();
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * A peer that asks for `path` and then reads at most `bytesPerSecond` (socket.read in paused
 * mode: Node buffers up to its high-water mark, then the TCP window closes on the server).
 * Resolves the bytes it read when stopped.
 */
export class SlowReader {
  bytesRead = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly socket: Socket,
    path: string,
    bytesPerSecond: number,
    extraHeaders = '',
    periodMs = 250,
  ) {
    socket.on('error', () => {});
    socket.on('readable', () => {});
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extraHeaders}\r\n`);
    // A fractional budget, so that 1 byte a second is one byte every fourth tick; 0 never reads.
    let budgetBytes = 0;
    this.timer = setInterval(() => {
      budgetBytes += (bytesPerSecond * periodMs) / 1000;
      const n = Math.floor(budgetBytes);
      if (n === 0) return;
      const chunk = socket.read(n) as Buffer | null;
      if (chunk === null) return;
      budgetBytes -= chunk.length;
      this.bytesRead += chunk.length;
    }, periodMs);
  }

  static async open(
    port: number,
    path: string,
    bytesPerSecond: number,
    extraHeaders = '',
  ): Promise<SlowReader> {
    return new SlowReader(await connectRaw(port), path, bytesPerSecond, extraHeaders);
  }

  stop(): void {
    clearInterval(this.timer);
    this.socket.destroy();
  }
}
