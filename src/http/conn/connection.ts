// One accepted TCP connection, as nginx's ngx_http_connection_t holds it: the real net.Socket, the
// one kernel socket over it for as long as it lives (every response goes through its send
// buffer, in request order), the request parser, and a bounded queue of parsed, unanswered
// requests. Requests are parsed as they arrive; a response's work starts only at the head of the
// queue, and past PIPELINE_MAX parsed requests or INPUT_BUDGET_BYTES of unanswered input the
// socket is not read (backpressure, as nginx reads the next request only when it gets to it).
// The connection's AbortSignal ends every wait of its responses when it closes.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Kernel, KFile, KSocket } from '../../index.js';
import { type Clock, SysError, type TimerHandle, type Tracer } from '../../kern/index.js';
import type { KtlsConnection } from '../../tls/index.js';
import type { BodyTurns } from './body-turns.js';
import { Deadline } from './deadline.js';
import type { Heads } from './heads.js';
import { type BodyLimit, type HttpRequest, type ParseError, RequestParser } from './request-parser.js';

/** Parsed, unanswered requests a connection may hold (nginx answers one at a time too). */
export const PIPELINE_MAX = 32;
/**
 * Unanswered input a connection may hold (requests parsed or being answered, and bytes not yet
 * parsed) before its socket is not read: above the largest head plus the largest kept body, so
 * that one request can always complete.
 */
export const INPUT_BUDGET_BYTES = 256 * 1024;
const CONTINUE_HEAD = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');
/** nginx's lingering_timeout is 5 s; a refused client gets at most this long to finish sending. */
export const LINGER_MS = 2000;
/**
 * What a lingering close reads and drops, at most: enough for a client's last bytes and its FIN.
 * A client that sends more is not read any further (its window closes) until LINGER_MS cuts it,
 * so a flood answered with 400 costs a bounded read per connection, not a core.
 */
export const LINGER_READ_MAX_BYTES = 64 * 1024;
/** Node's headersTimeout: a request head must be complete this long after its first byte (408). */
export const HEADERS_TIMEOUT_MS = 60_000;

/** What the server counts of its connections (in /stats under http.connections). */
export interface ConnectionCounters {
  accepted: number;
  open: number;
  /** Closed because the socket took no byte for sendTimeoutMs (nginx's send_timeout). */
  send_timeouts: number;
  /** Closed after idling sendTimeoutMs-free for the keep-alive timeout. */
  idle_timeouts: number;
  /** Requests refused by the parser (400, 411, 413, 431). */
  parse_errors: number;
  /** Responses that had not started and got 503 because a kernel pool was exhausted. */
  pool_503: number;
  /** Requests that were parsed while others were still unanswered on the same connection. */
  pipelined: number;
  /** Times a connection stopped reading because its unanswered input reached INPUT_BUDGET_BYTES. */
  input_budget_pauses: number;
  /** TLS connections whose send side kernel TLS took over (setsockopt TCP_TXTLS_ENABLE). */
  ktls_takeovers: number;
}

export function newConnectionCounters(): ConnectionCounters {
  return {
    accepted: 0,
    open: 0,
    send_timeouts: 0,
    idle_timeouts: 0,
    parse_errors: 0,
    pool_503: 0,
    pipelined: 0,
    input_budget_pauses: 0,
    ktls_takeovers: 0,
  };
}

/** How the bytes written on a connection are encrypted now. */
export type TlsPass = 'none' | 'user' | 'ktls-sw' | 'ktls-ifnet';

/** TLS on the server's connections: Node's TLSSocket handshakes over the record tap. */
export interface ConnectionTls {
  readonly mode: 'sw' | 'ifnet';
  accept(kernel: Kernel, so: KSocket, raw: Socket): KtlsConnection;
}

/** The header and trailer iovecs of a kernel send, and the signal that ends its sleeps. */
export interface Hdtr {
  readonly headers: readonly Uint8Array[];
  readonly trailers: readonly Uint8Array[];
  readonly signal: AbortSignal;
}

/**
 * The conn room's one context, shared by a server's connections: the kernel (the one handle
 * through which a request crosses into it), the clock, the head builder, the counters, TLS,
 * pool admission, and what answers a request.
 */
