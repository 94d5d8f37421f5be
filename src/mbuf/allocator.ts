// Mirrors the per-kernel mbuf state of sys/kern/kern_mbuf.c as the rest of the system sees it:
// the allocator with its chain routines, the listing of a chain's bytes for writev, the counters
// behind `netstat -m`, and the at-rest check.

import { MbufChains } from './chain.js';
import { MBUF_LIMITS_DEFAULT, MJUM9BYTES, MJUM16BYTES, MJUMPAGESIZE } from './constants.js';
import type { Mbuf } from './mbuf.js';
import { idleZone, type MbufCounters, mbufBytes, type ZoneCounters } from './netstat.js';
import { mbufWalk, ViewJoiner } from './walk.js';
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
export class MbufAllocator extends MbufChains {
  private readonly joiner = new ViewJoiner();

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
