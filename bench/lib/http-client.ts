// A minimal keep-alive HTTP/1.1 client connection for the built-in loader: one GET in flight,
// responses framed by Content-Length, body bytes counted as they arrive and never copied;
// some bodies are hashed (SHA-256) and every body's length is checked, so a fast wrong answer
// cannot win. Chunked responses are refused (every server here sends Content-Length).
import { createHash, type Hash } from 'node:crypto';
import net from 'node:net';
import { performance } from 'node:perf_hooks';

export interface ExpectedBody {
  sizeBytes: number;
  sha256: string;
}

/** What the loader does with each finished response; the connection then sends the next GET. */
export interface ResponseSink {
  /** Body bytes as they arrive (for byte-exact throughput windows). */
  onBodyBytes(count: number): void;
  onResponse(latencyMs: number, headerBytes: number): void;
  onBodyError(reason: string): void;
  /** Whether to hash the next response (decided when its headers arrive). */
  wantHash(): boolean;
  onHash(ok: boolean): void;
  /** Whether to send another request after this one. */
  keepGoing(): boolean;
  onClosed(): void;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const HEADER_BYTES_MAX = 64 * 1024;

export class LoaderConnection {
  private readonly socket: net.Socket;
  private readonly request: Buffer;
  private headerParts: Buffer[] = [];
  private headerLength = 0;
  private bodyRemaining = -1; // -1: reading headers
  private headerBytes = 0;
  private hash: Hash | null = null;
  private sentAt = 0;
  private closed = false;

  constructor(
    port: number,
    urlPath: string,
    private readonly expected: ExpectedBody,
    private readonly sink: ResponseSink,
  ) {
    this.request = Buffer.from(
      `GET ${urlPath} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`,
    );
    this.socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
    this.socket.on('connect', () => this.send());
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (error) => this.fail(`socket error: ${error.message}`));
    this.socket.on('close', () => {
      if (this.bodyRemaining !== -1 || this.headerLength > 0)
        this.sink.onBodyError('connection closed mid-response');
      this.closed = true;
      this.sink.onClosed();
    });
  }

  close(): void {
    if (!this.closed) this.socket.destroy();
  }

  private send(): void {
    this.sentAt = performance.now();
    this.socket.write(this.request);
  }

  private fail(reason: string): void {
    this.sink.onBodyError(reason);
    this.bodyRemaining = -1;
    this.headerLength = 0;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let rest = chunk;
    while (rest.length > 0) {
      if (this.bodyRemaining === -1) {
        const consumed = this.onHeaderBytes(rest);
        if (consumed < 0) return;
        rest = rest.subarray(consumed);
        if (this.bodyRemaining === -1) return; // headers still incomplete
        if (this.bodyRemaining === 0) this.finishResponse();
        continue;
      }
      const take = Math.min(rest.length, this.bodyRemaining);
      const body = take === rest.length ? rest : rest.subarray(0, take);
      this.hash?.update(body);
      this.bodyRemaining -= take;
      this.sink.onBodyBytes(take);
      rest = rest.subarray(take);
      if (this.bodyRemaining === 0) this.finishResponse();
    }
  }

  /** Takes header bytes from `chunk`; returns how many it consumed, or -1 after a failure. */
  private onHeaderBytes(chunk: Buffer): number {
    this.headerParts.push(chunk);
    this.headerLength += chunk.length;
    const joined = this.headerParts.length === 1 ? chunk : Buffer.concat(this.headerParts, this.headerLength);
    const end = joined.indexOf(HEADER_END);
    if (end < 0) {
      if (this.headerLength > HEADER_BYTES_MAX) {
        this.fail('headers too long');
        return -1;
      }
      this.headerParts = [joined];
      return chunk.length;
    }
    const head = joined.toString('latin1', 0, end);
    const already = this.headerLength - chunk.length; // bytes of this header from earlier chunks
    this.headerParts = [];
    this.headerLength = 0;
    this.headerBytes = end + HEADER_END.length;
    const status = Number(head.slice(9, 12));
    const lengthMatch = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const length = lengthMatch ? Number(lengthMatch[1]) : -1;
    const problem =
      status !== 200
        ? `status ${status}`
        : length !== this.expected.sizeBytes
          ? `Content-Length ${lengthMatch ? length : 'missing'} != ${this.expected.sizeBytes}`
          : null;
    if (problem) {
      this.fail(problem);
      return -1;
    }
    this.bodyRemaining = length;
    this.hash = this.sink.wantHash() ? createHash('sha256') : null;
    return this.headerBytes - already;
  }

  private finishResponse(): void {
    const latencyMs = performance.now() - this.sentAt;
    this.bodyRemaining = -1;
    if (this.hash) {
      this.sink.onHash(this.hash.digest('hex') === this.expected.sha256);
      this.hash = null;
    }
    this.sink.onResponse(latencyMs, this.headerBytes);
    if (this.sink.keepGoing()) this.send();
    else this.socket.end();
  }
}
