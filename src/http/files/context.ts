// The files room's one context, one per server: where files are served from and how, the
// open-file cache, the per-route counters, and the log. It holds no kernel: a response crosses
// into the kernel through its connection, and the cache opens its files through its own.
import type { FastifyBaseLogger } from 'fastify';
import type { Kernel } from '../../index.js';
import type { ResolvedServerOptions } from '../options.js';
import { FileCache } from './file-cache.js';
import { newRouteCounters, type RouteCounters, type RouteName } from './route-stats.js';

export class FilesContext {
  readonly realRoot: string;
  readonly list: boolean;
  readonly dotfiles: boolean;
  readonly cache: FileCache;
  readonly routes: Record<RouteName, RouteCounters> = {
    zerocopy: newRouteCounters(),
    copy: newRouteCounters(),
    stream: newRouteCounters(),
  };
  /** Per-server multipart boundary sequence (deterministic, like nginx's boundary counter). */
  private boundarySeq = 0;

  constructor(
    options: ResolvedServerOptions,
    kernel: Kernel,
    readonly log: FastifyBaseLogger,
  ) {
    this.realRoot = options.realRoot;
    this.list = options.list;
    this.dotfiles = options.dotfiles;
    this.cache = new FileCache({
      realRoot: options.realRoot,
      revalidateMs: options.revalidateMs,
      capacity: options.fileCacheCapacity,
      clock: options.clock,
      kernel,
    });
  }

  nextBoundary(): string {
    this.boundarySeq++;
    return `zcsim${String(this.boundarySeq).padStart(12, '0')}`;
  }
}
