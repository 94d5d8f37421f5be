// The simulated kernel as a fastify plugin: one Kernel per server (httpKernel), decorated on the
// instance as `kernel` (fastify-plugin, so the decorator is shared, not encapsulated). On close it
// runs the server's own teardown first (connections, event streams, open files), then checks that
// the kernel is at rest (nothing wired, mapped or queued: no leak), records the verdict, destroys it.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import {
  createKernel,
  type Kernel,
  type KernelAtRest,
  type KernelConfig,
  type ResolvedKernelConfig,
  resolveConfig,
} from '../index.js';
import { connectionShareBytes } from './conn/index.js';

export interface KernelPluginOptions {
  readonly kernel: Kernel;
  /** Runs before the at-rest check: everything that still holds kernel objects lets go here. */
  readonly beforeTeardown: () => Promise<void>;
  /** Receives the at-rest verdict taken at close. */
  readonly onVerdict: (verdict: KernelAtRest) => void;
}

declare module 'fastify' {
  interface FastifyInstance {
    kernel: Kernel;
  }
}

/**
 * A connection's send buffer when the config names none (SO_SNDBUF, as a file server sets it):
 * its share of every pool (conn/pool-gate.ts).
 */
export function httpSndbufBytes(config: ResolvedKernelConfig): number {
  return connectionShareBytes(config);
}

/** The server's kernel: the config's, with a file server's send buffer when it names none. */
export function httpKernel(config: KernelConfig): Kernel {
  return createKernel({
    ...config,
    sndbufBytes: config.sndbufBytes ?? httpSndbufBytes(resolveConfig(config)),
  });
}

async function kernelPlugin(app: FastifyInstance, opts: KernelPluginOptions): Promise<void> {
  const kernel = opts.kernel;
  app.decorate('kernel', kernel);
  app.addHook('onClose', async () => {
    await opts.beforeTeardown();
    const verdict = kernel.atRest();
    opts.onVerdict(verdict);
    if (!verdict.atRest) app.log.error({ leaks: verdict.leaks }, 'kernel not at rest at close');
    await kernel.destroy();
  });
}

export default fp(kernelPlugin, { name: 'zcsim-kernel', fastify: '5.x' });
