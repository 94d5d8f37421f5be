// A deterministic in-memory Transport for tests (no kernel file mirrors it: it plays the host's
// TCP stack). Writes are recorded, not sent: each write keeps the very view it was given (so a
// test can check it is a view of a given ArrayBuffer) and its callback waits until the test calls
// drain(), which is how a test controls backpressure. drain() copies the bytes out first, as the
// host kernel would take them, then runs the callbacks in order.
import { EventEmitter } from 'node:events';
import type { Transport } from './socket.js';

/** One write() call as the transport saw it. */
export interface MemoryWrite {
  /** The chunk itself: the caller's view, never a copy. */
  readonly chunk: Uint8Array;
  /** Which cork()/uncork() batch it was part of (writes outside a cork are a batch each). */
  readonly batch: number;
  readonly hasCallback: boolean;
}

export interface MemoryTransportOptions {
  /** Drain by itself on a microtask after every batch (for tests that only want the bytes). */
  readonly autoDrain?: boolean;
}

interface PendingWrite {
  readonly chunk: Uint8Array;
  readonly cb: ((err?: Error | null) => void) | undefined;
}

/** An error shaped like Node's socket errors (err.code). */
export function transportError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code });
}

export class MemoryTransport extends EventEmitter implements Transport {
  /** Every write, in order. */
  readonly writes: MemoryWrite[] = [];
  /** Batches: each uncork() that closed a cork with writes, plus each write outside a cork. */
  batches = 0;
  corks = 0;
  destroyed = false;
  /** Bytes taken by drain(), in order (copies). */
  private readonly receivedChunks: Uint8Array[] = [];
  receivedBytes = 0;
  private pending: PendingWrite[] = [];
  private corkDepth = 0;
  private corkedWrites = 0;
  private drainScheduled = false;

  constructor(private readonly options: MemoryTransportOptions = {}) {
    super();
  }

  write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean {
    if (this.destroyed) {
      queueMicrotask(() => cb?.(transportError('ERR_STREAM_DESTROYED', 'write after destroy')));
      return false;
    }
    const batch = this.corkDepth > 0 ? this.batches : this.batches++;
    if (this.corkDepth > 0) this.corkedWrites++;
    this.writes.push({ chunk, batch, hasCallback: cb !== undefined });
    this.pending.push({ chunk, cb });
    if (this.corkDepth === 0) this.scheduleDrain();
    return true;
  }

  cork(): void {
    this.corks++;
    this.corkDepth++;
  }

  uncork(): void {
    if (this.corkDepth === 0) return;
    this.corkDepth--;
    if (this.corkDepth === 0 && this.corkedWrites > 0) {
      this.batches++;
      this.corkedWrites = 0;
      this.scheduleDrain();
    }
  }

  /** Writes whose callback has not run yet. */
  get pendingWrites(): number {
    return this.pending.length;
  }

  get pendingBytes(): number {
    let n = 0;
    for (const w of this.pending) n += w.chunk.length;
    return n;
  }

  /**
   * The host takes up to `maxWrites` pending writes: their bytes are copied out, then their
   * callbacks run in order. Returns the bytes taken.
   */
  drain(maxWrites = Number.POSITIVE_INFINITY): number {
    if (this.destroyed) return 0;
    const taken = this.pending.splice(0, Math.min(maxWrites, this.pending.length));
    let bytes = 0;
    for (const w of taken) {
      this.receivedChunks.push(w.chunk.slice());
      bytes += w.chunk.length;
    }
    this.receivedBytes += bytes;
    for (const w of taken) w.cb?.(null);
    return bytes;
  }

  /** Everything drained so far, concatenated. */
  received(): Uint8Array {
    const out = new Uint8Array(this.receivedBytes);
    let off = 0;
    for (const c of this.receivedChunks) {
      out.set(c, off);
      off += c.length;
    }
    return out;
  }

  /** The peer resets: 'error' with `code` (ECONNRESET, EPIPE), then 'close'. */
  fail(code = 'ECONNRESET'): void {
    this.destroy(transportError(code, `peer: ${code}`));
  }

  /** Like a Node stream's destroy: pending callbacks get an error, then 'error' (if any) and 'close'. */
  destroy(err?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    const pending = this.pending;
    this.pending = [];
    queueMicrotask(() => {
      for (const w of pending) w.cb?.(err ?? transportError('ERR_STREAM_DESTROYED', 'destroyed'));
      if (err !== undefined) this.emit('error', err);
      this.emit('close', err !== undefined);
    });
  }

  private scheduleDrain(): void {
    if (this.options.autoDrain !== true || this.drainScheduled) return;
    this.drainScheduled = true;
    queueMicrotask(() => {
      this.drainScheduled = false;
      this.drain();
    });
  }
}
