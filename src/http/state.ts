// One server's state: its options, its kernel port, the open-file cache and the per-route
// counters. Nothing here is module-level: every buildServer() has its own.
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

  nextBoundary(): string {
    this.boundarySeq++;
    return `zcsim${String(this.boundarySeq).padStart(12, '0')}`;
  }
}
