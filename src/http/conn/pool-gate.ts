// Admission of body responses to the kernel's pools, as sbwait with SO_SNDTIMEO: a response that
// has not started begins only when every pool it may draw from has room: free or reclaimable
// pages, sf_bufs (the KVA pool), mbufs and clusters (KTLS's anonymous pages are pages). Waiters
// queue in order and sleep in the kernel until buffers are freed somewhere (bufWait: an
// acknowledgement or a dropped connection), never polling; a waiter still queued after
// POOL_WAIT_MS gets PoolExhaustedError (503 with Retry-After, naming the pool), and a
// connection's close ends its wait. So a pool that stalled clients hold makes others wait a
// bounded time, never forever. When bodies in the kernel hold the pools, a response does not wait
// here: the bodies take turns (BodyTurns) and its first call goes ahead of them, within the same
// deadline. What one connection may hold at all is bounded by its send buffer
// (connectionShareBytes).
import type { Kernel } from '../../index.js';
import { type Clock, PAGE_SIZE } from '../../kern/index.js';
import { PoolExhaustedError } from '../errors.js';
import { BodyTurns } from './body-turns.js';
import type { Connection } from './connection.js';

/**
 * How long a response that has not started waits for a dry pool (its SO_SNDTIMEO): half a
 * second, so that its 503 is out within one even when a burst of connections has kept it waiting
 * to be accepted (Node's libuv takes one connection per turn of the event loop) and parsed.
 */
export const POOL_WAIT_MS = 500;
/**
 * While responses wait for a pool, or a pool is dry, or the bodies take turns, or one was refused
 * this recently, the pools are under pressure: a connection that took no byte for
 * POOL_PRESSURE_SEND_TIMEOUT_MS is closed (the send timeout, shortened), so that what a stalled
 * reader holds in its send buffer goes to those who wait. A body under way that sleeps for a
 * buffer (an sf_buf in sf_buf_alloc) has no deadline of its own: the holders' cut bounds its wait,
 * so a holder may keep a dry pool no longer than a new response may wait for one.
 */
export const POOL_PRESSURE_MS = 5000;
export const POOL_PRESSURE_SEND_TIMEOUT_MS = POOL_WAIT_MS;
/** The connections every pool is shared by: no one connection may queue more than this share. */
export const POOL_SHARE_CONNECTIONS = 32;
/** The largest send buffer a connection gets: a large body then goes out in few batches. */
const SNDBUF_MAX_BYTES = 1024 * 1024;
/** Clusters per page of a send buffer on the copy path (MCLBYTES 2048). */
const CLUSTERS_PER_PAGE = 2;

export type PoolName = 'pages' | 'sf_bufs' | 'mbufs' | 'clusters';

interface Waiter {
  readonly deadlineMs: number;
  readonly signal: AbortSignal;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
  readonly onAbort: () => void;
}

/** The pools a connection's send buffer draws from, in pages (clusters per page on the copy path). */
interface PoolSizes {
  readonly physmemBytes: number;
  readonly mapping: string;
  readonly nsfbufs: number;
  readonly nmbufs: number;
  readonly nmbclusters: number;
}

/** The smallest pool, in pages of a send buffer: memory, mbufs (one a page), clusters, sf_bufs (KVA). */
function tightestPoolPages(c: PoolSizes): number {
  return Math.min(
    Math.floor(c.physmemBytes / PAGE_SIZE),
    c.nmbufs,
    Math.floor(c.nmbclusters / CLUSTERS_PER_PAGE),
    c.mapping === 'kva' ? c.nsfbufs : Number.MAX_SAFE_INTEGER,
  );
}

/**
 * A connection's send buffer (SO_SNDBUF, as a file server sets it), its share of every pool it
 * draws from, as sb_hiwat bounds a socket in FreeBSD: a 32nd of memory, of the mbufs (one per
 * page sent), of the clusters (the copy path's copies) and of the sf_bufs (KVA), at most 1 MiB
 * and at least a page. A few slow readers then cannot hold a pool; only many can, and then
 * admission answers 503 within POOL_WAIT_MS.
 */
export function connectionShareBytes(c: PoolSizes): number {
  const pages = Math.floor(tightestPoolPages(c) / POOL_SHARE_CONNECTIONS);
  return Math.min(SNDBUF_MAX_BYTES, Math.max(1, pages) * PAGE_SIZE);
}

/**
 * How many bodies under way may send at once while new responses wait (BodyTurns): half of the
 * connections whose full send buffers the smallest pool holds, at least one.
 */
export function bodyTurnsLimit(c: PoolSizes & { readonly sndbufBytes: number }): number {
  const sharePages = Math.max(1, Math.ceil(c.sndbufBytes / PAGE_SIZE));
  return Math.max(1, Math.floor(tightestPoolPages(c) / sharePages / 2));
}

