// The kernel port over the simulator (src/kernel.ts): one kernel per server. A response gets
// its own kernel socket whose transport is the http.ServerResponse, so Node's keep-alive and
// pipelining keep working: the kernel's batches become res.write()s, and their callbacks stand
// in for the TCP ACKs that free the mbufs.
import {
  createKernel,
  isSysError,
  type Kernel,
  type KernelConfig,
  type KFile,
  type KSocket,
  SysError,
} from '../index.js';
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
  let closed = false;
  return {
    sendfile: (offset, nbytes, headers, trailers) =>
      kernel
        .sendfile(file, so, offset, nbytes, { headers: iov(headers), trailers: iov(trailers), signal })
        .catch(whyDropped(so)),
    copyfile: (offset, nbytes, headers, trailers) =>
      kernel
        .copyfile(file, so, offset, nbytes, { headers: iov(headers), trailers: iov(trailers), signal })
        .catch(whyDropped(so)),
    drain: () => kernel.sodrain(so, signal).catch(whyDropped(so)),
    close: () => {
      if (closed) return;
      closed = true;
      kernel.soclose(so);
    },
  };
}

/** The simulator behind the demo's routes. */
export function createKernelPort(config: KernelConfigForHttp): HttpKernelPort {
  const kernel = createKernel(config as KernelConfig);
  return {
    config: kernel.config as unknown as Readonly<Record<string, unknown>>,
    open: (path) => kernel.open(path),
    close: (file: KernelFileRef) => kernel.close(file as KFile),
    fstat: (file: KernelFileRef) => kernel.fstat(file as KFile),
    session: (file, transport, signal) => session(kernel, file as KFile, transport, signal),
    stats: () => kernel.stats() as unknown as Record<string, unknown>,
    netstatM: () => kernel.netstatM(),
    atRest: () => kernel.atRest(),
    faultCounters: () => kernel.faultCounters(),
    destroy: () => kernel.destroy(),
  };
}
