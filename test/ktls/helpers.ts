// Helpers of the KTLS tests: a small HTTPS file server whose responses are sent by kernel
// sendfile(2) over connections that KTLS took over from Node's TLSSocket, and a TLS client that
// keeps the ciphertext it received and the server's traffic secret, so a test can open every
// record as the client did.
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { Kernel } from '../../src/index.js';
import { type KtlsMode, type KtlsRexmit, type Tls13Suite, tls13Suite } from '../../src/ktls/index.js';
import type { KSocket, Transport } from '../../src/net/index.js';
import type { KFile } from '../../src/sendfile/index.js';
import {
  type KtlsConnection,
  ktlsAccept,
  RecordSplitter,
  tls13Open,
  tls13TrafficKeys,
} from '../../src/tls/index.js';

const FIXTURES = join(import.meta.dirname, 'fixtures');
export const CERT_PEM = readFileSync(join(FIXTURES, 'cert.pem'));
export const KEY_PEM = readFileSync(join(FIXTURES, 'key.pem'));

export const SUITES = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
] as const;

export interface ServedConnection {
  readonly so: KSocket;
  readonly conn: KtlsConnection;
}

export interface KtlsServerOptions {
  readonly mode?: KtlsMode;
  /**
   * When the kernel takes over: asked at accept (it waits for the handshake and the secret), at
   * the handshake's end, or at the first request (after the tickets).
   */
  readonly takeoverAt?: 'accept' | 'secure' | 'request';
  readonly sndbufBytes?: number;
  readonly rexmit?: KtlsRexmit;
  /** User-space TLS instead of KTLS: read(2) copies out, OpenSSL encrypts, write(2) copies in. */
  readonly userSpace?: boolean;
  /** The first this many requests of a connection in user-space TLS, the rest by KTLS. */
  readonly userSpaceFirst?: number;
  /** The kernel socket's transport (default: the connection's net.Socket). */
  readonly transport?: (raw: Socket) => Transport;
}

export interface KtlsServer {
  readonly port: number;
  readonly connections: ServedConnection[];
  close(): Promise<void>;
}

/** The head of a 200 response with `length` body bytes. */
export function head200(length: number): Buffer {
  return Buffer.from(
    `HTTP/1.1 200 OK\r\nContent-Length: ${length}\r\nContent-Type: application/octet-stream\r\n\r\n`,
    'latin1',
  );
}

/**
 * An HTTPS server for the files in `files` (URL path -> open KFile): each GET is answered by
 * sendfile(2) with the head as its header iovec, over the connection's kernel socket after KTLS
 * took it over. Requests are read from the TLSSocket (keep-alive, one at a time).
 */
