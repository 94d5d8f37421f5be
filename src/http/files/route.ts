// The file routes /zerocopy/*, /copy/* and /stream/*, answered on the connection without
// fastify's per-request machinery: decode the path, find the file, decide the status
// (semantics.ts), then either a head alone (HEAD, 304, 412, 416, redirects, errors), written with
// write(2) on the connection's kernel socket, or the head and the body through the route's
// sender (senders.ts). A failure after the head went out closes the connection: never a wrong body.
import { STATUS_CODES } from 'node:http';
import { SysError } from '../../kern/index.js';
import { type Connection, type Heads, type HttpRequest, POOL_WAIT_MS, type PoolGate } from '../conn/index.js';
import {
  FileChangedError,
  httpStatusOf,
  isClientGone,
  PoolExhaustedError,
  StaleEntryError,
} from '../errors.js';
import type { FileEntry } from './file-cache.js';
import { directoryListing } from './listing.js';
import { multipartLayout } from './multipart.js';
import { type DecodedPath, decodeRequestPath, originForm, routeRelativeTarget } from './path.js';
import { countResponse, type RouteName } from './route-stats.js';
import { type ConditionalHeaders, decide } from './semantics.js';
import { BODY_SENDERS, type BodyPart, type OpenBody, type ResponsePlan } from './senders.js';
import type { ServerState } from './state.js';

const ALLOW = 'GET, HEAD';
/** What a 503 for an exhausted pool asks the client to wait, in seconds. */
export const RETRY_AFTER_SEC = 1;

export interface FileRouteContext {
  readonly state: ServerState;
  readonly heads: Heads;
  readonly pools: PoolGate;
  /** Counts a 503 given because a pool was exhausted. */
  readonly onPool503: () => void;
}

/** A head alone, with an optional small body (error text, a listing). */
async function answer(
  ctx: FileRouteContext,
  conn: Connection,
  req: HttpRequest,
  status: number,
  fields: readonly string[],
  body: Buffer | null = null,
): Promise<void> {
  const head = ctx.heads.build(status, fields, req.keepAlive);
  const withBody = body !== null && req.method !== 'HEAD';
  await conn.write(withBody ? Buffer.concat([head, body]) : head);
}

/** The plain-text error answer, as the server gave it through fastify's error handler. */
function answerError(
  ctx: FileRouteContext,
  conn: Connection,
  req: HttpRequest,
  status: number,
  extra: readonly string[] = [],
) {
  const body = Buffer.from(`${status} ${STATUS_CODES[status] ?? 'Error'}\n`, 'latin1');
  const fields = [
    'Content-Type',
    'text/plain; charset=utf-8',
    'Content-Length',
    String(body.length),
    ...extra,
  ];
  return answer(ctx, conn, req, status, fields, body);
}

/** Builds the body plan for a 200 or 206 of `entry`. */
function makePlan(
  state: ServerState,
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
  const layout = multipartLayout(state.nextBoundary(), entry.contentType, size, ranges);
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

/** The path of a request target for routing: the origin form, or the target as it is when it has none. */
export function targetPath(target: string): string {
  try {
    return originForm(target);
  } catch {
    return target;
  }
}

/** Answers one request of a file route on its connection. */
export async function respondFile(
  ctx: FileRouteContext,
  conn: Connection,
  route: RouteName,
  req: HttpRequest,
): Promise<void> {
  const counters = ctx.state.routes[route];
  counters.requests++;
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    countResponse(counters, 405);
    return answerError(ctx, conn, req, 405, ['Allow', ALLOW]);
  }
  try {
    const decoded = decodeRequestPath(routeRelativeTarget(req.target, route), ctx.state.options.dotfiles);
    try {
      await respond(ctx, conn, route, req, decoded);
    } catch (err) {
      // The file was replaced between its stat and its open: look again, once.
      if (!(err instanceof StaleEntryError)) throw err;
      ctx.state.files.forget(decoded.relative);
      await respond(ctx, conn, route, req, decoded);
    }
  } catch (err) {
    // Only errors before the head went out reach here (respond catches the others).
    if (conn.isClosed) return;
    const status = httpStatusOf(err);
    countResponse(counters, status);
    if (status >= 500) ctx.state.log.error({ err }, 'request failed');
    if (err instanceof PoolExhaustedError) {
      // No body: the head fits one plain mbuf (under MINCLSIZE), so it needs no cluster.
      ctx.onPool503();
      const head = ctx.heads.build(
        503,
        ['Retry-After', String(RETRY_AFTER_SEC), 'Content-Length', '0'],
        req.keepAlive,
      );
      // Even this head needs an mbuf: when none comes within the wait, the connection is cut.
      return conn.writeWithin(head, POOL_WAIT_MS);
    }
    await answerError(ctx, conn, req, status);
  }
}

