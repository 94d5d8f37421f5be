// A FIFO of sleepers: the simulator's msleep/wakeup. A sleeper is a promise; wakeOne resolves the
// oldest, wakeAll resolves (or rejects, with an error) every one. A sleeper whose AbortSignal
// fires leaves the queue and its promise rejects with EINTR, like a sleep with PCATCH that a
// signal interrupts. The wait channel name ("sfbufa", "sbwait") is kept for traces and tests.
import { kassert } from './assert.js';
import { SysError } from './errno.js';

/**
 * One sleep. It is its own abort listener (handleEvent), so a sleep builds no closure besides
 * the promise's executor: one sleeps per HTTP response (sodrain) and per sbwait of a large body.
 */
class Sleeper {
  constructor(
    private readonly queue: WaitQueue,
    private readonly signal: AbortSignal | undefined,
    private readonly onResolve: () => void,
    private readonly onReject: (e: Error) => void,
  ) {}

  resolve(): void {
    this.signal?.removeEventListener('abort', this);
    this.onResolve();
  }

  reject(e: Error): void {
    this.signal?.removeEventListener('abort', this);
    this.onReject(e);
  }

  /** The signal aborted: leave the queue, and the sleep fails with EINTR. */
  handleEvent(): void {
    this.signal?.removeEventListener('abort', this);
    this.queue.unlink(this);
    this.onReject(new SysError('EINTR', `${this.queue.wmesg}: interrupted`));
  }
}

export class WaitQueue {
  private sleepers: Sleeper[] = [];
  private head = 0;
  /** Sleeps ever started on this channel (for counters such as sf_allocwait). */
  sleepsTotal = 0;

  constructor(readonly wmesg: string) {}

  /** Sleepers queued now. */
  get length(): number {
    return this.sleepers.length - this.head;
  }

  /** Sleep until woken. Rejects with EINTR if `signal` aborts first. */
  sleep(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(new SysError('EINTR', `${this.wmesg}: interrupted`));
    this.sleepsTotal++;
    return new Promise<void>((resolve, reject) => {
      const sleeper = new Sleeper(this, signal, resolve, reject);
      signal?.addEventListener('abort', sleeper);
      this.sleepers.push(sleeper);
    });
  }

  /** Takes an aborted sleeper off the queue (it is still queued: nobody woke it). */
  unlink(sleeper: Sleeper): void {
    const i = this.sleepers.indexOf(sleeper, this.head);
    kassert(i >= 0, () => `WaitQueue.sleep(${this.wmesg}): aborted sleeper not queued`);
    this.sleepers.splice(i, 1);
  }

  /** Wakes the oldest sleeper; returns whether there was one. */
  wakeOne(): boolean {
    if (this.head >= this.sleepers.length) return false;
    const s = this.sleepers[this.head++];
    if (this.head > 64 && this.head * 2 > this.sleepers.length) {
      this.sleepers.splice(0, this.head);
      this.head = 0;
    }
    s?.resolve();
    return true;
  }

  /** Wakes every sleeper; with an error, each sleep rejects with it. Returns how many woke. */
  wakeAll(error?: Error): number {
    // Nobody asleep (every acknowledgement asks): nothing to copy or resize.
    if (this.head >= this.sleepers.length) {
      if (this.head > 0) {
        this.sleepers.length = 0;
        this.head = 0;
      }
      return 0;
    }
    // The queue starts afresh: an empty array costs less than resizing this one (one sleeper is
    // woken per acknowledgement of a sender's batch).
    const woken = this.sleepers;
    const from = this.head;
    this.sleepers = [];
    this.head = 0;
    for (let i = from; i < woken.length; i++) {
      const s = woken[i] as Sleeper;
      if (error) s.reject(error);
      else s.resolve();
    }
    return woken.length - from;
  }
}