export interface ConnContext {
  readonly kernel: Kernel;
  readonly clock: Clock;
  readonly counters: ConnectionCounters;
  readonly heads: Heads;
  /** HTTPS: every connection is TLS (null: plain HTTP). */
  readonly tls: ConnectionTls | null;
  /** Whether the server is closing: new requests get 503 and the connection closes. */
  readonly closing: boolean;
  /** The zcsim:http channel: each request as it starts and its response as it ends. */
  readonly trace: Tracer;
  /** How many body bytes a request keeps (null: dropped as they arrive). */
  readonly bodyLimit: BodyLimit;
  /**
   * Answers `request` on `conn` and resolves with the status that went out (null: none); may call
   * conn.destroy() when a response cannot finish.
   */
  respond(conn: Connection, request: HttpRequest): Promise<number | null>;
  /** Resolves when a body response of `conn` may start: the kernel's pools have room. */
  admit(conn: Connection): Promise<void> | null;
  /** The turns that bodies under way take while new responses wait for a pool. */
  readonly turns: BodyTurns;
  /** The connection closed and freed its kernel socket. */
  closed(conn: Connection): void;
}

type Queued =
  | { readonly request: HttpRequest }
  | { readonly error: ParseError }
  | { readonly eof: true }
  | { readonly continue: true };

/** What a response holds until the send buffer is empty (its file lease). */
export interface Hold {
  release(): void;
}

export class Connection {
  readonly so: KSocket;
  /** Over TLS: Node's TLSSocket and the record tap under it (null: plain HTTP). */
  readonly ktls: KtlsConnection | null;
  /**
   * Where requests come from and where Node's own path (/stream) writes: the TLSSocket over TLS,
   * the net.Socket otherwise.
   */
  readonly stream: Duplex;
  /** The last write through OpenSSL: later kernel sends wait for it, so the bytes stay in order. */
  private userWrites: Promise<unknown> = Promise.resolve();
  private readonly abort = new AbortController();
  /** The current response's deadline (see deadline()). */
  private readonly startBy: Deadline;
  /** The controller of a body's preemptible kernel calls (see turnSignal()). */
  private turn: AbortController | null = null;
  private readonly parser: RequestParser;
  private readonly queue: Queued[] = [];
  /** Wire bytes of the requests parsed and not answered yet (the one being answered included). */
  private unansweredBytes = 0;
  private readPaused = false;
  private running = false;
  /** The client sent its FIN; answered when the queue reaches it. */
  private eof = false;
  private eofQueued = false;
  /** Closing after the last answer: what the client still sends is dropped. */
  private lingering = false;
  /** Bytes read and dropped since the lingering close began. */
  private lingerBytes = 0;
  private done = false;
  private released = false;
  /** The current response ends the connection (a close-delimited body). */
  private closeAfter = false;
  /** Set by a response whose head already went out and that could not finish. */
  private destroyed = false;
  /** Send-timeout bookkeeping: bytes the host had taken at the last look, and when that changed. */
  private takenBytes = 0;
  private progressAtMs: number;
  /** Sweeps in a row that saw bytes waiting and none taken. */
  private stalledLooks = 0;
  private lingerTimer: TimerHandle | null = null;
  /** What earlier responses hold until the send buffer is empty (their files). */
  private held: Hold[] = [];
  /** When the bytes of a request head that is not complete yet began to arrive (-1: none). */
  private headStartMs = -1;
  /**
   * User space's own passes for this connection's responses: the bytes its read(2)s copied out of
   * the page cache (their return values), and the bytes it handed to OpenSSL to encrypt.
   */
  private readonly user = { readBytes: 0, sslBytes: 0 };

