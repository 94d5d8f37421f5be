// Admission of body responses to the kernel's pools, as sbwait with SO_SNDTIMEO: a response that
// has not started begins only when the mbuf and cluster zones have room. Waiters queue in order
// behind one server-wide timer that looks at the zones every POOL_POLL_MS; a waiter still queued
// after POOL_WAIT_MS gets PoolExhaustedError (503 with Retry-After), and a connection's close ends
// its wait. So a pool that stalled clients hold makes others wait a bounded time, never forever.
import type { Kernel } from '../../index.js';
import type { Clock, TimerHandle } from '../../kern/index.js';
import { PoolExhaustedError } from '../errors.js';
import type { Connection } from './connection.js';

/** How long a response that has not started waits for a dry pool (its SO_SNDTIMEO). */
export const POOL_WAIT_MS = 1000;
const POOL_POLL_MS = 10;

interface Waiter {
  readonly deadlineMs: number;
  readonly signal: AbortSignal;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly onAbort: () => void;
}

export class PoolGate {
  private readonly waiters: Waiter[] = [];
  private timer: TimerHandle | null = null;

  constructor(
    private readonly kernel: Kernel,
    private readonly clock: Clock,
  ) {}

  /** Responses waiting for room now. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** Whether a zone a response needs has nothing free (or others already sleep on it). */
  exhausted(): boolean {
    const { mbufZone, clusterZone } = this.kernel.mbufs;
    return (
      mbufZone.current >= mbufZone.limit ||
      clusterZone.current >= clusterZone.limit ||
      mbufZone.sleepers > 0 ||
      clusterZone.sleepers > 0
    );
  }

  /**
   * Resolves when the response may start. When this connection's own earlier responses hold the
   * zones it first waits for its own send buffer to drain (waiting for others would be for itself).
   */
  async admit(conn: Connection): Promise<void> {
    if (this.waiters.length === 0 && !this.exhausted()) return;
    if (conn.so.so_snd.sb_ccc > 0) {
      await conn.drain();
      if (this.waiters.length === 0 && !this.exhausted()) return;
    }
    const signal = conn.signal;
    signal.throwIfAborted();
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        deadlineMs: this.clock.nowMs() + POOL_WAIT_MS,
        signal,
        resolve,
        reject,
        onAbort: () => {
          this.remove(w);
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', w.onAbort, { once: true });
      this.waiters.push(w);
      this.arm();
    });
  }

  private arm(): void {
    if (this.timer !== null || this.waiters.length === 0) return;
    this.timer = this.clock.setTimer(POOL_POLL_MS, () => {
      this.timer = null;
      this.tick();
      this.arm();
    });
  }

  /** Wakes waiters in order while the zones have room; refuses those past their deadline. */
  private tick(): void {
    const nowMs = this.clock.nowMs();
    while (this.waiters.length > 0) {
      const w = this.waiters[0]!;
      if (!this.exhausted()) this.settle(w, null);
      else if (nowMs >= w.deadlineMs)
        this.settle(w, new PoolExhaustedError('mbuf or cluster zone exhausted'));
      else break;
    }
  }

  private settle(w: Waiter, err: Error | null): void {
    this.remove(w);
    w.signal.removeEventListener('abort', w.onAbort);
    if (err === null) w.resolve();
    else w.reject(err);
  }

  private remove(w: Waiter): void {
    const i = this.waiters.indexOf(w);
    if (i >= 0) this.waiters.splice(i, 1);
  }

  /** Refuses every waiter (the server closes). */
  close(): void {
    for (const w of this.waiters.slice()) this.settle(w, new PoolExhaustedError('server closing'));
    this.timer?.cancel();
    this.timer = null;
  }
}
