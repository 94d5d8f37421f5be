// Shared by the HTTP tests: start a server on 127.0.0.1 port 0, talk raw HTTP/1.1 over one
// connection of the load room's client (pipelining, traversal paths undici would normalise),
// wait for the kernel at rest.
import { connect, type Socket } from 'node:net';
import { buildServer, type ServerOptions, type ZcsimServer } from '../../src/http/index.js';
import type { KernelAtRest } from '../../src/index.js';
import { type ClientResponse, HttpClient, listenLoopback } from '../../src/load/index.js';
import { atRestSoon as kernelAtRestSoon } from '../support/wait.js';

export interface Running {
  readonly server: ZcsimServer;
  readonly port: number;
  readonly origin: string;
}

/** The demo server on 127.0.0.1, an ephemeral port (a backlog for bursts of connections). */
export async function startServer(options: ServerOptions, backlog?: number): Promise<Running> {
  const server = await buildServer({ kernel: { physmemBytes: 32 * 1024 * 1024 }, ...options });
  const port = await listenLoopback(server, backlog);
  return { server, port, origin: `http://127.0.0.1:${port}` };
}

/** The kernel's at-rest verdict once it is at rest (the last write callbacks may trail the client's read). */
export function atRestSoon(server: ZcsimServer, timeoutMs?: number): Promise<KernelAtRest> {
  return kernelAtRestSoon(() => server.kernel.atRest(), timeoutMs);
}

/** A connection that asks for `path` (with `headers`, raw lines) and never reads. */
export function staller(port: number, path: string, headers = ''): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.pause();
      s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`);
      resolve(s);
    });
    s.on('error', reject);
  });
}

/** Waits (bounded) until `cond` holds, looking every 20 ms; false when it never did. */
export async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const start = performance.now();
  while (!cond()) {
    if (performance.now() - start > timeoutMs) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Parses consecutive HTTP/1.1 responses (Content-Length framed) from `data`. */
export function parseResponses(data: Buffer, methods: readonly string[]): RawResponse[] {
  const out: RawResponse[] = [];
  let at = 0;
  for (const method of methods) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end === -1) break;
    const lines = data.subarray(at, end).toString('latin1').split('\r\n');
    const status = Number(lines[0]?.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    const noBody = method === 'HEAD' || status === 304 || status === 204;
    const length = noBody ? 0 : Number(headers['content-length'] ?? 0);
    out.push({ status, headers, body: data.subarray(end + 4, end + 4 + length) });
    at = end + 4 + length;
  }
  return out;
}

/**
 * Writes `requests` (raw request heads) on one connection, all at once (pipelined) or one after
 * the other response, and returns the responses whose head arrived; the last request asks to close.
 */
export async function rawExchange(
  port: number,
  requests: readonly { method: string; path: string; headers?: string }[],
  pipelined: boolean,
): Promise<RawResponse[]> {
  const client = await HttpClient.connect(port);
  const send = (r: (typeof requests)[number], i: number): Promise<ClientResponse> =>
    client.raw(
      `${r.method} ${r.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${r.headers ?? ''}${i === requests.length - 1 ? 'Connection: close\r\n' : ''}\r\n`,
      { method: r.method, keepBody: true, hash: false },
    );
  const got: ClientResponse[] = [];
  try {
    if (pipelined) got.push(...(await Promise.all(requests.map(send))));
    else for (const [i, r] of requests.entries()) got.push(await send(r, i));
  } finally {
    client.close();
  }
  return got
    .filter((r) => r.status !== 0)
    .map((r) => ({ status: r.status, headers: { ...r.headers }, body: r.body ?? Buffer.alloc(0) }));
}

/** One raw request; the response as text (status line and all), for paths undici would rewrite. */
export async function rawGet(port: number, path: string): Promise<RawResponse> {
  const [r] = await rawExchange(port, [{ method: 'GET', path }], true);
  if (!r) throw new Error(`no response for ${path}`);
  return r;
}
