// src/http: the file server demo over the simulated kernel, its dashboard, /stats, /metrics, /events.
export { type ConnectionCounters, PIPELINE_MAX } from './connection.js';
export { ERRNO_HTTP_STATUS, ERRORS, type ErrorEntry, httpStatusOf } from './errors.js';
export type { JourneyStep } from './journey-fold.js';
export type { JourneyReport } from './journey-route.js';
export { httpSndbufBytes } from './kernel-plugin.js';
export { ROUTES, type RouteCounters, type RouteName } from './route-stats.js';
export { MAX_RANGES } from './semantics.js';
export {
  buildServer,
  SEND_TIMEOUT_MS_DEFAULT,
  type ServerOptions,
  TLS13_CIPHERSUITES,
  type TlsOptions,
  type ZcsimServer,
} from './server.js';
export type { StatsSnapshot } from './snapshot.js';
