// The file routes /zerocopy/*, /copy/* and /stream/*: one handler, three body senders. The
// handler decodes the path, finds the file, decides the status (semantics.ts) and either answers
// without a body (HEAD, 304, 412, 416) or hands a plan to the route's sender (send.ts).
import type { FileHandle } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { SysError } from '../kern/index.js';
import { type FileEntry, type FileLease, StaleEntryError } from './file-cache.js';
import type { KernelFileRef } from './kernel-port.js';
import { directoryListing } from './listing.js';
import { multipartLayout } from './multipart.js';
import { type DecodedPath, decodeRequestPath, routeRelativeTarget } from './path.js';
import { countResponse, type RouteName } from './route-stats.js';
import { type ConditionalHeaders, decide } from './semantics.js';
import { type BodyPart, FileChangedError, type ResponsePlan, sendViaKernel, sendViaStream } from './send.js';
import type { ServerState } from './state.js';

/** Answers a request without a body (HEAD, 304, 412, 416, redirects), straight on the response. */
function answerWithoutBody(res: ServerResponse, status: number, headers: readonly string[]): void {
  res.writeHead(status, headers as string[]);
  res.end();
}

/** Builds the body plan for a 200 or 206 of `entry`. */
function makePlan(
  state: ServerState,
  entry: FileEntry,
  status: 200 | 206,
  ranges: readonly { start: number; end: number }[],
): { plan: ResponsePlan; lengthBytes: number } {
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
    return { plan: { status, headers, parts, closing: null }, lengthBytes: length };
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
  return { plan: { status, headers, parts, closing: layout.closing }, lengthBytes: layout.lengthBytes };
}

