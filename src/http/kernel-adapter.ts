// The kernel port over the simulator (src/kernel.ts): one kernel per server. A response gets
// its own kernel socket (send buffer: httpSndbufBytes) whose transport is the http.ServerResponse, so Node's keep-alive and
// pipelining keep working: the kernel's batches become res.write()s, and their callbacks stand
// in for the TCP ACKs that free the mbufs.
import {
  createKernel,
  isSysError,
  type Kernel,
  type KernelConfig,
  type KFile,
  type KSocket,
  type ResolvedKernelConfig,
  resolveConfig,
  SysError,
} from '../index.js';
import { KiB, MiB, PAGE_SIZE } from '../kern/index.js';
import type {
  HttpKernelPort,
  KernelConfigForHttp,
  KernelFileRef,
  KernelSession,
  ResponseTransport,
} from './kernel-port.js';

const NO_BUFFERS: readonly Uint8Array[] = [];

function iov(b: Uint8Array | null): readonly Uint8Array[] {
  return b === null || b.length === 0 ? NO_BUFFERS : [b];
}

/**
 * A dropped connection makes the next send fail with EPIPE (SBS_CANTSENDMORE is tested first);
 * the socket's pending so_error says why it was dropped (EIO: the page-in failed and the kernel
 * aborted it; ECONNRESET: the client reset it), which is what the route counts.
 */
function whyDropped(so: KSocket): (e: unknown) => never {
  return (e) => {
    if (isSysError(e) && e.code === 'EPIPE' && so.so_error !== null)
      throw new SysError(so.so_error, e.message, e.sbytes);
    throw e;
  };
}

function session(
  kernel: Kernel,
  file: KFile,
  transport: ResponseTransport,
  signal: AbortSignal,
): KernelSession {
  const so = kernel.socket(transport);
  const dropped = whyDropped(so);
  let closed = false;
  return {
    sendfile: (offset, nbytes, headers, trailers) =>
      kernel
        .sendfile(file, so, offset, nbytes, { headers: iov(headers), trailers: iov(trailers), signal })
        .catch(dropped),
    copyfile: (offset, nbytes, headers, trailers) =>
      kernel
        .copyfile(file, so, offset, nbytes, { headers: iov(headers), trailers: iov(trailers), signal })
        .catch(dropped),
    drain: () => kernel.sodrain(so, signal).catch(dropped),
    close: () => {
      if (closed) return;
      closed = true;
      kernel.soclose(so);
    },
  };
}

/** 32 connections sending at once: the benchmark's load, and what the KVA pool is shared by. */
const HTTP_SENDERS_TYPICAL = 32;

/**
 * The send buffer of a response's socket when the config names none (SO_SNDBUF, as a file server
 * sets it): 1 MiB. With the kernel's 32 KiB a 1 MiB body goes out in 32 batches, each a writev, a
 * write callback and an sbwait, and the server spends twice the CPU per byte. In the KVA mode the
 * sf_buf pool bounds what every socket together may have mapped: past a 32nd of the pool each,
 * senders thrash on sf_allocwait and remaps (64 MiB files: 0.26 GB/s at 1 MiB with 2560 sf_bufs,
 * 0.89 GB/s at 32 KiB).
 */
export function httpSndbufBytes(config: ResolvedKernelConfig): number {
  if (config.mapping !== 'kva') return MiB;
  const pages = Math.floor(config.nsfbufs / HTTP_SENDERS_TYPICAL);
  return Math.min(MiB, Math.max(32 * KiB, pages * PAGE_SIZE));
}

/** The simulator behind the demo's routes. */
export function createKernelPort(config: KernelConfigForHttp): HttpKernelPort {
  const c = config as KernelConfig;
  const kernel = createKernel({ ...c, sndbufBytes: c.sndbufBytes ?? httpSndbufBytes(resolveConfig(c)) });
  return {
    config: kernel.config as unknown as Readonly<Record<string, unknown>>,
    open: (path) => kernel.open(path),
    close: (file: KernelFileRef) => kernel.close(file as KFile),
    fstat: (file: KernelFileRef) => kernel.fstat(file as KFile),
    invalidate: (file: KernelFileRef) => kernel.invalidate(file as KFile),
    session: (file, transport, signal) => session(kernel, file as KFile, transport, signal),
    stats: () => kernel.stats() as unknown as Record<string, unknown>,
    netstatM: () => kernel.netstatM(),
    atRest: () => kernel.atRest(),
    faultCounters: () => kernel.faultCounters(),
    destroy: () => kernel.destroy(),
  };
}
