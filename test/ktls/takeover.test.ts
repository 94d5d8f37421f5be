// Goal: the takeover of a Node TLS connection by the kernel is exact about sequence numbers and
// leaves OpenSSL nothing to put on the wire itself. Method: real TLS 1.3 clients; the test opens
// every record the client received with the key derived from the client's keylog (records must
// open in sequence), and checks what the record tap counted and rewrote.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { TLS_RLTYPE_ALERT, TLS_RLTYPE_APP, TLS_RLTYPE_HANDSHAKE } from '../../src/ktls/index.js';
import type { Transport } from '../../src/net/index.js';
import { kernelBooter, settle, testFile } from '../e2e/helpers.js';
import { CERT_PEM, get, openServerRecords, startKtlsServer, tlsClient } from './helpers.js';

const boot = kernelBooter();
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const SUITE = 'TLS_AES_128_GCM_SHA256';

/** Resolves once the client has received `count` session tickets. */
function tickets(socket: tls.TLSSocket, count: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  return new Promise((resolve) => {
    socket.on('session', (s: Buffer) => {
      got.push(s);
      if (got.length === count) resolve(got);
    });
  });
}

describe('takeover of a Node TLS connection', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it('starts at the sequence number after the tickets OpenSSL already sent', async () => {
    const kernel = boot();
    const path = await testFile(40_000, 11);
    const file = await kernel.open(path);
    const srv = await startKtlsServer(kernel, new Map([['/f', file]]), { takeoverAt: 'request' });
    cleanups.push(() => srv.close());
    const { socket, cap } = await tlsClient(srv.port, SUITE);
    // The tickets reached the client, so they went through the tap before the request.
    await tickets(socket, 2);
    const r = await get(socket, '/f');
    expect(sha(r.body)).toBe(sha(await readFile(path)));
    const tap = srv.connections[0]!.conn.tap;
    expect(tap.counters.tickets_user).toBe(2);
    expect(tap.nextSeq).toBe(2);
    expect(tap.counters.rewritten_tickets).toBe(0);
    const records = openServerRecords(cap);
    expect(records.slice(0, 2).map((x) => x.type)).toEqual([TLS_RLTYPE_HANDSHAKE, TLS_RLTYPE_HANDSHAKE]);
    // The kernel's first record is the head, at sequence number 2.
    expect(records[2]).toMatchObject({ type: TLS_RLTYPE_APP, seq: 2 });
    socket.end();
    await srv.close();
    await kernel.close(file);
    await settle(kernel);
  });

  it('rewrites tickets OpenSSL writes after the takeover, and they still resume a session', async () => {
    const kernel = boot();
    const path = await testFile(20_000, 12);
    const file = await kernel.open(path);
    const srv = await startKtlsServer(kernel, new Map([['/f', file]]), { takeoverAt: 'secure' });
    cleanups.push(() => srv.close());
    const { socket, cap } = await tlsClient(srv.port, SUITE);
    const got = tickets(socket, 2);
    const r = await get(socket, '/f');
    expect(sha(r.body)).toBe(sha(await readFile(path)));
    const sessions = await got;
    const tap = srv.connections[0]!.conn.tap;
    expect(tap.counters.tickets_user + tap.counters.rewritten_tickets).toBe(2);
    const types = openServerRecords(cap).map((x) => x.type);
    expect(types.filter((t) => t === TLS_RLTYPE_HANDSHAKE)).toHaveLength(2);
    socket.end();
    // A ticket the kernel re-sent is the server's own: the next connection resumes with it.
    const again = tls.connect({
      port: srv.port,
      host: '127.0.0.1',
      servername: 'localhost',
      ca: CERT_PEM,
      session: sessions[1]!,
      ciphers: SUITE,
    });
    await new Promise<void>((resolve, reject) => {
      again.once('secureConnect', () => resolve());
      again.once('error', reject);
    });
    expect(again.isSessionReused()).toBe(true);
    again.end();
    await srv.close();
    await kernel.close(file);
    await settle(kernel);
  });

  it('a takeover asked for before the handshake waits for it and for the secret', async () => {
    const kernel = boot();
    const path = await testFile(33_000, 16);
    const file = await kernel.open(path);
    const srv = await startKtlsServer(kernel, new Map([['/f', file]]), { takeoverAt: 'accept' });
    cleanups.push(() => srv.close());
    const { socket } = await tlsClient(srv.port, 'TLS_CHACHA20_POLY1305_SHA256');
    expect(sha((await get(socket, '/f')).body)).toBe(sha(await readFile(path)));
    expect(kernel.stats().ktls['kern.ipc.tls.sw.chacha20']).toBe(1);
    socket.end();
    await srv.close();
    await kernel.close(file);
    await settle(kernel);
  });

  it('a connection that closes during the handshake ends the takeover with ECONNRESET', async () => {
    const kernel = boot();
    const srv = await startKtlsServer(kernel, new Map(), { takeoverAt: 'accept' });
    cleanups.push(() => srv.close());
    const raw = (await import('node:net')).connect(srv.port, '127.0.0.1');
    await new Promise((r) => raw.once('connect', r));
    while (srv.connections.length === 0) await new Promise((r) => setTimeout(r, 5));
    const taken = srv.connections[0]!.conn.takeover().then(
      () => 'taken',
      (e: NodeJS.ErrnoException) => e.code,
    );
    raw.destroy();
    expect(await taken).toBe('ECONNRESET');
    await srv.close();
    await settle(kernel);
    expect(kernel.stats().ktls['kern.ipc.tls.stats.offload_total']).toBe(0);
  });

  it('a second response on the same connection continues the sequence', async () => {
    const kernel = boot();
    const path = await testFile(70_000, 13);
    const file = await kernel.open(path);
    const srv = await startKtlsServer(kernel, new Map([['/f', file]]), { sndbufBytes: 1024 * 1024 });
    cleanups.push(() => srv.close());
    const { socket, cap } = await tlsClient(srv.port, SUITE);
    const want = sha(await readFile(path));
    expect(sha((await get(socket, '/f')).body)).toBe(want);
    expect(sha((await get(socket, '/f')).body)).toBe(want);
    const records = openServerRecords(cap);
    // Every record opened at the next number (openServerRecords throws otherwise).
    expect(records.map((x) => x.seq)).toEqual(records.map((_, i) => i));
    expect(records.filter((x) => x.type === TLS_RLTYPE_APP)).toHaveLength(
      2 * (1 + Math.ceil(70_000 / 16384)),
    );
    expect(srv.connections).toHaveLength(1);
    socket.end();
    await srv.close();
    await kernel.close(file);
    await settle(kernel);
  });

  it("OpenSSL's close_notify after the takeover goes out as a kernel record", async () => {
    const kernel = boot();
    const path = await testFile(5000, 14);
    const file = await kernel.open(path);
    const srv = await startKtlsServer(kernel, new Map([['/f', file]]));
    cleanups.push(() => srv.close());
    const { socket, cap } = await tlsClient(srv.port, SUITE);
    const ended = new Promise<void>((resolve) => socket.once('end', () => resolve()));
    socket.write('GET /f HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    socket.resume();
    await ended;
    const records = openServerRecords(cap);
    expect(records.at(-1)).toMatchObject({ type: TLS_RLTYPE_ALERT, length: 2 });
    expect(srv.connections[0]!.conn.tap.counters.rewritten_alerts).toBe(1);
    socket.end();
    await srv.close();
    await kernel.close(file);
    await settle(kernel);
  });

  it('one flipped tag byte makes the client fail with a bad record MAC', async () => {
    const kernel = boot();
    const path = await testFile(50_000, 15);
    const file = await kernel.open(path);
    const srv = await startKtlsServer(kernel, new Map([['/f', file]]), { transport: flipFirstBodyTag });
    cleanups.push(() => srv.close());
    const { socket } = await tlsClient(srv.port, SUITE);
    const err = await get(socket, '/f').then(
      () => null,
      (e: unknown) => e as NodeJS.ErrnoException,
    );
    expect(err?.code).toBe('ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC');
    await srv.close();
    await kernel.close(file);
    await settle(kernel);
  });
});

