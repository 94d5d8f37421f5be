// The fault model (no kernel file mirrors it: FreeBSD's nearest kin is fail(9), the fail points
// of sys/kern/kern_fail.c, which make a chosen call fail with a chosen errno, by probability or on
// the Nth hit). One FaultInjector per kernel, off by default, seeded, so a failing schedule replays
// from its seed. Each fault point is a plain option with a documented unit, and a `should...`
// helper that draws from the injector's own PRNG (never Math.random), as TigerBeetle's packet
// simulator does. Peer faults (reset, half-close, a reader that never reads) live in the test
// peers, not here: they happen outside the kernel.
import { kassert } from './assert.js';
import type { Prng } from './prng.js';

/** Fault points of one kernel; every field defaults to off. */
export interface FaultConfig {
  /** Chance, in percent (0-100), that a pager read fails with EIO. */
  readonly pagerEioPct?: number;
  /** The pager read number (1-based, counted from boot) that fails with EIO; 0 = none. */
  readonly pagerEioNth?: number;
  /** Every pager read whose number is a multiple of this fails with EIO; 0 = none. */
  readonly pagerEioEveryNth?: number;
}

/** Faults injected so far, by kind (fail(9) counts its hits the same way). */
export interface FaultCounters {
  /** Pager reads that asked whether to fail. */
  readonly pager_reads: number;
  /** Pager reads failed with EIO. */
  readonly pager_eio: number;
}

export class FaultInjector {
  readonly config: Readonly<Required<FaultConfig>>;
  private pagerReads = 0;
  private pagerEio = 0;

  constructor(
    config: FaultConfig,
    private readonly prng: Prng,
  ) {
    const c = {
      pagerEioPct: config.pagerEioPct ?? 0,
      pagerEioNth: config.pagerEioNth ?? 0,
      pagerEioEveryNth: config.pagerEioEveryNth ?? 0,
    };
    kassert(c.pagerEioPct >= 0 && c.pagerEioPct <= 100, () => `FaultInjector: pagerEioPct ${c.pagerEioPct}`);
    kassert(
      Number.isSafeInteger(c.pagerEioNth) && c.pagerEioNth >= 0,
      () => `FaultInjector: pagerEioNth ${c.pagerEioNth}`,
    );
    kassert(
      Number.isSafeInteger(c.pagerEioEveryNth) && c.pagerEioEveryNth >= 0,
      () => `FaultInjector: pagerEioEveryNth ${c.pagerEioEveryNth}`,
    );
    this.config = Object.freeze(c);
  }

  /** True when any pager fault point is armed (the vm gets a hook only then). */
  get pagerArmed(): boolean {
    const c = this.config;
    return c.pagerEioPct > 0 || c.pagerEioNth > 0 || c.pagerEioEveryNth > 0;
  }

  /** Called once per pager read: true to fail it with EIO. Always draws, so replays line up. */
  shouldFailPagerRead(): boolean {
    const n = ++this.pagerReads;
    const c = this.config;
    const drawn = this.prng.chancePct(c.pagerEioPct);
    const fail = drawn || n === c.pagerEioNth || (c.pagerEioEveryNth > 0 && n % c.pagerEioEveryNth === 0);
    if (fail) this.pagerEio++;
    kassert(this.pagerEio <= this.pagerReads, 'FaultInjector: more faults than reads');
    return fail;
  }

  counters(): FaultCounters {
    return Object.freeze({ pager_reads: this.pagerReads, pager_eio: this.pagerEio });
  }
}
