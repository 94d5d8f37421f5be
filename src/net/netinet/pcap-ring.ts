// A capture of every connection into one pcapng file with a bound on its size: blocks are appended
// as they come (a TLS connection's key log as a Decryption Secrets Block before its encrypted
// records); when the next block would pass the bound, the file is cut back to its header and
// starts again (a ring of one file), and the owner is told with one line. Writes go out in order,
// coalesced, from a queue whose bytes are bounded too: a disk that cannot keep up loses packets
// (counted), never memory.
import * as fs from 'node:fs';
import { MiB } from '../../kern/index.js';
import { pcapngHeader } from './pcap-buffer.js';
import { pcapngDsbKeylog } from './pcapng.js';
import type { PcapSink } from './tcp-pcap.js';
import type { IfNet } from './tcp-var.js';

/** The queue of writes not yet on disk holds at most this much. */
export const PCAP_RING_QUEUE_MAX_BYTES = 8 * MiB;

type Op =
  | { readonly kind: 'write'; readonly bufs: Uint8Array[]; readonly pos: number }
  | { readonly kind: 'truncate'; readonly len: number };

export interface PcapRingStats {
  /** Bytes the file holds (written or queued). */
  readonly fileBytes: number;
  readonly maxBytes: number;
  /** Times the file was cut back to its header. */
  readonly wraps: number;
  readonly packets: number;
  readonly droppedPackets: number;
  readonly connections: number;
  /** The most bytes the write queue held at once (at most PCAP_RING_QUEUE_MAX_BYTES). */
  readonly queuedPeakBytes: number;
}

export class PcapRingFile implements PcapSink {
  private readonly fd: number;
  private readonly headerBytes: number;
  private fileBytes: number;
  private queuedBytes = 0;
  private queuedPeakBytes = 0;
  private readonly ops: Op[] = [];
  private busy = false;
  private closing: (() => void) | null = null;
  private writeError: Error | null = null;
  private wraps = 0;
  private packets = 0;
  private droppedPackets = 0;
  private connections = 0;

  /** Opens (truncates) `path` and writes the header. `onWrap` gets the line that says it wrapped. */
  constructor(
    readonly path: string,
    ifp: IfNet,
    userappl: string,
    readonly maxBytes: number,
    private readonly onWrap: (line: string) => void,
  ) {
    const header = pcapngHeader(
      ifp,
      userappl,
      `A ring of at most ${maxBytes} bytes: when full, the file starts again after this header.`,
    );
    if (maxBytes < header.length * 2)
      throw new RangeError(`capture bound ${maxBytes} bytes: too small for a pcapng file`);
    this.fd = fs.openSync(path, 'w');
    fs.writeSync(this.fd, header);
    this.headerBytes = header.length;
    this.fileBytes = header.length;
  }

  secrets(lines: string): void {
    this.append(pcapngDsbKeylog(lines.endsWith('\n') ? lines : `${lines}\n`), false);
  }

  packet(epb: Uint8Array): void {
    this.append(epb, true);
  }

  closed(): void {
    this.connections++;
  }

  stats(): PcapRingStats {
    return {
      fileBytes: this.fileBytes,
      maxBytes: this.maxBytes,
      wraps: this.wraps,
      packets: this.packets,
      droppedPackets: this.droppedPackets,
      connections: this.connections,
      queuedPeakBytes: this.queuedPeakBytes,
    };
  }

  /** Writes what is queued and closes the file; rejects with the first write error. */
  close(): Promise<void> {
    return new Promise((resolve, reject) => {
      const finish = (): void => {
        fs.close(this.fd, () => (this.writeError !== null ? reject(this.writeError) : resolve()));
      };
      if (!this.busy && this.ops.length === 0) finish();
      else this.closing = finish;
    });
  }

  private append(block: Uint8Array, isPacket: boolean): void {
    const room = this.maxBytes - this.headerBytes;
    if (
      block.length > room ||
      this.queuedBytes + block.length > PCAP_RING_QUEUE_MAX_BYTES ||
      this.writeError !== null
    ) {
      if (isPacket) this.droppedPackets++;
      return;
    }
    if (this.fileBytes + block.length > this.maxBytes) {
      this.wraps++;
      this.ops.push({ kind: 'truncate', len: this.headerBytes });
      this.onWrap(
        `capture: ${this.path} reached its bound of ${this.maxBytes} bytes and starts again after its header (wrap ${this.wraps}; the packets before are gone)`,
      );
      this.fileBytes = this.headerBytes;
    }
    // An op still queued has not started: a write at its end grows it (the bytes follow on).
    const last = this.ops[this.ops.length - 1];
    if (last !== undefined && last.kind === 'write') last.bufs.push(block);
    else this.ops.push({ kind: 'write', bufs: [block], pos: this.fileBytes });
    this.fileBytes += block.length;
    this.queuedBytes += block.length;
    if (this.queuedBytes > this.queuedPeakBytes) this.queuedPeakBytes = this.queuedBytes;
    if (isPacket) this.packets++;
    this.pump();
  }

  private pump(): void {
    if (this.busy) return;
    const op = this.ops.shift();
    if (op === undefined) {
      if (this.closing !== null) this.closing();
      return;
    }
    this.busy = true;
    const done = (err: Error | null): void => {
      if (err !== null && this.writeError === null) this.writeError = err;
      if (op.kind === 'write') this.queuedBytes -= op.bufs.reduce((s, b) => s + b.length, 0);
      this.busy = false;
      this.pump();
    };
    if (op.kind === 'truncate') fs.ftruncate(this.fd, op.len, done);
    else fs.writev(this.fd, op.bufs as NodeJS.ArrayBufferView[], op.pos, (err) => done(err));
  }
}
