// Helpers of the end-to-end tests: deterministic test files in the run's folder, a real loopback
// TCP connection whose receiver hashes what it gets (SHA-256), a transport wrapper that records
// every view handed to the host, and a wait for a kernel to come to rest.
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { open, rename, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { assertAtRest, createKernel, isSysError, type Kernel, type KernelConfig } from '../../src/index.js';
import { patternBytes } from '../../src/load/index.js';
import type { Transport } from '../../src/net/index.js';
import { testDir } from '../support/tmp.js';
import { atRestSoon } from '../support/wait.js';

export const TEST_DIR = testDir();

/**
 * A boot function for one test file: each kernel it boots (16 MiB of memory unless the config
 * says otherwise) is destroyed after the file's tests.
 */
export function kernelBooter(): (config?: KernelConfig) => Kernel {
  const kernels: Kernel[] = [];
  afterAll(async () => {
    for (const k of kernels) await k.destroy();
  });
  return (config = {}) => {
    const k = createKernel({ physmemBytes: 16 * 1024 * 1024, ...config });
    kernels.push(k);
    return k;
  };
}

export { patternBytes } from '../../src/load/index.js';

/** The errno a call fails with ('ok' when it returns; anything else but a SysError as text). */
export function errnoOf(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    return isSysError(e) ? e.code : String(e);
  }
  return 'ok';
}

/** errnoOf for a call that returns a Promise. */
export async function errnoOfAsync(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (e) {
    return isSysError(e) ? e.code : String(e);
  }
  return 'ok';
}

/**
 * A test file of `sizeBytes` deterministic bytes (seeded by its size and `seed`), created once
 * and reused by the run's later tests and workers (written to a temporary name, then renamed).
 */
export async function testFile(sizeBytes: number, seed = 1): Promise<string> {
  const path = join(TEST_DIR, `zcsim-e2e-${sizeBytes}-${seed}.bin`);
  if (existsSync(path) && statSync(path).size === sizeBytes) return path;
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, patternBytes(sizeBytes, sizeBytes ^ (seed * 2654435761)));
  await rename(tmp, path);
  return path;
}

/** SHA-256 (hex) of [offset, offset + length) of a file, read with plain fs. */
export async function sliceHash(path: string, offset: number, length: number): Promise<string> {
  const h = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, length - done), offset + done);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      done += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

export function sha256(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** What the receiving end saw when the connection ended. */
export interface Received {
  readonly bytes: number;
  readonly sha256: string;
  /** The first bytes, kept for checking headers. */
  readonly head: Buffer;
  /** The last bytes, kept for checking trailers. */
  readonly tail: Buffer;
  readonly error: Error | null;
}

export interface Loopback {
  /** The sending end (the kernel's transport). */
  readonly client: Socket;
  /** The receiving end, accepted by the server. */
  readonly peer: Socket;
  /** Resolves when the receiver sees the end of the stream (or an error). */
  readonly received: Promise<Received>;
  close(): Promise<void>;
}

const KEEP_BYTES = 4096;

/** A real TCP connection over 127.0.0.1 (port 0); the receiver hashes everything it reads. */
export async function loopback(opts: { pauseReceiver?: boolean } = {}): Promise<Loopback> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = tcpConnect(address.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  client.on('error', () => {});
  const peer = await accepted;
  if (opts.pauseReceiver === true) peer.pause();
  const received = new Promise<Received>((resolve) => {
    const h = createHash('sha256');
    let bytes = 0;
    let head = Buffer.alloc(0);
    let tail = Buffer.alloc(0);
    let error: Error | null = null;
    peer.on('data', (chunk: Buffer) => {
      h.update(chunk);
      bytes += chunk.length;
      if (head.length < KEEP_BYTES) head = Buffer.concat([head, chunk.subarray(0, KEEP_BYTES - head.length)]);
      tail = Buffer.concat([tail, chunk]).subarray(-KEEP_BYTES);
    });
    peer.on('error', (e) => {
      error = e;
    });
    peer.on('close', () => resolve({ bytes, sha256: h.digest('hex'), head, tail, error }));
  });
  return {
    client,
    peer,
    received,
    close: async () => {
      client.destroy();
      peer.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Statistics of what a recording transport was handed. */
export interface TransportRecord {
  writes: number;
  bytes: number;
  /** Writes whose view was not a view of the kernel's physical memory. */
  foreignWrites: number;
  foreignBytes: number;
}

/**
 * Wraps a socket so every write is recorded: whether its view shares `physmem` (zero copy) or
 * not (a copy: headers, trailers, clusters).
 */
export function recordingTransport(
  socket: Socket,
  physmem: ArrayBuffer,
): { transport: Transport; record: TransportRecord } {
  const record: TransportRecord = { writes: 0, bytes: 0, foreignWrites: 0, foreignBytes: 0 };
  const transport: Transport = {
    write(chunk, cb) {
      record.writes++;
      record.bytes += chunk.length;
      if (chunk.buffer !== physmem) {
        record.foreignWrites++;
        record.foreignBytes += chunk.length;
      }
      return socket.write(chunk, cb);
    },
    cork: () => socket.cork(),
    uncork: () => socket.uncork(),
    destroy: (err) => socket.destroy(err),
    on: (event, fn) => socket.on(event, fn),
    removeListener: (event, fn) => socket.removeListener(event, fn),
    get destroyed() {
      return socket.destroyed;
    },
  };
  return { transport, record };
}

/** Waits until the kernel is at rest (every queued byte written and freed), then asserts it. */
export async function settle(kernel: Kernel, timeoutMs?: number): Promise<void> {
  await atRestSoon(() => kernel.atRest(), timeoutMs);
  assertAtRest(kernel);
}

/** Ends the sending side once the kernel has handed everything over; returns what arrived. */
export async function finish(kernel: Kernel, lb: Loopback): Promise<Received> {
  await settle(kernel);
  lb.client.end();
  return lb.received;
}
