// The benchmark's one door into the simulator: createKernel for the raw TCP section and
// buildServer for the HTTP servers, with the knobs the benchmark sets (invariants always off:
// the O(n) checks are for tests, not for measurements).
import { buildServer, httpSndbufBytes, type TlsOptions, type ZcsimServer } from '../../src/http/index.js';
import { createKernel, type Kernel, type KSocket, resolveConfig } from '../../src/index.js';

export type Mapping = 'dmap' | 'kva' | 'extpg';

/** The raw TCP section's sockets get a 1 MiB send buffer (the demo's from 256 MiB of memory up) unless --sndbuf says. */
export function benchKernel(mapping: Mapping, physmemBytes: number, sndbufBytes: number | null): Kernel {
  return createKernel({ mapping, physmemBytes, invariants: false, sndbufBytes: sndbufBytes ?? 1024 * 1024 });
}

/** The send buffer of a benchmark's zcsim server in the dmap mapping (--sndbuf, or the demo's). */
export function benchSndbufBytes(physmemBytes: number, sndbufBytes: number | null): number {
  return sndbufBytes ?? httpSndbufBytes(resolveConfig({ mapping: 'dmap', physmemBytes }));
}

export function benchZcsimServer(
  root: string,
  mapping: Mapping,
  physmemBytes: number,
  sndbufBytes: number | null,
  tls?: TlsOptions,
  nsfbufs: number | null = null,
): Promise<ZcsimServer> {
  const kernel = {
    mapping,
    physmemBytes,
    invariants: false,
    ...(sndbufBytes ? { sndbufBytes } : {}),
    ...(nsfbufs !== null ? { nsfbufs } : {}),
  };
  return buildServer({ root, logger: false, kernel, ...(tls ? { tls } : {}) });
}

/** Waits (bounded) until the kernel socket has written everything queued; rejects on a drop. */
export async function sbDrain(kernel: Kernel, so: KSocket, timeoutMs: number): Promise<void> {
  await kernel.sockets.sodrain(so, AbortSignal.timeout(timeoutMs));
}
