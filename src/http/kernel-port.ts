// What the demo needs of the simulated kernel, in one place: the calls a file server makes
// (open(2), sendfile(2), write(2), the read+write copy loop, close(2)) over a kernel socket whose
// transport is the http.ServerResponse. Routes talk to this port only, so the kernel's exact API
// is confined to this file.
import type { Transport } from '../index.js';
import type { Clock, FaultConfig, FaultCounters } from '../kern/index.js';

/** The kernel's Transport: http.ServerResponse provides it (write(cb), cork, uncork, destroy). */
export type ResponseTransport = Transport;

export interface KernelConfigForHttp {
  physmemBytes?: number;
  mapping?: 'dmap' | 'kva' | 'extpg';
  nsfbufs?: number;
  cpuCount?: number;
  sndbufBytes?: number;
  /** How long the kernel trusts a file's fstat, in ms (buildServer: its own revalidateMs). */
  revalidateMs?: number;
  diskLatencyMs?: number;
  invariants?: boolean;
  clock?: Clock;
  /** Zone limits (kern.ipc.nmbufs, kern.ipc.nmbclusters). */
  nmbufs?: number;
  nmbclusters?: number;
  /** Fault injection (pager EIO), off by default; seeded by `seed`. */
  faults?: FaultConfig;
  seed?: number;
}

/** One response's kernel session: a socket over the response, and the calls that fill it. */
export interface KernelSession {
  /** sendfile(2) of [offset, offset+nbytes) with `headers` in front; resolves bytes queued (headers included). */
  sendfile(
    offset: number,
    nbytes: number,
    headers: Uint8Array | null,
    trailers: Uint8Array | null,
  ): Promise<number>;
  /** The copy path: write(2) of the headers, read+write of the range, write(2) of the trailers. */
  copyfile(
    offset: number,
    nbytes: number,
    headers: Uint8Array | null,
    trailers: Uint8Array | null,
  ): Promise<number>;
  /** Resolves when every queued byte has been taken by the transport (the send buffer is empty). */
  drain(): Promise<void>;
  /** soclose(2): frees whatever is still queued; idempotent. */
  close(): void;
}

/** An open file of the kernel (KFile), opaque to the routes. */
export type KernelFileRef = object;

export interface HttpKernelPort {
  open(path: string): Promise<KernelFileRef>;
  close(file: KernelFileRef): Promise<void>;
  /** fstat(2) of an open file: which file the kernel really has open. */
  fstat(file: KernelFileRef): Promise<{ sizeBytes: number; mtimeMs: number; ino: number; dev: number }>;
  /** Drops the file's cached pages (the file changed in a way its size and mtime may not show). */
  invalidate(file: KernelFileRef): Promise<void>;
  session(file: KernelFileRef, transport: ResponseTransport, signal: AbortSignal): KernelSession;
  stats(): Record<string, unknown>;
  netstatM(): string;
  atRest(): { atRest: boolean; leaks: string[] };
  /** Faults injected so far, by kind (ports without a fault model may leave it out). */
  faultCounters?(): FaultCounters;
  destroy(): Promise<void>;
  readonly config: Readonly<Record<string, unknown>>;
}
