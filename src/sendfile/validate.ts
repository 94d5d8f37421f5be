// Argument checks shared by sendfile(2) and the copy path: the errno cases of sendfile and
// sendfile_getsock (EINVAL, EBADF) and of the space wait (ENOTCONN) in one place.
import { SysError } from '../kern/index.js';
import { type KSocket, SS_ISCONNECTED, SS_NOFDREF } from '../net/index.js';
import type { KFile } from './file.js';

/** A non-negative safe integer byte count or offset. */
function isByteCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 0;
}

/** EBADF for a closed file; EINVAL for a negative or fractional offset or byte count. */
export function checkFileArgs(file: KFile, offset: number, nbytes: number): void {
  if (file.closed) throw new SysError('EBADF', `fd ${file.fd} is closed`);
  if (!isByteCount(offset)) throw new SysError('EINVAL', `bad offset ${offset}`);
  if (!isByteCount(nbytes)) throw new SysError('EINVAL', `bad byte count ${nbytes}`);
}

/**
 * sendfile_getsock: EBADF for a socket whose descriptor was closed. A dropped connection is not
 * refused here: the send itself finds SBS_CANTSENDMORE (EPIPE) or the pending so_error, in the
 * kernel's order (sendfile_wait_generic, sosend_generic).
 */
export function checkSocket(so: KSocket): void {
  if ((so.so_state & SS_NOFDREF) !== 0) throw new SysError('EBADF', `socket ${so.so_id} is closed`);
}

/** ENOTCONN for a socket that is not connected (tested after EPIPE and so_error). */
export function checkConnected(so: KSocket): void {
  if ((so.so_state & SS_ISCONNECTED) === 0)
    throw new SysError('ENOTCONN', `socket ${so.so_id} is not connected`);
}
