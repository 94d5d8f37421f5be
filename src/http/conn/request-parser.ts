// A strict HTTP/1.1 request parser for one connection (RFC 9112 sections 2-7), incremental: bytes
// are pushed as they arrive and complete requests are taken one at a time, so the connection
// decides how many parsed requests it holds (the rest stays unparsed: backpressure).
//
// Work per byte received is bounded: each byte is examined once, as it arrives (a byte scanner
// keeps its state across chunks), empty lines before a request line are dropped as they are
// seen and only EMPTY_LINES_MAX of them are allowed, and a head's chunks are joined once, when
// the head is complete. A body is kept only up to the caller's limit for that request, and a
// body the caller does not want (GET and HEAD) is dropped as it arrives.
//
// It refuses what llhttp (Node's parser) refuses: any control byte or lone CR or LF in the head,
// a space before the colon, obs-fold, unknown methods and versions, a repeated Content-Length,
// Content-Length with Transfer-Encoding; and what nginx refuses: a missing, repeated or malformed
// Host on HTTP/1.1. Values are trimmed of SP and HTAB only. Heads larger than Node's
// --max-http-header-size (16 KiB) get 431; a chunked request body 411; an expectation other than
// 100-continue 417.
import { METHODS } from 'node:http';

/** Node's default --max-http-header-size: request line and headers together. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** The largest body any request may have (fastify's default bodyLimit); callers keep less. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** Empty lines tolerated before a request line (RFC 9112 2.2 asks for "at least one"). */
export const EMPTY_LINES_MAX = 8;

export interface HttpRequest {
  readonly method: string;
  /** The request target as sent (origin form "/a?b", or absolute form). */
  readonly target: string;
  /** HTTP/1.x minor version. */
  readonly minor: 0 | 1;
  /** Field names lower-cased; repeated fields joined with ", " (RFC 9110 section 5.3). */
  readonly headers: Readonly<Record<string, string>>;
  /** The body when the caller keeps it; null when it had none or it was discarded. */
  readonly body: Buffer | null;
  /** The connection stays open after the response (HTTP/1.1 unless "close"; 1.0 with "keep-alive"). */
  readonly keepAlive: boolean;
  /** Bytes this request took on the wire (head and body, kept or not). */
  readonly wireBytes: number;
}

/** A request the parser refused: the status to answer, then the connection closes. */
export interface ParseError {
  readonly status: 400 | 408 | 411 | 413 | 417 | 429 | 431;
  readonly reason: string;
}

export type ParseStep =
  | { readonly kind: 'request'; readonly request: HttpRequest }
  /** A head with `Expect: 100-continue` whose body has not arrived: answer 100 Continue now. */
  | { readonly kind: 'continue' }
  | { readonly kind: 'error'; readonly error: ParseError }
  | { readonly kind: 'more' };

/**
 * How many body bytes of a request the caller keeps: a number (a larger body is refused with 413),
 * or null to drop the body as it arrives (the request is handed over at once).
 */
export type BodyLimit = (method: string, target: string) => number | null;

/** Bodies of GET and HEAD are dropped; any other method's is kept up to MAX_BODY_BYTES. */
export const defaultBodyLimit: BodyLimit = (method) =>
  method === 'GET' || method === 'HEAD' ? null : MAX_BODY_BYTES;

const MORE: ParseStep = { kind: 'more' };
const CONTINUE: ParseStep = { kind: 'continue' };
const KNOWN_METHODS = new Set(METHODS);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Request targets: VCHAR and obs-text, no space or control byte. */
const TARGET = /^[\x21-\x7e\x80-\xff]+$/;
/** Content-Length as llhttp takes it: leading OWS, digits, trailing spaces (not HTAB). */
const CONTENT_LENGTH = /^[ \t]*(\d{1,16}) *$/;
/** uri-host [":" port] (RFC 3986): an IP literal in brackets, or reg-name / IPv4 characters. */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::\d{0,5})?$/;

const CR = 0x0d;
const LF = 0x0a;
const HTAB = 0x09;
const DEL = 0x7f;

function fail(status: ParseError['status'], reason: string): ParseStep {
  return { kind: 'error', error: { status, reason } };
}

function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false;
  const v = value.toLowerCase();
  if (v === token) return true;
  if (!v.includes(',')) return false;
  for (const t of v.split(',')) if (t.trim() === token) return true;
  return false;
}

/** Strips SP and HTAB (RFC 9110 5.5 OWS) from both ends; nothing else. */
function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === HTAB)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === HTAB)) b--;
  return s.slice(a, b);
}

interface Head {
  readonly method: string;
  readonly target: string;
  readonly minor: 0 | 1;
  readonly headers: Record<string, string>;
  readonly rawContentLength: string | undefined;
}

