// Shared by the HTTP tests: start a server on 127.0.0.1 port 0, talk raw HTTP/1.1 over one
// net socket (pipelining, traversal paths undici would normalise), wait for the kernel at rest.
import { connect } from 'node:net';
import { buildServer, type ServerOptions, type ZcsimServer } from '../../src/http/index.js';

export interface Running {
  readonly server: ZcsimServer;
  readonly port: number;
  readonly origin: string;
}

export async function startServer(options: ServerOptions): Promise<Running> {
  const server = await buildServer({ kernel: { physmemBytes: 32 * 1024 * 1024 }, ...options });
  await server.listen({ port: 0, host: '127.0.0.1' });
  const address = server.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return { server, port: address.port, origin: `http://127.0.0.1:${address.port}` };
}

/** Resolves once the kernel is at rest (the last write callbacks may trail the client's read). */
export async function atRestSoon(
  server: ZcsimServer,
  timeoutMs = 2000,
): Promise<{ atRest: boolean; leaks: string[] }> {
  const start = performance.now();
  for (;;) {
    const v = server.kernel.atRest();
    if (v.atRest || performance.now() - start > timeoutMs) return v;
    await new Promise((r) => setTimeout(r, 10));
  }
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
 * the other response, and returns the parsed responses; the last request asks to close.
 */
export function rawExchange(
  port: number,
  requests: readonly { method: string; path: string; headers?: string }[],
  pipelined: boolean,
): Promise<RawResponse[]> {
  const heads = requests.map(
    (r, i) =>
      `${r.method} ${r.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${r.headers ?? ''}${i === requests.length - 1 ? 'Connection: close\r\n' : ''}\r\n`,
  );
  const methods = requests.map((r) => r.method);
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let sent = 0;
    const sendNext = (): void => {
      if (sent < heads.length) socket.write(heads[sent++]!);
    };
    socket.on('connect', () => {
      if (pipelined) {
        socket.write(heads.join(''));
        sent = heads.length;
      } else sendNext();
    });
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      if (!pipelined && parseResponses(Buffer.concat(chunks), methods.slice(0, sent)).length === sent) {
        const all = parseResponses(Buffer.concat(chunks), methods.slice(0, sent));
        const last = all[sent - 1]!;
        if (
          last.body.length ===
          (methods[sent - 1] === 'HEAD' || last.status === 304
            ? 0
            : Number(last.headers['content-length'] ?? 0))
        )
          sendNext();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => resolve(parseResponses(Buffer.concat(chunks), methods)));
  });
}

/** One raw request; the response as text (status line and all), for paths undici would rewrite. */
export async function rawGet(port: number, path: string): Promise<RawResponse> {
  const [r] = await rawExchange(port, [{ method: 'GET', path }], true);
  if (!r) throw new Error(`no response for ${path}`);
  return r;
}
