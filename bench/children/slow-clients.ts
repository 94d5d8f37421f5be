// Slow readers, in their own process: N keep-alive-less GETs of one big file, each read at a
// fixed rate (pause when ahead of its allowance, resume on a 50 ms tick), for a bounded time,
// then every connection is destroyed. Reports the bytes each client got and any bad response.
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { serveIpc } from '../lib/ipc.js';

export interface SlowClientsRequest {
  port: number;
  urlPath: string;
  clients: number;
  bytesPerSecondPerClient: number;
  durationMs: number;
  expectedSizeBytes: number;
}
export interface SlowClientsResult {
  clients: number;
  connected: number;
  bytesTotal: number;
  bytesMinPerClient: number;
  badResponses: string[];
}

const BURST_BYTES = 64 * 1024;
const TICK_MS = 50;

function runSlowClients(request: SlowClientsRequest): Promise<SlowClientsResult> {
  const started = performance.now();
  const received = new Float64Array(request.clients);
  const sockets: net.Socket[] = [];
  const badResponses: string[] = [];
  let connected = 0;
  const allowance = () =>
    ((performance.now() - started) / 1000) * request.bytesPerSecondPerClient + BURST_BYTES;
  for (let i = 0; i < request.clients; i++) {
    const socket = net.connect({ host: '127.0.0.1', port: request.port });
    let head = '';
    socket.on('connect', () => {
      connected++;
      socket.write(`GET ${request.urlPath} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      if (received[i] === 0 && head.length < 4096) {
        head += chunk.toString('latin1', 0, Math.min(chunk.length, 4096));
        const ok =
          head.startsWith('HTTP/1.1 200') &&
          new RegExp(`content-length: ${request.expectedSizeBytes}\\r`, 'i').test(head);
        if (head.includes('\r\n\r\n') && !ok && badResponses.length < 10)
          badResponses.push(head.split('\r\n')[0] ?? '');
      }
      received[i] = (received[i] ?? 0) + chunk.length;
      if ((received[i] ?? 0) > allowance()) socket.pause();
    });
    socket.on('error', () => undefined);
    sockets.push(socket);
  }
  const tick = setInterval(() => {
    const limit = allowance();
    sockets.forEach((s, i) => {
      if (s.isPaused() && (received[i] ?? 0) <= limit) s.resume();
    });
  }, TICK_MS);
  return new Promise((resolve) => {
    setTimeout(() => {
      clearInterval(tick);
      for (const s of sockets) s.destroy();
      resolve({
        clients: request.clients,
        connected,
        bytesTotal: received.reduce((a, b) => a + b, 0),
        bytesMinPerClient: Math.min(...received),
        badResponses,
      });
    }, request.durationMs);
  });
}

serveIpc({ run: (body) => runSlowClients(body as SlowClientsRequest) }, () => undefined);
