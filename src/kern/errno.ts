// Mirrors sys/sys/errno.h: operating conditions are errno values, never messages.
// One error class, SysError, whose `code` is the errno name (as Node reports socket errors,
// err.code === 'EPIPE'), whose `errno` is the number from os.constants.errno, and which carries
// the partial byte count (`sbytes`) where a call made progress before it failed, as
// sendfile(2) copies *sbytes out on error.
import { constants } from 'node:os';

export type Errno =
  | 'EAGAIN'
  | 'EBUSY'
  | 'EINTR'
  | 'EIO'
  | 'EINVAL'
  | 'EBADF'
  | 'ENOBUFS'
  | 'ENOTCONN'
  | 'EPIPE'
  | 'ECONNRESET'
  | 'ENOMEM'
  | 'ENOENT'
  | 'EACCES'
  | 'EISDIR'
  | 'ENOTSOCK';

/** What each errno means in this simulator (the catalogue; test/kern/errno.test.ts pins it). */
export const ERRNO_MEANING: Readonly<Record<Errno, string>> = {
  EAGAIN: 'resource temporarily unavailable: a non-blocking call would have slept',
  EBUSY: 'page busy: SF_NODISKIO met a page being paged in for another request',
  EINTR: 'interrupted: the caller aborted the wait (AbortSignal, the simulated signal)',
  EIO: 'input/output error: a page-in from the file failed',
  EINVAL: 'invalid argument',
  EBADF: 'bad file descriptor: the file or socket is closed or not of the right kind',
  ENOBUFS: 'no buffer space: no sf_buf, mbuf or cluster could be had without sleeping',
  ENOTCONN: 'socket is not connected',
  EPIPE: 'broken pipe: the socket cannot send more',
  ECONNRESET: 'connection reset by peer',
  ENOMEM: 'cannot allocate memory: every physical page is wired and the caller would not wait',
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTSOCK: 'not a socket',
};

/** A system call's failure: errno name, errno number and, where it applies, the partial bytes. */
export class SysError extends Error {
  override readonly name = 'SysError';
  readonly code: Errno;
  readonly errno: number;
  /** Bytes the call had queued before it failed (sendfile's *sbytes); 0 when none. */
  readonly sbytes: number;

  constructor(code: Errno, message: string, sbytes = 0) {
    super(`${code}: ${message}`);
    this.code = code;
    this.errno = constants.errno[code];
    this.sbytes = sbytes;
  }

  /** The same error with a different partial byte count (progress made by the caller's caller). */
  withSbytes(sbytes: number): SysError {
    const e = new SysError(this.code, this.message.slice(this.code.length + 2), sbytes);
    return e;
  }
}

export function isSysError(e: unknown): e is SysError {
  return e instanceof SysError;
}

/** Errors Node reports on sockets and files, translated to our catalogue (unknown ones become EIO). */
export function errnoFromNode(e: unknown): Errno {
  const code = (e as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in ERRNO_MEANING) return code as Errno;
  if (code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_WRITE_AFTER_END') return 'EPIPE';
  return 'EIO';
}
