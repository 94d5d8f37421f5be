// Reading the simulator's counters out of `kernel.stats()` or `GET /stats` by their kernel
// names, wherever in the JSON they sit, and turning two snapshots into what one run did.

/** Depth-first search for a numeric field named `key`; the first one found wins. */
export function findCounter(snapshot: unknown, key: string, depthMax = 6): number | undefined {
  if (depthMax < 0 || typeof snapshot !== 'object' || snapshot === null) return undefined;
  const record = snapshot as Record<string, unknown>;
  const direct = record[key];
  if (typeof direct === 'number') return direct;
  for (const value of Object.values(record)) {
    const found = findCounter(value, key, depthMax - 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Counters the reports show per run: monotonic ones as deltas, levels (peak, wired) as the after value. */
export const DELTA_COUNTERS = [
  'copy_bytes_out',
  'copy_bytes_in',
  'sf_syscalls',
  'sf_iocnt',
  'sf_pages_read',
  'sf_allocwait',
  'sf_allocfail',
  'alloc_calls',
  'shootdowns',
  'ipis',
  'invlpg_local',
  'mapping_reuses',
  'pageins',
  'pages_paged_in',
] as const;
export const LEVEL_COUNTERS = ['nsfbufs', 'nsfbufspeak', 'v_wire_count'] as const;

export type CounterDelta = Partial<
  Record<(typeof DELTA_COUNTERS)[number] | (typeof LEVEL_COUNTERS)[number], number>
>;

export function counterDelta(before: unknown, after: unknown): CounterDelta {
  const out: CounterDelta = {};
  for (const key of DELTA_COUNTERS) {
    const a = findCounter(before, key);
    const b = findCounter(after, key);
    if (a !== undefined && b !== undefined) out[key] = b - a;
  }
  for (const key of LEVEL_COUNTERS) {
    const b = findCounter(after, key);
    if (b !== undefined) out[key] = b;
  }
  return out;
}

type RouteKey = 'body_bytes' | 'copied_bytes' | 'cpu_read_bytes';

/** A zcsim route's counter from GET /stats (http.routes.<route>.<key>), if present. */
export function routeCounter(snapshot: unknown, route: string, key: RouteKey): number | undefined {
  const routes = (snapshot as { http?: { routes?: Record<string, Record<string, unknown>> } } | null)?.http
    ?.routes;
  const value = routes?.[route]?.[key];
  return typeof value === 'number' ? value : undefined;
}

/**
 * Bytes the CPU copied on a route's path per body byte sent, both counted by the server over the
 * same interval: /copy about 2 (read(2) copy-out + write(2) copy-in, plus the headers), /stream
 * about 1 (the host read into a Node buffer), /zerocopy about 0 (only the headers go into mbufs).
 */
export function copiesPerByte(before: unknown, after: unknown, route: string): number {
  return perBodyByte(before, after, route, 'copied_bytes');
}

/**
 * Memory traffic per body byte (src/kern/memtraffic.ts): bytes the CPU read on the route's path
 * (each copy and encryption pass; it writes as many): /zerocopy 0, with KTLS software 1, /copy 2,
 * /copy over TLS 3.
 */
export function memoryPerByte(before: unknown, after: unknown, route: string): number {
  return perBodyByte(before, after, route, 'cpu_read_bytes');
}

function perBodyByte(before: unknown, after: unknown, route: string, key: RouteKey): number {
  const delta = (k: RouteKey) => {
    const a = routeCounter(before, route, k);
    const b = routeCounter(after, route, k);
    return a !== undefined && b !== undefined ? b - a : Number.NaN;
  };
  const bodyBytes = delta('body_bytes');
  return bodyBytes > 0 ? delta(key) / bodyBytes : Number.NaN;
}

/** File bytes copied by the kernel's copy path (copy_bytes_out + copy_bytes_in) per byte sent. */
export function kernelCopiesPerByte(delta: CounterDelta, bytesSent: number): number {
  if (delta.copy_bytes_out === undefined || delta.copy_bytes_in === undefined || bytesSent <= 0) {
    return Number.NaN;
  }
  return (delta.copy_bytes_out + delta.copy_bytes_in) / bytesSent;
}