export class PoolGate {
  private readonly waiters: Waiter[] = [];
  /** The bodies under way, which take turns while responses wait here. */
  readonly turns: BodyTurns;
  private running = false;
  private readonly closing = new AbortController();
  private lastRefusalMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly kernel: Kernel,
    private readonly clock: Clock,
  ) {
    this.turns = new BodyTurns(clock, bodyTurnsLimit(kernel.config), () => this.exhausted());
  }

  /** Responses waiting for room now. */
  get waiting(): number {
    return this.waiters.length;
  }

  /** The first pool a response may need that has nothing free (or has sleepers already), or null. */
  dryPool(): PoolName | null {
    const k = this.kernel;
    const { mbufZone, clusterZone } = k.mbufs;
    if (mbufZone.current >= mbufZone.limit || mbufZone.sleepers > 0) return 'mbufs';
    if (clusterZone.current >= clusterZone.limit || clusterZone.sleepers > 0) return 'clusters';
    if (k.sfbufs.hasPool) {
      const sf = k.sfbufs.counters();
      if (sf.nsfbufsused >= sf.nsfbufs || k.sfbufs.sleepers > 0) return 'sf_bufs';
    }
    if (k.vm.reclaimablePages < k.vm.freeTargetPages || k.vm.vmwait.length > 0) return 'pages';
    return null;
  }

  /**
   * Responses wait for a pool now, or a pool is dry (callers sleep in the kernel for it), or the
   * bodies take turns, or one was refused within POOL_PRESSURE_MS.
   */
  underPressure(nowMs: number): boolean {
    return (
      this.waiters.length > 0 ||
      this.turns.yielding() ||
      nowMs - this.lastRefusalMs < POOL_PRESSURE_MS ||
      this.exhausted()
    );
  }

  /** Whether a pool a response needs is dry. */
  exhausted(): boolean {
    return this.dryPool() !== null;
  }

  /**
   * Resolves when the response may start; null when it may start at once. When this connection's
   * own earlier responses hold the pools it first waits for its own send buffer to drain (waiting
   * for others would be for itself).
   */
  admit(conn: Connection): Promise<void> | null {
    if (this.waiters.length === 0 && !this.exhausted()) return null;
    return this.admitWaiting(conn);
  }

  private async admitWaiting(conn: Connection): Promise<void> {
    if (conn.queuedBytes() > 0) {
      await conn.drain();
      if (this.waiters.length === 0 && !this.exhausted()) return;
    }
    // Bodies in the kernel hold the pools: they take turns, and this response starts as soon as
    // the pools move (a buffer freed), its first call ahead of the bodies' next batches. Pools that
    // do not move within the wait are held by stalled readers: 503, as below.
    if (this.turns.active > 0) {
      this.turns.yieldToNew();
      return this.moved(conn.signal);
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
      if (!this.running) void this.run();
    });
  }

  /**
   * Wakes waiters in order while the pools have room and refuses those past their deadline; in
   * between, sleeps until the kernel frees buffers or the first deadline comes.
   */
  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.waiters.length > 0 && !this.closing.signal.aborted) {
        const nowMs = this.clock.nowMs();
        const w = this.waiters[0]!;
        const dry = this.dryPool();
        if (dry === null) this.settle(w, null);
        else if (nowMs >= w.deadlineMs) {
          this.lastRefusalMs = nowMs;
          this.settle(w, new PoolExhaustedError(`${dry} exhausted`));
        } else await this.sleep(w.deadlineMs - nowMs);
      }
    } finally {
      this.running = false;
    }
  }

  /** Resolves when a buffer is freed anywhere in the kernel; PoolExhaustedError after POOL_WAIT_MS. */
  private async moved(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    const ac = new AbortController();
    const onAbort = (): void => ac.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    let late = false;
    const timer = this.clock.setTimer(POOL_WAIT_MS, () => {
      late = true;
      ac.abort();
    });
    try {
      await this.kernel.bufWait(ac.signal).catch(() => {});
    } finally {
      timer.cancel();
      signal.removeEventListener('abort', onAbort);
    }
    signal.throwIfAborted();
    if (late) {
      this.lastRefusalMs = this.clock.nowMs();
      throw new PoolExhaustedError(`${this.dryPool() ?? 'pools'} held, not moving`);
    }
  }

  /** kernel.bufWait, cut short at `ms` (its sleeper leaves the queue) or when the gate closes. */
  private sleep(ms: number): Promise<void> {
    const ac = new AbortController();
    const onClose = (): void => ac.abort();
    this.closing.signal.addEventListener('abort', onClose, { once: true });
    const timer = this.clock.setTimer(ms, () => ac.abort());
    return this.kernel
      .bufWait(ac.signal)
      .catch(() => {})
      .finally(() => {
        timer.cancel();
        this.closing.signal.removeEventListener('abort', onClose);
      });
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
    this.closing.abort();
    this.turns.close();
    for (const w of this.waiters.slice()) this.settle(w, new PoolExhaustedError('server closing'));
  }
}
