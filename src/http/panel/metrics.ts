// GET /metrics: the /stats counters in the Prometheus text format, through prom-client with a
// Registry of this server's own (never the global one, so that many servers can live in one
// process). Names, types and HELP come from metric-table.ts; routes, zones, statuses and errnos
// are labels; the settings are one info metric; prom-client's default process metrics are added
// at the first scrape. A kernel value the table does not name yet is still exported, as a gauge
// zcsim_<section>_<key>.
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { ConnectionCounters } from '../conn/index.js';
import { ROUTES, type RouteCounters } from '../files/index.js';
import { ABORT_ERRNOS, KERNEL_METRICS, type KernelMetric, ZONE_METRICS } from './metric-table.js';
import type { StatsSnapshot } from './snapshot.js';

type Metric = Counter<string> | Gauge<string>;

/** A metric read from one field of a counters object: the /stats key, its name and what it counts. */
interface FieldMetric<T> {
  readonly key: keyof T;
  readonly name: string;
  readonly type: 'counter' | 'gauge';
  readonly help: string;
}

/** Per-route counters. */
const ROUTE_METRICS: readonly FieldMetric<RouteCounters>[] = [
  {
    key: 'requests',
    name: 'zcsim_http_requests_total',
    type: 'counter',
    help: 'Requests that reached the route',
  },
  { key: 'body_bytes', name: 'zcsim_http_body_bytes_total', type: 'counter', help: 'Body bytes written' },
  {
    key: 'header_bytes',
    name: 'zcsim_http_header_bytes_total',
    type: 'counter',
    help: 'Status line and header bytes written (multipart part headers included)',
  },
  {
    key: 'copied_bytes',
    name: 'zcsim_http_copied_bytes_total',
    type: 'counter',
    help: "Bytes the CPU copied on the route's path (headers; the body twice on /copy, once on /stream)",
  },
  {
    key: 'encrypted_bytes',
    name: 'zcsim_http_encrypted_bytes_total',
    type: 'counter',
    help: "Bytes the CPU encrypted on the route's path over TLS (OpenSSL, or kernel TLS in software; not the NIC's)",
  },
  {
    key: 'cpu_read_bytes',
    name: 'zcsim_http_memory_read_bytes_total',
    type: 'counter',
    help: "Memory traffic: bytes the CPU read on the route's path (each copy and encryption pass reads its input once)",
  },
  {
    key: 'cpu_write_bytes',
    name: 'zcsim_http_memory_write_bytes_total',
    type: 'counter',
    help: "Memory traffic: bytes the CPU wrote on the route's path (each copy and encryption pass writes its output once)",
  },
  {
    key: 'aborted',
    name: 'zcsim_http_aborted_responses_total',
    type: 'counter',
    help: 'Responses cut short because the client went away',
  },
  {
    key: 'file_changed',
    name: 'zcsim_http_file_changed_responses_total',
    type: 'counter',
    help: 'Responses cut short because the file changed while it was sent',
  },
  {
    key: 'changed_during_send',
    name: 'zcsim_http_changed_during_send_responses_total',
    type: 'counter',
    help: 'Responses sent whole while a write changed their file (the client got what the page cache held at each moment)',
  },
  {
    key: 'errors',
    name: 'zcsim_http_failed_responses_total',
    type: 'counter',
    help: 'Responses cut short by another error after the head was sent',
  },
  {
    key: 'inflight',
    name: 'zcsim_http_responses_in_flight',
    type: 'gauge',
    help: 'Responses being sent now',
  },
];

/** The connection layer's counters (http.connections in /stats). */
const CONNECTION_METRICS: readonly FieldMetric<ConnectionCounters>[] = [
  {
    key: 'accepted',
    name: 'zcsim_http_connections_accepted_total',
    type: 'counter',
    help: 'TCP connections accepted (one kernel socket each)',
  },
  { key: 'open', name: 'zcsim_http_connections_open', type: 'gauge', help: 'TCP connections open now' },
  {
    key: 'send_timeouts',
    name: 'zcsim_http_send_timeouts_total',
    type: 'counter',
    help: 'Connections closed because their socket took no byte for the send timeout',
  },
  {
    key: 'idle_timeouts',
    name: 'zcsim_http_idle_timeouts_total',
    type: 'counter',
    help: 'Keep-alive connections closed after idling',
  },
  {
    key: 'parse_errors',
    name: 'zcsim_http_parse_errors_total',
    type: 'counter',
    help: 'Requests refused by the parser (400, 411, 413, 431)',
  },
  {
    key: 'pool_503',
    name: 'zcsim_http_pool_exhausted_responses_total',
    type: 'counter',
    help: 'Responses answered 503 because a kernel pool was exhausted before they started',
  },
  {
    key: 'pipelined',
    name: 'zcsim_http_pipelined_requests_total',
    type: 'counter',
    help: 'Requests parsed while others were unanswered on the same connection',
  },
  {
    key: 'input_budget_pauses',
    name: 'zcsim_http_input_budget_pauses_total',
    type: 'counter',
    help: 'Times a connection stopped reading because its unanswered input reached its budget',
  },
  {
    key: 'ktls_takeovers',
    name: 'zcsim_http_ktls_takeovers_total',
    type: 'counter',
    help: 'TLS connections whose send side kernel TLS took over (setsockopt TCP_TXTLS_ENABLE)',
  },
];

