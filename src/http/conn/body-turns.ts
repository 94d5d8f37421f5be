// Turns for the bodies under way while new responses find a pool dry, as a fair scheduler
// serves new flows first and then the flow that has had least (fq_codel's new-flow list; size-
// based scheduling in web servers). A response's first kernel call is its own: it goes at once,
// never counted nor preempted. Once a response has found a pool dry while bodies were in the
// kernel, for BODY_YIELD_MS (and on while a pool stays dry) the later calls of the bodies take
// turns: at most `limit` at once (half of the connections whose send buffers the smallest pool
// holds), each of at most YIELD_BATCH_BYTES of file, granted to the body that has sent the fewest
// bytes first. Calls beyond the limit when the turns begin, and the call of the body that has
// sent most when one that has sent less waits first in line, are preempted (EINTR with what they
// queued, as a signal ends sendfile(2)) and go on from there at their next turn. Outside the
// turns a call takes COUNT_SLICE at once, as before; a pause ends with the connection's close.
import type { Clock, TimerHandle } from '../../kern/index.js';

/** How long after a response last had to wait for a pool the bodies take turns. */
export const BODY_YIELD_MS = 1000;
/** The file bytes of one call while the bodies take turns: nginx's output buffers (2 × 32 KiB). */
export const YIELD_BATCH_BYTES = 64 * 1024;

/** What the turns see of a body: its preemption. */
export interface TurnTaker {
  /** Ends the body's preemptible kernel call in progress (EINTR): it takes its next turn later. */
  preempt(): void;
}

interface Paused {
  readonly who: TurnTaker;
  readonly attained: number;
  readonly signal: AbortSignal;
  readonly resolve: () => void;
  readonly onAbort: () => void;
}

interface Sending {
  readonly attained: number;
  preempted: boolean;
}

export class BodyTurns {
  /** Bodies in a kernel call now, in the order they began it. */
  private readonly sending = new Map<TurnTaker, Sending>();
  /** Bodies waiting for their turn, fewest bytes sent first. */
  private readonly paused: Paused[] = [];
  private yieldUntilMs = Number.NEGATIVE_INFINITY;
  private timer: TimerHandle | null = null;

  constructor(
    private readonly clock: Clock,
    /** Calls in the kernel at once while the bodies take turns. */
    readonly limit: number,
    /** Whether a pool is still dry: the turns go on while it is. */
    private readonly dry: () => boolean,
  ) {}

  /** Bodies paused for their turn now. */
  get waiting(): number {
    return this.paused.length;
  }

  /** Bodies in a kernel call or paused for their turn. */
  get active(): number {
    return this.sending.size + this.paused.length;
  }

  /** Whether the bodies take turns now. */
  yielding(): boolean {
    return this.clock.nowMs() < this.yieldUntilMs;
  }

  /**
   * A response found a pool dry: the turns begin, or last longer; the calls beyond the limit are
   * preempted, those of the bodies that have sent most first.
   */
  yieldToNew(): void {
    this.yieldUntilMs = this.clock.nowMs() + BODY_YIELD_MS;
    if (this.timer === null) this.arm();
    for (let excess = this.sending.size - this.limit; excess > 0; excess--) {
      if (!this.preemptAbove(-1)) break;
    }
  }

  /** Preempts the call of the body that has sent most, if more than `attained`; whether one was. */
  private preemptAbove(attained: number): boolean {
    let most: [TurnTaker, Sending] | null = null;
    for (const e of this.sending) {
      const s = e[1];
      if (!s.preempted && s.attained > attained && (most === null || s.attained > most[1].attained)) most = e;
    }
    if (most === null) return false;
    most[1].preempted = true;
    most[0].preempt();
    return true;
  }

  /** When the turns end, every paused body goes on. */
  private arm(): void {
    this.timer = this.clock.setTimer(Math.max(1, this.yieldUntilMs - this.clock.nowMs()), () => {
      this.timer = null;
      if (!this.yielding() && this.active > 0 && this.dry())
        this.yieldUntilMs = this.clock.nowMs() + BODY_YIELD_MS;
      if (this.yielding()) this.arm();
      else this.wake();
    });
  }

  /**
   * Before a kernel call of a body under way (after its first; `attained`: the file bytes its
   * response queued so far): null when it may go at once, else a promise that resolves at its turn
   * and rejects when `signal` aborts. done() must follow the call (or the rejection).
   */
  take(who: TurnTaker, attained: number, signal: AbortSignal): Promise<void> | null {
    if (!this.yielding() || (this.sending.size < this.limit && this.paused.length === 0)) {
      this.sending.set(who, { attained, preempted: false });
      return null;
    }
    signal.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const p: Paused = {
        who,
        attained,
        signal,
        resolve: () => {
          this.sending.set(who, { attained, preempted: false });
          resolve();
        },
        onAbort: () => {
          const i = this.paused.indexOf(p);
          if (i >= 0) this.paused.splice(i, 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', p.onAbort, { once: true });
      let i = this.paused.length;
      while (i > 0 && this.paused[i - 1]!.attained > attained) i--;
      this.paused.splice(i, 0, p);
      // The call of a body that has sent more than this one makes room for it.
      if (i === 0) this.preemptAbove(attained);
    });
  }

  /** After a body's kernel call: the next paused body may go. */
  done(who: TurnTaker): void {
    this.sending.delete(who);
    this.wake();
  }

  private wake(): void {
    if (this.paused.length === 0) return;
    const yielding = this.yielding();
    while (this.paused.length > 0 && (!yielding || this.sending.size < this.limit)) {
      const p = this.paused.shift()!;
      p.signal.removeEventListener('abort', p.onAbort);
      p.resolve();
    }
  }

  /** The server closes: no more turns, every paused body goes on (its connection is being cut). */
  close(): void {
    this.timer?.cancel();
    this.timer = null;
    this.yieldUntilMs = Number.NEGATIVE_INFINITY;
    this.wake();
  }
}
