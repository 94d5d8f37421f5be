// `zcsim stat --watch`: one line per interval, as `vmstat 1` and `netstat -w 1` print: the time,
// then rates over the interval (requests, body bytes per route, sendfile calls, page-ins, bytes
// copied), the changes in it (aborts, sf_buf waits), and the pools in use at its end. The first
// line, as vmstat's, averages over the time since the server started. The header is printed
// again every HEADER_EVERY lines so that it stays on screen.
import { ROUTES, type StatsSnapshot } from '../http/index.js';

/** The numbers one line needs, taken from a /stats document. */
export interface WatchSample {
  /** The server's uptime: intervals are measured on its clock, not on ours. */
  readonly uptimeMs: number;
  readonly requests: number;
  readonly bodyBytes: Readonly<Record<(typeof ROUTES)[number], number>>;
  readonly sfSyscalls: number;
  readonly pagesPagedIn: number;
  readonly copiedBytes: number;
  readonly aborted: number;
  readonly sfAllocwait: number;
  readonly mbufs: number;
  readonly clusters: number;
  readonly wiredPages: number;
  /** kern.ipc.nsfbufs: 0 without a pool (dmap, extpg). */
  readonly nsfbufs: number;
  readonly sfbufsUsed: number;
  readonly inflight: number;
}

export const HEADER_EVERY = 20;

function num(root: unknown, ...path: string[]): number {
  let v = root;
  for (const key of path) v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : 0;
  return typeof v === 'number' ? v : 0;
}

export function sampleOf(snap: StatsSnapshot): WatchSample {
  const k = snap.kernel;
  const routes = snap.http.routes;
  const sum = (f: (r: (typeof routes)[keyof typeof routes]) => number): number =>
    ROUTES.reduce((n, r) => n + f(routes[r]), 0);
  return {
    uptimeMs: snap.uptime_ms,
    requests: sum((r) => r.requests),
    bodyBytes: {
      zerocopy: routes.zerocopy.body_bytes,
      copy: routes.copy.body_bytes,
      stream: routes.stream.body_bytes,
    },
    sfSyscalls: num(k, 'sendfile', 'sf_syscalls'),
    pagesPagedIn: num(k, 'vm', 'pages_paged_in'),
    copiedBytes: num(k, 'copy', 'copy_bytes_out') + num(k, 'copy', 'copy_bytes_in'),
    aborted: sum((r) => r.aborted),
    sfAllocwait: num(k, 'sfbuf', 'sf_allocwait'),
    mbufs: num(k, 'mbuf', 'mbuf', 'current'),
    clusters: num(k, 'mbuf', 'mbuf_cluster', 'current'),
    wiredPages: num(k, 'vm', 'v_wire_count'),
    nsfbufs: num(k, 'sfbuf', 'nsfbufs'),
    sfbufsUsed: num(k, 'sfbuf', 'nsfbufsused'),
    inflight: sum((r) => r.inflight),
  };
}

interface Column {
  readonly title: string;
  readonly width: number;
  readonly kvaOnly?: boolean;
  readonly value: (d: Delta) => string;
}

/** Two samples and the seconds between them (prev is all zeros for the first line). */
interface Delta {
  readonly prev: WatchSample;
  readonly cur: WatchSample;
  readonly seconds: number;
}

const rate = (d: Delta, f: (s: WatchSample) => number): number =>
  d.seconds > 0 ? (f(d.cur) - f(d.prev)) / d.seconds : 0;
const mbps = (d: Delta, f: (s: WatchSample) => number): string => (rate(d, f) / 1e6).toFixed(1);
const perSec = (d: Delta, f: (s: WatchSample) => number): string => String(Math.round(rate(d, f)));
const change = (d: Delta, f: (s: WatchSample) => number): string => String(f(d.cur) - f(d.prev));

const COLUMNS: readonly Column[] = [
  { title: 'req/s', width: 7, value: (d) => perSec(d, (s) => s.requests) },
  { title: 'zc MB/s', width: 8, value: (d) => mbps(d, (s) => s.bodyBytes.zerocopy) },
  { title: 'copy MB/s', width: 10, value: (d) => mbps(d, (s) => s.bodyBytes.copy) },
  { title: 'strm MB/s', width: 10, value: (d) => mbps(d, (s) => s.bodyBytes.stream) },
  { title: 'sf/s', width: 6, value: (d) => perSec(d, (s) => s.sfSyscalls) },
  { title: 'pgin/s', width: 7, value: (d) => perSec(d, (s) => s.pagesPagedIn) },
  { title: 'cp MB/s', width: 8, value: (d) => mbps(d, (s) => s.copiedBytes) },
  { title: 'abort', width: 6, value: (d) => change(d, (s) => s.aborted) },
  { title: 'mbufs', width: 6, value: (d) => String(d.cur.mbufs) },
  { title: 'clust', width: 6, value: (d) => String(d.cur.clusters) },
  { title: 'wired', width: 6, value: (d) => String(d.cur.wiredPages) },
  { title: 'sfbufs', width: 11, kvaOnly: true, value: (d) => `${d.cur.sfbufsUsed}/${d.cur.nsfbufs}` },
  { title: 'sfwait', width: 7, kvaOnly: true, value: (d) => change(d, (s) => s.sfAllocwait) },
  { title: 'infl', width: 5, value: (d) => String(d.cur.inflight) },
];

const TIME_WIDTH = 8;

function columns(kva: boolean): readonly Column[] {
  return COLUMNS.filter((c) => kva || !c.kvaOnly);
}

/** The column titles; sf_buf columns only when the kernel has a pool (kva). */
export function watchHeader(kva: boolean): string {
  return ['time'.padEnd(TIME_WIDTH), ...columns(kva).map((c) => c.title.padStart(c.width))].join(' ');
}

const ZERO: WatchSample = {
  uptimeMs: 0,
  requests: 0,
  bodyBytes: { zerocopy: 0, copy: 0, stream: 0 },
  sfSyscalls: 0,
  pagesPagedIn: 0,
  copiedBytes: 0,
  aborted: 0,
  sfAllocwait: 0,
  mbufs: 0,
  clusters: 0,
  wiredPages: 0,
  nsfbufs: 0,
  sfbufsUsed: 0,
  inflight: 0,
};

/** One line: `prev` null (or a server that restarted) averages over the server's whole uptime. */
export function watchRow(prev: WatchSample | null, cur: WatchSample, at: Date): string {
  const from = prev === null || prev.uptimeMs > cur.uptimeMs ? ZERO : prev;
  const d: Delta = { prev: from, cur, seconds: (cur.uptimeMs - from.uptimeMs) / 1000 };
  const time = at.toTimeString().slice(0, TIME_WIDTH);
  return [time, ...columns(cur.nsfbufs > 0).map((c) => c.value(d).padStart(c.width))].join(' ');
}
