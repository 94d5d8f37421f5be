// GET /metrics: the /stats counters in the Prometheus text format, through prom-client with a
// Registry of this server's own (never the global one, so that many servers can live in one
// process). Kernel counters become gauges named zcsim_<section>_<counter>; the per-route
// counters carry a `route` label (and `status` for responses).
import { Counter, Gauge, Registry } from 'prom-client';
import { ROUTES } from './route-stats.js';
import type { StatsSnapshot } from './snapshot.js';

const ROUTE_COUNTERS = [
  'requests',
  'body_bytes',
  'header_bytes',
  'copied_bytes',
  'aborted',
  'file_changed',
  'errors',
] as const;

function metricName(parts: readonly string[]): string {
  return parts.join('_').replace(/[^a-zA-Z0-9_]/g, '_');
}

/** Numeric leaves of a nested counter object, with their key paths. */
function numericLeaves(value: unknown, path: string[], out: [string[], number][], depth: number): void {
  if (typeof value === 'number' && Number.isFinite(value)) out.push([path, value]);
  else if (typeof value === 'boolean') out.push([path, value ? 1 : 0]);
  else if (value !== null && typeof value === 'object' && !Array.isArray(value) && depth < 4) {
    for (const [k, v] of Object.entries(value)) numericLeaves(v, [...path, k], out, depth + 1);
  }
}

export class Metrics {
  readonly registry = new Registry();
  private readonly kernelGauges = new Map<string, Gauge>();
  private readonly routeCounters = new Map<string, Counter<'route'>>();
  private readonly responses: Counter<'route' | 'status'>;
  private readonly inflight: Gauge<'route'>;
  private readonly atRest: Gauge;

  constructor() {
    const registers = [this.registry];
    for (const name of ROUTE_COUNTERS) {
      this.routeCounters.set(
        name,
        new Counter({
          name: `zcsim_http_${name}_total`,
          help: `HTTP ${name.replace('_', ' ')} per route`,
          labelNames: ['route'],
          registers,
        }),
      );
    }
    this.responses = new Counter({
      name: 'zcsim_http_responses_total',
      help: 'HTTP responses per route and status',
      labelNames: ['route', 'status'],
      registers,
    });
    this.inflight = new Gauge({
      name: 'zcsim_http_inflight',
      help: 'responses being sent per route',
      labelNames: ['route'],
      registers,
    });
    this.atRest = new Gauge({
      name: 'zcsim_kernel_at_rest',
      help: '1 when no sf_buf, mbuf or cluster is in use and no page is wired',
      registers,
    });
  }

  /** The Prometheus text for `snap`. */
  async render(snap: StatsSnapshot): Promise<string> {
    this.atRest.set(snap.atRest ? 1 : 0);
    for (const route of ROUTES) {
      const c = snap.http.routes[route];
      for (const name of ROUTE_COUNTERS) {
        const counter = this.routeCounters.get(name)!;
        counter.remove({ route });
        counter.inc({ route }, c[name]);
      }
      for (const [status, n] of Object.entries(c.responses)) {
        this.responses.remove({ route, status });
        this.responses.inc({ route, status }, n);
      }
      this.inflight.set({ route }, c.inflight);
    }
    const leaves: [string[], number][] = [];
    numericLeaves(snap.kernel, [], leaves, 0);
    for (const [path, value] of leaves) this.kernelGauge(metricName(['zcsim', ...path])).set(value);
    for (const [name, value] of Object.entries(snap.http.connections)) {
      this.kernelGauge(`zcsim_http_connections_${name}`, `HTTP connections: ${name.replace('_', ' ')}`).set(
        value,
      );
    }
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private kernelGauge(name: string, help = `kernel counter ${name.slice('zcsim_'.length)}`): Gauge {
    let g = this.kernelGauges.get(name);
    if (!g) {
      g = new Gauge({
        name,
        help,
        registers: [this.registry],
      });
      this.kernelGauges.set(name, g);
    }
    return g;
  }
}
