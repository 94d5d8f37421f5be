// Argument checks shared by sendfile(2) and the copy path: the errno cases of sendfile and
// getsock (EINVAL, EBADF, ENOTCONN) in one place.
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

/** EBADF for a closed socket, ENOTCONN for one that is not connected. */
export function checkSocket(so: KSocket): void {
  if ((so.so_state & SS_NOFDREF) !== 0) throw new SysError('EBADF', `socket ${so.so_id} is closed`);
  if ((so.so_state & SS_ISCONNECTED) === 0)
    throw new SysError('ENOTCONN', `socket ${so.so_id} is not connected`);
}