/** Parses a complete head (without its final CRLF CRLF); the byte scanner already refused CTLs. */
function parseHead(text: string): Head | ParseStep {
  const lines = text.split('\r\n');
  const line = lines[0] ?? '';
  const sp1 = line.indexOf(' ');
  const sp2 = line.lastIndexOf(' ');
  if (sp1 <= 0 || sp2 === sp1) return fail(400, 'malformed request line');
  const method = line.slice(0, sp1);
  const target = line.slice(sp1 + 1, sp2);
  const version = line.slice(sp2 + 1);
  if (!KNOWN_METHODS.has(method)) return fail(400, 'unknown method');
  if (!TARGET.test(target)) return fail(400, 'malformed request target');
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') return fail(400, 'unsupported HTTP version');
  const minor = version === 'HTTP/1.1' ? 1 : 0;
  const headers: Record<string, string> = {};
  let contentLengths = 0;
  let hosts = 0;
  let rawContentLength: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    const colon = l.indexOf(':');
    if (colon <= 0) return fail(400, 'header without a name and colon');
    const name = l.slice(0, colon);
    if (!TOKEN.test(name)) return fail(400, 'bad header name');
    const raw = l.slice(colon + 1);
    const value = trimOws(raw);
    const key = name.toLowerCase();
    if (key === 'content-length') {
      contentLengths++;
      rawContentLength = raw;
    }
    if (key === 'host') hosts++;
    const prev = headers[key];
    headers[key] = prev === undefined ? value : `${prev}, ${value}`;
  }
  if (hosts > 1 || (minor === 1 && hosts === 0)) return fail(400, 'Host missing or repeated');
  const host = headers.host;
  if (host !== undefined && (minor === 1 || host !== '') && !HOST.test(host))
    return fail(400, 'malformed Host');
  if (contentLengths > 1) return fail(400, 'repeated Content-Length');
  return { method, target, minor, headers, rawContentLength };
}

/** The parser's state between two bytes. */
type Phase =
  | { readonly name: 'head' }
  | { name: 'body'; readonly head: Head; readonly headBytes: number; readonly bodyBytes: number }
  | { name: 'discard'; leftBytes: number };

export class RequestParser {
  /** Bytes received and not consumed yet, oldest first; `chunks[0]` from `firstOff`. */
  private chunks: Buffer[] = [];
  private firstOff = 0;
  private buffered = 0;
  private failed = false;
  private phase: Phase = { name: 'head' };
  // The head scanner, kept across chunks: bytes of `chunks` scanned, and what they were.
  private scanned = 0;
  private pendingCr = false;
  private lineBytes = 0;
  private headBytes = 0;
  private emptyLines = 0;
  /** Scanned bytes that were empty lines before a request line, to be consumed. */
  private leadingBytes = 0;
  private examined = 0;
  private continued = false;

  constructor(private readonly bodyLimit: BodyLimit = defaultBodyLimit) {}

  /** Bytes received and not yet consumed (an incomplete head, or a body being kept). */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Every byte the head scanner looked at, ever: at most the bytes received. */
  get bytesExamined(): number {
    return this.examined;
  }

