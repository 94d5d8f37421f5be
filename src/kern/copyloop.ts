// The read(2)+write(2) loop of a program without sendfile (nginx with `sendfile off`, cp): one
// user buffer, read from the file and written to the socket until done, with headers and
// trailers around it: a user program's routine over the two calls it is given, kept in this shared
// leaf so that the kernel's copyfile (over read and write(2) on the socket) and the HTTPS copy route
// (over read(2) and SSL_write) run the same loop.
import { isSysError } from './errno.js';

export interface CopyLoopCalls {
  /** read(2) (pread) of the file at `offset` into `buf`: the bytes read, 0 at EOF. */
  read(offset: number, buf: Uint8Array): Promise<number>;
  /** write(2) of all of `buf`: its length, or a SysError carrying the bytes written. */
  write(buf: Uint8Array): Promise<number>;
}

export interface CopyLoopOptions {
  readonly headers?: readonly Uint8Array[];
  readonly trailers?: readonly Uint8Array[];
  /** The user buffer's size. */
  readonly bufferBytes: number;
}

/**
 * Copies `nbytes` of the file from `offset` (cut at EOF) through one buffer: resolves to the bytes
 * written (headers and trailers included), or rejects with the SysError of the failed call
 * carrying every byte written before it (sbytes).
 */
export async function copyLoop(
  calls: CopyLoopCalls,
  offset: number,
  nbytes: number,
  opts: CopyLoopOptions,
): Promise<number> {
  let sbytes = 0;
  let rem = nbytes;
  let off = offset;
  const buf = new Uint8Array(Math.min(opts.bufferBytes, Math.max(rem, 1)));
  try {
    for (const h of opts.headers ?? []) if (h.length > 0) sbytes += await calls.write(h);
    // Each pass reads at least one byte or ends: the loop is bounded by nbytes.
    while (rem > 0) {
      const n = await calls.read(off, buf.subarray(0, Math.min(rem, buf.length)));
      if (n === 0) break;
      sbytes += await calls.write(buf.subarray(0, n));
      off += n;
      rem -= n;
    }
    for (const t of opts.trailers ?? []) if (t.length > 0) sbytes += await calls.write(t);
  } catch (e) {
    if (isSysError(e)) throw e.withSbytes(sbytes + e.sbytes);
    throw e;
  }
  return sbytes;
}
