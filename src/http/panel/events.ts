// GET /events: server-sent events with a /stats snapshot every interval (500 ms by default).
// Bounded: at most EVENT_CLIENTS_MAX listeners; a listener that has not taken its backlog within
// EVENT_STALL_MS (or lets more than EVENT_BACKLOG_BYTES_MAX wait) is dropped; and a new listener
// always gets in: when the hub is full, the listener furthest behind (or else the oldest) makes
// room, so idle subscribers cannot lock dashboards out. The timer runs only while someone
// listens, and closeAll() ends every stream so that server close never waits on one.
import type { Clock, TimerHandle } from '../../kern/index.js';

/** Where a listener's stream is written: the part of a ServerResponse the hub uses. */
export interface EventSink {
  /** Bytes written and not yet taken by the peer's socket. */
  readonly writableLength: number;
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: string): unknown;
  end(): void;
  destroy(): void;
  once(event: 'close', listener: () => void): unknown;
}

export const EVENT_CLIENTS_MAX = 64;
export const EVENT_BACKLOG_BYTES_MAX = 1024 * 1024;
/** A listener whose backlog has not drained for this long is dropped. */
export const EVENT_STALL_MS = 5000;

export class EventHub {
  /** Each listener, with the last time its backlog was seen empty. */
  private readonly clients = new Map<EventSink, { caughtUpAtMs: number }>();
  private timer: TimerHandle | null = null;
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly snapshotJson: () => string,
  ) {}

  get clientCount(): number {
    return this.clients.size;
  }

  /** Starts an event stream on `res`; false when the hub is closed (answer 503). */
  attach(res: EventSink): boolean {
    if (this.closed) return false;
    if (this.clients.size >= EVENT_CLIENTS_MAX) this.makeRoom();
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: 2000\n\n${this.frame(this.snapshotJson())}`);
    this.clients.set(res, { caughtUpAtMs: this.clock.nowMs() });
    res.once('close', () => this.detach(res));
    this.arm();
    return true;
  }

  /** Ends every stream and stops the timer. */
  closeAll(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = null;
    for (const res of this.clients.keys()) res.end();
    this.clients.clear();
  }

  /** Drops the listener with the largest backlog; with none behind, the oldest. */
  private makeRoom(): void {
    let victim: EventSink | null = null;
    for (const res of this.clients.keys()) {
      if (victim === null || res.writableLength > victim.writableLength) victim = res;
    }
    if (victim === null) return;
    this.clients.delete(victim);
    victim.destroy();
  }

  private detach(res: EventSink): void {
    this.clients.delete(res);
    if (this.clients.size === 0) {
      this.timer?.cancel();
      this.timer = null;
    }
  }

  private arm(): void {
    if (this.timer !== null || this.closed) return;
    this.timer = this.clock.setTimer(this.intervalMs, () => {
      this.timer = null;
      this.tick();
    });
  }

  private tick(): void {
    if (this.clients.size === 0) return;
    const frame = this.frame(this.snapshotJson());
    const nowMs = this.clock.nowMs();
    for (const [res, listener] of this.clients) {
      if (res.writableLength === 0) listener.caughtUpAtMs = nowMs;
      else if (
        nowMs - listener.caughtUpAtMs > EVENT_STALL_MS ||
        res.writableLength > EVENT_BACKLOG_BYTES_MAX
      ) {
        this.clients.delete(res);
        res.destroy();
        continue;
      }
      res.write(frame);
    }
    this.arm();
  }

  private frame(json: string): string {
    return `event: snapshot\ndata: ${json}\n\n`;
  }
}
