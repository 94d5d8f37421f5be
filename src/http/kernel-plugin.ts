// The simulated kernel as a fastify plugin: one kernel per server, decorated on the instance as
// `kernel` (fastify-plugin, so the decorator is shared, not encapsulated). On close it runs the
// server's own teardown first (event streams, open files), then checks that the kernel is at
// rest (nothing wired, mapped or queued: no leak), records the verdict, and destroys it.
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { HttpKernelPort, KernelConfigForHttp } from './kernel-port.js';

export interface KernelPluginOptions {
  readonly config: KernelConfigForHttp;
  readonly makePort: (config: KernelConfigForHttp) => HttpKernelPort;
  /** Runs before the at-rest check: everything that still holds kernel objects lets go here. */
  readonly beforeTeardown: (() => Promise<void>)[];
  /** Receives the at-rest verdict taken at close. */
  readonly onVerdict: (verdict: { atRest: boolean; leaks: string[] }) => void;
}

declare module 'fastify' {
  interface FastifyInstance {
    kernel: HttpKernelPort;
  }
}

async function kernelPlugin(app: FastifyInstance, opts: KernelPluginOptions): Promise<void> {
  const kernel = opts.makePort(opts.config);
  app.decorate('kernel', kernel);
  app.addHook('onClose', async () => {
    for (const step of opts.beforeTeardown) await step();
    const verdict = kernel.atRest();
    opts.onVerdict(verdict);
    if (!verdict.atRest) app.log.error({ leaks: verdict.leaks }, 'kernel not at rest at close');
    await kernel.destroy();
  });
}

export default fp(kernelPlugin, { name: 'zcsim-kernel', fastify: '5.x' });
