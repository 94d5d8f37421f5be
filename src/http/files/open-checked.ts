// Opening a file under the served root so that what is checked is the file that was opened, not
// a path that may be renamed over a moment later (nginx's disable_symlinks, done on the
// descriptor): the path's symlinks are resolved and checked against the root, the real path is
// opened without following a symlink at its end (O_NOFOLLOW) and without blocking (O_NONBLOCK: a
// FIFO must not hang a thread), and the descriptor's own location (/proc/self/fd/N, where the
// kernel says the open file is) must lie inside the root. fstat of that descriptor is then the
// truth about the file; later opens go through the descriptor, never the path again.
import { type BigIntStats, constants, existsSync } from 'node:fs';
import { type FileHandle, open, readlink, realpath, stat } from 'node:fs/promises';
import { sep } from 'node:path';
import { SysError } from '../../kern/index.js';

/** Linux names every open descriptor's file here; elsewhere the path is checked again instead. */
const PROC_FD = '/proc/self/fd';
const HAVE_PROC_FD = existsSync(PROC_FD);

/** An open, checked file or directory of the served root. */
export interface CheckedFile {
  readonly fh: FileHandle;
  /** Where the descriptor's file is, inside the root. */
  readonly realPath: string;
  /** fstat(2) of the descriptor, in nanoseconds. */
  readonly st: BigIntStats;
}

/** Whether `real` (a real path) is the root or below it. */
export function insideRoot(realRoot: string, real: string): boolean {
  return real === realRoot || real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep);
}

/**
 * A path that opens the very file `fh` has open, whatever its name is now: on Linux the
 * descriptor's /proc entry (open(2) of it reopens the inode, not a path lookup), elsewhere the
 * real path (whoever opens it must compare dev and ino).
 */
export function reopenPath(file: CheckedFile): string {
  return HAVE_PROC_FD ? `${PROC_FD}/${file.fh.fd}` : file.realPath;
}

/** Where the descriptor's file is now (Linux), or null when the system cannot say. */
async function descriptorPath(fh: FileHandle): Promise<string | null> {
  if (!HAVE_PROC_FD) return null;
  const where = await readlink(`${PROC_FD}/${fh.fd}`);
  // An unlinked file is named "path (deleted)": its place is still what it was opened by.
  return where.endsWith(' (deleted)') ? where.slice(0, -' (deleted)'.length) : where;
}

/** The error to answer with: Node's own (its code picks the status), or EACCES for a symlink. */
function nodeError(e: unknown, what: string): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  // A symlink renamed over the last component between realpath and open: refused like one out.
  if (code === 'ELOOP') return new SysError('EACCES', `${what}: a symlink appeared on the path`);
  return e;
}

/**
 * Opens `path` (absolute: under the root, or a /proc/self/fd/N/name of a checked directory) as a
 * checked file: EACCES when it leads outside the root, when it is not a regular file or a
 * directory (a FIFO, a socket, a device), or when a symlink was swapped in; ENOENT when absent.
 */
export async function openChecked(realRoot: string, path: string): Promise<CheckedFile> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (e) {
    throw nodeError(e, `realpath ${path}`);
  }
  if (!insideRoot(realRoot, real)) throw new SysError('EACCES', `${path} leads outside the served root`);
  // Not opened at all when it is a device or a socket (opening a device can have effects).
  const pre = await stat(real).catch((e: unknown) => {
    throw nodeError(e, `stat ${real}`);
  });
  if (!pre.isFile() && !pre.isDirectory()) throw new SysError('EACCES', `${real} is not a regular file`);
  let fh: FileHandle;
  try {
    fh = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    throw nodeError(e, `open ${real}`);
  }
  try {
    const st = await fh.stat({ bigint: true });
    if (!st.isFile() && !st.isDirectory()) throw new SysError('EACCES', `${real} is not a regular file`);
    const where = await descriptorPath(fh);
    if (where !== null) {
      if (!insideRoot(realRoot, where)) throw new SysError('EACCES', `${real} is outside the served root`);
      return { fh, realPath: where, st };
    }
    // XXX(sim): without /proc the path is looked at again: the same file must be there.
    const again = await stat(real, { bigint: true });
    if ((await realpath(real)) !== real || again.ino !== st.ino || again.dev !== st.dev)
      throw new SysError('EACCES', `${real} changed while it was opened`);
    return { fh, realPath: real, st };
  } catch (e) {
    await fh.close().catch(() => {});
    throw nodeError(e, `fstat ${real}`);
  }
}

/** The same file again through `file`'s descriptor (for a stream of its own); EACCES if not. */
export async function reopenChecked(file: CheckedFile): Promise<FileHandle> {
  const fh = await open(reopenPath(file), constants.O_RDONLY | constants.O_NONBLOCK).catch((e: unknown) => {
    throw nodeError(e, `open ${file.realPath}`);
  });
  try {
    const st = await fh.stat({ bigint: true });
    if (st.ino === file.st.ino && st.dev === file.st.dev && st.isFile()) return fh;
  } catch {
    // closed below
  }
  await fh.close().catch(() => {});
  throw new SysError('EACCES', `${file.realPath} is no longer the file that was checked`);
}
