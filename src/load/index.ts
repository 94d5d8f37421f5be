// src/load: the load side of the project, in user space like any client: one keep-alive HTTP/1.1
// client (hashing, abort, slow and stall modes), load runs over it, the child-process runner and
// its messages, and the statistics. Used by the dashboard's Compare, the benchmark, the soak and
// the tests. Imports only src/kern.
export type { AutocannonRequest, AutocannonSummary } from './autocannon.js';
export { builtScript, ChildHandle, type ChildOptions, type Handler, postEvent, serveIpc } from './child.js';
export {
  type ClientResponse,
  connectRaw,
  HttpClient,
  hostForUrl,
  type OnSocket,
  type RequestOptions,
  requestHead,
} from './client.js';
export type { HeldClientsRequest, HeldClientsResult } from './held.js';
export { listenLoopback } from './listen.js';
export {
  type ExpectedBody,
  type LatencySummary,
  type LoadRequest,
  type LoadResult,
  runLoad,
  type WindowEvent,
} from './load.js';
export { patternBytes, patternFill } from './pattern.js';
export { SlowReader, type SlowReaderOptions } from './slow.js';
export { median, megabytesPerSecond, percentile, ratio } from './stats.js';

/** The load generator's script, for ChildHandle. */
export const LOADER_SCRIPT = 'loader.js';
