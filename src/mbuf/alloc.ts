// Mirrors sys/kern/kern_mbuf.c: the "mbuf" and "mbuf_cluster" zones, m_get/m_gethdr/m_getcl,
// m_extadd, and m_free with mb_free_ext/mb_free_extpg (M_EXTPG allocation is in extpg.ts). Plain
// functions over the room's state (MbufCore), as vm and net are; MbufAllocator offers them.
//
// Synchronous fast path: an allocation that does not have to sleep returns the mbuf; with
// M_NOWAIT at a zone's limit it returns null (the zone's failures++); with M_WAITOK it returns a
// Promise that resolves when an item is freed for it (the zone's sleeps++). The hot paths make no
// closure, promise or object: Mbuf objects, their m_ext and their page list are reused.
import { panic, type Tracer } from '../kern/index.js';
import * as constants from './constants.js';
import { type MbufHow, MCLBYTES } from './constants.js';
import { checkMbufZones } from './invariants.js';
import * as mbufH from './mbuf.js';
import { Mbuf, type MExt, type MExtFree, newMExt } from './mbuf.js';
import type { CopyOutSink } from './walk.js';
import { Zone } from './zone.js';

// Module-local copies of the constants the per-page code tests: V8 reads an imported binding
// through its module cell at every use (a load and a check), a module-local const not at all.
const {
  EXT_CLUSTER,
  EXT_EXTREF,
  EXT_FLAG_EMBREF,
  EXT_FLAG_EXTREF,
  M_EXT,
  M_EXTPG,
  M_NOWAIT,
  M_PKTHDR,
  MHLEN,
  MLEN,
  MSIZE,
} = constants;
const { EMPTY_BYTES, MS_FREE, MS_LIVE, MS_ZOMBIE } = mbufH;

export interface MbufConfig {
  /** kern.ipc.nmbufs: limit of the "mbuf" zone. */
  readonly nmbufs: number;
  /** kern.ipc.nmbclusters: limit of the "mbuf_cluster" zone. */
  readonly nmbclusters: number;
  readonly invariants: boolean;
  readonly kernelId: number;
  /**
   * The direct map, for the pages of M_EXTPG mbufs: physical memory itself, where a physical
   * address is a byte offset (PHYS_TO_DMAP is an addition, not an object).
   */
  readonly dmap: ArrayBufferLike;
  /** Limits netstat -m prints for the jumbo zones (we keep no jumbo zones). */
  readonly nmbjumbop?: number;
  readonly nmbjumbo9?: number;
  readonly nmbjumbo16?: number;
}

/** Items carved per slab: 64 mbufs (16 KiB) or 16 clusters (32 KiB). */
const MBUF_SLAB_ITEMS = 64;
const CLUSTER_SLAB_ITEMS = 16;

/**
 * The state of the mbuf room that its routines work on (MbufAllocator is the one instance per
 * kernel): the "mbuf" and "mbuf_cluster" zones, the count of live external storages, and the
 * reusable sinks of the chain walks.
 */
export interface MbufCore {
  readonly config: MbufConfig;
  readonly mbufZone: Zone<Mbuf>;
  readonly clusterZone: Zone<Uint8Array>;
  /** External storages attached and not yet freed. */
  extLive: number;
  readonly invariants: boolean;
  readonly kernelId: number;
  readonly dmap: ArrayBufferLike;
  /** Events on the "zcsim:mbuf" channel: zone_denied and zone_sleep (slow paths only). */
  readonly trace: Tracer;
  /** m_copydata's sink, reused. */
  readonly copyOut: CopyOutSink;
  /** The debug mode's O(n) check (a method, so that a test can watch it run). */
  checkInvariants(): void;
}

/** The zones of a new allocator, with the kernel's slab sizes. */
export function mbufZonesCreate(config: MbufConfig): { mbufZone: Zone<Mbuf>; clusterZone: Zone<Uint8Array> } {
  return {
    mbufZone: new Zone('mbuf', MSIZE, config.nmbufs, MBUF_SLAB_ITEMS, carveMbuf),
    clusterZone: new Zone('mbuf_cluster', MCLBYTES, config.nmbclusters, CLUSTER_SLAB_ITEMS, carveCluster),
  };
}

