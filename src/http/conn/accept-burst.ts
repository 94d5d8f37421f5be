// The listener's backlog is taken whole before any of it is served, as nginx takes it on FreeBSD
// (kqueue reports the listen queue's length and ngx_event_accept accepts every pending
// connection before their requests are read). libuv accepts one connection per turn of the event
// loop, and each turn also carries the work of the requests it read: when a hundred connections
// arrive at once, the last one was accepted only after a hundred turns, each as heavy as the
// downloads the earlier ones had started, and its request waited seconds before it was even read.
// So a burst of connections is accepted first, and served together once a turn passes with no new
// connection. XXX(sim): Node tells no listen queue's length; a burst is the connections accepted on
// consecutive turns, and it ends after ACCEPT_BURST_MAX_MS even if they keep coming.
import type { Duplex } from 'node:stream';
import type { Clock } from '../../kern/index.js';

/** How long a connection may be held while more keep arriving on every turn. */
export const ACCEPT_BURST_MAX_MS = 250;

export class AcceptBurst {
  private held: Duplex[] = [];
  /** A connection came since the last look, a turn ago. */
  private arrived = false;
  private armed = false;
  private startedMs = 0;

  constructor(private readonly clock: Clock) {}

  /**
   * The request stream of a connection just accepted: paused (its bytes wait in its buffer, not
   * parsed) until the burst ends.
   */
  take(stream: Duplex): void {
    stream.pause();
    this.held.push(stream);
    this.arrived = true;
    if (this.armed) return;
    this.armed = true;
    this.startedMs = this.clock.nowMs();
    setImmediate(this.look);
  }

  /** After each turn's poll: another connection came, so the burst goes on; else it is served. */
  private readonly look = (): void => {
    if (this.arrived && this.clock.nowMs() - this.startedMs < ACCEPT_BURST_MAX_MS) {
      this.arrived = false;
      setImmediate(this.look);
      return;
    }
    this.release();
  };

  private release(): void {
    this.armed = false;
    this.arrived = false;
    const held = this.held;
    this.held = [];
    for (const s of held) if (!s.destroyed) s.resume();
  }
}
