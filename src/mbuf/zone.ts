// Mirrors the part of UMA (sys/vm/uma_core.c) that kern_mbuf.c relies on: a zone of fixed-size
// items with a cache of free items, a limit (uma_zone_set_max), failure and sleep counters, and a
// "zonelimit" sleep for M_WAITOK callers when the limit is reached.
//
// XXX(sim): items are carved from the zone's own ArrayBuffer slabs, grown lazily and never past
// the limit; a slab is never given back (UMA drains caches under memory pressure). Freed items go
// to one LIFO free list (UMA keeps per-CPU buckets). An item freed while callers sleep is
// reserved for the oldest sleeper, so sleepers are served in FIFO order and a caller that does not
// sleep cannot take it first.
import { kassert, WaitQueue } from '../kern/index.js';

export class Zone<T> {
  /** Every item ever carved, for the O(n) invariant walks. */
  readonly items: T[] = [];
  private readonly freeItems: T[] = [];
  /** Free items promised to woken sleepers. */
  private reserved = 0;
  /** Items handed out and not yet freed (netstat's "current"). */
  current = 0;
  /** Highest `current` since the last takePeak (a sampler between event-loop turns misses it). */
  private peak = 0;
  /** Allocations refused at the limit (netstat's "denied"). */
  failures = 0;
  /** Sleeps at the limit (netstat's "delayed"). */
  sleeps = 0;
  readonly waitq = new WaitQueue('zonelimit');

  constructor(
    readonly name: string,
    readonly itemSizeBytes: number,
    readonly limit: number,
    private readonly slabItemCount: number,
    private readonly carve: (slab: ArrayBuffer, offsetBytes: number) => T,
  ) {
    kassert(limit >= 0 && Number.isInteger(limit), () => `Zone(${name}): bad limit ${limit}`);
  }

  /** Free items held in the zone's cache. */
  get cache(): number {
    return this.freeItems.length;
  }

  /** Items carved so far: current + cache. */
  get total(): number {
    return this.items.length;
  }

  /** Callers sleeping for an item. */
  get sleepers(): number {
    return this.waitq.length;
  }

  /** uma_zalloc(M_NOWAIT) without the counters: an item, or null at the limit. */
  alloc(): T | null {
    if (this.freeItems.length <= this.reserved && !this.grow()) return null;
    if (++this.current > this.peak) this.peak = this.current;
    return this.freeItems.pop() as T;
  }

  /** The highest `current` since the last call; the next interval starts at `current`. */
  takePeak(): number {
    const peak = Math.max(this.peak, this.current);
    this.peak = this.current;
    return peak;
  }

  /** uma_zfree: back to the cache; the oldest sleeper, if any, gets it reserved and wakes. */
  free(item: T): void {
    this.current--;
    this.freeItems.push(item);
    if (this.waitq.length > 0) {
      this.reserved++;
      this.waitq.wakeOne();
    }
  }

  /**
   * The M_WAITOK path at the limit: sleep on "zonelimit" until an item is freed for us. `take`
   * runs in the same turn that takes the item off the cache, so no other code (an invariant walk
   * after some free) can see the item counted in use and not yet set up by its caller. An
   * aborted `signal` ends the sleep with EINTR (the caller's connection went away).
   */
  sleepAlloc<R>(take: (item: T) => R, signal?: AbortSignal): Promise<R> {
    this.sleeps++;
    // An aborted sleeper leaves the queue before any item is reserved for it (EINTR).
    return this.waitq.sleep(signal).then(() => take(this.takeReserved()));
  }

  private takeReserved(): T {
    kassert(this.reserved > 0 && this.freeItems.length > 0, () => `${this.name}: woken without an item`);
    this.reserved--;
    if (++this.current > this.peak) this.peak = this.current;
    return this.freeItems.pop() as T;
  }

  /** Carves one more slab, lowest address on top of the free list; false at the limit. */
  private grow(): boolean {
    const n = Math.min(this.slabItemCount, this.limit - this.items.length);
    if (n <= 0) return false;
    const slab = new ArrayBuffer(n * this.itemSizeBytes);
    for (let i = 0; i < n; i++) this.items.push(this.carve(slab, i * this.itemSizeBytes));
    for (let i = this.items.length - 1; i >= this.items.length - n; i--) {
      this.freeItems.push(this.items[i] as T);
    }
    return true;
  }

  /** Whether `item` sits in the cache (O(n); for assertions). */
  isCached(item: T): boolean {
    return this.freeItems.includes(item);
  }

  /** The zone's own rules; returns what is broken. */
  violations(): string[] {
    const out: string[] = [];
    if (this.total > this.limit) out.push(`${this.name}: total ${this.total} > limit ${this.limit}`);
    if (this.current + this.cache !== this.total) {
      out.push(`${this.name}: current ${this.current} + cache ${this.cache} != total ${this.total}`);
    }
    if (this.reserved > this.cache) out.push(`${this.name}: reserved ${this.reserved} > cache ${this.cache}`);
    if (this.current < 0) out.push(`${this.name}: current ${this.current} < 0`);
    return out;
  }
}