/**
 * m_get: a plain mbuf, data at M_START (MLEN bytes of room). XXX(sim): an M_WAITOK sleep ends
 * with EINTR when `signal` aborts (the kernel's is uninterruptible; a closed connection must
 * end every wait here).
 */
export function mGet(mb: MbufCore, how: typeof M_NOWAIT, type: number): Mbuf | null;
export function mGet(
  mb: MbufCore,
  how: MbufHow,
  type: number,
  signal?: AbortSignal,
): Mbuf | null | Promise<Mbuf>;
export function mGet(
  mb: MbufCore,
  how: MbufHow,
  type: number,
  signal?: AbortSignal,
): Mbuf | null | Promise<Mbuf> {
  const m = mb.mbufZone.alloc();
  if (m === null) return mbufShortage(mb, how, type, 0, signal);
  mInit(mb, m, type, 0);
  if (mb.invariants) mb.checkInvariants();
  return m;
}

/** m_gethdr: a packet-header mbuf (MHLEN bytes of room). */
export function mGethdr(
  mb: MbufCore,
  how: MbufHow,
  type: number,
  signal?: AbortSignal,
): Mbuf | null | Promise<Mbuf> {
  const m = mb.mbufZone.alloc();
  if (m === null) return mbufShortage(mb, how, type, M_PKTHDR, signal);
  mInit(mb, m, type, M_PKTHDR);
  if (mb.invariants) mb.checkInvariants();
  return m;
}

/** m_getcl: an mbuf with a 2 KiB cluster attached (EXT_CLUSTER); `flags` may hold M_PKTHDR. */
export function mGetcl(
  mb: MbufCore,
  how: MbufHow,
  type: number,
  flags: number,
  signal?: AbortSignal,
): Mbuf | null | Promise<Mbuf> {
  const m = mb.mbufZone.alloc();
  if (m === null) {
    if (how === M_NOWAIT) return deny(mb, mb.mbufZone);
    return mGetclSleep(mb, null, type, flags, signal);
  }
  mInit(mb, m, type, flags);
  const cl = mb.clusterZone.alloc();
  if (cl === null) {
    if (how !== M_NOWAIT) return mGetclSleep(mb, m, type, flags, signal);
    mRelease(mb, m);
    return deny(mb, mb.clusterZone);
  }
  mClattach(mb, m, cl);
  if (mb.invariants) mb.checkInvariants();
  return m;
}

/**
 * m_extadd: attaches external storage to a fresh mbuf: M_EXT|flags, data at the start of `buf`,
 * one reference (EXT_FLAG_EMBREF). The free routine runs once, when the last reference goes.
 * `pa`: the physical address of `buf` when it is a page of physical memory (ext_pa), else -1.
 * XXX(sim): EXT_EXTREF gets its own MExt (the caller's counter in the kernel) and its free
 * routine is called with the last mbuf freed; every sharer is reclaimed at once.
 */
export function mExtadd(
  mb: MbufCore,
  m: Mbuf,
  buf: Uint8Array,
  sizeBytes: number,
  freef: MExtFree | null,
  arg1: unknown,
  arg2: unknown,
  flags: number,
  type: number,
  pa = -1,
): void {
  if (m.m_state !== MS_LIVE || (m.m_flags & M_EXT) !== 0 || type === EXT_CLUSTER) mExtaddRefused(m, type);
  const ext = type === EXT_EXTREF ? newMExt() : m.m_ext_embedded;
  const extFlags = type === EXT_EXTREF ? EXT_FLAG_EXTREF : EXT_FLAG_EMBREF;
  mExtSet(mb, m, ext, buf, sizeBytes, type, extFlags, freef, arg1, arg2);
  ext.ext_pa = pa;
  m.m_flags |= M_EXT | flags;
  if (mb.invariants) mExtaddCheck(mb, buf, sizeBytes, pa);
}

function mExtaddRefused(m: Mbuf, type: number): never {
  if (type === EXT_CLUSTER) panic('m_extadd: EXT_CLUSTER not allowed');
  panic(`m_extadd: mbuf not fresh (${m.m_state})`);
}

