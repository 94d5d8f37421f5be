// One HTTP server of the comparison, in its own process (never the load generator's): the
// zcsim server (src/http buildServer) in one mapping mode, fastify + @fastify/static, or a plain
// node:http server answering res.end(buffer) from memory (Node's upper bound), or writing the body
// from memory paced as zcsim's send buffer paces it (what that pacing costs Node itself). Driven
// over IPC: 'start' -> the port; 'cpu' -> process.cpuUsage() and RSS, read around each measured window;
// 'nicCost' -> what the ifnet "NIC"'s sealing costs here, in this process (tls-report.ts);
// 'wired' -> the zcsim kernel's wired pages and open sockets' send buffers, read in the process
// (an HTTP GET /stats waits behind a thousand busy connections).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Kernel } from '../../src/index.js';
import { listenLoopback, serveIpc } from '../../src/load/index.js';
import { nicEncryptSecondsPerGB } from '../lib/tls-report.js';
import { benchZcsimServer, type Mapping } from '../lib/zcsim.js';

export type ServerKind = 'zcsim' | 'fastify-static' | 'node-memory';
export interface ServerStart {
  kind: ServerKind;
  root: string;
  fileNames: string[];
  mapping: Mapping;
  physmemBytes: number;
  sndbufBytes: number | null;
  nsfbufs: number | null;
  /**
   * node-memory: null to answer with res.end(buffer); else the body is written in views of this
   * many bytes, each on the previous one's write callback, as zcsim's tcp_output writes a send
   * buffer's batch and sends the next when the host has taken it.
   */
  pacedBytes: number | null;
  /** HTTPS (TLS 1.3): zcsim with kernel TLS in this mode; node-memory with node:https. */
  tls: { cert: string; key: string; ktlsMode: 'sw' | 'ifnet' } | null;
}
interface Closable {
  close(): Promise<unknown> | unknown;
}

/**
 * The accept queue of every server: room for all the clients of a held scenario at once (Node's
 * default, 511, overflows when 1,000 connect together and the kernel drops their final ACKs, so
 * the last ones are accepted only after SYN-ACK retransmissions seconds later).
 */
const LISTEN_BACKLOG = 4096;

let running: Closable | null = null;
let kernelOf: (() => Kernel) | null = null;

function nodeMemoryServer(start: ServerStart): Promise<{ port: number; closable: Closable }> {
  const bodies = new Map<string, Buffer>();
  for (const name of start.fileNames) bodies.set(`/${name}`, readFileSync(path.join(start.root, name)));
  const pacedBytes = start.pacedBytes;
  const handler: http.RequestListener = (req, res) => {
    const body = bodies.get(req.url ?? '');
    if (!body) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': body.length });
    if (pacedBytes === null || body.length <= pacedBytes) {
      res.end(body);
      return;
    }
    let at = 0;
    const next = (err?: Error | null): void => {
      if (err) return;
      const end = Math.min(at + pacedBytes, body.length);
      const piece = body.subarray(at, end);
      at = end;
      if (end === body.length) res.end(piece);
      else res.write(piece, next);
    };
    next();
  };
  const server = start.tls
    ? https.createServer({ cert: start.tls.cert, key: start.tls.key, minVersion: 'TLSv1.3' }, handler)
    : http.createServer(handler);
  server.keepAliveTimeout = 60_000;
  server.maxRequestsPerSocket = 0;
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', LISTEN_BACKLOG, () => {
      const closable = { close: () => new Promise((r) => server.close(r)) };
      resolve({ port: (server.address() as AddressInfo).port, closable });
    });
  });
}

async function fastifyStaticServer(start: ServerStart): Promise<{ port: number; closable: Closable }> {
  const { default: fastify } = await import('fastify');
  const { default: fastifyStatic } = await import('@fastify/static');
  const app = fastify({ logger: false, keepAliveTimeout: 60_000 });
  await app.register(fastifyStatic, { root: start.root, prefix: '/' });
  return { port: await listenLoopback(app, LISTEN_BACKLOG), closable: app };
}

async function zcsimServer(start: ServerStart): Promise<{ port: number; closable: Closable }> {
  const app = await benchZcsimServer(
    start.root,
    start.mapping,
    start.physmemBytes,
    start.sndbufBytes,
    start.tls ?? undefined,
    start.nsfbufs,
  );
  kernelOf = () => app.kernel;
  return { port: await listenLoopback(app, LISTEN_BACKLOG), closable: app };
}

serveIpc(
  {
    start: async (body) => {
      const start = body as ServerStart;
      const made =
        start.kind === 'node-memory'
          ? await nodeMemoryServer(start)
          : start.kind === 'fastify-static'
            ? await fastifyStaticServer(start)
            : await zcsimServer(start);
      running = made.closable;
      return { port: made.port, pid: process.pid };
    },
    cpu: () => ({ cpu: process.cpuUsage(), rssBytes: process.memoryUsage.rss() }),
    nicCost: () => nicEncryptSecondsPerGB(),
    wired: () => {
      const kernel = kernelOf?.();
      if (!kernel) return null;
      const s = kernel.stats();
      const sndbufBytes = kernel.config.sndbufBytes;
      // The high-water marks since the previous read: the gauges alone are read between turns.
      const peaks = s.peaks;
      return {
        wiredPages: s.vm.v_wire_count,
        wiredPagesPeak: peaks.v_wire_count,
        sfbufsPeak: peaks.nsfbufsused,
        mbufsPeak: peaks.mbufs,
        clustersPeak: peaks.clusters,
        sndbufBytesSum: s.sockets.so_open * sndbufBytes,
        sndbufBytes,
        rssBytes: process.memoryUsage.rss(),
      };
    },
  },
  async () => {
    await running?.close();
  },
);
