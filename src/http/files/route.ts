// The file routes /zerocopy/*, /copy/* and /stream/*, answered on the connection without
// fastify's per-request machinery: decode the path, find the file, decide the status
// (semantics.ts), then either a head alone (HEAD, 304, 412, 416, redirects, errors), written with
// write(2) on the connection's kernel socket, or the head and the body through the route's
// sender (senders.ts). A failure after the head went out closes the connection: never a wrong body.
// Each answer notes its status on the exchange; the response is counted once, where it ends, as
// nginx's log phase logs it.
import { STATUS_CODES } from 'node:http';
import { SysError } from '../../kern/index.js';
import { type Connection, type HttpRequest, POOL_WAIT_MS } from '../conn/index.js';
import {
  FileChangedError,
  httpStatusOf,
  isClientGone,
  PoolExhaustedError,
  StaleEntryError,
} from '../errors.js';
import type { FilesContext } from './context.js';
import type { FileEntry } from './file-cache.js';
import { directoryListing } from './listing.js';
import { multipartLayout } from './multipart.js';
import { type DecodedPath, decodeRequestPath, originForm, routeRelativeTarget } from './path.js';
import { countResponse, ROUTES, type RouteCounters, type RouteName } from './route-stats.js';
import { type ConditionalHeaders, decide } from './semantics.js';
import { BODY_SENDERS, type BodyPart, type OpenBody, type ResponsePlan } from './senders.js';

const ALLOW = 'GET, HEAD';
/** What a 503 for an exhausted pool asks the client to wait, in seconds. */
export const RETRY_AFTER_SEC = 1;

/** One request of a file route as it is answered, and the status it got (null: none went out). */
interface Exchange {
  readonly ctx: FilesContext;
  readonly conn: Connection;
  readonly route: RouteName;
  readonly req: HttpRequest;
  readonly counters: RouteCounters;
  status: number | null;
}

/** A head alone, with an optional small body (error text, a listing). */
async function answer(x: Exchange, status: number, fields: readonly string[], body: Buffer | null = null) {
  x.status = status;
  await x.conn.writeHead(status, fields, x.req.keepAlive, body, x.req.method !== 'HEAD');
}

/** The plain-text error answer, as the server gave it through fastify's error handler. */
function answerError(x: Exchange, status: number, extra: readonly string[] = []) {
  const body = Buffer.from(`${status} ${STATUS_CODES[status] ?? 'Error'}\n`, 'latin1');
  const fields = [
    'Content-Type',
    'text/plain; charset=utf-8',
    'Content-Length',
    String(body.length),
    ...extra,
  ];
  return answer(x, status, fields, body);
}

/** The whole-body 200 plan of each file version (an entry stands for one): made once, shared. */
const wholePlans = new WeakMap<FileEntry, ResponsePlan>();

/** Builds the body plan for a 200 or 206 of `entry`. */
function makePlan(
  ctx: FilesContext,
  entry: FileEntry,
  status: 200 | 206,
  ranges: readonly { start: number; end: number }[],
): ResponsePlan {
  const size = entry.sizeBytes;
  if (status === 200 || ranges.length === 1) {
    const r = status === 200 ? { start: 0, end: size - 1 } : ranges[0]!;
    const length = r.end - r.start + 1;
    const headers = [
      'Content-Type',
      entry.contentType,
      'Content-Length',
      String(length),
      ...entry.baseHeaders,
    ];
    if (status === 206) headers.push('Content-Range', `bytes ${r.start}-${r.end}/${size}`);
    const parts: BodyPart[] = length > 0 ? [{ header: null, start: r.start, end: r.end }] : [];
    return { status, headers, parts, closing: null };
  }
  const layout = multipartLayout(ctx.nextBoundary(), entry.contentType, size, ranges);
  const headers = [
    'Content-Type',
    layout.contentType,
    'Content-Length',
    String(layout.lengthBytes),
    ...entry.baseHeaders,
  ];
  const parts = ranges.map((r, i) => ({ header: layout.partHeaders[i]!, start: r.start, end: r.end }));
  return { status, headers, parts, closing: layout.closing };
}

function wholePlan(ctx: FilesContext, entry: FileEntry): ResponsePlan {
  let plan = wholePlans.get(entry);
  if (plan === undefined) {
    plan = makePlan(ctx, entry, 200, []);
    wholePlans.set(entry, plan);
  }
  return plan;
}

/** The path of a request target for routing: the origin form, or the target as it is when it has none. */
export function targetPath(target: string): string {
  try {
    return originForm(target);
  } catch {
    return target;
  }
}

/** The file route a request target names (/zerocopy, /copy, /stream and below), or null. */
export function fileRouteOf(target: string): RouteName | null {
  const path = targetPath(target);
  for (const r of ROUTES) {
    if (path.startsWith(`/${r}`)) {
      const c = path.charCodeAt(r.length + 1);
      if (Number.isNaN(c) || c === 0x2f || c === 0x3f) return r;
    }
  }
  return null;
}

/** Answers one request of a file route on its connection; resolves with the status that went out. */
export async function respondFile(
  ctx: FilesContext,
  conn: Connection,
  route: RouteName,
  req: HttpRequest,
): Promise<number | null> {
  const x: Exchange = { ctx, conn, route, req, counters: ctx.routes[route], status: null };
  x.counters.requests++;
  try {
    await answerRequest(x);
  } finally {
    // The log phase: the response is counted once, where it ended, whichever way it went.
    if (x.status !== null) countResponse(x.counters, x.status);
  }
  return x.status;
}

