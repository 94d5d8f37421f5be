// Time as the simulator sees it. Code in src never reads the wall clock or arms a timer directly:
// it is handed a Clock, so that tests can drive time by hand (ManualClock) and replay exactly.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since an arbitrary origin; monotonic. */
  nowMs(): number;
  /** Runs `callback` after `delayMs` (0 = on a later turn of the event loop). */
  setTimer(delayMs: number, callback: () => void): TimerHandle;
}

/**
 * The wall-clock time of a clock's reading, in ms since the epoch (its origin is the host's time
 * origin): what a Date field, a certificate's validity or a two-digit year is reckoned from.
 */
export function wallMs(clock: Clock): number {
  return performance.timeOrigin + clock.nowMs();
}

/** The host's clock: performance.now() and setTimeout. */
export function realClock(): Clock {
  return {
    nowMs: () => performance.now(),
    setTimer(delayMs, callback) {
      const t = setTimeout(callback, delayMs);
      return { cancel: () => clearTimeout(t) };
    },
  };
}

/** A clock that moves only when told to: advance(ms) runs the timers that fall due, in order. */
export class ManualClock implements Clock {
  private timeMs = 0;
  private sequence = 0;
  private readonly timers: { dueMs: number; seq: number; callback: () => void; live: boolean }[] = [];

  nowMs(): number {
    return this.timeMs;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer = { dueMs: this.timeMs + Math.max(0, delayMs), seq: this.sequence++, callback, live: true };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.live = false;
      },
    };
  }

  /** Moves time forward by `ms`, running each timer that falls due (earliest first). */
  advance(ms: number): void {
    const targetMs = this.timeMs + ms;
    for (;;) {
      const due = this.timers
        .filter((t) => t.live && t.dueMs <= targetMs)
        .sort((a, b) => a.dueMs - b.dueMs || a.seq - b.seq)[0];
      if (!due) break;
      due.live = false;
      this.timeMs = due.dueMs;
      due.callback();
    }
    this.timeMs = targetMs;
    for (let i = this.timers.length - 1; i >= 0; i--) if (!this.timers[i]?.live) this.timers.splice(i, 1);
  }

  pendingCount(): number {
    return this.timers.filter((t) => t.live).length;
  }
}
