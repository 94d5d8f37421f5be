// One server's state: its options, its kernel port, the open-file cache and the per-route
// counters. Nothing here is module-level: every buildServer() has its own.
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
  /** Bodies being sent on each connection, aborted together when it closes. */
  private readonly connectionAborts = new WeakMap<Socket, Set<AbortController>>();
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
   * Aborts `abort` when `socket` closes; returns the function that stops watching. One 'close'
   * listener per connection, however many responses are pipelined on it.
   */
  watchConnection(socket: Socket, abort: AbortController): () => void {
    if (socket.destroyed) abort.abort();
    let set = this.connectionAborts.get(socket);
    if (!set) {
      const created = new Set<AbortController>();
      set = created;
      this.connectionAborts.set(socket, created);
      socket.once('close', () => {
        for (const a of created) a.abort();
        created.clear();
        this.connectionAborts.delete(socket);
      });
    }
    set.add(abort);
    const watching = set;
    return () => {
      watching.delete(abort);
    };
  }

  nextBoundary(): string {
    this.boundarySeq++;
    return `zcsim${String(this.boundarySeq).padStart(12, '0')}`;
  }
}
