// A raw HTTP/1.1 client for the connection tests: writes many requests on one socket (pipelined)
// and reads the responses with a streaming parser that hashes each body as it arrives, so that
// thousands of responses never sit in memory. Content-Length framing only (the server's file and
// panel responses all carry it).
import { createHash, type Hash } from 'node:crypto';
import { connect, type Socket } from 'node:net';

export interface PipedResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly bodyBytes: number;
  readonly sha256: string;
  /** The body as text when it is small (for error checks), '' otherwise. */
  readonly text: string;
}

export interface PipelineResult {
  readonly responses: readonly PipedResponse[];
  /** The server closed the connection (FIN or reset). */
  readonly closed: boolean;
}

const TEXT_MAX_BYTES = 256 * 1024;

/** An incremental parser of consecutive responses to `methods`. */
export class ResponseStream {
  readonly responses: PipedResponse[] = [];
  private buf: Buffer = Buffer.alloc(0);
  private current: {
    status: number;
    headers: Record<string, string>;
    left: number;
    total: number;
    hash: Hash;
    text: Buffer[];
  } | null = null;

  constructor(private readonly methods: readonly string[]) {}

  push(data: Buffer): void {
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    for (;;) {
      if (this.current === null) {
        const end = this.buf.indexOf('\r\n\r\n');
        if (end === -1) return;
        const lines = this.buf.subarray(0, end).toString('latin1').split('\r\n');
        this.buf = this.buf.subarray(end + 4);
        const status = Number(lines[0]?.split(' ')[1]);
        const headers: Record<string, string> = {};
        for (const l of lines.slice(1)) {
          const i = l.indexOf(':');
          headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
        }
        const method = this.methods[this.responses.length] ?? 'GET';
        const noBody = method === 'HEAD' || status === 304 || status === 204;
        const total = noBody ? 0 : Number(headers['content-length'] ?? 0);
        this.current = { status, headers, left: total, total, hash: createHash('sha256'), text: [] };
      }
      const c = this.current;
      const take = Math.min(c.left, this.buf.length);
      if (take > 0) {
        const part = this.buf.subarray(0, take);
        c.hash.update(part);
        if (c.total <= TEXT_MAX_BYTES) c.text.push(Buffer.from(part));
        this.buf = this.buf.subarray(take);
        c.left -= take;
      }
      if (c.left > 0) return;
      this.responses.push({
        status: c.status,
        headers: c.headers,
        bodyBytes: c.total,
        sha256: c.hash.digest('hex'),
        text: Buffer.concat(c.text).toString('latin1'),
      });
      this.current = null;
    }
  }

  /** Bytes received past the last complete response (a body cut short, or garbage). */
  get trailingBytes(): number {
    return this.buf.length + (this.current === null ? 0 : this.current.total - this.current.left);
  }
}

export interface PipelineOptions {
  /** Read at most this many bytes a second (paused socket, read in slices); unlimited by default. */
  readonly readBytesPerSecond?: number;
  /** Give up after this long (the socket is destroyed and what arrived is returned). */
  readonly timeoutMs?: number;
  /** Resolve once this many responses arrived (the socket is then closed). */
  readonly expect?: number;
}

/** Writes `raw` request bytes on a new connection and collects the responses to `methods`. */
export function pipeline(
  port: number,
  raw: string | Buffer,
  methods: readonly string[],
  opts: PipelineOptions = {},
): Promise<PipelineResult & { stream: ResponseStream }> {
  const stream = new ResponseStream(methods);
  return new Promise((resolve) => {
    const socket: Socket = connect(port, '127.0.0.1');
    let closed = false;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(slow);
      socket.destroy();
      resolve({ responses: stream.responses, closed, stream });
    };
    const timer = setTimeout(finish, opts.timeoutMs ?? 60_000);
    let slow: NodeJS.Timeout | undefined;
    socket.on('connect', () => socket.write(raw));
    const onData = (d: Buffer): void => {
      stream.push(d);
      if (opts.expect !== undefined && stream.responses.length >= opts.expect) finish();
    };
    if (opts.readBytesPerSecond === undefined) socket.on('data', onData);
    else {
      const sliceBytes = Math.max(1, Math.floor(opts.readBytesPerSecond / 20));
      socket.pause();
      slow = setInterval(() => {
        let left = sliceBytes;
        while (left > 0) {
          const d = socket.read() as Buffer | null;
          if (d === null) break;
          if (d.length > left) {
            socket.unshift(d.subarray(left));
            onData(d.subarray(0, left));
            left = 0;
          } else {
            onData(d);
            left -= d.length;
          }
        }
      }, 50);
    }
    socket.on('error', () => {});
    socket.on('end', () => {
      closed = true;
    });
    socket.on('close', () => {
      closed = true;
      finish();
    });
  });
}

/** `count` GETs of `path`, pipelined, the last one asking to close. */
export function getMany(path: string, count: number, method = 'GET'): string {
  const one = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
  return `${one.repeat(count - 1)}${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`;
}