/** The route handler; errors before the head is written go to fastify's error handler. */
export async function handleFileRequest(
  state: ServerState,
  route: RouteName,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<void> {
  state.routes[route].requests++;
  const rawUrl = request.raw.url ?? '/';
  const decoded = decodeRequestPath(routeRelativeTarget(rawUrl, route), state.options.dotfiles);
  try {
    await respond(state, route, request, reply, decoded);
  } catch (err) {
    // The file was replaced between its stat and its open: look again, once.
    if (!(err instanceof StaleEntryError)) throw err;
    state.files.forget(decoded.relative);
    await respond(state, route, request, reply, decoded);
  }
}

/** A directory: 403 (EISDIR) unless --list; with it, a redirect to the slash form or the index. */
async function answerDirectory(
  state: ServerState,
  route: RouteName,
  request: FastifyRequest,
  reply: FastifyReply,
  decoded: DecodedPath,
): Promise<void> {
  const counters = state.routes[route];
  const rawUrl = request.raw.url ?? '/';
  const res = reply.raw;
  if (!state.options.list) throw new SysError('EISDIR', `${decoded.relative || '/'} is a directory`);
  if (!decoded.trailingSlash) {
    reply.hijack();
    countResponse(counters, 301);
    return answerWithoutBody(res, 301, ['Location', `${rawUrl.split('?')[0]}/`, 'Content-Length', '0']);
  }
  // Listed before the hijack, so that a readdir error still goes through the errno table.
  const html = await directoryListing(
    state.options.realRoot,
    decoded.relative,
    `/${route}/${decoded.relative}`,
    state.options.dotfiles,
  );
  reply.hijack();
  countResponse(counters, 200);
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': html.length });
  res.end(request.method === 'HEAD' ? undefined : html);
}

async function respond(
  state: ServerState,
  route: RouteName,
  request: FastifyRequest,
  reply: FastifyReply,
  decoded: DecodedPath,
): Promise<void> {
  const counters = state.routes[route];
  const entry = await state.files.lookup(decoded.relative);
  const res = reply.raw;
  if (entry.isDirectory) return answerDirectory(state, route, request, reply, decoded);
  if (!entry.isRegular) throw new SysError('EACCES', `${decoded.relative} is not a regular file`);
  const decision = decide(request.method, request.headers as ConditionalHeaders, entry);
  if (decision.status === 304 || decision.status === 412 || decision.status === 416) {
    countResponse(counters, decision.status);
    const headers =
      decision.status === 304
        ? ['ETag', entry.etag, 'Last-Modified', entry.lastModified]
        : decision.status === 416
          ? ['Content-Range', `bytes */${entry.sizeBytes}`, 'Content-Length', '0']
          : ['Content-Length', '0'];
    reply.hijack();
    return answerWithoutBody(res, decision.status, headers);
  }
  const { plan } = makePlan(state, entry, decision.status, decision.status === 206 ? decision.ranges : []);
  if (request.method === 'HEAD' || plan.parts.length === 0) {
    reply.hijack();
    countResponse(counters, plan.status);
    return answerWithoutBody(res, plan.status, plan.headers);
  }
  // The file opened and checked at lookup, held until the response is done.
  const lease = state.files.acquire(entry);
  try {
    if (route === 'stream') {
      // A descriptor of its own on the checked file, opened before the head goes out.
      const fh = await lease.openStream();
      reply.hijack();
      countResponse(counters, plan.status);
      try {
        await sendBody(state, route, res, plan, lease, fh);
      } finally {
        await fh.close().catch(() => {});
      }
      return;
    }
    // Open before the head goes out, so that open(2)'s errno still picks the status.
    const file = await lease.kernelFile();
    reply.hijack();
    countResponse(counters, plan.status);
    await sendBody(state, route, res, plan, lease, file);
  } finally {
    lease.release();
  }
}

/** Sends a body on its route; a failure after the head is out closes the connection. */
async function sendBody(
  state: ServerState,
  route: RouteName,
  res: ServerResponse,
  plan: ResponsePlan,
  lease: FileLease,
  file: KernelFileRef | FileHandle,
): Promise<void> {
  const counters = state.routes[route];
  counters.inflight++;
  // The connection's close aborts the body, also for a pipelined response still queued behind
  // another (Node gives such a response neither a socket nor a 'close' event when the peer goes).
  const signal = state.connectionSignal(res.req.socket);
  try {
    if (route === 'stream') await sendViaStream(res, plan, file as FileHandle, counters, signal);
    else {
      const session = state.kernel.session(file, res, signal);
      await sendViaKernel(res, plan, session, route === 'zerocopy' ? 'sendfile' : 'copyfile', counters);
    }
    // Sent whole, but a write may have landed meanwhile: the client got what the page cache
    // held at each moment, as from FreeBSD or nginx.
    if (lease.changed()) counters.changed_during_send++;
  } catch (err) {
    failAfterHead(state, route, res, lease, err);
  } finally {
    counters.inflight--;
  }
}

/**
 * Cuts a response that failed after its head went out (never a wrong body: the connection is
 * closed), then counts why: the client left, the file changed under it (a short read, seen as
 * EIO by the pager or a short stream), or another error.
 */
function failAfterHead(
  state: ServerState,
  route: RouteName,
  res: ServerResponse,
  lease: FileLease,
  err: unknown,
): void {
  // EIO: a page-in failed and the kernel aborted the socket, destroying the response: an error of
  // ours, not a departed client.
  const clientGone =
    (err as { code?: unknown } | null)?.code !== 'EIO' && (res.destroyed || isClientGone(err));
  if (!res.headersSent) {
    res.writeHead(503, ['Content-Length', '0', 'Connection', 'close']);
    res.end();
  } else res.destroy();
  const counters = state.routes[route];
  // The file is looked at first: a short read makes the kernel abort the socket too (EIO).
  if (err instanceof FileChangedError || lease.changed()) counters.file_changed++;
  else if (clientGone) counters.aborted++;
  else {
    counters.errors++;
    state.log.warn({ err, route }, 'response cut short');
  }
}

function isClientGone(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return (
    code === 'EPIPE' ||
    code === 'ECONNRESET' ||
    code === 'EINTR' ||
    code === 'ENOTCONN' ||
    code === 'ABORT_ERR' ||
    code === 'ERR_STREAM_PREMATURE_CLOSE' ||
    code === 'ERR_STREAM_DESTROYED'
  );
}
