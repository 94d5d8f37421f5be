// A connection's response deadline: a signal that aborts `ms` after a response began, unless the
// response ended the deadline first. Responses on a connection run one at a time, so one
// controller serves them until it fires, and one timer serves them too: a response that starts
// while the timer runs only moves its due time, and the timer, when it fires early for the
// current response, sleeps again for the rest (nginx's timers are rearmed the same lazy way).
import type { Clock, TimerHandle } from '../../kern/index.js';

export class Deadline {
  private ac: AbortController | null = null;
  /** When the current response's deadline falls due (clock ms); -1: no response holds one. */
  private dueMs = -1;
  private timer: TimerHandle | null = null;
  /** When the running timer fires (clock ms). */
  private timerDueMs = 0;

  constructor(
    private readonly clock: Clock,
    /** The connection's own signal: once it aborted, every deadline is aborted from the start. */
    private readonly closed: AbortSignal,
  ) {}

  /** Starts the deadline of a response: the signal aborts `ms` from now, or when the connection closes. */
  start(ms: number): AbortSignal {
    let ac = this.ac;
    if (ac === null || ac.signal.aborted) {
      ac = new AbortController();
      this.ac = ac;
      if (this.closed.aborted) ac.abort(this.closed.reason);
    }
    if (ac.signal.aborted) return ac.signal;
    this.dueMs = this.clock.nowMs() + ms;
    if (this.timer !== null && this.timerDueMs > this.dueMs) {
      this.timer.cancel();
      this.timer = null;
    }
    if (this.timer === null) this.arm(ms);
    return ac.signal;
  }

  /** The response ended its wait: the timer finds no due time and lapses. */
  end(): void {
    this.dueMs = -1;
  }

  /** The connection closed: the signal aborts with its reason, the timer stops. */
  abort(reason: unknown): void {
    this.dueMs = -1;
    this.timer?.cancel();
    this.timer = null;
    this.ac?.abort(reason);
  }

  private arm(ms: number): void {
    this.timerDueMs = this.clock.nowMs() + ms;
    this.timer = this.clock.setTimer(ms, () => this.fire());
  }

  private fire(): void {
    this.timer = null;
    if (this.dueMs < 0) return;
    const leftMs = this.dueMs - this.clock.nowMs();
    if (leftMs > 0) {
      this.arm(leftMs);
      return;
    }
    this.dueMs = -1;
    this.ac?.abort();
  }
}
