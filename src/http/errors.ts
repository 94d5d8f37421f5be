// The demo's one catalogue of what an error means, in the shape of fastify's lib/errors.js:
// each entry a code, a message, an HTTP status and a base class. The errno entries say what a
// file server answers for an open(2)/sendfile(2)/write(2) failure (what nginx answers for the
// same); the ZCSIM_ entries are the demo's own conditions. test/http/errors.test.ts pins it.
import { ERRNO_MEANING, type Errno, SysError } from '../kern/index.js';

/** The entry was replaced (its file changed) before a response could use it: look it up again. */
export class StaleEntryError extends Error {
  override readonly name = 'StaleEntryError';
  readonly code = 'ESTALE';
}

/** Why a path was refused; `status` is the HTTP answer. */
export class PathError extends Error {
  override readonly name = 'PathError';
  constructor(
    readonly status: 400 | 403 | 404,
    message: string,
  ) {
    super(message);
  }
}

/** The file changed under a response: it got fewer bytes than its Content-Length promised. */
export class FileChangedError extends Error {
  override readonly name = 'FileChangedError';
  readonly code = 'ZCSIM_FILE_CHANGED';
}

/** A kernel pool (mbufs, clusters, sf_bufs) has nothing free for a response that has not started. */
export class PoolExhaustedError extends Error {
  override readonly name = 'PoolExhaustedError';
  readonly code = 'ZCSIM_POOL_EXHAUSTED';
}

export interface ErrorEntry {
  readonly code: string;
  readonly message: string;
  readonly status: number;
  /** The class an error of this code is an instance of. */
  readonly base: abstract new (
    ...args: never[]
  ) => Error;
  /** The client went away (counted as `aborted`, not as an error of ours). */
  readonly clientGone?: true;
}

function entry(
  code: string,
  status: number,
  message: string,
  base: ErrorEntry['base'] = Error,
  clientGone?: true,
): readonly [string, ErrorEntry] {
  return [code, { code, message, status, base, ...(clientGone ? { clientGone } : {}) }];
}

/** errno (sys/sys/errno.h names, as SysError and Node's fs report them) and the demo's codes. */
export const ERRORS: Readonly<Record<string, ErrorEntry>> = Object.freeze(
  Object.fromEntries([
    entry('ENOENT', 404, 'no such file', SysError),
    entry('ENOTDIR', 404, 'a path component is a file'),
    entry('EACCES', 403, 'permission denied, or the path leads outside the root', SysError),
    entry('EISDIR', 403, 'a directory, and listing is off', SysError),
    entry('ELOOP', 403, 'a symlink loop'),
    entry('EPERM', 403, 'operation not permitted'),
    entry('EINVAL', 400, 'bad path or argument', SysError),
    entry('ENAMETOOLONG', 414, 'a name too long'),
    entry('EBADF', 500, 'a closed file or socket', SysError),
    entry('EIO', 500, 'the page-in from the file failed', SysError),
    entry('ENOTSOCK', 500, 'not a socket', SysError),
    entry('ENOMEM', 503, 'every physical page wired and the caller would not wait', SysError),
    entry('ENOBUFS', 503, 'no sf_buf, mbuf or cluster without sleeping', SysError),
    entry('EAGAIN', 503, 'a non-blocking call would have slept', SysError),
    entry('EBUSY', 503, 'SF_NODISKIO met a busy page', SysError),
    entry('EMFILE', 503, 'too many open files'),
    entry('ENFILE', 503, 'too many open files in the system'),
    entry('EINTR', 499, 'the request was aborted', SysError, true),
    entry('EPIPE', 499, 'the client went away', SysError, true),
    entry('ECONNRESET', 499, 'the client reset the connection', SysError, true),
    entry('ENOTCONN', 499, 'the socket is gone', SysError, true),
    entry('ABORT_ERR', 499, 'the connection closed during a wait', Error, true),
    entry('ERR_STREAM_PREMATURE_CLOSE', 499, 'the connection closed under a stream', Error, true),
    entry('ERR_STREAM_DESTROYED', 499, 'the connection was destroyed under a stream', Error, true),
    entry('ESTALE', 500, 'the file changed between its stat and its open, twice', StaleEntryError),
    entry('ZCSIM_FILE_CHANGED', 500, 'the file changed while its body was sent', FileChangedError),
    entry('ZCSIM_POOL_EXHAUSTED', 503, 'a kernel pool is exhausted; retry later', PoolExhaustedError),
  ]),
);

/** The kernel's errno part of the catalogue, as a table (errno -> HTTP status). */
export const ERRNO_HTTP_STATUS: Readonly<Partial<Record<Errno, number>>> = Object.freeze(
  Object.fromEntries(
    Object.values(ERRORS)
      .filter((e) => Object.hasOwn(ERRNO_MEANING, e.code))
      .map((e) => [e.code, e.status]),
  ),
);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The catalogue entry of an error, or undefined. */
export function errorEntry(err: unknown): ErrorEntry | undefined {
  const code = codeOf(err);
  return code === undefined ? undefined : ERRORS[code];
}

/** The HTTP status for an error: a path refusal's own, the catalogue's by code, else 500. */
export function httpStatusOf(err: unknown): number {
  if (err instanceof PathError) return err.status;
  return errorEntry(err)?.status ?? 500;
}

/** Whether an error means the client left (EPIPE, ECONNRESET, an abort). */
export function isClientGone(err: unknown): boolean {
  return errorEntry(err)?.clientGone === true;
}
