// The benchmark's one door into the simulator. The rooms are loaded at run time, so the
// benchmark builds even while a room is missing; the interfaces below are the slice of the
// contract (createKernel, Kernel, buildServer) the benchmark uses.
import type { Socket } from 'node:net';

export type Mapping = 'dmap' | 'kva' | 'extpg';

export interface KernelLike {
  open(path: string): Promise<unknown>;
  close(file: unknown): Promise<void>;
  socket(transport: Socket, opts?: { sndbufBytes?: number }): KSocketLike;
  soclose(so: KSocketLike): void;
  sendfile(file: unknown, so: KSocketLike, offset: number, nbytes: number, opts?: object): Promise<number>;
  copyfile(file: unknown, so: KSocketLike, offset: number, nbytes: number, opts?: object): Promise<number>;
  stats(): unknown;
  atRest(): { atRest: boolean; leaks: string[] };
  destroy(): Promise<void>;
  readonly sockets: { sbwait(so: KSocketLike, signal?: AbortSignal): Promise<void> };
}
export interface KSocketLike {
  so_snd: { sb_ccc: number; sb_hiwat: number };
  so_error: string | null;
}
export interface KernelConfigLike {
  physmemBytes?: number;
  mapping?: Mapping;
  nsfbufs?: number;
  sndbufBytes?: number;
  invariants?: boolean;
}
interface KernelModule {
  createKernel(config: KernelConfigLike): KernelLike | Promise<KernelLike>;
}

const kernelUrl = new URL('../../src/kernel.js', import.meta.url);
const httpUrl = new URL('../../src/http/index.js', import.meta.url);

/** createKernel from src/kernel.ts, or null (with the reason) while it has not landed. */
export async function loadCreateKernel(): Promise<KernelModule['createKernel'] | string> {
  try {
    const module = (await import(kernelUrl.href)) as Partial<KernelModule>;
    if (typeof module.createKernel !== 'function') return 'src/kernel.ts exports no createKernel';
    return module.createKernel;
  } catch (error) {
    return `src/kernel.ts not loadable: ${(error as Error).message.split('\n')[0]}`;
  }
}

/** The module of src/http (buildServer and friends), or the reason it cannot be loaded. */
export async function loadHttpModule(): Promise<Record<string, unknown> | string> {
  try {
    return (await import(httpUrl.href)) as Record<string, unknown>;
  } catch (error) {
    return `src/http not loadable: ${(error as Error).message.split('\n')[0]}`;
  }
}

/**
 * Waits until the kernel socket has handed every queued byte to the transport and the
 * transport has taken it (sb_ccc back to 0). Bounded: gives up after `timeoutMs`.
 */
export async function sbDrain(kernel: KernelLike, so: KSocketLike, timeoutMs: number): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs);
  while (so.so_snd.sb_ccc > 0) {
    if (so.so_error) throw new Error(`socket error ${so.so_error}`);
    if (signal.aborted) throw new Error(`send buffer not drained within ${timeoutMs} ms`);
    await kernel.sockets.sbwait(so, signal);
  }
}
