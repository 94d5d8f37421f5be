// The simulator's counters as a run's report shows them, read from their one place in the typed
// snapshots (the kernel's stats(), or the server's GET /stats document), never searched for by
// name: several names occur in more than one place (v_wire_count under vm and under peaks,
// sf_allocwait under sfbuf and sendfile, copy_bytes_in under copy and sockets, nsfbufs in the
// config too).
import type { StatsSnapshot } from '../../src/http/index.js';
import type { KernelStats } from '../../src/index.js';

/** Monotonic counters, shown per run as the difference across it; each read from its section. */
const DELTA_COUNTERS = {
  copy_bytes_out: (k: KernelStats) => k.copy.copy_bytes_out,
  copy_bytes_in: (k: KernelStats) => k.copy.copy_bytes_in,
  sf_syscalls: (k: KernelStats) => k.sendfile.sf_syscalls,
  sf_iocnt: (k: KernelStats) => k.sendfile.sf_iocnt,
  sf_pages_read: (k: KernelStats) => k.sendfile.sf_pages_read,
  // The sf_buf layer's sleeps for a free buffer (sfstat's own counts sendfile's).
  sf_allocwait: (k: KernelStats) => k.sfbuf.sf_allocwait,
  sf_allocfail: (k: KernelStats) => k.sendfile.sf_allocfail,
  alloc_calls: (k: KernelStats) => k.sfbuf.alloc_calls,
  shootdowns: (k: KernelStats) => k.sfbuf.shootdowns,
  ipis: (k: KernelStats) => k.sfbuf.ipis,
  invlpg_local: (k: KernelStats) => k.sfbuf.invlpg_local,
  mapping_reuses: (k: KernelStats) => k.sfbuf.mapping_reuses,
  pageins: (k: KernelStats) => k.vm.pageins,
  pages_paged_in: (k: KernelStats) => k.vm.pages_paged_in,
} as const;

/** Levels, shown as the value after the run: the pool, its high-water mark, the pages wired now. */
const LEVEL_COUNTERS = {
  nsfbufs: (k: KernelStats) => k.sfbuf.nsfbufs,
  nsfbufspeak: (k: KernelStats) => k.sfbuf.nsfbufspeak,
  v_wire_count: (k: KernelStats) => k.vm.v_wire_count,
} as const;

export type CounterDelta = Partial<Record<keyof typeof DELTA_COUNTERS | keyof typeof LEVEL_COUNTERS, number>>;

/** What one run did to the kernel's counters, from its stats() before and after. */
export function counterDelta(before: KernelStats, after: KernelStats): CounterDelta {
  const out: CounterDelta = {};
  for (const [key, read] of Object.entries(DELTA_COUNTERS))
    out[key as keyof typeof DELTA_COUNTERS] = read(after) - read(before);
  for (const [key, read] of Object.entries(LEVEL_COUNTERS))
    out[key as keyof typeof LEVEL_COUNTERS] = read(after);
  return out;
}

type RouteKey = 'body_bytes' | 'copied_bytes' | 'cpu_read_bytes';

/** The difference of a route's counter across two /stats documents. */
function routeDelta(before: StatsSnapshot, after: StatsSnapshot, route: string, key: RouteKey): number {
  const a = before.http.routes[route as keyof StatsSnapshot['http']['routes']]?.[key];
  const b = after.http.routes[route as keyof StatsSnapshot['http']['routes']]?.[key];
  return a !== undefined && b !== undefined ? b - a : Number.NaN;
}

function perBodyByte(before: StatsSnapshot, after: StatsSnapshot, route: string, key: RouteKey): number {
  const bodyBytes = routeDelta(before, after, route, 'body_bytes');
  return bodyBytes > 0 ? routeDelta(before, after, route, key) / bodyBytes : Number.NaN;
}

/**
 * Bytes the CPU copied on a route's path per body byte sent, both counted by the server over the
 * same interval: /copy about 2 (read(2) copy-out + write(2) copy-in, plus the headers), /stream
 * about 1 (the host read into a Node buffer), /zerocopy about 0 (only the headers go into mbufs).
 */
export function copiesPerByte(before: StatsSnapshot, after: StatsSnapshot, route: string): number {
  return perBodyByte(before, after, route, 'copied_bytes');
}

/**
 * Memory traffic per body byte (src/kern/memtraffic.ts): bytes the CPU read on the route's path
 * (each copy and encryption pass; it writes as many): /zerocopy 0, with KTLS software 1, /copy 2,
 * /copy over TLS 3.
 */
export function memoryPerByte(before: StatsSnapshot, after: StatsSnapshot, route: string): number {
  return perBodyByte(before, after, route, 'cpu_read_bytes');
}

/** File bytes copied by the kernel's copy path (copy_bytes_out + copy_bytes_in) per byte sent. */
export function kernelCopiesPerByte(delta: CounterDelta, bytesSent: number): number {
  if (delta.copy_bytes_out === undefined || delta.copy_bytes_in === undefined || bytesSent <= 0) {
    return Number.NaN;
  }
  return (delta.copy_bytes_out + delta.copy_bytes_in) / bytesSent;
}
