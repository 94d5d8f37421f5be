// src/http: the file server demo over the simulated kernel, its dashboard, /stats, /metrics, /events.
export { type ConnectionCounters, PIPELINE_MAX, TLS13_CIPHERSUITES } from './conn/index.js';
export { ERRNO_HTTP_STATUS, ERRORS, type ErrorEntry, httpStatusOf } from './errors.js';
export { MAX_RANGES, ROUTES, type RouteCounters, type RouteName } from './files/index.js';
export { type JourneyReport, type JourneyStep, PCAP_USERAPPL } from './journey/index.js';
export { httpSndbufBytes } from './kernel-plugin.js';
export { SEND_TIMEOUT_MS_DEFAULT, SERVE_NODE_FLAGS, type ServerOptions, type TlsOptions } from './options.js';
export type { StatsSnapshot } from './panel/index.js';
export { buildServer, type ServerView, type ZcsimServer } from './server.js';