/** Debug mode only: reading the view's length and place costs a cache miss per page. */
function mExtaddCheck(mb: MbufCore, buf: Uint8Array, sizeBytes: number, pa: number): void {
  if (sizeBytes > buf.length) panic(`m_extadd: size ${sizeBytes} > buffer ${buf.length}`);
  if (pa >= 0 && (buf.buffer !== mb.dmap || buf.byteOffset !== pa))
    panic(`m_extadd: buffer is not page ${pa}`);
  mb.checkInvariants();
}

/** m_free: frees one mbuf (dropping its storage reference) and returns the next in the chain. */
export function mFree(mb: MbufCore, m: Mbuf): Mbuf | null {
  const n = mFreeOne(mb, m);
  if (mb.invariants) mb.checkInvariants();
  return n;
}

/** m_freem: frees a whole chain. */
export function mFreem(mb: MbufCore, m: Mbuf | null): void {
  while (m !== null) m = mFreeOne(mb, m);
  if (mb.invariants) mb.checkInvariants();
}

/** The O(n) rules of the zones and of every storage; throws KernelAssertionError naming one. */
export function mbufCheckInvariants(mb: MbufCore): void {
  const broken = checkMbufZones(mb.mbufZone, mb.clusterZone, mb.extLive);
  if (broken.length > 0) panic(`mbuf invariants: ${broken.join('; ')}`);
}

/** m_free without the invariant walk. */
export function mFreeOne(mb: MbufCore, m: Mbuf): Mbuf | null {
  if (m.m_state !== MS_LIVE) mFreeRefused(m);
  const n = m.m_next;
  if ((m.m_flags & (M_EXT | M_EXTPG)) !== 0) mbFreeExt(mb, m);
  else mRelease(mb, m);
  return n;
}

function mFreeRefused(m: Mbuf): never {
  panic(`m_free: mbuf ${m.m_state === MS_FREE ? 'already free' : 'is a freed owner'} (double free)`);
}

/**
 * mb_free_ext / mb_free_extpg: drops m's reference. The last one frees the storage (cluster to
 * its zone, or ext_free(owner) exactly once) and reclaims the owner; an owner freed earlier
 * waits as a zombie.
 */
export function mbFreeExt(mb: MbufCore, m: Mbuf): void {
  const ext = m.m_ext;
  if (ext === null || ext.ext_count <= 0) mbFreeExtRefused(ext);
  const mref = ext.ext_mref;
  if (--ext.ext_count > 0) {
    mbFreeShared(mb, m, mref);
    return;
  }
  mb.extLive--;
  if ((m.m_flags & M_EXTPG) === 0 && ext.ext_type === EXT_CLUSTER) mb.clusterZone.free(ext.ext_buf);
  else if (ext.ext_free !== null) ext.ext_free(mref ?? m);
  ext.ext_free = null;
  ext.ext_arg1 = null;
  ext.ext_arg2 = null;
  ext.ext_buf = EMPTY_BYTES;
  if (mref !== null && mref !== m) mRelease(mb, mref);
  mRelease(mb, m);
}

function mbFreeExtRefused(ext: MExt | null): never {
  panic(`mb_free_ext: bad reference count ${ext?.ext_count}`);
}

/** A reference to storage others still hold: the owner waits as a zombie, a sharer goes. */
function mbFreeShared(mb: MbufCore, m: Mbuf, mref: Mbuf | null): void {
  if (m === mref) {
    m.m_state = MS_ZOMBIE;
    m.m_next = null;
    m.m_nextpkt = null;
  } else mRelease(mb, m);
}

/** Back to the zone, every field reset. */
export function mRelease(mb: MbufCore, m: Mbuf): void {
  m.m_state = MS_FREE;
  m.m_next = null;
  m.m_nextpkt = null;
  m.m_len = 0;
  m.m_flags = 0;
  m.m_data = 0;
  m.m_buf = m.m_dat;
  m.m_ext = null;
  m.m_epg = null;
  m.m_pkthdr_len = 0;
  mb.mbufZone.free(m);
}

