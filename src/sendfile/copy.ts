// The copy path for comparison: read(2) through the same buffer cache with
// a real copy out of the page (vn_read -> uiomove), and write(2) on the socket (sosend: a real
// copy into clusters). copyfile runs user space's read+write loop (kern/copyloop.ts) over them, holding
// the file as one call would.
import { copyLoop, PAGE_MASK, PAGE_SIZE, pageIndexOf, pagesCeil, SysError } from '../kern/index.js';
import type { KSocket } from '../net/index.js';
import type { VmObject, VmPage } from '../vm/index.js';
import {
  vmObjectDeallocate,
  vmObjectReference,
  vmObjectRevalidateStale,
  vmPageBusySleep,
  vmPagerGetPages,
} from '../vm/index.js';
import type { KFile } from './file.js';
import type { CopyfileOptions } from './flags.js';
import type { SendfileEnv } from './sfio.js';
import { checkFileArgs, checkSocket } from './validate.js';

/** Read-ahead of the copy path's page-ins, in pages (a stand-in for the vfs cluster read). */
const READ_AHEAD_PAGES = 16;

/**
 * vn_read for a regular file, without the fstat: copies [offset, offset + buf.length) of the
 * file, cut at EOF, into `buf`. Each page is wired while its bytes are copied, then released.
 */
export async function vnRead(
  env: SendfileEnv,
  obj: VmObject,
  offset: number,
  buf: Uint8Array,
  signal?: AbortSignal,
): Promise<number> {
  const vm = env.vm;
  const end = Math.min(obj.sizeBytes, offset + buf.length);
  let off = offset;
  while (off < end) {
    const m = vm.vmPageLookup(obj, pageIndexOf(off));
    if (m?.valid && !m.busy) {
      const inPage = off & PAGE_MASK;
      const n = Math.min(PAGE_SIZE - inPage, end - off);
      vm.vmPageWire(m);
      buf.set(vm.pageBytes(m).subarray(inPage, inPage + n), off - offset);
      vm.vmPageRelease(m, 0);
      env.copystat.copy_bytes_out += n;
      off += n;
    } else if (m?.busy) {
      await vmPageBusySleep(vm, m, signal);
    } else {
      await pageInRun(env, obj, pageIndexOf(off), pagesCeil(end), signal);
    }
  }
  if (env.trace.on)
    env.trace.emit('copyout', () => ({ object: obj.id, offset, bytes: Math.max(0, end - offset) }));
  return Math.max(0, end - offset);
}

/** Pages in the run of missing pages that starts at `pindex` (before `endPindex`). */
async function pageInRun(
  env: SendfileEnv,
  obj: VmObject,
  pindex: number,
  endPindex: number,
  signal?: AbortSignal,
): Promise<void> {
  const vm = env.vm;
  const run: VmPage[] = [];
  for (let p = pindex; p < endPindex; p++) {
    let m = vm.vmPageLookup(obj, p);
    if (m !== null && (m.valid || m.busy || p !== pindex)) break;
    m = m === null ? vm.vmPageAlloc(obj, p) : vm.vmPageRegrab(obj, m);
    if (m === null) break;
    vm.vmPageWire(m);
    run.push(m);
  }
  if (run.length === 0) {
    await vm.vmWait(signal);
    return;
  }
  const filePages = pagesCeil(obj.sizeBytes);
  const readahead = Math.max(0, Math.min(READ_AHEAD_PAGES, filePages - (pindex + run.length)));
  try {
    await vmPagerGetPages(vm, obj, run, readahead);
  } finally {
    for (const m of run) vm.vmPageRelease(m, 0);
  }
}

/** read(2): EBADF after close, EINVAL for a bad offset; the size is fstat'ed first. */
export async function kernRead(
  env: SendfileEnv,
  file: KFile,
  offset: number,
  buf: Uint8Array,
): Promise<number> {
  checkFileArgs(file, offset, buf.length);
  const obj = file.obj;
  vmObjectReference(obj);
  try {
    const stale = vmObjectRevalidateStale(env.vm, obj, env.revalidateMs);
    if (stale !== null) await stale;
    return await vnRead(env, obj, offset, buf);
  } finally {
    vmObjectDeallocate(env.vm, obj);
  }
}

/** write(2) on a socket: sosend copies the bytes into clusters or TLS records (and counts copy_bytes_in). */
export async function kernWrite(env: SendfileEnv, so: KSocket, buf: Uint8Array, signal?: AbortSignal) {
  checkSocket(so);
  const n = await env.sockets.sosend(so, buf, signal);
  if (env.trace.on) env.trace.emit('copyin', () => ({ so: so.so_id, bytes: n }));
  return n;
}

/**
 * The read(2)+write(2) loop: `nbytes` of `file` from `offset` (0 = to EOF) through a user buffer
 * to `so`, with optional headers and trailers written around it. Resolves to the bytes written,
 * or rejects with a SysError carrying them.
 */
export async function kernCopyfile(
  env: SendfileEnv,
  file: KFile,
  so: KSocket,
  offset: number,
  nbytes: number,
  opts: CopyfileOptions,
  defaultBufferBytes: number,
): Promise<number> {
  checkFileArgs(file, offset, nbytes);
  checkSocket(so);
  const bufferBytes = opts.bufferBytes ?? defaultBufferBytes;
  if (!Number.isSafeInteger(bufferBytes) || bufferBytes <= 0) throw new SysError('EINVAL', 'bad buffer size');
  if (env.trace.on) {
    env.trace.emit('copyfile', () => ({ fd: file.fd, object: file.obj.id, so: so.so_id, offset, nbytes }));
  }
  // The loop holds its own reference on the file (fget_read): close(fd) meanwhile disturbs nothing.
  const obj = file.obj;
  vmObjectReference(obj);
  try {
    return await copyfileLoop(env, obj, so, offset, nbytes, opts, bufferBytes);
  } finally {
    vmObjectDeallocate(env.vm, obj);
  }
}

async function copyfileLoop(
  env: SendfileEnv,
  obj: VmObject,
  so: KSocket,
  offset: number,
  nbytes: number,
  opts: CopyfileOptions,
  bufferBytes: number,
): Promise<number> {
  const stale = vmObjectRevalidateStale(env.vm, obj, env.revalidateMs);
  if (stale !== null) await stale;
  const rem = Math.max(0, nbytes > 0 ? Math.min(nbytes, obj.sizeBytes - offset) : obj.sizeBytes - offset);
  const calls = {
    read: async (off: number, buf: Uint8Array) => {
      const n = await vnRead(env, obj, off, buf, opts.signal);
      so.so_cpu.copyout_bytes += n;
      return n;
    },
    write: (buf: Uint8Array) => kernWrite(env, so, buf, opts.signal),
  };
  return copyLoop(calls, offset, rem, {
    bufferBytes,
    ...(opts.headers ? { headers: opts.headers } : {}),
    ...(opts.trailers ? { trailers: opts.trailers } : {}),
  });
}
