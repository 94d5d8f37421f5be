// Mirrors the per-kernel mbuf state of sys/kern/kern_mbuf.c as the rest of the system sees it:
// one instance holds the zones, and offers the room's routines (plain functions over it, in
// alloc.ts, extpg.ts and chain.ts, as the vm and net rooms are built), the listing of a chain's
// bytes for writev, the counters behind `netstat -m`, and the at-rest check.
import { type Tracer, tracer } from '../kern/index.js';
import {
  type MbufConfig,
  type MbufCore,
  mbufCheckInvariants,
  mbufZonesCreate,
  mExtadd,
  mFree,
  mFreem,
  mGet,
  mGetcl,
  mGethdr,
} from './alloc.js';
import { mAdj, mAppend, mCat, mCopyback, mCopydata, mCopym, mLength } from './chain.js';
import { MBUF_LIMITS_DEFAULT, type MbufHow, MJUM9BYTES, MJUM16BYTES, MJUMPAGESIZE } from './constants.js';
import { mbAllocExtPgs, mbFreeNotready, mExtPgAppend } from './extpg.js';
import type { Mbuf, MExtFree } from './mbuf.js';
import { idleZone, type MbufCounters, mbufBytes, type ZoneCounters } from './netstat.js';
import { CopyOutSink, mbufWalk, ViewJoiner } from './walk.js';
import type { Zone } from './zone.js';

function zoneCounters(z: Zone<unknown>): ZoneCounters {
  return {
    current: z.current,
    cache: z.cache,
    total: z.total,
    max: z.limit,
    failures: z.failures,
    sleeps: z.sleeps,
    sizeBytes: z.itemSizeBytes,
  };
}

/** One per kernel: the "mbuf" and "mbuf_cluster" zones and every mbuf routine. */
export class MbufAllocator implements MbufCore {
  readonly mbufZone: Zone<Mbuf>;
  readonly clusterZone: Zone<Uint8Array>;
  extLive = 0;
  readonly invariants: boolean;
  readonly kernelId: number;
  readonly dmap: (physAddr: number, lengthBytes: number) => Uint8Array;
  readonly trace: Tracer;
  readonly copyOut = new CopyOutSink();
  private readonly joiner = new ViewJoiner();

  constructor(readonly config: MbufConfig) {
    this.invariants = config.invariants;
    this.kernelId = config.kernelId;
    this.dmap = config.dmap;
    this.trace = tracer('mbuf', config.kernelId);
    const zones = mbufZonesCreate(config);
    this.mbufZone = zones.mbufZone;
    this.clusterZone = zones.clusterZone;
  }

  /** m_get (alloc.ts). */
  mGet(how: MbufHow, type: number, signal?: AbortSignal): Mbuf | null | Promise<Mbuf> {
    return mGet(this, how, type, signal);
  }

  /** m_gethdr (alloc.ts). */
  mGethdr(how: MbufHow, type: number, signal?: AbortSignal): Mbuf | null | Promise<Mbuf> {
    return mGethdr(this, how, type, signal);
  }

  /** m_getcl (alloc.ts). */
  mGetcl(how: MbufHow, type: number, flags: number, signal?: AbortSignal): Mbuf | null | Promise<Mbuf> {
    return mGetcl(this, how, type, flags, signal);
  }

  /** m_extadd (alloc.ts). */
  mExtadd(
    m: Mbuf,
    buf: Uint8Array,
    sizeBytes: number,
    freef: MExtFree | null,
    arg1: unknown,
    arg2: unknown,
    flags: number,
    type: number,
  ): void {
    mExtadd(this, m, buf, sizeBytes, freef, arg1, arg2, flags, type);
  }

  /** m_free (alloc.ts). */
  mFree(m: Mbuf): Mbuf | null {
    return mFree(this, m);
  }

  /** m_freem (alloc.ts). */
  mFreem(m: Mbuf | null): void {
    mFreem(this, m);
  }

  /** mb_alloc_ext_pgs (extpg.ts). */
  mbAllocExtPgs(
    how: MbufHow,
    freef: MExtFree,
    arg1: unknown,
    arg2: unknown,
    flags: number,
    signal?: AbortSignal,
  ): Mbuf | null | Promise<Mbuf> {
    return mbAllocExtPgs(this, how, freef, arg1, arg2, flags, signal);
  }

  /** One more page of an M_EXTPG mbuf (extpg.ts). */
  mExtPgAppend(m: Mbuf, physAddr: number, offsetInPageBytes: number, lengthBytes: number): void {
    mExtPgAppend(this, m, physAddr, offsetInPageBytes, lengthBytes);
  }