/** m_init: a live mbuf with empty internal storage; data at M_START. */
export function mInit(_mb: MbufCore, m: Mbuf, type: number, flags: number): Mbuf {
  m.m_state = MS_LIVE;
  m.m_type = type;
  m.m_flags = flags;
  m.m_data = (flags & M_PKTHDR) !== 0 ? MSIZE - MHLEN : MSIZE - MLEN;
  return m;
}

/** An allocation refused at a zone's limit. */
export function deny(mb: MbufCore, zone: Zone<Mbuf> | Zone<Uint8Array>): null {
  zone.failures++;
  if (mb.trace.on) mb.trace.emit('zone_denied', () => ({ zone: zone.name, limit: zone.limit }));
  return null;
}

/** M_WAITOK at a zone's limit: sleep on "zonelimit" until an item is freed for us. */
export function zoneSleep<T, R>(
  mb: MbufCore,
  zone: Zone<T>,
  take: (item: T) => R,
  signal?: AbortSignal,
): Promise<R> {
  if (mb.trace.on) mb.trace.emit('zone_sleep', () => ({ zone: zone.name, sleepers: zone.sleepers + 1 }));
  return zone.sleepAlloc(take, signal);
}

export function mbufShortage(
  mb: MbufCore,
  how: MbufHow,
  type: number,
  flags: number,
  signal: AbortSignal | undefined,
): null | Promise<Mbuf> {
  if (how === M_NOWAIT) return deny(mb, mb.mbufZone);
  return zoneSleep(
    mb,
    mb.mbufZone,
    (m) => {
      mInit(mb, m, type, flags);
      if (mb.invariants) mb.checkInvariants();
      return m;
    },
    signal,
  );
}

/** m_getcl's sleeps; an interrupted sleep for the cluster gives back the mbuf already held. */
async function mGetclSleep(
  mb: MbufCore,
  m: Mbuf | null,
  type: number,
  flags: number,
  signal: AbortSignal | undefined,
): Promise<Mbuf> {
  const mm = m ?? (await zoneSleep(mb, mb.mbufZone, (w) => mInit(mb, w, type, flags), signal));
  const cl = mb.clusterZone.alloc();
  if (cl !== null) mClattach(mb, mm, cl);
  else {
    try {
      await zoneSleep(mb, mb.clusterZone, (c) => mClattach(mb, mm, c), signal);
    } catch (e) {
      mRelease(mb, mm);
      throw e;
    }
  }
  if (mb.invariants) mb.checkInvariants();
  return mm;
}

/** m_cljset for a 2 KiB cluster: the mbuf owns it (EMBREF, one reference, no free routine). */
export function mClattach(mb: MbufCore, m: Mbuf, cl: Uint8Array): void {
  mExtSet(mb, m, m.m_ext_embedded, cl, MCLBYTES, EXT_CLUSTER, EXT_FLAG_EMBREF, null, null, null);
  m.m_flags |= M_EXT;
}

/** Fills `ext`, with one reference, and points m at it; the data starts at the buffer. */
export function mExtSet(
  mb: MbufCore,
  m: Mbuf,
  ext: MExt,
  buf: Uint8Array,
  sizeBytes: number,
  type: number,
  extFlags: number,
  freef: MExtFree | null,
  arg1: unknown,
  arg2: unknown,
): void {
  ext.ext_buf = buf;
  ext.ext_pa = -1;
  ext.ext_size = sizeBytes;
  ext.ext_type = type;
  ext.ext_flags = extFlags;
  ext.ext_free = freef;
  ext.ext_arg1 = arg1;
  ext.ext_arg2 = arg2;
  ext.ext_count = 1;
  ext.ext_mref = (extFlags & EXT_FLAG_EMBREF) !== 0 ? m : null;
  m.m_ext = ext;
  m.m_buf = buf;
  m.m_data = 0;
  mb.extLive++;
}

function carveMbuf(slab: ArrayBuffer, offsetBytes: number): Mbuf {
  return new Mbuf(new Uint8Array(slab, offsetBytes, MSIZE));
}

function carveCluster(slab: ArrayBuffer, offsetBytes: number): Uint8Array {
  return new Uint8Array(slab, offsetBytes, MCLBYTES);
}
