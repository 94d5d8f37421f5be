// The /stats document: every kernel counter (vm, sfbuf, mbuf zones, sendfile, copy, sockets, as
// the kernel's stats() names them), the demo's per-route counters, atRest/leaks, and the
// `netstat -m` text. docs/stats.md documents the shape; /metrics and /events are built from it.
import type { KernelStats, ResolvedKernelConfig } from '../../index.js';
import type { ConnectionCounters } from '../conn/index.js';
import type { ServerState } from '../files/index.js';
import { ROUTES, type RouteCounters, type RouteName, takeInflightPeak } from '../files/index.js';

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

function inflightPeaks(state: ServerState): Record<RouteName, number> {
  const out = {} as Record<RouteName, number>;
  for (const r of ROUTES) out[r] = takeInflightPeak(state.routes[r]);
  return out;
}

export function takeSnapshot(state: ServerState): StatsSnapshot {
  const rest = state.kernel.atRest();
  return {
    uptime_ms: Math.round(state.clock.nowMs() - state.startedAtMs),
    server: {
      root: state.options.root,
      list: state.options.list,
      tls: state.options.ktls === null ? null : { ktls: state.options.ktls },
      kernel: state.kernel.config,
    },
    kernel: state.kernel.stats(),
    http: {
      routes: state.routes,
      inflight_peak: inflightPeaks(state),
      files: state.files.counters(),
      connections: state.connections,
    },
    atRest: rest.atRest,
    leaks: rest.leaks,
    netstat: state.kernel.netstatM(),
  };
}
