// The /stats document: every kernel counter (vm, sfbuf, mbuf zones, sendfile, copy, sockets, as
// the kernel's stats() names them), the demo's per-route counters, atRest/leaks, and the
// `netstat -m` text. docs/stats.md documents the shape; /metrics and /events are built from it.
import type { KernelStats, KSocket, ResolvedKernelConfig } from '../../index.js';
import type { ConnectionCounters } from '../conn/index.js';
import { ROUTES, type RouteCounters, type RouteName, takeInflightPeak } from '../files/index.js';
import type { PanelContext } from './context.js';

export interface StatsSnapshot {
  /** Milliseconds since the server started (its own clock). */
  readonly uptime_ms: number;
  readonly server: {
    readonly root: string;
    readonly list: boolean;
    /** HTTPS with kernel TLS in this mode ('sw' or 'ifnet'); null: plain HTTP. No key material. */
    readonly tls: { readonly ktls: 'sw' | 'ifnet' } | null;
    readonly kernel: ResolvedKernelConfig;
  };
  /** The kernel's counters, section by section (vm, sfbuf, mbuf, sendfile, copy, sockets). */
  readonly kernel: KernelStats;
  readonly http: {
    readonly routes: Readonly<Record<RouteName, RouteCounters>>;
    /** Each route's highest `inflight` since the previous snapshot (as kernel.peaks for the gauges). */
    readonly inflight_peak: Readonly<Record<RouteName, number>>;
    readonly files: { readonly entries: number; readonly open_files: number };
    /** Connections accepted and open, and why the server closed some. */
    readonly connections: Readonly<ConnectionCounters>;
  };
  readonly atRest: boolean;
  readonly leaks: readonly string[];
  /** The kernel's `netstat -m` text. */
  readonly netstat: string;
}

function inflightPeaks(routes: Readonly<Record<RouteName, RouteCounters>>): Record<RouteName, number> {
  const out = {} as Record<RouteName, number>;
  for (const r of ROUTES) out[r] = takeInflightPeak(routes[r]);
  return out;
}

/** The document; `asking` is the socket of the request (what it holds is not counted as activity). */
export function takeSnapshot(ctx: PanelContext, asking: KSocket | null = null): StatsSnapshot {
  const kernel = ctx.conns.kernel;
  const rest = kernel.atRest(asking);
  return {
    uptime_ms: Math.round(ctx.conns.clock.nowMs() - ctx.startedAtMs),
    server: {
      root: ctx.options.root,
      list: ctx.options.list,
      tls: ctx.options.ktls === null ? null : { ktls: ctx.options.ktls },
      kernel: kernel.config,
    },
    kernel: kernel.stats(),
    http: {
      routes: ctx.files.routes,
      inflight_peak: inflightPeaks(ctx.files.routes),
      files: ctx.files.cache.counters(),
      connections: ctx.conns.counters,
    },
    atRest: rest.atRest,
    leaks: rest.leaks,
    netstat: kernel.netstatM(),
  };
}