  /** mb_free_notready (extpg.ts). */
  mbFreeNotready(m: Mbuf | null, count: number): void {
    mbFreeNotready(this, m, count);
  }

  /** m_copym (chain.ts). */
  mCopym(m0: Mbuf, offsetBytes: number, lengthBytes: number, how: MbufHow): Mbuf | null {
    return mCopym(this, m0, offsetBytes, lengthBytes, how);
  }

  /** m_copydata (chain.ts). */
  mCopydata(m: Mbuf, offsetBytes: number, lengthBytes: number, into: Uint8Array): void {
    mCopydata(this, m, offsetBytes, lengthBytes, into);
  }

  /** m_copyback (chain.ts). */
  mCopyback(m0: Mbuf, offsetBytes: number, lengthBytes: number, from: Uint8Array): boolean {
    return mCopyback(this, m0, offsetBytes, lengthBytes, from);
  }

  /** m_append (chain.ts). */
  mAppend(m0: Mbuf, from: Uint8Array): boolean {
    return mAppend(this, m0, from);
  }

  /** m_cat (chain.ts). */
  mCat(m0: Mbuf, n0: Mbuf | null): void {
    mCat(this, m0, n0);
  }

  /** m_adj (chain.ts). */
  mAdj(mp: Mbuf | null, reqLenBytes: number): void {
    mAdj(this, mp, reqLenBytes);
  }

  /** m_length (chain.ts). */
  mLength(m: Mbuf | null): number {
    return mLength(this, m);
  }

  /** The O(n) rules of the zones and of every storage (alloc.ts). */
  /** The zones' high-water marks since the previous read (reset by reading). */
  takePeaks(): { readonly mbufs: number; readonly clusters: number } {
    return { mbufs: this.mbufZone.takePeak(), clusters: this.clusterZone.takePeak() };
  }

  checkInvariants(): void {
    mbufCheckInvariants(this);
  }

  /**
   * Pushes onto `out` views of the chain's first `maxBytes` bytes, for one writev: spans that
   * continue each other in the same ArrayBuffer (adjacent pages of an M_EXTPG mbuf, EXT_SFBUF
   * mbufs on adjacent pages, neighbouring clusters) become one view. Returns the bytes listed.
   * XXX(sim): the kernel hands TCP the mbufs; the host kernel wants fewer, larger buffers.
   */
  mbufViews(m: Mbuf | null, maxBytes: number, out: Uint8Array[]): number {
    this.joiner.begin(out);
    const n = mbufWalk(m, 0, maxBytes, this.dmap, this.joiner);
    this.joiner.done();
    return n;
  }

  /** The counters of `netstat -m` lines 1-11 (a frozen snapshot). */
  counters(): MbufCounters {
    const zones = {
      mbuf: zoneCounters(this.mbufZone),
      mbuf_cluster: zoneCounters(this.clusterZone),
      mbuf_packet: idleZone(0, 0),
      mbuf_jumbo_page: idleZone(this.config.nmbjumbop ?? MBUF_LIMITS_DEFAULT.nmbjumbop, MJUMPAGESIZE),
      mbuf_jumbo_9k: idleZone(this.config.nmbjumbo9 ?? MBUF_LIMITS_DEFAULT.nmbjumbo9, MJUM9BYTES),
      mbuf_jumbo_16k: idleZone(this.config.nmbjumbo16 ?? MBUF_LIMITS_DEFAULT.nmbjumbo16, MJUM16BYTES),
    };
    const { inUse, inCache } = mbufBytes(zones);
    return Object.freeze({
      ...zones,
      bytes_in_use: inUse,
      bytes_in_cache: inCache,
      bytes_total: inUse + inCache,
      ext_live: this.extLive,
    });
  }

  /** What is not at rest: mbufs or clusters in use, sleepers, live external storage. */
  atRest(): string[] {
    const out: string[] = [];
    const m = this.mbufZone;
    const cl = this.clusterZone;
    if (m.current !== 0) out.push(`mbuf: ${m.current} mbufs in use`);
    if (cl.current !== 0) out.push(`mbuf: ${cl.current} clusters in use`);
    if (m.sleepers !== 0) out.push(`mbuf: ${m.sleepers} sleepers on the mbuf zone`);
    if (cl.sleepers !== 0) out.push(`mbuf: ${cl.sleepers} sleepers on the cluster zone`);
    if (this.extLive !== 0) out.push(`mbuf: ${this.extLive} external storages not freed`);
    return out;
  }
}
