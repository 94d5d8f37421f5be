// Response heads built by the server, as nginx's ngx_http_header_filter builds them: the status
// line, the fields, then Date and the connection fields. The Date string is made once a second
// (nginx's ngx_time_update), and a file's whole-body 200 head is cached per file version (its
// entry) and per second, so a hot file's head costs a lookup.
import { STATUS_CODES } from 'node:http';
import { type Clock, wallMs } from '../../kern/index.js';

/** The idle time a kept-alive connection is given, announced in Keep-Alive (fastify's default). */
export const KEEP_ALIVE_TIMEOUT_MS = 72_000;
const KEEP_ALIVE_FIELDS = `Connection: keep-alive\r\nKeep-Alive: timeout=${KEEP_ALIVE_TIMEOUT_MS / 1000}\r\n\r\n`;
const CLOSE_FIELDS = 'Connection: close\r\n\r\n';

interface CachedHeads {
  sec: number;
  keepAlive: Buffer | null;
  close: Buffer | null;
}

/**
 * One server's head builder. Its Date comes from the server's clock (wallMs: the wall clock for
 * the real clock, a fixed origin for a manual one).
 */
export class Heads {
  private dateSec = -1;
  private dateField = '';
  /** Whole-body 200 heads per file version, remade when the Date second changes. */
  private readonly whole200 = new WeakMap<object, CachedHeads>();

  constructor(private readonly clock: Clock) {}

  /** The server's time in whole seconds since the epoch, as its Date fields give it (ngx_time). */
  nowSec(): number {
    return Math.floor(wallMs(this.clock) / 1000);
  }

  /** "Date: <IMF-fixdate>\r\n", remade when the second changes. */
  dateLine(): string {
    const sec = this.nowSec();
    if (sec !== this.dateSec) {
      this.dateSec = sec;
      this.dateField = `Date: ${new Date(sec * 1000).toUTCString()}\r\n`;
    }
    return this.dateField;
  }

  /** The head: status line, `fields` (flat name, value list), Date, connection fields. */
  build(status: number, fields: readonly string[], keepAlive: boolean): Buffer {
    let s = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
    for (let i = 0; i + 1 < fields.length; i += 2) s += `${fields[i]}: ${fields[i + 1]}\r\n`;
    s += this.dateLine() + (keepAlive ? KEEP_ALIVE_FIELDS : CLOSE_FIELDS);
    return Buffer.from(s, 'latin1');
  }

  /**
   * The 200 head of a file version's whole body, cached per `entry` (any object that stands for one
   * version), with `fields` (the same for every call with that entry).
   */
  whole(entry: object, fields: readonly string[], keepAlive: boolean): Buffer {
    this.dateLine();
    let c = this.whole200.get(entry);
    if (c === undefined || c.sec !== this.dateSec) {
      c = { sec: this.dateSec, keepAlive: null, close: null };
      this.whole200.set(entry, c);
    }
    if (keepAlive) {
      if (c.keepAlive === null) c.keepAlive = this.build(200, fields, true);
      return c.keepAlive;
    }
    if (c.close === null) c.close = this.build(200, fields, false);
    return c.close;
  }
}