async function answerRequest(x: Exchange): Promise<void> {
  if (x.req.method !== 'GET' && x.req.method !== 'HEAD') return answerError(x, 405, ['Allow', ALLOW]);
  try {
    const decoded = decodeRequestPath(routeRelativeTarget(x.req.target, x.route), x.ctx.dotfiles);
    try {
      await respond(x, decoded);
    } catch (err) {
      // The file was replaced between its stat and its open: look again, once.
      if (!(err instanceof StaleEntryError)) throw err;
      x.ctx.cache.forget(decoded.relative);
      await respond(x, decoded);
    }
  } catch (err) {
    // Only errors before the head went out reach here (respond catches the others).
    if (x.conn.isClosed) return;
    const status = httpStatusOf(err);
    if (status >= 500) x.ctx.log.error({ err }, 'request failed');
    if (err instanceof PoolExhaustedError) {
      // No body: the head fits one plain mbuf (under MINCLSIZE), so it needs no cluster.
      x.conn.countPool503();
      x.status = 503;
      const head = x.conn.heads.build(
        503,
        ['Retry-After', String(RETRY_AFTER_SEC), 'Content-Length', '0'],
        x.req.keepAlive,
      );
      // Even this head needs an mbuf: when none comes within the wait, the connection is cut.
      return x.conn.writeWithin(head, POOL_WAIT_MS);
    }
    await answerError(x, status);
  }
}

/** A directory: 403 (EISDIR) unless --list; with it, a redirect to the slash form or the index. */
async function answerDirectory(x: Exchange, decoded: DecodedPath): Promise<void> {
  if (!x.ctx.list) throw new SysError('EISDIR', `${decoded.relative || '/'} is a directory`);
  if (!decoded.trailingSlash) {
    const location = `${targetPath(x.req.target).split('?')[0]}/`;
    return answer(x, 301, ['Location', location, 'Content-Length', '0']);
  }
  const html = await directoryListing(
    x.ctx.realRoot,
    decoded.relative,
    `/${x.route}/${decoded.relative}`,
    x.ctx.dotfiles,
  );
  const fields = ['Content-Type', 'text/html; charset=utf-8', 'Content-Length', String(html.length)];
  return answer(x, 200, fields, html);
}

async function respond(x: Exchange, decoded: DecodedPath): Promise<void> {
  const { ctx, conn, route, req, counters } = x;
  const entry = await ctx.cache.lookup(decoded.relative);
  if (entry.isDirectory) return answerDirectory(x, decoded);
  if (!entry.isRegular) throw new SysError('EACCES', `${decoded.relative} is not a regular file`);
  const decision = decide(req.method, req.headers as ConditionalHeaders, entry, conn.heads.nowSec() * 1000);
  if (decision.status === 304 || decision.status === 412 || decision.status === 416) {
    const fields =
      decision.status === 304
        ? ['ETag', entry.etag, 'Last-Modified', entry.lastModified]
        : decision.status === 416
          ? ['Content-Range', `bytes */${entry.sizeBytes}`, 'Content-Length', '0']
          : ['Content-Length', '0'];
    return answer(x, decision.status, fields);
  }
  const plan = decision.status === 200 ? wholePlan(ctx, entry) : makePlan(ctx, entry, 206, decision.ranges);
  if (req.method === 'HEAD' || plan.parts.length === 0) return answer(x, plan.status, plan.headers);
  // Admission and the body's first kernel call share one wait: past it, the answer is 503.
  const startBy = route === 'stream' ? null : conn.deadline(POOL_WAIT_MS);
  let body: OpenBody;
  try {
    const admitted = route === 'stream' ? null : conn.admit();
    if (admitted !== null) await admitted;
    const opened = BODY_SENDERS[route].open(ctx, entry);
    body = opened instanceof Promise ? await opened : opened;
  } catch (err) {
    conn.endDeadline();
    throw err;
  }
  const head =
    plan.status === 200 && plan.closing === null
      ? conn.heads.whole(entry, plan.headers, req.keepAlive)
      : conn.heads.build(plan.status, plan.headers, req.keepAlive);
  x.status = plan.status;
  counters.inflight++;
  try {
    await body.send(conn, plan, head, counters, startBy);
    // Sent whole, but a write may have landed meanwhile: the client got what the page cache held
    // at each moment, as from FreeBSD or nginx.
    body.checkAfterSend(() => counters.changed_during_send++);
  } catch (err) {
    // Nothing went out: answerRequest answers 503.
    if (err instanceof PoolExhaustedError && !conn.isClosed) throw err;
    failAfterHead(x, body, err);
  } finally {
    conn.endDeadline();
    counters.inflight--;
    body.release(conn);
  }
}

/**
 * Cuts a response that failed after its head went out (never a wrong body: the connection is
 * closed), then counts why: the client left, the file changed under it (a short read, seen as
 * EIO by the pager or a short stream), or another error.
 */
function failAfterHead(x: Exchange, body: OpenBody, err: unknown): void {
  // EIO: a page-in failed and the kernel aborted the socket: an error of ours, not a departed client.
  const code = (err as { code?: unknown } | null)?.code;
  const clientGone = code !== 'EIO' && (x.conn.isClosed || isClientGone(err));
  x.conn.destroy();
  const counters = x.counters;
  // The file is looked at first: a short read makes the kernel abort the socket too (EIO).
  if (err instanceof FileChangedError || body.changed()) counters.file_changed++;
  else if (clientGone) counters.aborted++;
  else {
    counters.errors++;
    x.ctx.log.warn({ err, route: x.route }, 'response cut short');
  }
}
