// src/http/panel: what the dashboard and tools read. /stats (snapshot), /metrics (Prometheus),
// /events (the live stream), /files, /compare (a load run per route), the dashboard's assets, and
// the bridge that answers panel requests through fastify on a connection's kernel socket. Its one
// context (context) refers to the connections' and the files' rather than copying them.

export type { PanelContext } from './context.js';
export { EVENT_CLIENTS_MAX, EVENT_STALL_MS, EventHub, type EventSink } from './events.js';
export { KERNEL_METRICS } from './metric-table.js';
export { Panel } from './panel.js';
export { PANEL_BODY_MAX_BYTES } from './routes.js';
export { type StatsSnapshot, takeSnapshot } from './snapshot.js';
