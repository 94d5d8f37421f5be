// The three ways a response body leaves: sendfile(2) through the simulated kernel (/zerocopy),
// read(2)+write(2) through the same kernel (/copy), and Node's own fs.createReadStream (/stream,
// the reference). All three write the same bytes for the same plan. The response head is built
// by Node (writeHead: its keep-alive and Date logic) and, on the kernel routes, handed to the
// kernel as sendfile's headers so that it goes out in front of the file data through the
// simulated socket buffer, the way sendfile(2)'s hdtr headers do.
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import type { KernelSession } from './kernel-port.js';
import type { RouteCounters } from './route-stats.js';

export interface BodyPart {
  /** multipart part header, or null for a single range or the whole file */
  readonly header: Buffer | null;
  readonly start: number;
  /** Inclusive. */
  readonly end: number;
}

export interface ResponsePlan {
  readonly status: 200 | 206;
  /** Flat [name, value, ...] list for writeHead. */
  readonly headers: readonly string[];
  readonly parts: readonly BodyPart[];
  readonly closing: Buffer | null;
}

/** The file changed under a response: it got fewer bytes than its Content-Length promised. */
export class FileChangedError extends Error {
  override readonly name = 'FileChangedError';
  readonly code = 'FILE_CHANGED';
}

interface HeadAccess {
  _header?: unknown;
  _headerSent?: boolean;
}

/**
 * Takes the head that writeHead built out of Node's hands: returns it as bytes and marks it sent,
 * so Node's own first write does not prepend it again. Returns null (and leaves Node to send it)
 * when the internals are not as expected or the response has no body.
 */
export function takeHead(res: ServerResponse): Buffer | null {
  const r = res as unknown as HeadAccess;
  if (typeof r._header !== 'string' || r._headerSent !== false) return null;
  r._headerSent = true;
  return Buffer.from(r._header, 'latin1');
}

/** Length of the head writeHead built (0 when Node's internals are not as expected). */
function headLength(res: ServerResponse): number {
  const h = (res as unknown as HeadAccess)._header;
  return typeof h === 'string' ? h.length : 0;
}

function concatHead(a: Buffer | null, b: Buffer | null): Buffer | null {
  if (a === null) return b;
  if (b === null) return a;
  return Buffer.concat([a, b]);
}

/** Sends the plan's body through the kernel (sendfile or the copy path); resolves when done. */
export async function sendViaKernel(
  res: ServerResponse,
  plan: ResponsePlan,
  session: KernelSession,
  mode: 'sendfile' | 'copyfile',
  counters: RouteCounters,
): Promise<void> {
  res.writeHead(plan.status, plan.headers as string[]);
  const head = takeHead(res);
  const last = plan.parts.length - 1;
  try {
    for (let i = 0; i <= last; i++) {
      const part = plan.parts[i]!;
      const headers = i === 0 ? concatHead(head, part.header) : part.header;
      const trailers = i === last ? plan.closing : null;
      const nbytes = part.end - part.start + 1;
      let sbytes: number;
      try {
        sbytes =
          mode === 'sendfile'
            ? await session.sendfile(part.start, nbytes, headers, trailers)
            : await session.copyfile(part.start, nbytes, headers, trailers);
      } catch (err) {
        // sendfile(2) reports what it queued before failing (*sbytes).
        const partial = (err as { sbytes?: unknown }).sbytes;
        countSent(counters, mode, headers, null, typeof partial === 'number' ? partial : 0);
        throw err;
      }
      countSent(counters, mode, headers, trailers, sbytes);
      const hdtrBytes = (headers?.length ?? 0) + (trailers?.length ?? 0);
      if (sbytes < hdtrBytes + nbytes) throw new FileChangedError('file shorter than its Content-Length');
    }
    await session.drain();
  } finally {
    session.close();
  }
  res.end();
}

/**
 * Counts one call's bytes at once (body, header, and the copies the path made of them), so that
 * a snapshot never sees a body without its copies: sendfile copies only the headers into mbufs,
 * the copy path also copies the body out (read) and in (write).
 */
function countSent(
  counters: RouteCounters,
  mode: 'sendfile' | 'copyfile',
  headers: Uint8Array | null,
  trailers: Uint8Array | null,
  sbytes: number,
): void {
  const headerBytes = Math.min(sbytes, headers?.length ?? 0);
  const bodyBytes = Math.max(0, sbytes - headerBytes - (trailers?.length ?? 0));
  const hdtrBytes = sbytes - bodyBytes;
  counters.header_bytes += hdtrBytes;
  counters.body_bytes += bodyBytes;
  counters.copied_bytes += mode === 'sendfile' ? hdtrBytes : hdtrBytes + 2 * bodyBytes;
}

/** Sends the plan's body with fs.createReadStream on the checked handle (no simulator): the reference route. */
export async function sendViaStream(
  res: ServerResponse,
  plan: ResponsePlan,
  fh: FileHandle,
  counters: RouteCounters,
  signal: AbortSignal,
): Promise<void> {
  res.writeHead(plan.status, plan.headers as string[]);
  // Node copies the head into its own buffer: counted like the kernel routes' header copies.
  const headBytes = headLength(res);
  counters.header_bytes += headBytes;
  counters.copied_bytes += headBytes;
  for (const part of plan.parts) {
    if (part.header) {
      counters.header_bytes += part.header.length;
      res.write(part.header);
    }
    await streamPart(res, fh, part, counters, signal);
  }
  if (plan.closing) {
    counters.header_bytes += plan.closing.length;
    res.write(plan.closing);
  }
  res.end();
}

/**
 * One range of the file through a read stream, with write backpressure ('drain'). The signal
 * (the connection closed) ends a wait for 'drain' that would never come on a queued response.
 */
async function streamPart(
  res: ServerResponse,
  fh: FileHandle,
  part: BodyPart,
  counters: RouteCounters,
  signal: AbortSignal,
): Promise<void> {
  const nbytes = part.end - part.start + 1;
  // The handle opened (and checked) before the head: never the path again, which may be renamed over.
  const rs = createReadStream('', {
    fd: fh,
    autoClose: false,
    start: part.start,
    end: part.end,
    highWaterMark: 64 * 1024,
  });
  let got = 0;
  // Leaving the loop early destroys the stream (and closes the handle: the response is over);
  // a stream that ends leaves the handle open for the next part.
  for await (const chunk of rs as AsyncIterable<Buffer>) {
    signal.throwIfAborted();
    got += chunk.length;
    counters.body_bytes += chunk.length;
    counters.copied_bytes += chunk.length;
    if (!res.write(chunk)) await once(res, 'drain', { signal });
  }
  if (got < nbytes) throw new FileChangedError('file shorter than its Content-Length');
}
