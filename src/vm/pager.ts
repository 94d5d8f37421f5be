// Mirrors sys/vm/vnode_pager.c (vnode_pager_generic_getpages and its completion,
// vnode_pager_generic_getpages_done) and vm_page_readahead_finish (sys/vm/vm_page.c).
//
// One pager read fills a run of consecutive busy, invalid pages of one object with ONE real
// readv(2) straight into the page views (the disk's DMA into physical memory: no bounce buffer),
// plus up to `readaheadPages` pages after the run, allocated without waiting. Physically adjacent
// pages share one iovec. The bytes past EOF are zero-filled. The completion marks every page valid
// and unbusies it; read-ahead pages go to the inactive queue. On failure every page is unbusied
// and left invalid: unwired ones are freed, wired ones stay with their holders (nothing is ever
// half-valid). `paging_in_progress` holds the object open across the read.
import { fstatSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { kassert, PAGE_SIZE, pagesCeil, SysError } from '../kern/index.js';
import type { VmObject } from './object.js';
import { VM_ALLOC_NORMAL, type VmPage } from './page.js';
import type { VmInternals } from './vmtypes.js';

/** Starts the read; resolves with the number of read-ahead pages it filled. */
export function vmPagerGetPages(
  vm: VmInternals,
  obj: VmObject,
  run: VmPage[],
  readaheadPages: number,
): Promise<number> {
  kassert(run.length > 0, 'vm_pager_get_pages: empty run');
  kassert(obj.ref_count > 0 && obj.fh !== null, () => `vm_pager_get_pages: object ${obj.id} is closed`);
  const pindex0 = run[0]?.pindex ?? 0;
  for (let i = 0; i < run.length; i++) {
    const m = run[i];
    kassert(
      m !== undefined && m.object === obj && m.pindex === pindex0 + i && m.busy && !m.valid,
      () => `vm_pager_get_pages: run[${i}] is not busy, invalid page ${pindex0 + i} of object ${obj.id}`,
    );
  }
  const pages = run.concat(allocReadahead(vm, obj, pindex0 + run.length, readaheadPages));
  const readahead = pages.length - run.length;
  vm.cnt.pageins++;
  vm.cnt.readahead_pages += readahead;
  obj.paging_in_progress++;
  vm.trace.emit('pagein', () => ({ object: obj.id, pindex: pindex0, pages: run.length, readahead }));
  return pagerRead(vm, obj, pages, run.length).then(
    () => {
      pagerDone(vm, obj, pages, true);
      return readahead;
    },
    (e: unknown) => {
      pagerDone(vm, obj, pages, false);
      throw e instanceof SysError ? e : new SysError('EIO', `vnode_pager: ${obj.path}: ${String(e)}`);
    },
  );
}

/**
 * Read-ahead pages after the run: VM_ALLOC_NORMAL, without sleeping, stopping at EOF, at a page
 * that is already resident, or at the first page memory does not give (free pages down to
 * v_free_reserved): read-ahead never makes the page daemon reclaim cached pages.
 */
function allocReadahead(vm: VmInternals, obj: VmObject, from: number, count: number): VmPage[] {
  const out: VmPage[] = [];
  const endPindex = pagesCeil(obj.sizeBytes);
  for (let p = from; p < from + count && p < endPindex && !obj.pages.has(p); p++) {
    const m = vm.vmPageAlloc(obj, p, VM_ALLOC_NORMAL);
    if (!m) break;
    out.push(m);
  }
  return out;
}

/** The I/O: one readv of every page (adjacent frames joined), zero-fill past EOF, disk time. */
async function pagerRead(vm: VmInternals, obj: VmObject, pages: VmPage[], runLength: number): Promise<void> {
  const first = pages[0] as VmPage;
  const positionBytes = first.pindex * PAGE_SIZE;
  const lengthBytes = pages.length * PAGE_SIZE;
  const expectedBytes = Math.min(lengthBytes, Math.max(0, obj.sizeBytes - positionBytes));
  const fault = vm.config.pagerFault?.(obj, first.pindex, runLength) ?? false;
  const views = ioVectors(vm, pages);
  const fh = obj.handle();
  await diskTime(vm, lengthBytes);
  if (fault) throw new SysError('EIO', `vnode_pager: ${obj.path} page ${first.pindex}: injected fault`);
  await hostReadSlot(vm);
  let bytesRead: number;
  try {
    bytesRead = await readvAll(fh, views, positionBytes);
  } finally {
    hostReadDone(vm);
  }
  // A short read is EIO, even when the file was seen to change meanwhile (its pages detached):
  // the bytes past the new end are no file's, and a sendfile holding these pages must fail rather
  // than send zeros. So is a file found shorter once the read is done: a host truncation racing
  // the read may have zeroed what it copied yet left its count whole. XXX(sim): in FreeBSD the
  // vnode lock keeps a truncation from racing the read.
  if (bytesRead < expectedBytes || hostSizeBytes(fh) < positionBytes + expectedBytes) {
    throw new SysError(
      'EIO',
      `vnode_pager: ${obj.path} page ${first.pindex}: the file shrank under the read (${bytesRead} of ${expectedBytes} bytes read)`,
    );
  }
  zeroFrom(views, bytesRead);
}

/**
 * Host reads of the pager in flight at once, at most. XXX(sim): the host's reads run on libuv's
 * thread pool (four threads), which the server's opens and stats share; were every page-in of a
 * hundred stalled downloads handed to it at once, a stat of the file cache would wait behind all
 * of them, where in FreeBSD namei of a cached name never waits for the disk's queue. So no more
 * read at once than the pool has threads: none of them queues there, a stat waits for one read at
 * most, and the others wait here, in order ("vnread").
 */
export const PAGER_READS_MAX = 4;

/** Takes a host read slot, sleeping in order while PAGER_READS_MAX are in flight. */
function hostReadSlot(vm: VmInternals): Promise<void> | undefined {
  if (vm.pagerReads.inflight < PAGER_READS_MAX) {
    vm.pagerReads.inflight++;
    return undefined;
  }
  // The slot is handed over by hostReadDone: the count stays while a sleeper takes it.
  return vm.pagerReads.queue.sleep();
}

function hostReadDone(vm: VmInternals): void {
  if (!vm.pagerReads.queue.wakeOne()) vm.pagerReads.inflight--;
}

/** IOV_MAX: libuv hands at most this many buffers to one readv(2) and reads the rest not at all. */
const IOV_MAX = 1024;

/** One readv(2) (more only past IOV_MAX iovecs); returns the bytes read, short only at EOF. */
async function readvAll(fh: FileHandle, views: Uint8Array[], positionBytes: number): Promise<number> {
  if (views.length <= IOV_MAX) return (await fh.readv(views, positionBytes)).bytesRead;
  let bytesRead = 0;
  for (let i = 0; i < views.length; i += IOV_MAX) {
    const part = views.slice(i, i + IOV_MAX);
    const partBytes = part.reduce((n, v) => n + v.length, 0);
    const r = await fh.readv(part, positionBytes + bytesRead);
    bytesRead += r.bytesRead;
    if (r.bytesRead < partBytes) break;
  }
  return bytesRead;
}

/** The iovec array: one view per run of physically adjacent frames. */
function ioVectors(vm: VmInternals, pages: VmPage[]): Uint8Array[] {
  const views: Uint8Array[] = [];
  let start = 0;
  for (let i = 1; i <= pages.length; i++) {
    const prev = pages[i - 1] as VmPage;
    const next = pages[i];
    if (next && next.physIndex === prev.physIndex + 1) continue;
    const head = pages[start] as VmPage;
    views.push(vm.physBytes(head.physAddr, (i - start) * PAGE_SIZE));
    start = i;
  }
  return views;
}

/** The file's size now (fstat(2)); a descriptor that cannot be asked is a file that is gone. */
function hostSizeBytes(fh: FileHandle): number {
  try {
    return fstatSync(fh.fd).size;
  } catch {
    return -1;
  }
}

/** Zero-fills the views from byte `fromBytes` on (the part of the last pages past EOF). */
function zeroFrom(views: Uint8Array[], fromBytes: number): void {
  let skip = fromBytes;
  for (const v of views) {
    if (skip >= v.length) {
      skip -= v.length;
      continue;
    }
    v.fill(0, skip);
    skip = 0;
  }
}

/** The simulated disk: latency plus transfer time, on the injected clock (0 = none). */
function diskTime(vm: VmInternals, lengthBytes: number): Promise<void> {
  const latencyMs = vm.config.diskLatencyMs ?? 0;
  const bandwidth = vm.config.diskBandwidthMBps ?? 0;
  const ms = latencyMs + (bandwidth > 0 ? (lengthBytes / (bandwidth * 1e6)) * 1000 : 0);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve) => vm.config.clock.setTimer(ms, resolve));
}

/** Completion: valid (or left invalid on error), unbusied, busy sleepers woken. */
function pagerDone(vm: VmInternals, obj: VmObject, pages: VmPage[], ok: boolean): void {
  for (const m of pages) {
    m.valid = ok;
    vm.unbusy(m);
  }
  if (ok) vm.cnt.pages_paged_in += pages.length;
  if (--obj.paging_in_progress === 0) {
    obj.pipWait.wakeAll();
    vm.reapObject(obj);
  }
  if (vm.config.invariants) vm.checkInvariants();
}