  push(chunk: Buffer): void {
    if (this.failed || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /** The next complete request, 100 Continue to send, an error (then nothing more), or 'more'. */
  next(): ParseStep {
    if (this.failed) return MORE;
    const step = this.step();
    if (step.kind === 'error') {
      this.failed = true;
      this.chunks = [];
      this.buffered = 0;
    }
    return step;
  }

  private step(): ParseStep {
    for (;;) {
      const phase = this.phase;
      if (phase.name === 'discard') {
        phase.leftBytes -= this.drop(Math.min(phase.leftBytes, this.buffered));
        if (phase.leftBytes > 0) return MORE;
        this.phase = { name: 'head' };
        continue;
      }
      if (phase.name === 'body') return this.body(phase);
      const end = this.scanHead();
      if (end === null) return MORE;
      if (typeof end !== 'number') return end;
      return this.headDone(end);
    }
  }

  /**
   * Scans new bytes of the head; returns its length (final CRLF CRLF included) once complete,
   * an error, or null for more. Empty lines before the request line are consumed as seen.
   */
  private scanHead(): number | ParseStep | null {
    const r = this.scan();
    // Empty lines before the request line are consumed as soon as they are seen.
    if (this.leadingBytes > 0) {
      this.drop(this.leadingBytes);
      this.leadingBytes = 0;
    }
    return r;
  }

  private scan(): number | ParseStep | null {
    let idx = 0;
    let off = this.firstOff;
    let skip = this.scanned;
    // Find where scanning resumes.
    while (idx < this.chunks.length && skip >= this.chunks[idx]!.length - off) {
      skip -= this.chunks[idx]!.length - off;
      idx++;
      off = 0;
    }
    off += skip;
    for (; idx < this.chunks.length; idx++, off = 0) {
      const c = this.chunks[idx]!;
      for (let i = off; i < c.length; i++) {
        const b = c[i]!;
        this.examined++;
        this.scanned++;
        if (this.pendingCr) {
          if (b !== LF) return fail(400, 'lone CR in the head');
          this.pendingCr = false;
          if (this.headBytes === 0) {
            // An empty line before the request line: dropped at once.
            if (++this.emptyLines > EMPTY_LINES_MAX) return fail(400, 'too many empty lines');
            this.leadingBytes = this.scanned;
            continue;
          }
          this.headBytes++;
          if (this.lineBytes === 0) return this.headBytes;
          this.lineBytes = 0;
          continue;
        }
        if (b === CR) {
          this.pendingCr = true;
          if (this.headBytes > 0) this.headBytes++;
          continue;
        }
        if (b === LF) return fail(400, 'bare LF in the head');
        if ((b < 0x20 && b !== HTAB) || b === DEL) return fail(400, 'control byte in the head');
        this.headBytes++;
        this.lineBytes++;
        if (this.headBytes > MAX_HEAD_BYTES) return fail(431, 'request head too large');
      }
      if (this.headBytes > MAX_HEAD_BYTES) return fail(431, 'request head too large');
    }
    return null;
  }

  /** The head is the first `n` buffered bytes: join them once and decide what the body is. */
  private headDone(n: number): ParseStep {
    const text = this.take(n).toString('latin1', 0, n - 4);
    this.scanned = 0;
    this.headBytes = 0;
    this.lineBytes = 0;
    this.emptyLines = 0;
    this.continued = false;
    const head = parseHead(text);
    if ('kind' in head) return head;
    const te = head.headers['transfer-encoding'];
    if (te !== undefined && head.rawContentLength !== undefined)
      return fail(400, 'Content-Length with Transfer-Encoding');
    if (te !== undefined) return fail(411, 'a chunked request body');
    let bodyBytes = 0;
    if (head.rawContentLength !== undefined) {
      const m = CONTENT_LENGTH.exec(head.rawContentLength);
      if (m === null) return fail(400, 'bad Content-Length');
      bodyBytes = Number(m[1]);
    }
    const expect = head.minor === 1 ? head.headers.expect : undefined;
    if (expect !== undefined && expect.toLowerCase() !== '100-continue')
      return fail(417, 'unknown expectation');
    const limit = this.bodyLimit(head.method, head.target);
    if (bodyBytes > (limit ?? MAX_BODY_BYTES)) return fail(413, 'request body too large');
    if (limit === null) {
      // The body is dropped as it arrives; the request is answered without waiting for it.
      if (bodyBytes > 0) this.phase = { name: 'discard', leftBytes: bodyBytes };
      return this.request(head, n + bodyBytes, null);
    }
    this.phase = { name: 'body', head, headBytes: n, bodyBytes };
    return this.body(this.phase);
  }

  private body(phase: Phase & { name: 'body' }): ParseStep {
    if (this.buffered < phase.bodyBytes) {
      if (phase.head.headers.expect !== undefined && phase.head.minor === 1 && !this.continued) {
        this.continued = true;
        return CONTINUE;
      }
      return MORE;
    }
    this.phase = { name: 'head' };
    const body = phase.bodyBytes > 0 ? Buffer.from(this.take(phase.bodyBytes)) : null;
    return this.request(phase.head, phase.headBytes + phase.bodyBytes, body);
  }

  private request(head: Head, wireBytes: number, body: Buffer | null): ParseStep {
    const { method, target, minor, headers } = head;
    const connection = headers.connection;
    const keepAlive = minor === 1 ? !hasToken(connection, 'close') : hasToken(connection, 'keep-alive');
    return { kind: 'request', request: { method, target, minor, headers, body, keepAlive, wireBytes } };
  }

  /** Takes the first `n` buffered bytes as one buffer (a view when they lie in one chunk). */
  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length - this.firstOff >= n) {
      const out = first.subarray(this.firstOff, this.firstOff + n);
      this.drop(n);
      return out;
    }
    const parts: Buffer[] = [];
    for (let at = 0; at < n; ) {
      const c = this.chunks[0]!;
      const k = Math.min(n - at, c.length - this.firstOff);
      parts.push(c.subarray(this.firstOff, this.firstOff + k));
      at += k;
      this.drop(k);
    }
    return Buffer.concat(parts, n);
  }

  /** Consumes the first `n` buffered bytes (n <= buffered); returns n. */
  private drop(n: number): number {
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      const avail = c.length - this.firstOff;
      if (left < avail) {
        this.firstOff += left;
        break;
      }
      left -= avail;
      this.chunks.shift();
      this.firstOff = 0;
    }
    this.buffered -= n;
    this.scanned = Math.max(0, this.scanned - n);
    return n;
  }
}
