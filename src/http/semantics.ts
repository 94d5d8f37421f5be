// HTTP semantics of a static file response (RFC 9110 sections 13 and 14), as nginx's
// ngx_http_not_modified_filter and ngx_http_range_filter decide them: conditional requests
// first (If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since), then Range with
// If-Range. Pure functions: no I/O, so the rules are tested on their own.
import rangeParser from 'range-parser';

/** nginx's max_ranges: a Range header with more ranges than this is ignored (200, full body). */
export const MAX_RANGES = 16;

export interface Validators {
  /** Strong entity tag, quoted: "ino-size-mtime" in hex. */
  readonly etag: string;
  /** Last-Modified in whole seconds since the epoch (HTTP dates have second resolution). */
  readonly lastModifiedSec: number;
  readonly sizeBytes: number;
}

export interface ByteRange {
  readonly start: number;
  /** Inclusive, as in Content-Range. */
  readonly end: number;
}

export type Decision =
  | { readonly status: 200 }
  | { readonly status: 206; readonly ranges: readonly ByteRange[] }
  | { readonly status: 304 }
  | { readonly status: 412 }
  | { readonly status: 416 };

export interface ConditionalHeaders {
  readonly 'if-match'?: string | undefined;
  readonly 'if-none-match'?: string | undefined;
  readonly 'if-modified-since'?: string | undefined;
  readonly 'if-unmodified-since'?: string | undefined;
  readonly range?: string | undefined;
  readonly 'if-range'?: string | undefined;
}

/** The entity tag from ino, size and mtime, like nginx's "mtime-size" with the inode added. */
export function makeEtag(ino: number, sizeBytes: number, mtimeMs: number): string {
  return `"${ino.toString(16)}-${sizeBytes.toString(16)}-${Math.floor(mtimeMs).toString(16)}"`;
}

/** Parses an HTTP date to whole seconds; NaN when it is not a date. */
function httpDateSec(text: string): number {
  return Math.floor(Date.parse(text) / 1000);
}

/** The tags of an If-Match / If-None-Match list ('*' stays '*'). */
function tagList(header: string): string[] {
  return header
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}

/** Weak comparison (If-None-Match): W/"x" equals "x". */
function weakMatch(header: string, etag: string): boolean {
  const bare = etag.replace(/^W\//, '');
  return tagList(header).some((t) => t === '*' || t.replace(/^W\//, '') === bare);
}

/** Strong comparison (If-Match, If-Range): weak tags never match. */
function strongMatch(header: string, etag: string): boolean {
  if (etag.startsWith('W/')) return false;
  return tagList(header).some((t) => t === '*' || t === etag);
}

/** 412 / 304 / null (go on), in the order RFC 9110 section 13.2.2 gives. */
function evaluateConditionals(method: string, h: ConditionalHeaders, v: Validators): 304 | 412 | null {
  const ifMatch = h['if-match'];
  if (ifMatch !== undefined) {
    if (!strongMatch(ifMatch, v.etag)) return 412;
  } else if (h['if-unmodified-since'] !== undefined) {
    const since = httpDateSec(h['if-unmodified-since']);
    if (!Number.isNaN(since) && v.lastModifiedSec > since) return 412;
  }
  const ifNoneMatch = h['if-none-match'];
  if (ifNoneMatch !== undefined) {
    // If-None-Match wins: If-Modified-Since is then ignored.
    if (weakMatch(ifNoneMatch, v.etag)) return method === 'GET' || method === 'HEAD' ? 304 : 412;
  } else if (h['if-modified-since'] !== undefined && (method === 'GET' || method === 'HEAD')) {
    const since = httpDateSec(h['if-modified-since']);
    if (!Number.isNaN(since) && v.lastModifiedSec <= since) return 304;
  }
  return null;
}

/** If-Range holds when it is the strong ETag or exactly the Last-Modified date. */
function ifRangeHolds(ifRange: string, v: Validators): boolean {
  const t = ifRange.trim();
  if (t.startsWith('"') || t.startsWith('W/')) return strongMatch(t, v.etag);
  const sec = httpDateSec(t);
  return !Number.isNaN(sec) && sec === v.lastModifiedSec;
}

/** What to answer for a GET or HEAD of a file with these validators. */
export function decide(method: string, h: ConditionalHeaders, v: Validators): Decision {
  const conditional = evaluateConditionals(method, h, v);
  if (conditional !== null) return { status: conditional };
  const range = h.range;
  if (range === undefined || (method !== 'GET' && method !== 'HEAD')) return { status: 200 };
  if (h['if-range'] !== undefined && !ifRangeHolds(h['if-range'], v)) return { status: 200 };
  return decideRange(range, v.sizeBytes);
}

/**
 * ngx_http_range_parse's rules: another unit is ignored (200); a malformed "bytes=" set, a number
 * past the largest offset, or ranges adding up to more than the file (overlap used to amplify)
 * get 416; more than MAX_RANGES ranges, counted before merging, are ignored (200, the whole body).
 */
function decideRange(range: string, sizeBytes: number): Decision {
  const bytesUnit = /^\s*bytes\s*=/i.test(range);
  if (!bytesUnit) return { status: 200 };
  const specs = range.slice(range.indexOf('=') + 1).split(',');
  if (specs.length > MAX_RANGES) return { status: 200 };
  if ((range.match(/\d+/g) ?? []).some((d) => !Number.isSafeInteger(Number(d)))) return { status: 416 };
  const each = rangeParser(sizeBytes, range, { combine: false });
  if (each === -2) return { status: 416 };
  if (each === -1) return { status: 416 };
  if (each.reduce((n, r) => n + (r.end - r.start + 1), 0) > sizeBytes) return { status: 416 };
  const parsed = rangeParser(sizeBytes, range, { combine: true });
  if (parsed === -2 || parsed === -1) return { status: 416 };
  return { status: 206, ranges: parsed.map((r) => ({ start: r.start, end: r.end })) };
}