/**
 * A transport that copies the kernel's output and flips the last byte (of the tag) of the first
 * record longer than 4 KiB, leaving the kernel's memory untouched.
 */
function flipFirstBodyTag(raw: Socket): Transport {
  let header = Buffer.alloc(0);
  let left = 0;
  let flipping = false;
  let done = false;
  return {
    write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean {
      const out = Buffer.from(chunk);
      for (let i = 0; i < out.length; ) {
        if (left === 0) {
          header = Buffer.concat([header, out.subarray(i, i + 5 - header.length)]);
          i += Math.min(5, out.length - i);
          if (header.length < 5) continue;
          left = header.readUInt16BE(3);
          flipping = !done && left > 4096;
          header = Buffer.alloc(0);
          continue;
        }
        const n = Math.min(left, out.length - i);
        left -= n;
        i += n;
        if (left === 0 && flipping) {
          out[i - 1] = (out[i - 1] ?? 0) ^ 0x01;
          done = true;
        }
      }
      return raw.write(out, cb);
    },
    cork: () => raw.cork(),
    uncork: () => raw.uncork(),
    destroy: (e?: Error) => raw.destroy(e),
    on: (ev: 'error' | 'close', fn: (...a: unknown[]) => void) => raw.on(ev, fn),
    removeListener: (ev: string, fn: (...a: unknown[]) => void) => raw.removeListener(ev, fn),
    get destroyed() {
      return raw.destroyed;
    },
  };
}
