// Mirrors sys/vm/vm_object.c and the vnode side of sys/vm/vnode_pager.c: one vm object per
// file, holding that file's resident pages (the buffer cache), and the file it reads them from.
//
// Ownership: the Vm keeps one VmObject per (dev, ino) in its registry. `ref_count` counts
// vmObjectOpen calls not yet closed; the file handle is open while it is above 0. The object and
// its pages outlive the last close (the kernel keeps a vnode's pages cached after close): the next
// open of the same file finds them again, revalidated against a fresh fstat. The object leaves
// the registry once it has no references, no pages and no read in flight.
// `paging_in_progress` counts pager reads in flight (vm_object_pip_add); a close waits for it.
import { constants, type FileHandle, open } from 'node:fs/promises';
import { type Errno, errnoFromNode, SysError, WaitQueue } from '../kern/index.js';
import type { VmPage, VmPageOwner } from './page.js';
import { VmRadix } from './radix.js';

/** What vmObjectOpen and vmObjectRevalidate learn from fstat(2). */
export interface VmObjectStat {
  readonly dev: number;
  readonly ino: number;
  readonly sizeBytes: number;
  readonly mtimeMs: number;
}

export class VmObject implements VmPageOwner {
  readonly id: number;
  /** The path the object was first opened by (a file may have other names). */
  readonly path: string;
  readonly dev: number;
  readonly ino: number;
  /** File size at the last fstat (vnp_size). */
  sizeBytes: number;
  mtimeMs: number;
  /** Resident pages by page index (rtree). */
  readonly pages = new VmRadix<VmPage>();
  /** Bumped each time the object's pages are invalidated (the file changed under the cache). */
  generation = 0;
  /** Opens not yet closed. */
  ref_count = 0;
  /** Pager reads in flight. */
  paging_in_progress = 0;
  /** Clock time of the last fstat (open or revalidation), in ms. */
  validatedAtMs = Number.NEGATIVE_INFINITY;
  /** The open file, or null after the last close. */
  fh: FileHandle | null = null;
  /** Sleepers waiting for paging_in_progress to reach 0 ("vmopip"). */
  readonly pipWait = new WaitQueue('vmopip');

  constructor(id: number, path: string, st: VmObjectStat) {
    this.id = id;
    this.path = path;
    this.dev = st.dev;
    this.ino = st.ino;
    this.sizeBytes = st.sizeBytes;
    this.mtimeMs = st.mtimeMs;
  }

  /** Registry key: the file's identity, as the vnode is. */
  get key(): string {
    return objectKey(this.dev, this.ino);
  }

  /** The file handle, asserting the object is open. */
  handle(): FileHandle {
    if (!this.fh) throw new SysError('EBADF', `vm object ${this.id} (${this.path}) is closed`);
    return this.fh;
  }
}

export function objectKey(dev: number, ino: number): string {
  return `${dev}:${ino}`;
}

/**
 * open(2) + fstat(2) of a regular file, read-only. O_NONBLOCK keeps a FIFO from blocking the open
 * (it has no effect on regular files). Errors: ENOENT, EACCES, EISDIR, EINVAL (not regular).
 */
export async function openRegular(path: string): Promise<{ fh: FileHandle; st: VmObjectStat }> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new SysError(openErrno(e), `open ${path}`);
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new SysError('EISDIR', `open ${path}: is a directory`);
    if (!st.isFile()) throw new SysError('EINVAL', `open ${path}: not a regular file`);
    return { fh, st: { dev: st.dev, ino: st.ino, sizeBytes: st.size, mtimeMs: st.mtimeMs } };
  } catch (e) {
    await fh.close();
    throw e instanceof SysError ? e : new SysError(errnoFromNode(e), `fstat ${path}`);
  }
}

/** fstat(2) of an open object's file. */
export async function fstatObject(obj: VmObject): Promise<VmObjectStat> {
  try {
    const st = await obj.handle().stat();
    return { dev: st.dev, ino: st.ino, sizeBytes: st.size, mtimeMs: st.mtimeMs };
  } catch (e) {
    throw e instanceof SysError ? e : new SysError(errnoFromNode(e), `fstat ${obj.path}`);
  }
}

function openErrno(e: unknown): Errno {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ENOTDIR') return 'ENOENT';
  if (code === 'ENAMETOOLONG' || code === 'ELOOP') return 'EINVAL';
  if (code === 'EPERM') return 'EACCES';
  return errnoFromNode(e);
}