function snake(key: string): string {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^a-zA-Z0-9_]/g, '_')
    .toLowerCase();
}

function asRecord(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

/** Sets a metric, just reset by render(), to the snapshot's value (a counter: increased to it). */
function setTo(m: Metric, labels: Record<string, string>, value: number): void {
  if (m instanceof Counter) m.inc(labels, value);
  else m.set(labels, value);
}

export class Metrics {
  readonly registry = new Registry();
  private readonly metrics = new Map<string, Metric>();
  private defaultsOn = false;

  /** A metric of this registry, made at its first use. */
  private metric(name: string, type: 'counter' | 'gauge', help: string, labelNames: string[] = []): Metric {
    let m = this.metrics.get(name);
    if (!m) {
      const config = { name, help, labelNames, registers: [this.registry] };
      m = type === 'counter' ? new Counter(config) : new Gauge(config);
      this.metrics.set(name, m);
    }
    return m;
  }

  /** The Prometheus text for `snap`. */
  async render(snap: StatsSnapshot): Promise<string> {
    if (!this.defaultsOn) {
      collectDefaultMetrics({ register: this.registry });
      this.defaultsOn = true;
    }
    // Counters hold the snapshot's absolute values: cleared, then set, at each scrape.
    for (const m of this.metrics.values()) m.reset();
    this.renderHttp(snap);
    this.renderKernel(asRecord(snap.kernel));
    const config: Record<string, string> = {};
    for (const [k, v] of Object.entries(snap.server.kernel)) {
      if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean')
        config[snake(k)] = String(v);
    }
    config.list = String(snap.server.list);
    const info = this.metric(
      'zcsim_config_info',
      'gauge',
      'The settings the server runs with, as labels (value always 1)',
      Object.keys(config),
    );
    setTo(info, config, 1);
    setTo(
      this.metric(
        'zcsim_kernel_at_rest',
        'gauge',
        '1 when no sf_buf, mbuf or cluster is in use and no page is wired',
      ),
      {},
      snap.atRest ? 1 : 0,
    );
    this.renderConnections(snap.http.connections);
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private renderHttp(snap: StatsSnapshot): void {
    for (const route of ROUTES) {
      const c = snap.http.routes[route];
      for (const r of ROUTE_METRICS) {
        const v = c[r.key];
        if (typeof v === 'number') setTo(this.metric(r.name, r.type, r.help, ['route']), { route }, v);
      }
      const responses = this.metric('zcsim_http_responses_total', 'counter', 'Responses by status code', [
        'route',
        'status',
      ]);
      for (const [status, n] of Object.entries(c.responses)) setTo(responses, { route, status }, n);
    }
    const files = snap.http.files;
    setTo(
      this.metric('zcsim_http_file_cache_entries', 'gauge', 'Entries of the open-file cache'),
      {},
      files.entries,
    );
    setTo(
      this.metric('zcsim_http_open_files', 'gauge', 'Files the server holds open in the kernel'),
      {},
      files.open_files,
    );
  }

  private renderConnections(c: Readonly<ConnectionCounters>): void {
    for (const m of CONNECTION_METRICS) setTo(this.metric(m.name, m.type, m.help), {}, c[m.key]);
  }

  private renderKernel(kernel: Record<string, unknown>): void {
    const named = new Set<string>();
    for (const k of KERNEL_METRICS) {
      named.add(`${k.section}.${k.key}`);
      const v = asRecord(kernel[k.section])[k.key];
      if (typeof v === 'number') setTo(this.kernelMetric(k), {}, v);
    }
    // The netstat -m zones: objects under kernel.mbuf with a `current` field.
    for (const [zone, fields] of Object.entries(asRecord(kernel.mbuf))) {
      const f = asRecord(fields);
      if (typeof f.current !== 'number') continue;
      named.add(`mbuf.${zone}`);
      for (const z of ZONE_METRICS) {
        const v = f[z.field];
        if (typeof v === 'number') setTo(this.metric(z.name, z.type, z.help, ['zone']), { zone }, v);
      }
    }
    const aborts = this.metric(
      'zcsim_socket_aborts_total',
      'counter',
      'Connections dropped with an error (tcp_drop), by errno',
      ['errno'],
    );
    named.add('sockets.aborts');
    const counted = asRecord(asRecord(kernel.sockets).aborts);
    for (const errno of new Set([...ABORT_ERRNOS, ...Object.keys(counted)])) {
      const n = counted[errno];
      setTo(aborts, { errno }, typeof n === 'number' ? n : 0);
    }
    // Anything else numeric: exported as it is, so that a new kernel counter is never hidden.
    for (const [section, values] of Object.entries(kernel)) {
      for (const [key, v] of Object.entries(asRecord(values))) {
        if (typeof v !== 'number' || named.has(`${section}.${key}`)) continue;
        const name = `zcsim_${snake(section)}_${snake(key)}`;
        setTo(this.metric(name, 'gauge', `Kernel value ${section}.${key} (no description yet)`), {}, v);
      }
    }
  }

  private kernelMetric(k: KernelMetric): Metric {
    return this.metric(k.name, k.type, k.help);
  }
}