  constructor(
    private readonly ctx: ConnContext,
    readonly socket: Socket,
  ) {
    this.so = ctx.kernel.socket(socket);
    this.parser = new RequestParser(ctx.bodyLimit);
    this.progressAtMs = ctx.clock.nowMs();
    this.startBy = new Deadline(ctx.clock, this.abort.signal);
    // What a response holds until its bytes were taken is let go as the acknowledgement comes.
    ctx.kernel.soupcallSet(this.so, () => this.releaseDrained());
    ctx.counters.accepted++;
    ctx.counters.open++;
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.once('close', () => this.onClose());
    this.ktls = ctx.tls?.accept(ctx.kernel, this.so, socket) ?? null;
    // A failed handshake or a record the tap cannot follow ends the connection; a plain HTTP
    // request (OpenSSL's SSL_R_HTTP_REQUEST) gets nginx's 400 in plain text first.
    this.ktls?.tlsSocket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ERR_SSL_HTTP_REQUEST') void this.plainHttpOnTls();
      else this.destroy();
    });
    this.stream = this.ktls?.tlsSocket ?? socket;
    this.stream.on('data', (chunk: Buffer) => this.onData(chunk));
    this.stream.on('end', () => this.onEnd());
  }

  /** How what is written now gets encrypted: OpenSSL's until KTLS took over, then the kernel's. */
  get tlsPass(): TlsPass {
    if (this.ktls === null) return 'none';
    if (!this.ktls.tap.takenOver) return 'user';
    return this.ctx.tls?.mode === 'ifnet' ? 'ktls-ifnet' : 'ktls-sw';
  }

  /**
   * Before a kernel send of file pages (sendfile): over TLS, kernel TLS takes over the send side
   * once, after what OpenSSL wrote went out, as nginx enables KTLS before its first sendfile;
   * null when it has (or there is no TLS).
   */
  private kernelSendSide(): Promise<void> | null {
    const ktls = this.ktls;
    if (ktls === null || ktls.tap.takenOver) return null;
    return this.userWrites
      .then(() => ktls.takeover())
      .then(() => {
        this.ctx.counters.ktls_takeovers++;
      });
  }

  /** Aborts when the connection closes: every sleep of its responses ends (EINTR). */
  get signal(): AbortSignal {
    return this.abort.signal;
  }

  get isClosed(): boolean {
    return this.done || this.destroyed;
  }

  /** Nothing being answered and nothing queued. */
  get idle(): boolean {
    return !this.running && this.queue.length === 0;
  }

  /**
   * write(2) on the connection's kernel socket: a real copy into mbufs, in order. Over TLS before
   * the takeover, OpenSSL encrypts first (SSL_write) and the tap writes the records.
   */
  write(buf: Uint8Array): Promise<number> {
    if (this.ktls !== null && !this.ktls.tap.takenOver) return this.writeUser(buf);
    return this.ctx.kernel.write(this.so, buf, this.abort.signal);
  }

  /**
   * A head and an optional small body (error text, a listing, a panel answer) in one write(2);
   * the body is left out when `withBody` is false (HEAD).
   */
  writeHead(
    status: number,
    fields: readonly string[],
    keepAlive: boolean,
    body: Uint8Array | null = null,
    withBody = true,
  ): Promise<number> {
    const head = this.ctx.heads.build(status, fields, keepAlive);
    const whole = body !== null && body.length > 0 && withBody;
    return this.write(whole ? Buffer.concat([head, body]) : head);
  }

  /** The server's head builder, for heads that go out as a kernel send's header iovec. */
  get heads(): Heads {
    return this.ctx.heads;
  }

  /** Resolves when a body response may start (pool admission; null: at once); see PoolGate. */
  admit(): Promise<void> | null {
    return this.ctx.admit(this);
  }

  /**
   * Before each kernel call of a body (`attained`: the file bytes its response queued so far): null
   * when the call may go now (always a first call, which has its `deadline`), else a promise that
   * resolves at its turn while the bodies take turns (BodyTurns) and rejects when the connection
   * closes first. endCall() must follow the call.
   */
  bodyTurn(attained: number, deadline: AbortSignal | null): Promise<void> | null {
    // A first call (it has a deadline) is the new response's own: it goes at once.
    if (deadline !== null) return null;
    const turn = this.ctx.turns.take(this, attained, this.abort.signal);
    if (turn === null) return null;
    return turn.catch((err: unknown) => {
      this.endCall();
      throw err;
    });
  }

  /** Whether the bodies take turns now: a call then takes at most YIELD_BATCH_BYTES of file. */
  get batched(): boolean {
    return this.ctx.turns.yielding();
  }

  /**
   * The signal of a body's call after its first: it aborts when the connection closes or when the
   * turns preempt the call. One controller serves the connection's calls until it fires.
   */
  turnSignal(): AbortSignal {
    let ac = this.turn;
    if (ac === null || ac.signal.aborted) {
      ac = new AbortController();
      this.turn = ac;
      if (this.abort.signal.aborted) ac.abort(this.abort.signal.reason);
    }
    return ac.signal;
  }

  /** After a body's kernel call: the next body may take its turn. */
  endCall(): void {
    this.ctx.turns.done(this);
  }

  /** Ends this connection's preemptible kernel call in progress (EINTR with what it queued). */
  preempt(): void {
    this.turn?.abort();
  }

  /** Counts a response that got 503 because a kernel pool was exhausted. */
  countPool503(): void {
    this.ctx.counters.pool_503++;
  }

  /**
   * sendfile(2) of `file` on the connection's kernel socket, ended by the connection's close.
   * Over TLS kernel TLS takes the send side over first.
   */
  sendfile(file: KFile, offset: number, nbytes: number, hdtr: Hdtr): Promise<number> {
    const takeover = this.kernelSendSide();
    if (takeover === null) return this.ctx.kernel.sendfile(file, this.so, offset, nbytes, hdtr);
    return takeover.then(() => this.ctx.kernel.sendfile(file, this.so, offset, nbytes, hdtr));
  }

  /** The copy path, read(2)+write(2) in the kernel, on the connection's kernel socket. */
  copyfile(file: KFile, offset: number, nbytes: number, hdtr: Hdtr): Promise<number> {
    return this.ctx.kernel.copyfile(file, this.so, offset, nbytes, hdtr);
  }

  /** read(2) of `file` into `buf`, for a response of this connection that copies in user space. */
  async read(file: KFile, offset: number, buf: Uint8Array): Promise<number> {
    const n = await this.ctx.kernel.read(file, offset, buf);
    this.user.readBytes += n;
    return n;
  }

  /**
   * The CPU's passes for this connection so far: the copies the kernel made on its socket (write(2)
   * copy-in, sendfile's headers, the copy path's copy-out) and user space's read(2) copies; and
   * what user space had OpenSSL encrypt. A response counts the difference across its calls.
   */
  passes(): { readonly copiedBytes: number; readonly userEncryptedBytes: number } {
    const k = this.so.so_cpu;
    return {
      copiedBytes: k.copyin_bytes + k.copyout_bytes + this.user.readBytes,
      userEncryptedBytes: this.user.sslBytes,
    };
  }

  /** ioctl(FIONWRITE) on the connection's kernel socket: its bytes not yet taken by the peer. */
  queuedBytes(): number {
    return this.ctx.kernel.fionwrite(this.so);
  }

  /**
   * A signal that aborts when the connection closes or `ms` from now, unless endDeadline() comes
   * first (Deadline: one controller and one timer serve the connection's responses).
   */
  deadline(ms: number): AbortSignal {
    return this.startBy.start(ms);
  }

  /** The response is done, or failed before its body: its deadline() no longer aborts. */
  endDeadline(): void {
    this.startBy.end();
  }

  /** write(2) that must complete within `ms`, else the connection is cut (a pool stayed dry). */
  async writeWithin(buf: Uint8Array, ms: number): Promise<void> {
    const timer = this.ctx.clock.setTimer(ms, () => this.destroy());
    try {
      await this.write(buf);
    } finally {
      timer.cancel();
    }
  }

  /** Writes `buf` to the stream Node's path uses; resolves once it went down (the tap took it). */
  writeStream(buf: Uint8Array): Promise<number> {
    return this.ktls === null ? this.writeRaw(buf) : this.writeUser(buf);
  }

  private writeRaw(buf: Uint8Array): Promise<number> {
    if (this.socket.write(buf)) return Promise.resolve(buf.length);
    return this.untilClosed((done) => this.socket.once('drain', () => done(null)), buf.length);
  }

  private writeUser(buf: Uint8Array): Promise<number> {
    const ts = this.ktls!.tlsSocket;
    this.user.sslBytes += buf.length;
    const p = this.untilClosed((done) => ts.write(buf, (err) => done(err ?? null)), buf.length);
    this.userWrites = p.catch(() => {});
    return p;
  }

  /** Starts a write and resolves with `n` when it completes; rejects (EPIPE) if the connection closes first. */
  private untilClosed(start: (done: (err: Error | null) => void) => void, n: number): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const signal = this.abort.signal;
      if (signal.aborted || this.stream.destroyed) {
        reject(epipe());
        return;
      }
      const onAbort = (): void => reject(epipe());
      signal.addEventListener('abort', onAbort, { once: true });
      start((err) => {
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(n);
      });
    });
  }

  /** Waits until the kernel socket has handed every byte to the net.Socket. */
  async drain(): Promise<void> {
    await this.userWrites;
    return this.ctx.kernel.sodrain(this.so, this.abort.signal);
  }

  /** Calls `hold.release()` once nothing is queued on the kernel socket (or the connection closed). */
  holdUntilDrained(hold: Hold): void {
    this.held.push(hold);
    this.releaseDrained();
  }

  private releaseDrained(): void {
    if (this.held.length === 0 || (this.so.so_snd.sb_ccc > 0 && !this.done)) return;
    for (const h of this.held.splice(0)) h.release();
  }

  /** Ends the connection gracefully after the current response (its body is close-delimited). */
  closeAfterResponse(): void {
    this.closeAfter = true;
  }

  /** Cuts the connection now (a response failed after its head went out, a timeout, close). */
  destroy(): void {
    this.destroyed = true;
    this.socket.destroy();
  }

  /**
   * The send-timeout and idle checks, run by the server's sweep. A connection with bytes waiting
   * (ready in the send buffer, or in the host socket) that took none for `sendTimeoutMs` is closed;
   * an idle one past the keep-alive timeout too.
   */
  sweep(nowMs: number, sendTimeoutMs: number, idleTimeoutMs: number): void {
    if (this.done) return;
    this.releaseDrained();
    if (
      this.headStartMs >= 0 &&
      this.idle &&
      !this.lingering &&
      nowMs - this.headStartMs >= HEADERS_TIMEOUT_MS
    ) {
      // A head sent too slowly (slowloris): 408, then close.
      this.headStartMs = -1;
      this.queue.push({ error: { status: 408, reason: 'request head too slow' } });
      void this.run();
      return;
    }
    const taken = this.socket.bytesWritten - this.socket.writableLength;
    // Bytes the peer could take: ready in the send buffer, or in the host socket (bytes still being
    // paged in are the server's own wait, not the peer's).
    const waiting = this.so.so_snd.sb_acc > 0 || this.socket.writableLength > 0;
    if (taken !== this.takenBytes || (!waiting && !this.idle)) {
      this.takenBytes = taken;
      this.progressAtMs = nowMs;
      this.stalledLooks = 0;
      return;
    }
    if (waiting) this.stalledLooks++;
    // Two looks at least: the first after the event loop was held up runs before the write
    // callbacks that came meanwhile, so it alone cannot tell a stalled peer from a busy server.
    if (waiting && this.stalledLooks >= 2 && nowMs - this.progressAtMs >= sendTimeoutMs) {
      this.ctx.counters.send_timeouts++;
      this.destroy();
    } else if (!waiting && this.idle && nowMs - this.progressAtMs >= idleTimeoutMs) {
      this.ctx.counters.idle_timeouts++;
      this.destroy();
    }
  }

  private onData(chunk: Buffer): void {
    if (this.lingering) {
      this.lingerBytes += chunk.length;
      if (this.lingerBytes > LINGER_READ_MAX_BYTES) this.stream.pause();
      return;
    }
    this.progressAtMs = this.ctx.clock.nowMs();
    this.parser.push(chunk);
    this.pump();
  }

  /** Unanswered input held: parsed requests not answered yet and bytes not parsed. */
  get inputHeldBytes(): number {
    return this.unansweredBytes + this.parser.bufferedBytes;
  }

  private full(): boolean {
    return this.queue.length >= PIPELINE_MAX || this.inputHeldBytes >= INPUT_BUDGET_BYTES;
  }

  /** Parses what is buffered into the queue, within PIPELINE_MAX and the input budget; reads more only then. */
  private pump(): void {
    const queuedBefore = this.queue.length;
    while (!this.full()) {
      const step = this.parser.next();
      if (step.kind === 'more') {
        if (this.eof && !this.eofQueued) {
          this.eofQueued = true;
          this.queue.push({ eof: true });
        }
        break;
      }
      if (this.running || this.queue.length > 0) this.ctx.counters.pipelined++;
      if (step.kind === 'error') {
        this.ctx.counters.parse_errors++;
        this.queue.push({ error: step.error });
        break;
      }
      if (step.kind === 'continue') {
        this.queue.push({ continue: true });
        continue;
      }
      this.unansweredBytes += step.request.wireBytes;
      this.queue.push({ request: step.request });
    }
    // A head still incomplete is timed from when it began (or from the last request parsed).
    if (this.parser.bufferedBytes === 0) this.headStartMs = -1;
    else if (this.headStartMs < 0 || this.queue.length !== queuedBefore)
      this.headStartMs = this.ctx.clock.nowMs();
    if (this.full()) {
      if (this.queue.length < PIPELINE_MAX && !this.readPaused) this.ctx.counters.input_budget_pauses++;
      this.readPaused = true;
      this.stream.pause();
    } else {
      this.readPaused = false;
      this.stream.resume();
    }
    if (!this.running && this.queue.length > 0) void this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.isClosed) {
        const item = this.queue.shift();
        if (item === undefined) break;
        this.pump();
        if ('eof' in item) {
          await this.finish();
          return;
        }
        if ('error' in item) {
          await this.refuse(item.error.status);
          return;
        }
        if ('continue' in item) {
          // RFC 9110 10.1.1: the client waits for this before it sends the body.
          await this.write(CONTINUE_HEAD);
          continue;
        }
        if (this.ctx.closing) {
          await this.refuse(503);
          return;
        }
        // A capture of this connection names the packets of this response (under TLS too).
        const req = item.request;
        this.ctx.kernel.sockets.pcapNote(this.so, () => `${req.method} ${req.target} HTTP/1.${req.minor}`);
        try {
          await this.answer(item.request);
        } finally {
          this.unansweredBytes -= item.request.wireBytes;
        }
        this.releaseDrained();
        if ((!item.request.keepAlive || this.closeAfter) && !this.isClosed) {
          await this.finish();
          return;
        }
      }
    } catch {
      // A response that failed after its head went out: never write into its body, close.
      this.destroy();
    } finally {
      this.running = false;
      if (this.done) this.release();
      // What this response held of the input budget is free: read and parse on.
      else if (!this.lingering && !this.isClosed) this.pump();
    }
  }

  /** One request's answer, between its two events on the zcsim:http channel. */
  private answer(req: HttpRequest): Promise<unknown> {
    const trace = this.ctx.trace;
    if (!trace.on) return this.ctx.respond(this, req);
    trace.emit('request', () => ({ so: this.so.so_id, method: req.method, target: req.target }));
    return this.ctx.respond(this, req).then((status) => {
      trace.emit('response', () => ({ so: this.so.so_id, status }));
    });
  }

  /** A refused request: its answer, then a lingering close (the rest of the input is dropped). */
  private async refuse(status: number): Promise<void> {
    const body = Buffer.from(`${status} ${status === 503 ? 'Service Unavailable' : refusedReason(status)}\n`);
    const fields = ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(body.length)];
    await this.writeHead(status, fields, false, body);
    await this.finish();
  }

  /** nginx's answer to plain HTTP on its TLS port: a 400 in the clear, then close. */
  private async plainHttpOnTls(): Promise<void> {
    this.ctx.counters.parse_errors++;
    const body = '400 The plain HTTP request was sent to HTTPS port\n';
    const head = this.ctx.heads.build(
      400,
      ['Content-Type', 'text/plain; charset=utf-8', 'Content-Length', String(body.length)],
      false,
    );
    try {
      await this.ctx.kernel.write(
        this.so,
        Buffer.concat([head, Buffer.from(body, 'latin1')]),
        this.abort.signal,
      );
      await this.ctx.kernel.sodrain(this.so, this.abort.signal);
      this.socket.end();
      this.lingerTimer = this.ctx.clock.setTimer(LINGER_MS, () => this.socket.destroy());
    } catch {
      this.destroy();
    }
  }

  /**
   * Closes after the last response, as nginx's lingering close: the bytes go out with a FIN,
   * what the client still sends is read and dropped, and the socket is destroyed when the client
   * closes or after LINGER_MS (closing with unread input makes the host send a reset, which can
   * wipe the answer out of the client's receive queue).
   */
  private async finish(): Promise<void> {
    await this.drain();
    this.lingering = true;
    this.queue.length = 0;
    this.stream.resume();
    // Over TLS the TLSSocket ends: close_notify goes out (through the kernel), then the FIN.
    this.stream.end();
    this.lingerTimer = this.ctx.clock.setTimer(LINGER_MS, () => this.socket.destroy());
  }

  /** The client finished sending: what it asked is answered, then the connection closes. */
  private onEnd(): void {
    if (this.lingering) return;
    this.eof = true;
    this.pump();
  }

  private onClose(): void {
    this.done = true;
    this.lingerTimer?.cancel();
    this.abort.abort();
    this.startBy.abort(this.abort.signal.reason);
    this.turn?.abort(this.abort.signal.reason);
    this.queue.length = 0;
    if (!this.running) this.release();
  }

  /** soclose(2), once no response holds the kernel socket any more. */
  private release(): void {
    if (this.released) return;
    this.released = true;
    this.ctx.kernel.soclose(this.so);
    this.releaseDrained();
    this.ctx.counters.open--;
    this.ctx.closed(this);
  }
}

function epipe(): SysError {
  return new SysError('EPIPE', 'the connection closed');
}

function refusedReason(status: number): string {
  if (status === 408) return 'Request Timeout';
  if (status === 417) return 'Expectation Failed';
  if (status === 431) return 'Request Header Fields Too Large';
  if (status === 413) return 'Payload Too Large';
  if (status === 411) return 'Length Required';
  return 'Bad Request';
}
