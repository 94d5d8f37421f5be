// Mirrors the mbuf side of sys/kern/kern_sendfile.c: the loop of vn_sendfile that turns a
// chunk's wired pages into mbufs (one EXT_SFBUF mbuf per page through an sf_buf, or M_EXTPG
// mbufs of up to MBUF_PEXT_MAX_PGS pages), and the free callbacks sendfile_free_mext and
// sendfile_free_mext_pg that the mbuf code calls when a storage's last reference goes.

import * as kern from '../kern/index.js';
import { kassert, pageIndexOf, panic } from '../kern/index.js';
import * as mbuf from '../mbuf/index.js';
import {
  EXT_FLAG_CACHE_LAST,
  M_WAITOK,
  MBUF_PEXT_MAX_PGS,
  type Mbuf,
  mbAllocExtPgs,
  mExtadd,
  mExtPgAppend,
  mFree,
  mGet,
} from '../mbuf/index.js';
import * as sfbuf from '../sfbuf/index.js';
import { SFB_CATCH, type SfBuf } from '../sfbuf/index.js';
import * as vm from '../vm/index.js';
import { PQ_INACTIVE, type VmPage } from '../vm/index.js';
import * as flags from './flags.js';
import { fixspace, vmoffInPage, xfsize } from './flags.js';
import {
  type SendfileEnv,
  type SendfileSync,
  type SfCall,
  type SfChunk,
  sendfileSyncSignal,
} from './sfio.js';
import { sendfileIowait } from './swapin.js';

// Module-local copies of the constants the per-page code tests: V8 reads an imported binding
// through its module cell at every use (a load and a check), a module-local const not at all.
const { PAGE_MASK, PAGE_SIZE } = kern;
const { EXT_FLAG_NOCACHE, EXT_FLAG_SYNC, EXT_SFBUF, M_NOTREADY, M_NOWAIT, M_RDONLY, MT_DATA } = mbuf;
const { SFB_NOWAIT } = sfbuf;
const { VPR_TRYFREE } = vm;
const { SF_NOCACHE } = flags;

/**
 * SF_NOCACHE frees pages once sent, except the chunk's last page when it is only partly sent and
 * more data follows or readahead is on: the next chunk needs it again.
 */
function keepCached(c: SfChunk, call: SfCall, i: number): boolean {
  return i === c.npages - 1 && ((c.off + c.space) & PAGE_MASK) !== 0 && (call.rem > c.space || c.rhpages > 0);
}

function setMPending(call: SfCall, m: Mbuf): void {
  call.mPending = m;
}

function setSfPending(call: SfCall, sf: SfBuf | null): void {
  call.sfPending = sf;
}

function chainAppend(c: SfChunk, m: Mbuf): void {
  if (c.mtail === null) c.mhead = m;
  else c.mtail.m_next = m;
  c.mtail = m;
}

/**
 * Builds the chunk's page mbufs from `c.built` on. Returns null when done, or a Promise when it
 * had to sleep (an mbuf, or the chain's first sf_buf); the caller awaits it and calls again.
 */
export function sendfileBuildMbufs(env: SendfileEnv, c: SfChunk, call: SfCall): Promise<void> | null {
  // TLS records always need unmapped mbufs.
  return env.mapping === 'extpg' || call.tls !== null ? buildExtpg(env, c, call) : buildSfbuf(env, c, call);
}

function buildSfbuf(env: SendfileEnv, c: SfChunk, call: SfCall): Promise<void> | null {
  // Only the chain's first mbuf and sf_buf may sleep (see buildSfbufFirst); the rest are NOWAIT.
  if (c.mhead === null && c.built < c.npages) {
    const p = buildSfbufFirst(env, c, call);
    if (p !== null || c.mhead === null) return p;
  }
  const mbufs = env.mbufs;
  const sfbufs = env.sfbufs;
  const pa = c.pa;
  const npages = c.npages;
  const notready = c.iosStarted > 0 ? M_NOTREADY : 0;
  const nocache = (call.flags & SF_NOCACHE) !== 0;
  for (let i = c.built; i < npages; i++) {
    const pg = pa[i]!;
    const m = mGet(mbufs, M_NOWAIT, MT_DATA);
    if (m === null) {
      c.built = i;
      return buildAllocfail(env, c, call, false);
    }
    // SFB_NOWAIT never sleeps: the answer is a buffer or null.
    const sf = sfbufs.sfBufAlloc(pg, SFB_NOWAIT, call.cpu) as SfBuf | null;
    if (sf === null) {
      c.built = i;
      call.mPending = m;
      return buildAllocfail(env, c, call, true);
    }
    sfbufAttach(env, c, call, m, sf, pg, i, notready, nocache);
  }
  c.built = npages;
  return null;
}

/**
 * The chain's first page: its mbuf (M_WAITOK unless header mbufs are held) and its sf_buf
 * (SFB_CATCH) may sleep; a sender holding buffers while it sleeps for more could deadlock with
 * another doing the same. XXX(sim): the kernel sleeps for every mbuf (M_WAITOK); with a zone
 * smaller than a chunk that deadlocks. An interrupted sleep is a failed allocation (ENOBUFS).
 */
