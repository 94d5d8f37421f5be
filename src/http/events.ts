// GET /events: server-sent events with a /stats snapshot every interval (500 ms by default).
// Bounded: at most EVENT_CLIENTS_MAX listeners, and a listener that does not read (more than
// EVENT_BACKLOG_BYTES_MAX waiting in its socket) is dropped. The timer runs only while someone
// listens, and closeAll() ends every stream so that server close never waits on one.
import type { ServerResponse } from 'node:http';
import type { Clock, TimerHandle } from '../kern/index.js';

export const EVENT_CLIENTS_MAX = 64;
export const EVENT_BACKLOG_BYTES_MAX = 1024 * 1024;

export class EventHub {
  private readonly clients = new Set<ServerResponse>();
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

  /** Starts an event stream on `res`; false when the hub is full or closed (answer 503). */
  attach(res: ServerResponse): boolean {
    if (this.closed || this.clients.size >= EVENT_CLIENTS_MAX) return false;
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: 2000\n\n${this.frame(this.snapshotJson())}`);
    this.clients.add(res);
    res.once('close', () => this.detach(res));
    this.arm();
    return true;
  }

  /** Ends every stream and stops the timer. */
  closeAll(): void {
    this.closed = true;
    this.timer?.cancel();
    this.timer = null;
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private detach(res: ServerResponse): void {
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
    for (const res of this.clients) {
      if (res.writableLength > EVENT_BACKLOG_BYTES_MAX) {
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
