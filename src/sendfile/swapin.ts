// Mirrors sendfile_swapin and sendfile_iodone of sys/kern/kern_sendfile.c: grab and wire the
// pages of one chunk, start asynchronous pager reads for the ones not valid, and finish the
// chunk when the last read completes.
import { panic, SysError } from '../kern/index.js';
import { TCP_TLS_MODE_SW } from '../ktls/index.js';
import { mbFreeNotready } from '../mbuf/index.js';
import type { VmPage } from '../vm/index.js';
import { vmPageBusySleep, vmPagerGetPages } from '../vm/index.js';
import { SF_NODISKIO } from './flags.js';
import type { SendfileEnv, SfChunk, SfIo } from './sfio.js';

/**
 * sendfile_swapin, resumable: grabs pages from `c.grabbed` on. Returns null when every page is
 * grabbed (or SF_NODISKIO stopped the chunk), or a Promise when it must sleep (a busy page, no
 * free page); the caller awaits it and calls again. Runs of fresh pages are handed to the pager
 * before any sleep, so a sleeper never holds busy pages whose read has not started.
 */
export function sendfileSwapin(
  env: SendfileEnv,
  c: SfChunk,
  flags: number,
  signal: AbortSignal | undefined,
): Promise<void> | null {
  const vm = env.vm;
  const obj = c.sfio!.obj;
  const pindex0 = c.sfio!.pindex0;
  while (c.grabbed < c.npages) {
    // The pages already in the cache, a run at a time; page by page while a run of fresh pages
    // waits for the pager, and while the vm is traced (its events keep the per-page order).
    if (c.runStart < 0 && !vm.trace.on) {
      const valid = vm.vmPageGrabValidRun(obj, pindex0 + c.grabbed, c.pa, c.grabbed, c.npages - c.grabbed);
      if (valid > 0) {
        env.sfstat.sf_pages_valid += valid;
        c.grabbed += valid;
        continue;
      }
    }
    const i = c.grabbed;
    let m = vm.vmPageLookup(obj, pindex0 + i);
    if (m?.busy) {
      swapinFlushRun(env, c);
      if ((flags & SF_NODISKIO) !== 0) return swapinStop(c);
      return vmPageBusySleep(vm, m, signal);
    }
    if (m?.valid) {
      swapinFlushRun(env, c);
      vm.vmPageWire(m);
      c.pa[i] = m;
      env.sfstat.sf_pages_valid++;
      c.grabbed++;
      continue;
    }
    m = m === null ? vm.vmPageAlloc(obj, pindex0 + i) : vm.vmPageRegrab(obj, m);
    if (m === null) {
      swapinFlushRun(env, c);
      if ((flags & SF_NODISKIO) !== 0) return swapinStop(c);
      return vm.vmWait(signal);
    }
    vm.vmPageWire(m);
    c.pa[i] = m;
    if (c.runStart < 0) c.runStart = i;
    c.grabbed++;
  }
  swapinFlushRun(env, c);
  if (c.iosStarted === 0 && c.npages > 0) env.sfstat.sf_noiocnt++;
  return null;
}

function swapinStop(c: SfChunk): null {
  c.stopped = true;
  c.rhpages = 0;
  return null;
}

/** Starts one asynchronous pager read for the pending run of fresh pages, if any. */
function swapinFlushRun(env: SendfileEnv, c: SfChunk): void {
  if (c.runStart < 0) return;
  const sfio = c.sfio!;
  const run = c.pa.slice(c.runStart, c.grabbed) as VmPage[];
  const reachesEnd = c.grabbed === c.npages;
  const rhpages = reachesEnd ? c.rhpages : 0;
  c.runStart = -1;
  c.iosStarted++;
  sfio.nios++;
  env.sfstat.sf_iocnt++;
  env.sfstat.sf_pages_read += run.length;
  if (sfio.nios === 2) env.sfiosInFlight.add(sfio);
  sfio.iosStarted = true;
  // XXX(sim): the pager tells how many readahead pages it read when it is done, so
  // sf_rhpages_read is counted at completion rather than when the read is started.
  vmPagerGetPages(env.vm, sfio.obj, run, rhpages).then(
    (readaheadPages: number) => {
      env.sfstat.sf_rhpages_read += readaheadPages;
      sendfileIodone(env, sfio, null);
    },
    (e: unknown) => sendfileIodone(env, sfio, e instanceof SysError ? e : new SysError('EIO', String(e))),
  );
}

/**
 * sendfile_iodone: one reference of the chunk is gone (a pager read finished, or the syscall
 * queued the chunk). The last one makes the chunk's mbufs ready, or cleans up after an error.
 */
export function sendfileIodone(env: SendfileEnv, sfio: SfIo, error: SysError | null): void {
  if (!(sfio.nios > 0)) panic(`sendfile_iodone: nios ${sfio.nios}`);
  if (error !== null && sfio.error === null) sfio.error = error;
  sfio.nios--;
  if (sfio.nios === 1 && sfio.drained !== null) {
    const drained = sfio.drained;
    sfio.drained = null;
    drained();
  }
  if (sfio.nios > 0) return;
  // Only a chunk that started reads was listed (see swapinFlushRun).
  if (sfio.iosStarted) env.sfiosInFlight.delete(sfio);
  const so = sfio.so;
  const m = sfio.m;
  if (env.trace.on) {
    env.trace.emit('iodone', () => ({
      so: so?.so_id ?? null,
      pages: sfio.npages,
      error: sfio.error?.code ?? null,
    }));
  }
  if (so === null || m === null) return;
  if (sfio.error !== null) {
    // The socket is aborted (so_error EIO) and this chunk's not-ready units are freed: their
    // storages' free callbacks unwire the pages, left invalid by the failed read.
    env.sockets.prAbort(so, 'EIO');
    mbFreeNotready(env.mbufs, m, sfio.npages);
  } else if (sfio.tls !== null && sfio.tls.mode === TCP_TLS_MODE_SW && env.ktls !== null) {
    // The reads are done but the records still need encrypting: hand them to a KTLS worker.
    env.ktls.enqueue(m, so, sfio.npages);
  } else {
    env.sockets.prReady(so, m, sfio.npages);
  }
  if (env.invariants) env.checkAll();
}

/** sendfile_iowait: resolves when only the syscall's reference is left. */
export function sendfileIowait(sfio: SfIo): Promise<void> | null {
  if (sfio.nios <= 1) return null;
  return new Promise<void>((resolve) => {
    sfio.drained = resolve;
  });
}
