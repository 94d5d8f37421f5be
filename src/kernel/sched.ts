// The scheduler's part in the model: which simulated CPU a socket's thread runs on. Sockets are
// placed round-robin, and (seeded) may migrate between calls, so that SFB_CPUPRIVATE's cost and
// benefit show in the sf_buf shootdown counters.
import { type Prng, SysError } from '../kern/index.js';
import type { KSocket } from '../net/index.js';

export class Sched {
  private nextCpu = 0;

  constructor(
    private readonly cpuCount: number,
    private readonly migratePct: number,
    private readonly prng: Prng,
  ) {}

  /** The CPU a new socket runs on: the one asked for (EINVAL if there is none), else the next. */
  place(cpu: number | undefined): number {
    const c = cpu ?? this.nextCpu++ % this.cpuCount;
    if (!Number.isInteger(c) || c < 0 || c >= this.cpuCount) {
      throw new SysError('EINVAL', `socket: cpu ${c} is not one of the ${this.cpuCount} CPUs`);
    }
    return c;
  }

  /** Between two calls the thread may move to another CPU. */
  migrate(so: KSocket): void {
    if (this.migratePct > 0 && this.prng.chancePct(this.migratePct)) {
      so.cpu = this.prng.intInclusive(0, this.cpuCount - 1);
    }
  }
}
