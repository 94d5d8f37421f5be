// The panel room's one context: what the dashboard and the tools read. The connections' context
// gives the kernel (its sysctl-like reads: stats, at rest, netstat), the clock and the connection
// counters; the files' context the route counters and the cache; the options what the server is.
import type { Connections } from '../conn/index.js';
import type { FilesContext } from '../files/index.js';
import type { ResolvedServerOptions } from '../options.js';

export interface PanelContext {
  readonly conns: Connections;
  readonly files: FilesContext;
  readonly options: ResolvedServerOptions;
  /** When the server started, on its clock. */
  readonly startedAtMs: number;
}
