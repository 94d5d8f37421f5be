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

/**
 * The entity tag from ino, size and mtime, like nginx's "mtime-size" with the inode added; the
 * mtime in nanoseconds, so that two versions written within one millisecond differ.
 */
export function makeEtag(ino: bigint, sizeBytes: bigint, mtimeNs: bigint): string {
  return `"${ino.toString(16)}-${sizeBytes.toString(16)}-${mtimeNs.toString(16)}"`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const T = '(\\d{2}):(\\d{2}):(\\d{2})';
const MON = `(${MONTHS.join('|')})`;
/** IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
const IMF_FIXDATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\\d{2}) ${MON} (\\d{4}) ${T} GMT$`);
/** rfc850-date (obsolete): Sunday, 06-Nov-94 08:49:37 GMT */
const RFC850_DATE = new RegExp(
  `^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), (\\d{2})-${MON}-(\\d{2}) ${T} GMT$`,
);
/** asctime-date (obsolete): Sun Nov  6 08:49:37 1994 */
const ASCTIME_DATE = new RegExp(`^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) ${MON} ( \\d|\\d{2}) ${T} (\\d{4})$`);

function utcSec(year: number, month: string, day: number, h: string, m: string, s: string): number {
  const mon = MONTHS.indexOf(month);
  const hh = Number(h);
  const mm = Number(m);
  const ss = Number(s);
  if (hh > 23 || mm > 59 || ss > 60) return Number.NaN;
  const ms = Date.UTC(year, mon, day, hh, mm, ss);
  // 31 Feb and the like are not dates.
  if (new Date(ms).getUTCDate() !== day && ss !== 60) return Number.NaN;
  return ms / 1000;
}

/**
 * An HTTP-date (RFC 9110 section 5.6.7: IMF-fixdate, or the obsolete rfc850 and asctime forms a
 * recipient must accept) in whole seconds; NaN for anything else ("2030" is not a date).
 */
export function httpDateSec(text: string, nowMs: number): number {
  let m = IMF_FIXDATE.exec(text);
  if (m) return utcSec(Number(m[3]), m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!);
  m = RFC850_DATE.exec(text);
  if (m) {
    // A two-digit year more than 50 years ahead is the latest past year with those digits.
    const nowYear = new Date(nowMs).getUTCFullYear();
    let year = Math.floor(nowYear / 100) * 100 + Number(m[3]);
    if (year > nowYear + 50) year -= 100;
    return utcSec(year, m[2]!, Number(m[1]), m[4]!, m[5]!, m[6]!);
  }
  m = ASCTIME_DATE.exec(text);
  if (m) return utcSec(Number(m[6]), m[1]!, Number(m[2]!.trim()), m[3]!, m[4]!, m[5]!);
  return Number.NaN;
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
function evaluateConditionals(
  method: string,
  h: ConditionalHeaders,
  v: Validators,
  nowMs: number,
): 304 | 412 | null {
  const ifMatch = h['if-match'];
  if (ifMatch !== undefined) {
    if (!strongMatch(ifMatch, v.etag)) return 412;
  } else if (h['if-unmodified-since'] !== undefined) {
    const since = httpDateSec(h['if-unmodified-since'], nowMs);
    if (!Number.isNaN(since) && v.lastModifiedSec > since) return 412;
  }
  const ifNoneMatch = h['if-none-match'];
  if (ifNoneMatch !== undefined) {
    // If-None-Match wins: If-Modified-Since is then ignored.
    if (weakMatch(ifNoneMatch, v.etag)) return method === 'GET' || method === 'HEAD' ? 304 : 412;
  } else if (h['if-modified-since'] !== undefined && (method === 'GET' || method === 'HEAD')) {
    const since = httpDateSec(h['if-modified-since'], nowMs);
    if (!Number.isNaN(since) && v.lastModifiedSec <= since) return 304;
  }
  return null;
}

/** If-Range holds when it is the strong ETag or exactly the Last-Modified date. */
function ifRangeHolds(ifRange: string, v: Validators, nowMs: number): boolean {
  const t = ifRange.trim();
  if (t.startsWith('"') || t.startsWith('W/')) return strongMatch(t, v.etag);
  const sec = httpDateSec(t, nowMs);
  return !Number.isNaN(sec) && sec === v.lastModifiedSec;
}

/**
 * What to answer for a GET or HEAD of a file with these validators; `nowMs` is the server's wall
 * time, from which a date's two-digit year is reckoned.
 */
export function decide(method: string, h: ConditionalHeaders, v: Validators, nowMs: number): Decision {
  const conditional = evaluateConditionals(method, h, v, nowMs);
  if (conditional !== null) return { status: conditional };
  const range = h.range;
  if (range === undefined || (method !== 'GET' && method !== 'HEAD')) return { status: 200 };
  if (h['if-range'] !== undefined && !ifRangeHolds(h['if-range'], v, nowMs)) return { status: 200 };
  return decideRange(range, v.sizeBytes);
}

/**
 * A suffix range longer than the file selects the whole file (RFC 9110 section 14.1.2), where
 * range-parser would call it unsatisfiable: its length is cut to the file's.
 */
function clampSuffixes(range: string, sizeBytes: number): string {
  if (sizeBytes === 0) return range;
  return range.replace(/([=,]\s*)-(\d+)(?=\s*(?:,|$))/g, (_all, lead: string, n: string) =>
    Number(n) > sizeBytes ? `${lead}-${sizeBytes}` : `${lead}-${n}`,
  );
}

/**
 * ngx_http_range_parse's rules: another unit is ignored (200); a malformed "bytes=" set, a number
 * past the largest offset, or ranges adding up to more than the file (overlap used to amplify)
 * get 416; more than MAX_RANGES ranges, counted before merging, are ignored (200, the whole body).
 */
function decideRange(header: string, sizeBytes: number): Decision {
  let range = header;
  const bytesUnit = /^\s*bytes\s*=/i.test(range);
  if (!bytesUnit) return { status: 200 };
  const specs = range.slice(range.indexOf('=') + 1).split(',');
  if (specs.length > MAX_RANGES) return { status: 200 };
  if ((range.match(/\d+/g) ?? []).some((d) => !Number.isSafeInteger(Number(d)))) return { status: 416 };
  range = clampSuffixes(range, sizeBytes);
  const each = rangeParser(sizeBytes, range, { combine: false });
  if (each === -2) return { status: 416 };
  if (each === -1) return { status: 416 };
  if (each.reduce((n, r) => n + (r.end - r.start + 1), 0) > sizeBytes) return { status: 416 };
  const parsed = rangeParser(sizeBytes, range, { combine: true });
  if (parsed === -2 || parsed === -1) return { status: 416 };
  return { status: 206, ranges: parsed.map((r) => ({ start: r.start, end: r.end })) };
}
