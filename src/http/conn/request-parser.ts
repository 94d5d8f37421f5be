// A strict HTTP/1.1 request parser for one connection (RFC 9112 sections 2-7), incremental: bytes
// are pushed as they arrive and complete requests are taken one at a time, so the connection
// decides how many parsed requests it holds (the rest stays unparsed in the buffer: backpressure).
// It refuses what Node's llhttp refuses in its strict mode: bare LF, a space before the colon,
// control bytes, obs-fold, unknown methods and versions, a missing or repeated Host, a repeated
// Content-Length, Content-Length with Transfer-Encoding. Heads larger than Node's
// --max-http-header-size (16 KiB) are refused with 431. Bodies: Content-Length only (up to
// fastify's 1 MiB bodyLimit); a chunked request body gets 411.
import { METHODS } from 'node:http';

/** Node's default --max-http-header-size: request line and headers together. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** fastify's default bodyLimit. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface HttpRequest {
  readonly method: string;
  /** The request target as sent (origin form "/a?b", or absolute form). */
  readonly target: string;
  /** HTTP/1.x minor version. */
  readonly minor: 0 | 1;
  /** Field names lower-cased; repeated fields joined with ", " (RFC 9110 section 5.3). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | null;
  /** The connection stays open after the response (HTTP/1.1 unless "close"; 1.0 with "keep-alive"). */
  readonly keepAlive: boolean;
}

/** A request the parser refused: the status to answer, then the connection closes. */
export interface ParseError {
  readonly status: 400 | 408 | 411 | 413 | 431;
  readonly reason: string;
}

export type ParseStep =
  | { readonly kind: 'request'; readonly request: HttpRequest }
  | { readonly kind: 'error'; readonly error: ParseError }
  | { readonly kind: 'more' };

const MORE: ParseStep = { kind: 'more' };
const KNOWN_METHODS = new Set(METHODS);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Field values: HTAB, SP, VCHAR, obs-text; no other control byte. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** Request targets: VCHAR and obs-text, no space or control byte. */
const TARGET = /^[\x21-\x7e\x80-\xff]+$/;
const CRLFCRLF = Buffer.from('\r\n\r\n');

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

export class RequestParser {
  private buf: Buffer = Buffer.alloc(0);
  private failed = false;

  /** Bytes received and not yet parsed. */
  get bufferedBytes(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): void {
    if (this.failed) return;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  /** The next complete request, an error (after which nothing more is parsed), or 'more'. */
  next(): ParseStep {
    if (this.failed) return MORE;
    const step = this.parse();
    if (step.kind === 'error') {
      this.failed = true;
      this.buf = Buffer.alloc(0);
    }
    return step;
  }

  private parse(): ParseStep {
    // RFC 9112 section 2.2: empty lines before a request line are ignored.
    let start = 0;
    while (start + 1 < this.buf.length && this.buf[start] === 0x0d && this.buf[start + 1] === 0x0a)
      start += 2;
    const end = this.buf.indexOf(CRLFCRLF, start);
    const headEnd = end === -1 ? this.buf.length : end;
    const lf = this.buf.indexOf(0x0a, start);
    if (lf !== -1 && lf < headEnd && (lf === start || this.buf[lf - 1] !== 0x0d)) return fail(400, 'bare LF');
    if (end === -1) {
      if (this.buf.length - start > MAX_HEAD_BYTES) return fail(431, 'request head too large');
      return MORE;
    }
    if (end + 4 - start > MAX_HEAD_BYTES) return fail(431, 'request head too large');
    const lines = this.buf.toString('latin1', start, end).split('\r\n');
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
    for (let i = 1; i < lines.length; i++) {
      const l = lines[i]!;
      const colon = l.indexOf(':');
      if (colon <= 0) return fail(400, 'header without a name and colon');
      const name = l.slice(0, colon);
      if (!TOKEN.test(name)) return fail(400, 'bad header name');
      const value = l.slice(colon + 1).trim();
      if (!FIELD_VALUE.test(value)) return fail(400, 'control byte in a header value');
      const key = name.toLowerCase();
      if (key === 'content-length') contentLengths++;
      if (key === 'host') hosts++;
      const prev = headers[key];
      headers[key] = prev === undefined ? value : `${prev}, ${value}`;
    }
    if (hosts > 1 || (minor === 1 && hosts === 0)) return fail(400, 'Host missing or repeated');
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (contentLengths > 1) return fail(400, 'repeated Content-Length');
    if (te !== undefined && cl !== undefined) return fail(400, 'Content-Length with Transfer-Encoding');
    if (te !== undefined) return fail(411, 'a chunked request body');
    let bodyBytes = 0;
    if (cl !== undefined) {
      if (!/^\d{1,16}$/.test(cl)) return fail(400, 'bad Content-Length');
      bodyBytes = Number(cl);
      if (bodyBytes > MAX_BODY_BYTES) return fail(413, 'request body too large');
    }
    const bodyStart = end + 4;
    if (this.buf.length - bodyStart < bodyBytes) return MORE;
    const body = bodyBytes > 0 ? Buffer.from(this.buf.subarray(bodyStart, bodyStart + bodyBytes)) : null;
    this.buf = this.buf.subarray(bodyStart + bodyBytes);
    const connection = headers.connection;
    const keepAlive = minor === 1 ? !hasToken(connection, 'close') : hasToken(connection, 'keep-alive');
    return { kind: 'request', request: { method, target, minor, headers, body, keepAlive } };
  }
}
