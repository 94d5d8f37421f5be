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

/** Bytes copied in JavaScript per payload byte sent: 2 on the copy path, 0 on sendfile. */
export function copiesPerByte(delta: CounterDelta, payloadBytes: number): number {
  if (delta.copy_bytes_out === undefined || delta.copy_bytes_in === undefined || payloadBytes <= 0)
    return Number.NaN;
  return (delta.copy_bytes_out + delta.copy_bytes_in) / payloadBytes;
}
