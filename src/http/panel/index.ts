// src/http/panel: what the dashboard and tools read. /stats (snapshot), /metrics (Prometheus),
// /events (the live stream), /files, /compare (a load run per route), the dashboard's assets, and
// the bridge that answers panel requests through fastify on a connection's kernel socket.

export { loadAssets } from './assets.js';
export { respondEvents, respondPanel } from './bridge.js';
export { Comparer } from './compare.js';
export { EVENT_CLIENTS_MAX, EVENT_STALL_MS, EventHub } from './events.js';
export { KERNEL_METRICS } from './metric-table.js';
export { Metrics } from './metrics.js';
export { PANEL_BODY_MAX_BYTES, registerPanelRoutes } from './routes.js';
export { type StatsSnapshot, takeSnapshot } from './snapshot.js';
