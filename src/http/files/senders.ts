// The three ways a response body leaves, chosen once per route from BODY_SENDERS: sendfile(2)
// through the simulated kernel (/zerocopy), read(2)+write(2) through the same kernel (/copy), and
// Node's own fs.createReadStream (/stream, the reference). All three write the same bytes for the
// same plan. On the kernel routes the head built by the server is sendfile's header iovec (as
// nginx hands it), so it goes out in front of the file data through the connection's send buffer.
//
// Over TLS: /zerocopy has kernel TLS take the connection's send side over and calls sendfile(2)
// as before (the kernel frames and encrypts); /copy is nginx with `sendfile off` and OpenSSL:
// read(2) copies out of the page cache, OpenSSL encrypts (the TLSSocket), and the record tap
// write(2)s the ciphertext into the kernel socket; /stream writes Node's read stream to the
// TLSSocket.
import { type EventEmitter, setMaxListeners } from 'node:events';
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { KFile } from '../../index.js';
import { copyLoop } from '../../kern/index.js';
import { type Connection, YIELD_BATCH_BYTES } from '../conn/index.js';
import { FileChangedError, PoolExhaustedError } from '../errors.js';
import type { FilesContext } from './context.js';
import type { FileEntry, FileLease } from './file-cache.js';
import { countPasses, type RouteCounters, type RouteName } from './route-stats.js';
import { MAX_RANGES } from './semantics.js';

export interface BodyPart {
  /** multipart part header, or null for a single range or the whole file */
  readonly header: Buffer | null;
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
}

export interface ResponsePlan {
  readonly status: 200 | 206;
  /** Flat [name, value, ...] list of the head's fields. */
  readonly headers: readonly string[];
  readonly parts: readonly BodyPart[];
  readonly closing: Buffer | null;
}

/** A body ready to go: its file open and checked (before the head, so open(2)'s errno picks the status). */
export interface OpenBody {
  /**
   * Sends the head and body. `startBy` (the kernel routes) aborts when the first kernel call has
   * queued nothing by its deadline: PoolExhaustedError, and nothing went out.
   */
  send(
    conn: Connection,
    plan: ResponsePlan,
    head: Buffer,
    counters: RouteCounters,
    startBy: AbortSignal | null,
  ): Promise<void>;
  release(conn: Connection): void;
  /** Whether the file changed since its entry was made (a write raced the response). */
  changed(): boolean;
  /** After the body went out whole: `onChanged` runs if a write raced it (see FileLease). */
  checkAfterSend(onChanged: () => void): void;
}

export interface BodySender {
  /** The body's file, open and checked; without a wait when the route has it open already. */
  open(ctx: FilesContext, entry: FileEntry): OpenBody | Promise<OpenBody>;
}

/**
 * At most this much file data per kernel call, so that body bytes are counted while a large
 * body is under way (the dashboard draws MB/s from them), not only when it ends.
 */
export const COUNT_SLICE_BYTES = 2 * 1024 * 1024;

const NO_BUFFERS: readonly Uint8Array[] = [];

function iov(b: Uint8Array | null): readonly Uint8Array[] {
  return b === null || b.length === 0 ? NO_BUFFERS : [b];
}

function concatHead(a: Buffer, b: Buffer | null): Buffer {
  return b === null ? a : Buffer.concat([a, b]);
}

type KernelCall = 'sendfile' | 'copyfile';

type Passes = ReturnType<Connection['passes']>;

/**
 * Counts one call's bytes at once (body, header, and the passes the path made over them), so that
 * a snapshot never sees a body without its copies. The copies are what the kernel and user space
 * counted on the connection across the call (sendfile copies only the headers into mbufs, the
 * copy path also copies the body out and in); the encryption is what OpenSSL was given, and after
 * a takeover in software mode what the call queued for KTLS's worker, which encrypts it once the
 * call has returned (0 when the NIC encrypts).
 */