/** A directory: 403 (EISDIR) unless --list; with it, a redirect to the slash form or the index. */
async function answerDirectory(
  ctx: FileRouteContext,
  conn: Connection,
  route: RouteName,
  req: HttpRequest,
  decoded: DecodedPath,
): Promise<void> {
  const counters = ctx.state.routes[route];
  if (!ctx.state.options.list) throw new SysError('EISDIR', `${decoded.relative || '/'} is a directory`);
  if (!decoded.trailingSlash) {
    countResponse(counters, 301);
    const location = `${targetPath(req.target).split('?')[0]}/`;
    return answer(ctx, conn, req, 301, ['Location', location, 'Content-Length', '0']);
  }
  const html = await directoryListing(
    ctx.state.options.realRoot,
    decoded.relative,
    `/${route}/${decoded.relative}`,
    ctx.state.options.dotfiles,
  );
  countResponse(counters, 200);
  const fields = ['Content-Type', 'text/html; charset=utf-8', 'Content-Length', String(html.length)];
  return answer(ctx, conn, req, 200, fields, html);
}

async function respond(
  ctx: FileRouteContext,
  conn: Connection,
  route: RouteName,
  req: HttpRequest,
  decoded: DecodedPath,
): Promise<void> {
  const state = ctx.state;
  const counters = state.routes[route];
  const entry = await state.files.lookup(decoded.relative);
  if (entry.isDirectory) return answerDirectory(ctx, conn, route, req, decoded);
  if (!entry.isRegular) throw new SysError('EACCES', `${decoded.relative} is not a regular file`);
  const decision = decide(req.method, req.headers as ConditionalHeaders, entry);
  if (decision.status === 304 || decision.status === 412 || decision.status === 416) {
    countResponse(counters, decision.status);
    const fields =
      decision.status === 304
        ? ['ETag', entry.etag, 'Last-Modified', entry.lastModified]
        : decision.status === 416
          ? ['Content-Range', `bytes */${entry.sizeBytes}`, 'Content-Length', '0']
          : ['Content-Length', '0'];
    return answer(ctx, conn, req, decision.status, fields);
  }
  const plan = makePlan(state, entry, decision.status, decision.status === 206 ? decision.ranges : []);
  if (req.method === 'HEAD' || plan.parts.length === 0) {
    countResponse(counters, plan.status);
    return answer(ctx, conn, req, plan.status, plan.headers);
  }
  // Admission and the body's first kernel call share one wait: past it, the answer is 503.
  const startBy = route === 'stream' ? null : conn.deadline(POOL_WAIT_MS);
  let body: OpenBody;
  try {
    if (route !== 'stream') await ctx.pools.admit(conn);
    body = await BODY_SENDERS[route].open(state, entry);
  } catch (err) {
    startBy?.cancel();
    throw err;
  }
  const head =
    plan.status === 200 && plan.closing === null
      ? ctx.heads.whole(entry, () => plan.headers, req.keepAlive)
      : ctx.heads.build(plan.status, plan.headers, req.keepAlive);
  counters.inflight++;
  try {
    await body.send(conn, plan, head, counters, startBy?.signal ?? null);
    countResponse(counters, plan.status);
    // Sent whole, but a write may have landed meanwhile: the client got what the page cache held
    // at each moment, as from FreeBSD or nginx.
    if (body.changed()) counters.changed_during_send++;
  } catch (err) {
    // Nothing went out: respondFile answers 503.
    if (err instanceof PoolExhaustedError && !conn.isClosed) throw err;
    countResponse(counters, plan.status);
    failAfterHead(state, conn, route, body, err);
  } finally {
    startBy?.cancel();
    counters.inflight--;
    body.release(conn);
  }
}

/**
 * Cuts a response that failed after its head went out (never a wrong body: the connection is
 * closed), then counts why: the client left, the file changed under it (a short read, seen as
 * EIO by the pager or a short stream), or another error.
 */
function failAfterHead(
  state: ServerState,
  conn: Connection,
  route: RouteName,
  body: OpenBody,
  err: unknown,
): void {
  // EIO: a page-in failed and the kernel aborted the socket: an error of ours, not a departed client.
  const code = (err as { code?: unknown } | null)?.code;
  const clientGone = code !== 'EIO' && (conn.isClosed || isClientGone(err));
  conn.destroy();
  const counters = state.routes[route];
  // The file is looked at first: a short read makes the kernel abort the socket too (EIO).
  if (err instanceof FileChangedError || body.changed()) counters.file_changed++;
  else if (clientGone) counters.aborted++;
  else {
    counters.errors++;
    state.log.warn({ err, route }, 'response cut short');
  }
}
