// Mirrors sendfile_swapin and sendfile_iodone of sys/kern/kern_sendfile.c: grab and wire the
// pages of one chunk, start asynchronous pager reads for the ones not valid, and finish the
// chunk when the last read completes.
import { kassert, pageIndexOf, SysError } from '../kern/index.js';
import type { Mbuf } from '../mbuf/index.js';
import type { VmObject, VmPage } from '../vm/index.js';
import { SF_NODISKIO } from './flags.js';
import { type SendfileEnv, SfIo } from './sfio.js';

/**
 * The state of the chunk being built. One per call, reused by every chunk, so that the per-page
 * loops allocate nothing. `pa[i]` is page i of the chunk (wired by us) or null past a stop.
 */
export class SfChunk {
  /** File offset of the chunk's first byte. */
  off = 0;
  /** Bytes of file data in the chunk (the kernel's `space` once trimmed). */
  space = 0;
  npages = 0;
  /** Readahead pages for the run that reaches the chunk's last page. */
  rhpages = 0;
  readonly pa: (VmPage | null)[] = [];
  /** Pages grabbed so far (swapin resumes here after a sleep). */
  grabbed = 0;
  /** First page of the run of fresh invalid pages not yet handed to the pager, or -1. */
  runStart = -1;
  /** Pager reads started for this chunk (the kernel's local `nios`). */
  iosStarted = 0;
  /** SF_NODISKIO met a busy page or no free page: pages from `grabbed` on are missing. */
  stopped = false;
  /** Pages turned into mbufs so far. */
  built = 0;
  mhead: Mbuf | null = null;
  mtail: Mbuf | null = null;
  /** The M_EXTPG mbuf being filled (extpg mode). */
  mcur: Mbuf | null = null;
  sfio: SfIo | null = null;

  reset(obj: VmObject, off: number, space: number, npages: number, rhpages: number): SfIo {
    this.off = off;
    this.space = space;
    this.npages = npages;
    this.rhpages = rhpages;
    if (this.pa.length < npages) this.pa.length = npages;
    this.pa.fill(null, 0, npages);
    this.grabbed = 0;
    this.runStart = -1;
    this.iosStarted = 0;
    this.stopped = false;
    this.built = 0;
    this.mhead = null;
    this.mtail = null;
    this.mcur = null;
    const sfio = new SfIo(obj, pageIndexOf(off));
    this.sfio = sfio;
    return sfio;
  }
}

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
    const i = c.grabbed;
    let m = vm.vmPageLookup(obj, pindex0 + i);
    if (m?.busy) {
      swapinFlushRun(env, c);
      if ((flags & SF_NODISKIO) !== 0) return swapinStop(c);
      return vm.vmPageBusySleep(m, signal);
    }
    if (m?.valid) {
      swapinFlushRun(env, c);
      vm.vmPageWire(m);
      c.pa[i] = m;
      env.sfstat.sf_pages_valid++;
      c.grabbed++;
      continue;
    }
    m = m === null ? vm.vmPageAlloc(obj, pindex0 + i) : vmPageRegrab(env.vm, obj, m);
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

/**
 * A resident page left invalid by a failed read, to be read again: freed and allocated afresh
 * (busy, ours) when nobody holds it. XXX(sim): when a holder still wires it, it is busied in
 * place, as the kernel's grab would xbusy it; the vm room has no call for that.
 */
export function vmPageRegrab(vm: SendfileEnv['vm'], obj: VmObject, m: VmPage): VmPage | null {
  kassert(!m.valid && !m.busy, () => `vmPageRegrab: page ${m.physIndex} valid ${m.valid} busy ${m.busy}`);
  if (m.wireCount === 0) {
    const pindex = m.pindex;
    vm.vmPageFree(m);
    return vm.vmPageAlloc(obj, pindex);
  }
  m.busy = true;
  return m;
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
  // XXX(sim): the pager tells how many readahead pages it read when it is done, so
  // sf_rhpages_read is counted at completion rather than when the read is started.
  env.vm.vmPagerGetPages(sfio.obj, run, rhpages).then(
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
  kassert(sfio.nios > 0, () => `sendfile_iodone: nios ${sfio.nios}`);
  if (error !== null && sfio.error === null) sfio.error = error;
  sfio.nios--;
  if (sfio.nios === 1 && sfio.drained !== null) {
    const drained = sfio.drained;
    sfio.drained = null;
    drained();
  }
  if (sfio.nios > 0) return;
  env.sfiosInFlight.delete(sfio);
  const so = sfio.so;
  const m = sfio.m;
  env.trace.emit('iodone', () => ({
    so: so?.so_id ?? null,
    pages: sfio.npages,
    error: sfio.error?.code ?? null,
  }));
  if (so === null || m === null) return;
  if (sfio.error !== null) {
    // The socket is aborted (so_error EIO) and this chunk's not-ready units are freed: their
    // storages' free callbacks unwire the pages, left invalid by the failed read.
    env.sockets.prAbort(so, 'EIO');
    env.mbufs.mbFreeNotready(m, sfio.npages);
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