function buildSfbufFirst(env: SendfileEnv, c: SfChunk, call: SfCall): Promise<void> | null {
  const i = c.built;
  const pg = c.pa[i]!;
  if (call.mPending === null) {
    const p = pendMbuf(
      env,
      c,
      call,
      mGet(env.mbufs, call.holdsHeader ? M_NOWAIT : M_WAITOK, MT_DATA, call.signal),
    );
    if (call.mPending === null) return p;
  }
  let sf: SfBuf | null;
  if (call.sfPending !== undefined) {
    sf = call.sfPending;
    call.sfPending = undefined;
  } else {
    const r = env.sfbufs.sfBufAlloc(pg, SFB_CATCH, call.cpu, call.signal);
    if (r instanceof Promise) return r.then((s) => setSfPending(call, s));
    sf = r;
  }
  if (sf === null) return buildAllocfail(env, c, call, true);
  const m = call.mPending;
  call.mPending = null;
  sfbufAttach(env, c, call, m, sf, pg, i, c.iosStarted > 0 ? M_NOTREADY : 0, (call.flags & SF_NOCACHE) !== 0);
  c.built = i + 1;
  return null;
}

/** The EXT_SFBUF mbuf of page i: the sf_buf's page as external storage, appended to the chain. */
function sfbufAttach(
  env: SendfileEnv,
  c: SfChunk,
  call: SfCall,
  m: Mbuf,
  sf: SfBuf,
  pg: VmPage,
  i: number,
  notready: number,
  nocache: boolean,
): void {
  const sync = call.sync;
  mExtadd(
    env.mbufs,
    m,
    env.sfbufs.sfBufBytes(sf),
    PAGE_SIZE,
    env.freeMext,
    sf,
    sync,
    0,
    EXT_SFBUF,
    pg.physAddr,
  );
  if (nocache || sync !== null) sfbufExtFlags(c, call, m, i, nocache);
  m.m_flags |= M_RDONLY | notready;
  // A page inside the chunk is whole; the first and last may be cut (vmoff, xfsize).
  const npages = c.npages;
  if (i > 0 && i < npages - 1) {
    m.m_data = 0;
    m.m_len = PAGE_SIZE;
  } else {
    m.m_data = vmoffInPage(i, c.off);
    m.m_len = xfsize(i, npages, c.off, c.space);
  }
  chainAppend(c, m);
}

/** SF_NOCACHE and SF_SYNC on a page's storage (sync: one more storage to wait for). */
function sfbufExtFlags(c: SfChunk, call: SfCall, m: Mbuf, i: number, nocache: boolean): void {
  let extFlags = 0;
  if (nocache && !keepCached(c, call, i)) extFlags |= EXT_FLAG_NOCACHE;
  if (call.sync !== null) {
    extFlags |= EXT_FLAG_SYNC;
    call.sync.count++;
  }
  m.m_ext!.ext_flags |= extFlags;
}

/**
 * No sf_buf (or, after the first, no mbuf) without sleeping: cut the chunk to the pages already
 * mapped. The reads of this chunk are waited for ("sfnosf") before the unused pages are unwired;
 * with nothing built the call ends with ENOBUFS.
 */
function buildAllocfail(env: SendfileEnv, c: SfChunk, call: SfCall, noSfBuf: boolean): Promise<void> | null {
  if (noSfBuf) env.sfstat.sf_allocfail++;
  if (call.mPending !== null) {
    mFree(env.mbufs, call.mPending);
    call.mPending = null;
  }
  const finish = (): void => {
    for (let j = c.built; j < c.npages; j++) {
      env.vm.vmPageUnwire(c.pa[j]!, PQ_INACTIVE);
      c.pa[j] = null;
    }
    if (c.mhead === null) call.softerr = 'ENOBUFS';
    c.space = fixspace(c.built, c.off, c.space);
    c.npages = c.built;
  };
  const wait = sendfileIowait(c.sfio!);
  if (wait !== null) return wait.then(finish);
  finish();
  return null;
}

/**
 * An mbuf allocation's answer: kept in call.mPending, or else what the builder returns (the
 * sleep, or the chunk cut short); the caller returns that when call.mPending is still null.
 */
function pendMbuf(
  env: SendfileEnv,
  c: SfChunk,
  call: SfCall,
  r: Mbuf | null | Promise<Mbuf>,
): Promise<void> | null {
  if (r instanceof Promise)
    return r.then(
      (m) => setMPending(call, m),
      () => mbufAllocfail(env, c, call),
    );
  if (r === null) return buildAllocfail(env, c, call, false);
  call.mPending = r;
  return null;
}

/** An interrupted sleep for the chain's first mbuf: the chunk ends as with no buffer. */
function mbufAllocfail(env: SendfileEnv, c: SfChunk, call: SfCall): Promise<void> | undefined {
  return buildAllocfail(env, c, call, false) ?? undefined;
}

