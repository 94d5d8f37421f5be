// One server's state: its options, its kernel, the open-file cache, the per-route counters and
// the connection counters. Nothing here is module-level: every buildServer() has its own.
import type { FastifyBaseLogger } from 'fastify';
import type { Kernel, KernelAtRest } from '../../index.js';
import type { Clock } from '../../kern/index.js';
import { type ConnectionCounters, newConnectionCounters } from '../conn/index.js';
import type { FileCache } from './file-cache.js';
import { newRouteCounters, type RouteCounters, type RouteName } from './route-stats.js';

export interface ResolvedOptions {
  readonly root: string;
  readonly realRoot: string;
  readonly list: boolean;
  readonly dotfiles: boolean;
  readonly revalidateMs: number;
  readonly eventsIntervalMs: number;
  readonly sendTimeoutMs: number;
  /** HTTPS with kernel TLS in this mode; null: plain HTTP. */
  readonly ktls: 'sw' | 'ifnet' | null;
}

export class ServerState {
  readonly routes: Record<RouteName, RouteCounters> = {
    zerocopy: newRouteCounters(),
    copy: newRouteCounters(),
    stream: newRouteCounters(),
  };
  readonly connections: ConnectionCounters = newConnectionCounters();
  /** Per-server multipart boundary sequence (deterministic, like nginx's boundary counter). */
  private boundarySeq = 0;
  /** Set by onClose: whether the kernel was at rest when the server closed. */
  closeReport: KernelAtRest | null = null;

  constructor(
    readonly options: ResolvedOptions,
    readonly kernel: Kernel,
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
