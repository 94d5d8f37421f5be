// Mirrors the per-kernel mbuf state of sys/kern/kern_mbuf.c: one instance holds the zones that
// the room's routines work on (plain functions over it, in alloc.ts, extpg.ts and chain.ts, called
// directly as the kernel calls m_get), the listing of a chain's bytes for writev, the counters
// behind `netstat -m`, and the at-rest check.
import { type Tracer, tracer } from '../kern/index.js';
import { type MbufConfig, type MbufCore, mbufCheckInvariants, mbufZonesCreate } from './alloc.js';
import { MBUF_LIMITS_DEFAULT, MJUM9BYTES, MJUM16BYTES, MJUMPAGESIZE } from './constants.js';
import { type MbufHolding, NO_HOLDING } from './holding.js';
import type { Mbuf } from './mbuf.js';
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

/** One per kernel: the "mbuf" and "mbuf_cluster" zones the mbuf routines work on. */
export class MbufAllocator implements MbufCore {
  readonly mbufZone: Zone<Mbuf>;
  readonly clusterZone: Zone<Uint8Array>;
  extLive = 0;
  readonly invariants: boolean;
  readonly kernelId: number;
  readonly dmap: ArrayBufferLike;
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

  /**
   * What is not at rest: mbufs or clusters in use, sleepers, live external storage; `except` is
   * what one chain holds that does not count (the asking socket's, see holding.ts).
   */
  atRest(except: MbufHolding = NO_HOLDING): string[] {
    const out: string[] = [];
    const m = this.mbufZone;
    const cl = this.clusterZone;
    const mbufs = m.current - except.mbufs;
    const clusters = cl.current - except.clusters;
    const storages = this.extLive - except.storages;
    if (mbufs !== 0) out.push(`mbuf: ${mbufs} mbufs in use`);
    if (clusters !== 0) out.push(`mbuf: ${clusters} clusters in use`);
    if (m.sleepers !== 0) out.push(`mbuf: ${m.sleepers} sleepers on the mbuf zone`);
    if (cl.sleepers !== 0) out.push(`mbuf: ${cl.sleepers} sleepers on the cluster zone`);
    if (storages !== 0) out.push(`mbuf: ${storages} external storages not freed`);
    return out;
  }
}
