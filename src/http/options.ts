// The server's options as its callers give them (the CLI, the tests, the benchmark), and the same
// with every default applied, which the subrooms take their settings from.
import { realpathSync } from 'node:fs';
import type { KernelConfig } from '../index.js';
import { type Clock, realClock } from '../kern/index.js';

/**
 * The V8 flags a server process starts with (the `zcsim` command's first line, `npm start`, the
 * benchmark's servers): a young generation of 8 MiB semispaces instead of 16, which keeps the
 * process's memory within its budget (physmem + 200 MiB) when many responses run at once. Each
 * scavenge copies the responses in flight, so a smaller nursery than this costs CPU per response.
 */
export const SERVE_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

export interface ServerOptions {
  /** The folder served. */
  readonly root: string;
  /** List directories (an HTML index) instead of answering 403. */
  readonly list?: boolean;
  /** Serve names starting with '.' (off: 404). */
  readonly dotfiles?: boolean;
  readonly kernel?: KernelConfig;
  /** How long a cached fstat is trusted, in ms (nginx's open_file_cache_valid); 1000. */
  readonly revalidateMs?: number;
  /** Open-file cache entries at most; 1024. */
  readonly fileCacheCapacity?: number;
  /** /events snapshot period in ms; 500. */
  readonly eventsIntervalMs?: number;
  /** Load time per route of a comparison in ms (at most 3000); 2000. */
  readonly compareDurationMs?: number;
  /** How long close waits for busy connections before cutting them, in ms; 2000. */
  readonly closeGraceMs?: number;
  /** A connection whose socket took no byte for this long is closed (nginx's send_timeout); 60 s. */
  readonly sendTimeoutMs?: number;
  readonly logger?: boolean;
  readonly clock?: Clock;
  /** HTTPS on every connection (TLS 1.3, ALPN http/1.1); /zerocopy then sends with kernel TLS. */
  readonly tls?: TlsOptions;
}

export interface TlsOptions {
  /** PEM certificate chain and private key. */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /** Where kernel TLS encrypts: a kernel worker ('sw', the default) or the NIC ('ifnet'). */
  readonly ktlsMode?: 'sw' | 'ifnet';
}

export const SEND_TIMEOUT_MS_DEFAULT = 60_000;

/** Every option with its default applied. */
export interface ResolvedServerOptions {
  readonly root: string;
  /** The root with its symlinks resolved: what every checked open compares against. */
  readonly realRoot: string;
  readonly list: boolean;
  readonly dotfiles: boolean;
  /** The kernel's config; the open-file cache's revalidation stands in for an fstat per sendfile. */
  readonly kernel: KernelConfig;
  readonly revalidateMs: number;
  readonly fileCacheCapacity: number;
  readonly eventsIntervalMs: number;
  readonly compareDurationMs: number;
  readonly closeGraceMs: number;
  readonly sendTimeoutMs: number;
  readonly logger: boolean;
  readonly clock: Clock;
  readonly tls: TlsOptions | null;
  /** HTTPS with kernel TLS in this mode; null: plain HTTP. */
  readonly ktls: 'sw' | 'ifnet' | null;
}

export function resolveServerOptions(o: ServerOptions): ResolvedServerOptions {
  const revalidateMs = o.revalidateMs ?? 1000;
  return {
    root: o.root,
    realRoot: realpathSync(o.root),
    list: o.list ?? false,
    dotfiles: o.dotfiles ?? false,
    // The open-file cache re-stats each file every revalidateMs and opens a changed one afresh
    // (a fresh fstat in the kernel too), so the kernel need not fstat it at every sendfile.
    kernel: { revalidateMs, ...o.kernel },
    revalidateMs,
    fileCacheCapacity: o.fileCacheCapacity ?? 1024,
    eventsIntervalMs: o.eventsIntervalMs ?? 500,
    compareDurationMs: o.compareDurationMs ?? 2000,
    closeGraceMs: o.closeGraceMs ?? 2000,
    sendTimeoutMs: o.sendTimeoutMs ?? SEND_TIMEOUT_MS_DEFAULT,
    logger: o.logger ?? false,
    clock: o.clock ?? realClock(),
    tls: o.tls ?? null,
    ktls: o.tls ? (o.tls.ktlsMode ?? 'sw') : null,
  };
}
