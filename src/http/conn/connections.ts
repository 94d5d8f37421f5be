// The connection side of one server, as nginx's cycle holds its connections: every accepted
// connection, and what they share (the kernel, the clock, the head builder, the counters, TLS,
// pool admission). It is the conn room's one context: a Connection reaches the kernel, the clock
// and the server's answer only through it. The sweep applies the send and idle timeouts; close
// ends idle connections at once and cuts busy ones after a grace period, so it always finishes.
import { createServer, type RequestListener, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Kernel } from '../../index.js';
import { type Clock, type TimerHandle, type Tracer, tracer } from '../../kern/index.js';
import type { ResolvedServerOptions } from '../options.js';
import type { BodyTurns } from './body-turns.js';
import {
  type ConnContext,
  Connection,
  type ConnectionCounters,
  type ConnectionTls,
  newConnectionCounters,
} from './connection.js';
import { Heads, KEEP_ALIVE_TIMEOUT_MS } from './heads.js';
import { POOL_PRESSURE_SEND_TIMEOUT_MS, PoolGate } from './pool-gate.js';
import { type BodyLimit, defaultBodyLimit, type HttpRequest } from './request-parser.js';
import { connectionTls } from './tls.js';

/** Event-loop turns that close waits for the last connections to let go of their kernel objects. */
const CLOSE_TURNS_MAX = 100;

/**
 * What answers a request on a connection (the server composes it from the files and the panel),
 * resolving with the status that went out.
 */
export type Responder = (conn: Connection, request: HttpRequest) => Promise<number | null>;

/**
 * An http.Server for fastify's serverFactory whose accepted sockets are not given to Node's HTTP
 * parser: Connections.accept takes them.
 */
export function ownConnectionsServer(handler: RequestListener): Server {
  const server = createServer(handler);
  server.removeAllListeners('connection');
  return server;
}

export class Connections implements ConnContext {
  readonly open = new Set<Connection>();
  readonly counters: ConnectionCounters = newConnectionCounters();
  readonly heads: Heads;
  readonly tls: ConnectionTls | null;
  readonly clock: Clock;
  readonly trace: Tracer;
  private readonly pools: PoolGate;
  private readonly sendTimeoutMs: number;
  private sweepTimer: TimerHandle | null = null;
  private graceTimer: TimerHandle | null = null;
  closing = false;

  constructor(
    readonly kernel: Kernel,
    options: ResolvedServerOptions,
    readonly respond: Responder,
    /** How many body bytes a request keeps (null: dropped as they arrive). */
    readonly bodyLimit: BodyLimit = defaultBodyLimit,
  ) {
    this.clock = options.clock;
    this.sendTimeoutMs = options.sendTimeoutMs;
    this.heads = new Heads(this.clock);
    this.trace = tracer('http', kernel.id);
    this.pools = new PoolGate(kernel, this.clock);
    this.tls = options.tls === null ? null : connectionTls(options.tls);
  }

  /** A socket the listener accepted: a connection with its kernel socket. */
  accept(socket: Socket): void {
    this.open.add(new Connection(this, socket));
    this.arm();
  }

  admit(conn: Connection): Promise<void> | null {
    return this.pools.admit(conn);
  }

  get turns(): BodyTurns {
    return this.pools.turns;
  }

  closed(conn: Connection): void {
    this.open.delete(conn);
  }

  private arm(): void {
    if (this.sweepTimer !== null || this.open.size === 0) return;
    // Often enough for the shorter send timeout under pressure.
    const timeoutMs = Math.min(this.sendTimeoutMs, POOL_PRESSURE_SEND_TIMEOUT_MS);
    const periodMs = Math.max(20, Math.min(1000, Math.floor(timeoutMs / 4)));
    this.sweepTimer = this.clock.setTimer(periodMs, () => {
      this.sweepTimer = null;
      const nowMs = this.clock.nowMs();
      // While others wait for a pool, a stalled holder is closed sooner.
      const sendTimeoutMs = this.pools.underPressure(nowMs)
        ? Math.min(this.sendTimeoutMs, POOL_PRESSURE_SEND_TIMEOUT_MS)
        : this.sendTimeoutMs;
      for (const c of this.open) c.sweep(nowMs, sendTimeoutMs, KEEP_ALIVE_TIMEOUT_MS);
      this.arm();
    });
  }

  /**
   * The server starts closing: new requests get 503, idle connections close now, and those still
   * busy after `graceMs` (a stalled download, a preconnected socket that never sent a request) are cut.
   */
  startClose(graceMs: number): void {
    this.closing = true;
    for (const c of this.open) if (c.idle) c.destroy();
    this.graceTimer = this.clock.setTimer(graceMs, () => {
      for (const c of this.open) c.destroy();
    });
  }

  /** Before the kernel's at-rest check: every connection lets go of its kernel socket and files. */
  async teardown(): Promise<void> {
    this.pools.close();
    this.graceTimer?.cancel();
    this.sweepTimer?.cancel();
    this.sweepTimer = null;
    // A connection lets go of its kernel socket and files on its own 'close', a turn or two
    // after the listening socket counted it closed: wait for that (bounded), then cut the rest.
    for (let turn = 0; turn < CLOSE_TURNS_MAX && this.open.size > 0; turn++) {
      // A turn of the event loop, not a timer: it must pass under a manual clock too.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    for (const c of this.open) c.destroy();
  }
}
