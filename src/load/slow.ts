// The slow and the stalled client: one GET, then the response is read at most `bytesPerSecond`
// (socket.read in paused mode: Node buffers up to its high-water mark, then the TCP window
// closes on the server). 0 bytes a second never reads: the stall. Bounded by its caller's stop().
import type { Socket } from 'node:net';
import { connectRaw } from './client.js';

export interface SlowReaderOptions {
  /** Extra header lines, each ending in CRLF. */
  readonly extraHeaders?: string;
  /** Bytes it may read at once before the rate applies. */
  readonly burstBytes?: number;
  readonly periodMs?: number;
}

/** The first bytes of the response kept for a look at its head. */
const HEAD_KEPT_BYTES = 4096;

export class SlowReader {
  bytesRead = 0;
  /** The start of what was read (the status line and headers). */
  head = '';
  private readonly timer: NodeJS.Timeout;

  constructor(
    readonly socket: Socket,
    path: string,
    bytesPerSecond: number,
    options: SlowReaderOptions = {},
  ) {
    const periodMs = options.periodMs ?? 250;
    socket.on('error', () => {});
    socket.on('readable', () => {});
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${options.extraHeaders ?? ''}\r\n`);
    // A fractional budget, so that 1 byte a second is one byte every fourth tick.
    let budgetBytes = options.burstBytes ?? 0;
    this.timer = setInterval(() => {
      budgetBytes += (bytesPerSecond * periodMs) / 1000;
      const n = Math.min(Math.floor(budgetBytes), socket.readableLength);
      if (n === 0) return;
      const chunk = socket.read(n) as Buffer | null;
      if (chunk === null) return;
      budgetBytes -= chunk.length;
      if (this.head.length < HEAD_KEPT_BYTES)
        this.head += chunk.toString('latin1', 0, Math.min(chunk.length, HEAD_KEPT_BYTES));
      this.bytesRead += chunk.length;
    }, periodMs);
  }

  static async open(
    port: number,
    path: string,
    bytesPerSecond: number,
    options: SlowReaderOptions = {},
  ): Promise<SlowReader> {
    return new SlowReader(await connectRaw(port), path, bytesPerSecond, options);
  }

  stop(): void {
    clearInterval(this.timer);
    this.socket.destroy();
  }
}
