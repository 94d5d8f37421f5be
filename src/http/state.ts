// One server's state: its options, its kernel port, the open-file cache and the per-route
// counters. Nothing here is module-level: every buildServer() has its own.
import { setMaxListeners } from 'node:events';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../kern/index.js';
import type { FileCache } from './file-cache.js';
import type { HttpKernelPort } from './kernel-port.js';
import { newRouteCounters, type RouteCounters, type RouteName } from './route-stats.js';

export interface ResolvedOptions {
  readonly root: string;
  readonly realRoot: string;
  readonly list: boolean;
  readonly dotfiles: boolean;
  readonly revalidateMs: number;
  readonly eventsIntervalMs: number;
}

export class ServerState {
  readonly routes: Record<RouteName, RouteCounters> = {
    zerocopy: newRouteCounters(),
    copy: newRouteCounters(),
    stream: newRouteCounters(),
  };
  /** Per-server multipart boundary sequence (deterministic, like nginx's boundary counter). */
  private boundarySeq = 0;
  /** Each connection's abort, fired when it closes (every body on it stops). */
  private readonly connectionAborts = new WeakMap<Socket, AbortController>();
  /** Set by onClose: whether the kernel was at rest when the server closed. */
  closeReport: { atRest: boolean; leaks: string[] } | null = null;

  constructor(
    readonly options: ResolvedOptions,
    readonly kernel: HttpKernelPort,
    readonly files: FileCache,
    readonly clock: Clock,
    readonly log: FastifyBaseLogger,
    readonly startedAtMs: number,
  ) {}

  /**
   * The signal that aborts when `socket` closes, shared by every body sent on the connection
   * (pipelined ones still queued included): one AbortController and one 'close' listener per
   * connection, however many responses it carries.
   */
  connectionSignal(socket: Socket): AbortSignal {
    let abort = this.connectionAborts.get(socket);
    if (!abort) {
      const created = new AbortController();
      // Every pipelined body waiting on the connection listens to it: no leak warning at 11.
      setMaxListeners(0, created.signal);
      abort = created;
      this.connectionAborts.set(socket, created);
      if (socket.destroyed) created.abort();
      else socket.once('close', () => created.abort());
    }
    return abort.signal;
  }

  nextBoundary(): string {
    this.boundarySeq++;
    return `zcsim${String(this.boundarySeq).padStart(12, '0')}`;
  }
}