export async function startKtlsServer(
  kernel: Kernel,
  files: ReadonlyMap<string, KFile>,
  opts: KtlsServerOptions = {},
): Promise<KtlsServer> {
  const secureContext = tls.createSecureContext({ cert: CERT_PEM, key: KEY_PEM, minVersion: 'TLSv1.3' });
  const connections: ServedConnection[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((raw) => {
    sockets.add(raw);
    const so = kernel.socket(
      opts.transport?.(raw) ?? raw,
      opts.sndbufBytes !== undefined ? { sndbufBytes: opts.sndbufBytes } : {},
    );
    const conn = ktlsAccept(kernel, so, raw, {
      secureContext,
      ...(opts.mode !== undefined ? { mode: opts.mode } : {}),
      ...(opts.rexmit !== undefined ? { rexmit: opts.rexmit } : {}),
    });
    connections.push({ so, conn });
    raw.on('close', () => {
      sockets.delete(raw);
      kernel.soclose(so);
    });
    conn.tlsSocket.on('error', () => {});
    // User-space TLS keeps the send side in OpenSSL: no takeover.
    if (opts.userSpace !== true && (opts.takeoverAt ?? 'secure') === 'secure')
      conn.tlsSocket.once('secure', () => void conn.takeover().catch(() => {}));
    let pending = Buffer.alloc(0);
    let busy = Promise.resolve();
    let requests = 0;
    conn.tlsSocket.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      for (let end = pending.indexOf('\r\n\r\n'); end !== -1; end = pending.indexOf('\r\n\r\n')) {
        const headText = pending.subarray(0, end).toString('latin1');
        pending = pending.subarray(end + 4);
        const path = headText.split(' ')[1] ?? '/';
        const close = /\r\nconnection: *close/i.test(headText);
        const userSpace = opts.userSpace === true || requests++ < (opts.userSpaceFirst ?? 0);
        busy = busy.then(async () => {
          const file = files.get(path) ?? null;
          if (userSpace && file !== null) await answerUser(kernel, conn, file);
          else await answer(kernel, conn, so, file);
          // close_notify: OpenSSL writes it, the tap hands it to the kernel.
          if (close) conn.tlsSocket.end();
        });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return {
    port: address.port,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** nginx with `sendfile off` and OpenSSL: read(2) into a buffer, SSL_write, the tap's write(2). */
async function answerUser(kernel: Kernel, conn: KtlsConnection, file: KFile): Promise<void> {
  const size = (await kernel.fstat(file)).sizeBytes;
  const write = (b: Uint8Array): Promise<void> =>
    new Promise((resolve, reject) => conn.tlsSocket.write(b, (e) => (e ? reject(e) : resolve())));
  await write(head200(size));
  for (let off = 0; off < size; ) {
    const buf = new Uint8Array(Math.min(64 * 1024, size - off));
    const n = await kernel.read(file, off, buf);
    await write(buf.subarray(0, n));
    off += n;
  }
}

async function answer(kernel: Kernel, conn: KtlsConnection, so: KSocket, file: KFile | null): Promise<void> {
  try {
    await conn.takeover();
    if (file === null) {
      const body = Buffer.from('not found\n');
      await kernel.write(
        so,
        Buffer.concat([
          Buffer.from(`HTTP/1.1 404 Not Found\r\nContent-Length: ${body.length}\r\n\r\n`),
          body,
        ]),
      );
      return;
    }
    const size = (await kernel.fstat(file)).sizeBytes;
    await kernel.sendfile(file, so, 0, size, { headers: [head200(size)] });
  } catch {
    conn.tlsSocket.destroy();
  }
}

/** What a client connection received: the bytes after the handshake, opened record by record. */
export interface ClientCapture {
  /** Every byte the client received, as it came off the wire. */
  readonly wire: Buffer[];
  /** SERVER_TRAFFIC_SECRET_0, from the client's keylog. */
  secret: Buffer | null;
  suite: Tls13Suite | null;
}

/** Opens every record under the server's application key, in order: type and payload length. */
export function openServerRecords(cap: ClientCapture): { type: number; length: number; seq: number }[] {
  const splitter = new RecordSplitter();
  const records = splitter.push(Buffer.concat(cap.wire));
  if (cap.secret === null || cap.suite === null) throw new Error('no secret captured');
  const { key, iv } = tls13TrafficKeys(cap.suite, cap.secret);
  const out: { type: number; length: number; seq: number }[] = [];
  let seq = 0;
  let started = false;
  for (const r of records) {
    if (r[0] !== 23) continue;
    const o = tls13Open(cap.suite.nodeCipher, key, iv, seq, r);
    if (o === null) {
      if (started) throw new Error(`record ${seq} does not open`);
      continue; // handshake key
    }
    started = true;
    out.push({ type: o.type, length: o.plaintext.length, seq });
    seq++;
  }
  return out;
}

/** A TLS 1.3 client over a Duplex that keeps the server's bytes; resolves once secure. */
export async function tlsClient(
  port: number,
  suite: string,
): Promise<{ socket: tls.TLSSocket; cap: ClientCapture }> {
  const raw = tcpConnect(port, '127.0.0.1');
  const cap: ClientCapture = { wire: [], secret: null, suite: null };
  const tap = new Duplex({
    read() {
      raw.resume();
    },
    write(chunk: Buffer, _e, cb) {
      raw.write(chunk, cb);
    },
    final(cb) {
      raw.end();
      cb();
    },
    destroy(err, cb) {
      raw.destroy();
      cb(err);
    },
  });
  raw.on('data', (d: Buffer) => {
    cap.wire.push(d);
    if (!tap.push(d)) raw.pause();
  });
  raw.on('end', () => tap.push(null));
  raw.on('error', () => tap.destroy());
  const socket = tls.connect({
    socket: tap,
    servername: 'localhost',
    ca: CERT_PEM,
    ciphers: suite,
    minVersion: 'TLSv1.3',
    ALPNProtocols: ['http/1.1'],
  });
  socket.on('keylog', (line: Buffer) => {
    const t = line.toString('latin1').trim().split(' ');
    if (t[0] === 'SERVER_TRAFFIC_SECRET_0' && t[2] !== undefined) cap.secret = Buffer.from(t[2], 'hex');
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  cap.suite = tls13Suite(socket.getCipher().standardName) ?? null;
  return { socket, cap };
}

/** Sends GET `path` and reads one Content-Length response: status and body. */
export function get(socket: tls.TLSSocket, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const headText = buf.subarray(0, end).toString('latin1');
      const length = Number(/content-length: (\d+)/i.exec(headText)?.[1] ?? 0);
      if (buf.length < end + 4 + length) return;
      socket.removeListener('data', onData);
      socket.removeListener('error', reject);
      resolve({ status: Number(headText.split(' ')[1]), body: buf.subarray(end + 4, end + 4 + length) });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  });
}
