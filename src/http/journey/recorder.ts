// The journey of one request: records the kernel's trace events (node:diagnostics_channel) that
// belong to one connection. The connection is known by its peer port; its kernel socket is the
// one whose `socreate` names that port, and from the socket the recorder learns the file's vm
// object (from sendfile or copyfile) and that object's pages (from lookups and wirings). An event
// is kept when it names that socket, that object, or one of those pages; the rest of the kernel's
// traffic is left out.
import diagnosticsChannel from 'node:diagnostics_channel';
import { type Clock, TRACE_CHANNELS, type TraceEvent, type TraceRoom } from '../../kern/index.js';

/** The rooms whose channels a journey listens to: the kernel's, kernel TLS included (not the server's). */
const KERNEL_ROOMS: readonly TraceRoom[] = ['vm', 'sfbuf', 'mbuf', 'net', 'ktls', 'sendfile'];

/** Raw events kept per journey at most; later ones are only counted. */
export const JOURNEY_EVENTS_MAX = 20_000;

/** Sockets remembered while the connection's port is not yet known. */
const EARLY_SOCKETS_MAX = 1024;

/** One kernel event of the journey: its room, name, time since the start and its own fields. */
export interface JourneyEvent {
  readonly tMs: number;
  readonly room: TraceRoom;
  readonly event: string;
  readonly fields: Readonly<Record<string, unknown>>;
}

export class JourneyRecorder {
  readonly events: JourneyEvent[] = [];
  /** Events that belonged to the journey but came after JOURNEY_EVENTS_MAX. */
  droppedEvents = 0;
  kernelId: number | null = null;
  so: number | null = null;
  object: number | null = null;
  /** Physical indexes of the object's pages met so far. */
  readonly pages = new Set<number>();
  /** Resolves when the socket is closed (soclose or a drop). */
  readonly closed: Promise<void>;
  private markClosed: () => void = () => {};
  private readonly startMs: number;
  private readonly listeners = new Map<TraceRoom, (message: unknown) => void>();

  /** The connection's local port on the client side, once connected. */
  private peerPort: number | null = null;
  /** Sockets created before the port was known (the server may accept before the client hears). */
  private readonly early: { room: TraceRoom; e: TraceEvent }[] = [];

  constructor(private readonly clock: Clock) {
    this.startMs = clock.nowMs();
    this.closed = new Promise((resolve) => {
      this.markClosed = resolve;
    });
    for (const room of KERNEL_ROOMS) {
      const listener = (message: unknown): void => this.onEvent(room, message as TraceEvent);
      this.listeners.set(room, listener);
      diagnosticsChannel.subscribe(TRACE_CHANNELS[room], listener);
    }
  }

  /** Names the connection: its kernel socket is the one created for this peer port. */
  setPeerPort(port: number): void {
    this.peerPort = port;
    const found = this.early.find((x) => x.e.peerPort === port);
    this.early.length = 0;
    if (found !== undefined) this.onEvent(found.room, found.e);
  }

  /** Stops listening (idempotent). */
  stop(): void {
    for (const [room, listener] of this.listeners)
      diagnosticsChannel.unsubscribe(TRACE_CHANNELS[room], listener);
    this.listeners.clear();
    this.markClosed();
  }

  private onEvent(room: TraceRoom, e: TraceEvent): void {
    if (this.so === null) {
      if (room !== 'net' || e.event !== 'socreate') return;
      if (this.peerPort === null) {
        if (this.early.length < EARLY_SOCKETS_MAX) this.early.push({ room, e });
        return;
      }
      if (e.peerPort === this.peerPort) {
        this.kernelId = e.kernelId;
        this.so = e.so as number;
        this.keep(room, e);
      }
      return;
    }
    if (e.kernelId !== this.kernelId || !this.belongs(e)) return;
    if ((e.event === 'sendfile' || e.event === 'copyfile') && typeof e.object === 'number')
      this.object = e.object;
    if (e.object === this.object && typeof e.physIndex === 'number') this.pages.add(e.physIndex);
    this.keep(room, e);
    if (room === 'net' && e.event === 'drop') this.markClosed();
  }

  /** Whether an event names this journey's socket, object or one of its pages. */
  private belongs(e: TraceEvent): boolean {
    if (e.so !== undefined) return e.so === this.so;
    if (e.object !== undefined) return e.object !== null && e.object === this.object;
    if (typeof e.physIndex === 'number') return this.pages.has(e.physIndex);
    if (Array.isArray(e.pages)) return e.pages.some((p) => this.pages.has(p as number));
    return false;
  }

  private keep(room: TraceRoom, e: TraceEvent): void {
    if (this.events.length >= JOURNEY_EVENTS_MAX) {
      this.droppedEvents++;
      return;
    }
    const { kernelId: _k, event, ...fields } = e;
    const tMs = Math.round((this.clock.nowMs() - this.startMs) * 1000) / 1000;
    this.events.push({ tMs, room, event, fields });
  }
}
