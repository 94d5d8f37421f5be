// src/http: the fastify file server demo, its dashboard, /stats, /metrics and /events.
export { ERRNO_HTTP_STATUS, httpStatusOf } from './errno-status.js';
export type { JourneyStep } from './journey-fold.js';
export type { JourneyReport } from './journey-route.js';
export type {
  HttpKernelPort,
  KernelConfigForHttp,
  KernelFileRef,
  KernelSession,
  ResponseTransport,
} from './kernel-port.js';
export { ROUTES, type RouteCounters, type RouteName } from './route-stats.js';
export { MAX_RANGES } from './semantics.js';
export { buildServer, type ServerOptions, type ZcsimServer } from './server.js';
export type { StatsSnapshot } from './snapshot.js';
