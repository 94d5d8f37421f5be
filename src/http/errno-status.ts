// The demo's one table from errno (sys/sys/errno.h names, as SysError and Node report them) to
// an HTTP status. Every route error goes through httpStatusOf(); test/http/errno-status.test.ts
// pins the table. Mirrors what nginx answers for the same open(2)/sendfile(2) failures.
import type { Errno } from '../kern/index.js';

/** errno -> HTTP status and the reason shown in the error body. */
export const ERRNO_HTTP_STATUS: Readonly<Record<Errno, number>> = {
  ENOENT: 404, // no such file
  EACCES: 403, // permission denied (also: path leads outside the root)
  EISDIR: 403, // a directory without --list (nginx: "directory index ... is forbidden")
  EINVAL: 400, // bad path or argument
  EBADF: 500, // a closed file or socket: our bug or a race with server close
  EIO: 500, // the page-in from the file failed
  ENOMEM: 503, // every physical page wired and the caller would not wait
  ENOBUFS: 503, // no sf_buf, mbuf or cluster without sleeping
  EAGAIN: 503, // a non-blocking call would have slept
  EBUSY: 503, // SF_NODISKIO met a busy page
  EINTR: 499, // the request was aborted (nginx's "client closed request")
  EPIPE: 499, // the client went away
  ECONNRESET: 499, // the client reset the connection
  ENOTCONN: 499, // the socket is gone
  ENOTSOCK: 500, // not a socket: a bug
};

/** Errors from Node's fs that are not in the kernel's catalogue, by their code. */
const HOST_ERRNO_HTTP_STATUS: Readonly<Record<string, number>> = {
  ENOTDIR: 404, // a path component is a file
  ELOOP: 403, // a symlink loop
  ENAMETOOLONG: 414,
  EPERM: 403,
  EMFILE: 503,
  ENFILE: 503,
};

/** The HTTP status for an error carrying an errno code; 500 for anything else. */
export function httpStatusOf(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return 500;
  return (ERRNO_HTTP_STATUS as Readonly<Record<string, number>>)[code] ?? HOST_ERRNO_HTTP_STATUS[code] ?? 500;
}