function countSent(
  counters: RouteCounters,
  conn: Connection,
  before: Passes,
  headerBytes: number,
  trailerBytes: number,
  sbytes: number,
): void {
  const hdr = Math.min(sbytes, headerBytes);
  const bodyBytes = Math.max(0, sbytes - hdr - trailerBytes);
  counters.header_bytes += sbytes - bodyBytes;
  counters.body_bytes += bodyBytes;
  const after = conn.passes();
  const ktlsWorker = conn.tlsPass === 'ktls-sw' ? sbytes : 0;
  countPasses(
    counters,
    after.copiedBytes - before.copiedBytes,
    after.userEncryptedBytes - before.userEncryptedBytes + ktlsWorker,
  );
}

/** The largest read(2) of the user-space TLS copy loop (nginx's output buffers are 32 KiB; OpenSSL frames 16 KiB). */
const USER_READ_BYTES = 64 * 1024;

/**
 * The copy path over TLS, as nginx with `sendfile off` and OpenSSL: user space's read+write loop
 * over read(2) and SSL_write (the connection's write: OpenSSL encrypts, the tap write(2)s the
 * records). Returns the bytes written, short when the file ended early.
 */
function readWriteTls(
  conn: Connection,
  file: KFile,
  start: number,
  nbytes: number,
  headers: Uint8Array | null,
  trailers: Uint8Array | null,
): Promise<number> {
  const calls = {
    read: (offset: number, buf: Uint8Array) => conn.read(file, offset, buf),
    write: (buf: Uint8Array) => conn.write(buf),
  };
  return copyLoop(calls, start, nbytes, {
    headers: iov(headers),
    trailers: iov(trailers),
    bufferBytes: USER_READ_BYTES,
  });
}

/**
 * What a body carries across its kernel calls: the deadline of its first call (null once that
 * call queued something, or behind the connection's own unsent bytes), and the file bytes queued
 * so far (its place in the turns).
 */
interface BodyProgress {
  deadline: AbortSignal | null;
  attained: number;
}

/**
 * One part of the body through the kernel: sendfile(2) or the copy loop, with headers and
 * trailers, in calls of at most COUNT_SLICE_BYTES of file (YIELD_BATCH_BYTES while the bodies
 * take turns), each after its turn (Connection.bodyTurn). A call that ends short is called again
 * for the rest, as a partial send is: one that ran into ENOBUFS after queueing part of it (a dry
 * mbuf zone while its header mbufs were held: the next call, its head gone out, sleeps for room
 * instead), or one preempted for another response (EINTR: the rest at its next turn).
 */