function buildExtpg(env: SendfileEnv, c: SfChunk, call: SfCall): Promise<void> | null {
  const notready = c.iosStarted > 0;
  const maxPgs = call.tls !== null ? Math.ceil(call.tls.params.max_frame_len / PAGE_SIZE) : MBUF_PEXT_MAX_PGS;
  while (c.built < c.npages) {
    const i = c.built;
    const pg = c.pa[i]!;
    let m = c.mcur;
    if (m === null || m.m_epg!.m_epg_npgs === maxPgs) {
      if (call.mPending === null) {
        const how = c.mhead === null && !call.holdsHeader ? M_WAITOK : M_NOWAIT;
        const p = pendMbuf(
          env,
          c,
          call,
          mbAllocExtPgs(env.mbufs, how, env.freeMextPg, call.sync, null, 0, call.signal),
        );
        if (call.mPending === null) return p;
      }
      m = call.mPending;
      call.mPending = null;
      let extFlags = (call.flags & SF_NOCACHE) !== 0 ? EXT_FLAG_NOCACHE : 0;
      if (call.sync !== null) {
        extFlags |= EXT_FLAG_SYNC;
        call.sync.count++;
      }
      m.m_ext!.ext_flags |= extFlags;
      m.m_flags |= M_RDONLY;
      c.mcur = m;
      chainAppend(c, m);
    }
    mExtPgAppend(env.mbufs, m, pg.physAddr, vmoffInPage(i, c.off), xfsize(i, c.npages, c.off, c.space));
    if (notready) {
      m.m_flags |= M_NOTREADY;
      m.m_epg!.m_epg_nrdy++;
    }
    if ((call.flags & SF_NOCACHE) !== 0 && keepCached(c, call, i)) m.m_ext!.ext_flags |= EXT_FLAG_CACHE_LAST;
    c.built++;
  }
  return null;
}

/**
 * sendfile_free_mext: called by the mbuf code exactly once, when the last reference to an
 * EXT_SFBUF storage goes. Frees the sf_buf (ext_arg1), releases the page's wiring (to be freed
 * at once under SF_NOCACHE), and signals an SF_SYNC caller (ext_arg2).
 */
export function sendfileFreeMext(env: SendfileEnv, m: Mbuf): void {
  const ext = m.m_ext;
  if (ext === null || ext.ext_type !== EXT_SFBUF) panic('sendfile_free_mext: not an EXT_SFBUF mbuf');
  const sf = ext.ext_arg1 as SfBuf;
  const sfbufs = env.sfbufs;
  const pg = sfbufs.sfBufPage(sf);
  if (env.trace.on) traceFreeMext(env, sf, pg);
  sfbufs.sfBufFree(sf);
  env.vm.vmPageRelease(pg, (ext.ext_flags & EXT_FLAG_NOCACHE) !== 0 ? VPR_TRYFREE : 0);
  if ((ext.ext_flags & EXT_FLAG_SYNC) !== 0) sendfileSyncSignal(ext.ext_arg2 as SendfileSync);
  if (env.invariants) env.checkAll();
}

function traceFreeMext(env: SendfileEnv, sf: SfBuf, pg: VmPage): void {
  env.trace.emit('free_mext', () => ({ kva: sf.kva, physIndex: pg.physIndex }));
}

/**
 * sendfile_free_mext_pg: the same for an M_EXTPG storage: every page it carries is released
 * (the last one without VPR_TRYFREE under EXT_FLAG_CACHE_LAST); the SF_SYNC state is ext_arg1.
 */
export function sendfileFreeMextPg(env: SendfileEnv, m: Mbuf): void {
  const epg = m.m_epg;
  const ext = m.m_ext;
  kassert(epg !== null && ext !== null, 'sendfile_free_mext_pg: not an M_EXTPG mbuf');
  const flags = ext.ext_flags;
  const pages = env.vm.pages;
  if (env.trace.on) {
    const physIndexes = epg.m_epg_pa.slice(0, epg.m_epg_npgs).map((pa) => Math.floor(pa / PAGE_SIZE));
    env.trace.emit('free_mext_pg', () => ({ pages: physIndexes }));
  }
  for (let i = 0; i < epg.m_epg_npgs; i++) {
    const pg = pages[pageIndexOf(epg.m_epg_pa[i]!)];
    if (pg === undefined) panic(`sendfile_free_mext_pg: no page at ${epg.m_epg_pa[i]}`);
    const cacheLast = i === epg.m_epg_npgs - 1 && (flags & EXT_FLAG_CACHE_LAST) !== 0;
    env.vm.vmPageRelease(pg, (flags & EXT_FLAG_NOCACHE) !== 0 && !cacheLast ? VPR_TRYFREE : 0);
  }
  if ((flags & EXT_FLAG_SYNC) !== 0) sendfileSyncSignal(ext.ext_arg1 as SendfileSync);
  if (env.invariants) env.checkAll();
}
