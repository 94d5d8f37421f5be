// Mirrors the file side of sys/kern/kern_descrip.c for the simulator: a file descriptor's
// struct file, reduced to the vnode's vm object and an open/closed state.
import type { VmObject } from '../vm/index.js';

/**
 * An open file (struct file of a regular vnode). Ownership: the KFile holds one reference on
 * `obj` (vmObjectOpen) from open until close; after close every call on it gives EBADF.
 */
export class KFile {
  closed = false;

  constructor(
    /** The descriptor number, for traces and messages. */
    readonly fd: number,
    readonly obj: VmObject,
  ) {}

  get path(): string {
    return this.obj.path;
  }
}