async function kernelPart(
  conn: Connection,
  mode: KernelCall,
  file: KFile,
  start: number,
  nbytes: number,
  headers: Uint8Array | null,
  closing: Uint8Array | null,
  counters: RouteCounters,
  body: BodyProgress,
): Promise<void> {
  let at = start;
  let left = nbytes;
  let head = headers;
  while (left > 0 || head !== null) {
    // The deadline is for the kernel's pools: a call behind bytes of the connection's own still in
    // its send buffer (a pipelined response the client has not read) may wait on its client.
    if (body.deadline !== null && conn.queuedBytes() > 0) body.deadline = null;
    const deadline = body.deadline;
    const turn = conn.bodyTurn(body.attained, deadline);
    if (turn !== null) await turn;
    const n = Math.min(left, conn.batched ? YIELD_BATCH_BYTES : COUNT_SLICE_BYTES);
    const trailers = n === left ? closing : null;
    // A first call ends with its deadline; a later one may be preempted, unless it carries the
    // trailers that end the body.
    const signal = deadline ?? (trailers === null ? conn.turnSignal() : conn.signal);
    const hl = head?.length ?? 0;
    const tl = trailers?.length ?? 0;
    const before = conn.passes();
    let sbytes: number;
    try {
      const hdtr = { headers: iov(head), trailers: iov(trailers), signal };
      if (mode === 'sendfile') sbytes = await conn.sendfile(file, at, n, hdtr);
      else if (conn.tlsPass !== 'none') sbytes = await readWriteTls(conn, file, at, n, head, trailers);
      else sbytes = await conn.copyfile(file, at, n, hdtr);
    } catch (err) {
      conn.endCall();
      // sendfile(2) reports what it queued before failing (*sbytes).
      const partial = (err as { sbytes?: unknown }).sbytes;
      const queued = typeof partial === 'number' ? partial : 0;
      countSent(counters, conn, before, hl, 0, queued);
      const headSent = Math.min(queued, hl);
      // The first call found no buffers by its deadline: nothing went out, the answer is 503.
      const late = deadline?.aborted === true && !conn.isClosed;
      if (late && queued === 0) throw new PoolExhaustedError('no buffers within the wait');
      body.deadline = null;
      const preempted = deadline === null && signal.aborted && !conn.isClosed;
      if (preempted && queued >= hl + n) {
        // Preempted once the call had queued all of it.
        head = null;
        at += n;
        left -= n;
        body.attained += n;
        continue;
      }
      // Only a call that made progress is repeated (a preempted one always), and never with no
      // file bytes left (0 is EOF).
      const again =
        (preempted || ((late || isNoBuffers(err)) && queued > 0)) && queued - headSent < n && !conn.isClosed;
      if (!again) throw whyDropped(conn, err);
      head = headSent < hl ? head!.subarray(headSent) : null;
      at += queued - headSent;
      left -= queued - headSent;
      body.attained += queued - headSent;
      continue;
    }
    conn.endCall();
    body.deadline = null;
    countSent(counters, conn, before, hl, tl, sbytes);
    if (sbytes < hl + tl + n) throw new FileChangedError('file shorter than its Content-Length');
    head = null;
    at += n;
    left -= n;
    body.attained += n;
  }
}

function isNoBuffers(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ENOBUFS';
}

/**
 * A dropped connection makes the next send fail with EPIPE (SBS_CANTSENDMORE is tested first);
 * the socket's pending so_error says why it was dropped (EIO: the page-in failed and the kernel
 * aborted it; ECONNRESET: the client reset it), which is what the route counts.
 */
function whyDropped(conn: Connection, err: unknown): unknown {
  const code = (err as { code?: unknown } | null)?.code;
  const soError = conn.so.so_error;
  if (code === 'EPIPE' && soError !== null) {
    return Object.assign(new Error(`${soError}: connection dropped`), { code: soError });
  }
  return err;
}

/** A body of a kernel route: its lease on the checked file and the kernel's open file of it. */
class KernelBody implements OpenBody {
  constructor(
    private readonly mode: KernelCall,
    private readonly lease: FileLease,
    private readonly file: KFile,
  ) {}

  // The file stays held until the connection's send buffer is empty: its pages may still be read
  // in (not-ready mbufs) after the call returned, as the kernel's own reference does.
  release(conn: Connection): void {
    conn.holdUntilDrained(this.lease);
  }

  changed(): boolean {
    return this.lease.changed();
  }

  checkAfterSend(onChanged: () => void): void {
    this.lease.checkAfterSend(onChanged);
  }

  send(
    conn: Connection,
    plan: ResponsePlan,
    head: Buffer,
    counters: RouteCounters,
    startBy: AbortSignal | null,
  ): Promise<void> {
    const body: BodyProgress = { deadline: startBy, attained: 0 };
    const parts = plan.parts;
    if (parts.length !== 1) return this.sendParts(conn, plan, head, counters, body);
    const p = parts[0]!;
    const headers = concatHead(head, p.header);
    return kernelPart(
      conn,
      this.mode,
      this.file,
      p.start,
      p.end + 1 - p.start,
      headers,
      plan.closing,
      counters,
      body,
    );
  }

  private async sendParts(
    conn: Connection,
    plan: ResponsePlan,
    head: Buffer,
    counters: RouteCounters,
    body: BodyProgress,
  ): Promise<void> {
    const last = plan.parts.length - 1;
    for (let i = 0; i <= last; i++) {
      const part = plan.parts[i]!;
      const headers = i === 0 ? concatHead(head, part.header) : part.header;
      const closing = i === last ? plan.closing : null;
      const n = part.end + 1 - part.start;
      await kernelPart(conn, this.mode, this.file, part.start, n, headers, closing, counters, body);
    }
  }
}

