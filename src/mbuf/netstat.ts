// Mirrors the mbuf part of usr.bin/netstat/mbuf.c (mbpr): the zone counters as libmemstat reports
// them, and lines 1-11 of `netstat -m`. The sf_buf and sendfile lines (12-23) belong to the rooms
// that keep those counters; they append their lines after these.
import { KiB, PAGE_SIZE } from '../kern/index.js';

/** One zone as netstat sees it. Counts are items; `sizeBytes` is the item size. */
export interface ZoneCounters {
  /** Items in use ("current"; memstat's count). */
  readonly current: number;
  /** Free items held by the zone ("cache"; memstat's free). */
  readonly cache: number;
  /** current + cache. */
  readonly total: number;
  /** The zone's limit ("max"). */
  readonly max: number;
  /** Requests refused at the limit ("denied"). */
  readonly failures: number;
  /** Requests that slept at the limit ("delayed"). */
  readonly sleeps: number;
  readonly sizeBytes: number;
}

/** The counters behind `netstat -m` lines 1-11, keyed by UMA zone name. */
export interface MbufCounters {
  readonly mbuf: ZoneCounters;
  readonly mbuf_cluster: ZoneCounters;
  /** XXX(sim): no packet secondary zone is kept; always zero. */
  readonly mbuf_packet: ZoneCounters;
  /** XXX(sim): no jumbo zones are kept; zero but for their limits. */
  readonly mbuf_jumbo_page: ZoneCounters;
  readonly mbuf_jumbo_9k: ZoneCounters;
  readonly mbuf_jumbo_16k: ZoneCounters;
  /** Bytes of mbuf memory in use, cached, and both (netstat prints them in KiB). */
  readonly bytes_in_use: number;
  readonly bytes_in_cache: number;
  readonly bytes_total: number;
  /** External storages attached and not yet freed (their free routine has not run). */
  readonly ext_live: number;
}

/** A zone that is not kept: nothing in it, only a limit to print. */
export function idleZone(max: number, sizeBytes: number): ZoneCounters {
  return { current: 0, cache: 0, total: 0, max, failures: 0, sleeps: 0, sizeBytes };
}

/** mbpr's byte sums (usr.bin/netstat/mbuf.c), over every zone including the unused ones. */
export function mbufBytes(
  c: Omit<MbufCounters, 'bytes_in_use' | 'bytes_in_cache' | 'bytes_total' | 'ext_live'>,
): {
  inUse: number;
  inCache: number;
} {
  const p = c.mbuf_packet;
  const jumbo = [c.mbuf_jumbo_page, c.mbuf_jumbo_9k, c.mbuf_jumbo_16k];
  let inUse =
    (c.mbuf.current + p.current) * c.mbuf.sizeBytes +
    p.current * c.mbuf_cluster.sizeBytes +
    (c.mbuf_cluster.current - p.current - p.cache) * c.mbuf_cluster.sizeBytes;
  let inCache =
    (c.mbuf.cache + p.cache) * c.mbuf.sizeBytes + (p.cache + c.mbuf_cluster.cache) * c.mbuf_cluster.sizeBytes;
  for (const z of jumbo) {
    inUse += z.current * z.sizeBytes;
    inCache += z.cache * z.sizeBytes;
  }
  return { inUse, inCache };
}

/** Lines 1-11 of `netstat -m`: "numbers separated by '/', one space, label". */
export function netstatMbufLines(c: MbufCounters): string[] {
  const m = c.mbuf;
  const cl = c.mbuf_cluster;
  const p = c.mbuf_packet;
  const jp = c.mbuf_jumbo_page;
  const j9 = c.mbuf_jumbo_9k;
  const j16 = c.mbuf_jumbo_16k;
  const zone4 = (z: ZoneCounters): string => `${z.current}/${z.cache}/${z.total}/${z.max}`;
  const kib = (n: number): string => `${Math.floor(n / KiB)}K`;
  return [
    `${m.current + p.current}/${m.cache + p.cache}/${m.current + p.current + m.cache + p.cache} mbufs in use (current/cache/total)`,
    `${cl.current - p.cache}/${cl.cache + p.cache}/${cl.current + cl.cache}/${cl.max} mbuf clusters in use (current/cache/total/max)`,
    `${p.current}/${p.cache} mbuf+clusters out of packet secondary zone in use (current/cache)`,
    `${zone4(jp)} ${PAGE_SIZE / KiB}k (page size) jumbo clusters in use (current/cache/total/max)`,
    `${zone4(j9)} 9k jumbo clusters in use (current/cache/total/max)`,
    `${zone4(j16)} 16k jumbo clusters in use (current/cache/total/max)`,
    `${kib(c.bytes_in_use)}/${kib(c.bytes_in_cache)}/${kib(c.bytes_total)} bytes allocated to network (current/cache/total)`,
    `${m.failures}/${cl.failures}/${p.failures} requests for mbufs denied (mbufs/clusters/mbuf+clusters)`,
    `${m.sleeps}/${cl.sleeps}/${p.sleeps} requests for mbufs delayed (mbufs/clusters/mbuf+clusters)`,
    `${jp.sleeps}/${j9.sleeps}/${j16.sleeps} requests for jumbo clusters delayed (${PAGE_SIZE / KiB}k/9k/16k)`,
    `${jp.failures}/${j9.failures}/${j16.failures} requests for jumbo clusters denied (${PAGE_SIZE / KiB}k/9k/16k)`,
  ];
}