function kernelSender(mode: KernelCall): BodySender {
  return {
    open(ctx, entry) {
      const lease = ctx.cache.acquire(entry);
      // The entry's kernel file is open after its first response: no wait then.
      const file = lease.kernelFileNow();
      if (file !== null) return new KernelBody(mode, lease, file);
      return lease.kernelFile().then(
        (opened) => new KernelBody(mode, lease, opened),
        (err: unknown) => {
          lease.release();
          throw err;
        },
      );
    },
  };
}

/**
 * One range of the file through a read stream, written straight to the net.Socket with its
 * backpressure ('drain'); the connection's signal ends a wait that would never end.
 */
async function streamPart(conn: Connection, fh: FileHandle, part: BodyPart, counters: RouteCounters) {
  const nbytes = part.end - part.start + 1;
  const rs = createReadStream('', {
    fd: fh,
    autoClose: false,
    start: part.start,
    end: part.end,
    highWaterMark: 64 * 1024,
  });
  let got = 0;
  for await (const chunk of rs as AsyncIterable<Buffer>) {
    conn.signal.throwIfAborted();
    got += chunk.length;
    counters.body_bytes += chunk.length;
    countStreamed(conn, counters, chunk.length);
    await conn.writeStream(chunk);
  }
  if (got < nbytes) throw new FileChangedError('file shorter than its Content-Length');
}

/**
 * Node's path copies each byte once (the host's read(2)); over TLS OpenSSL encrypts it and the tap
 * write(2)s the record into the kernel socket (one more copy), and KTLS's worker encrypts it again
 * after a takeover. XXX(sim): after a takeover the tap also opens OpenSSL's record; not counted.
 */
function countStreamed(conn: Connection, counters: RouteCounters, n: number): void {
  const pass = conn.tlsPass;
  if (pass === 'none') countPasses(counters, n, 0);
  else countPasses(counters, 2 * n, pass === 'ktls-sw' ? 2 * n : n);
}

/** Node's own path, the reference: the connection's socket, after the kernel socket drained. */
const streamSender: BodySender = {
  async open(ctx, entry) {
    // A descriptor of its own on the checked file (never the path again), opened before the head.
    const lease = ctx.cache.acquire(entry);
    let fh: FileHandle;
    try {
      fh = await lease.openStream();
    } catch (err) {
      lease.release();
      throw err;
    }
    // Each part's read stream listens for the handle's close until the handle closes (Node's
    // importFd), and a response has at most MAX_RANGES parts; the types omit the EventEmitter.
    setMaxListeners(MAX_RANGES, fh as unknown as EventEmitter);
    return {
      release: () => {
        void fh.close().catch(() => {});
        lease.release();
      },
      changed: () => lease.changed(),
      checkAfterSend: (onChanged) => lease.checkAfterSend(onChanged),
      async send(conn, plan, head, counters) {
        // Everything the kernel queued for earlier responses goes first.
        await conn.drain();
        // Node copies the head into its own buffer: counted like the kernel routes' header copies.
        counters.header_bytes += head.length;
        countStreamed(conn, counters, head.length);
        void conn.writeStream(head).catch(() => {});
        for (const part of plan.parts) {
          if (part.header) {
            counters.header_bytes += part.header.length;
            void conn.writeStream(part.header).catch(() => {});
          }
          await streamPart(conn, fh, part, counters);
        }
        if (plan.closing) {
          counters.header_bytes += plan.closing.length;
          await conn.writeStream(plan.closing);
        }
        // What the TLSSocket holds goes down before a later response's kernel write.
        await conn.drain();
      },
    };
  },
};

/** The body sender of each route, chosen once. */
export const BODY_SENDERS: Readonly<Record<RouteName, BodySender>> = {
  zerocopy: kernelSender('sendfile'),
  copy: kernelSender('copyfile'),
  stream: streamSender,
};
