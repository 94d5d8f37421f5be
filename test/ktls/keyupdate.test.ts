// Goal: rekeying cannot happen on a KTLS connection (ktls(4)). A client's KeyUpdate changes only
// its own key, which Node's receive side follows while the kernel keeps sending; a KeyUpdate that
// OpenSSL would send after the takeover is refused by the record tap and the connection closed.
// Before the takeover the send side is OpenSSL's: a KeyUpdate it answers is served, the tap
// follows the new key, and a later takeover hands the kernel that key. Method: openssl s_client's
// "K" command (when installed) between two responses and before the first; KeyUpdate records
// sealed under the server's application key written into a tap, before and after its takeover.
import { execFile, spawn } from 'node:child_process';
import { createHash, createSecretKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import {
  TLS_MAJOR_VER_ONE,
  TLS_MINOR_VER_THREE,
  TLS_RLTYPE_APP,
  TLS_RLTYPE_HANDSHAKE,
  type Tls13Suite,
  tls13Nonce,
  tls13Seal,
  tls13Suite,
  tlsRecordHeader,
} from '../../src/ktls/index.js';
import { hkdfExpandLabel, KtlsRecordTap, tls13TrafficKeys } from '../../src/tls/index.js';
import { kernelBooter, settle, testFile } from '../e2e/helpers.js';
import { waitFor } from '../support/wait.js';
import { get, startKtlsServer, tlsClient } from './helpers.js';

const boot = kernelBooter();
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function hasOpenssl(): Promise<boolean> {
  try {
    await promisify(execFile)('openssl', ['version']);
    return true;
  } catch {
    return false;
  }
}

/** A record tap over a loopback TCP connection and its kernel socket. */
async function tapOnLoopback(kernel: ReturnType<ReturnType<typeof kernelBooter>>) {
  const raw = await new Promise<Socket>((resolve) => {
    const server = createServer((s) => {
      server.close();
      resolve(s);
    }).listen(0, '127.0.0.1', () => {
      const a = server.address();
      if (a !== null && typeof a !== 'string') tcpConnect(a.port, '127.0.0.1').on('error', () => {});
    });
  });
  const so = kernel.socket(raw);
  return { raw, so, tap: new KtlsRecordTap(kernel, so, raw) };
}

/** One record of `type` holding `msg`, sealed as OpenSSL would under `secret` at `seq`. */
function sealed(suite: Tls13Suite, secret: Uint8Array, seq: number, msg: Buffer, type: number): Buffer {
  const { key, iv } = tls13TrafficKeys(suite, secret);
  const hdr = new Uint8Array(5);
  tlsRecordHeader(hdr, msg.length + 17);
  const body = Buffer.alloc(msg.length);
  const trail = new Uint8Array(17);
  tls13Seal(suite.nodeCipher, createSecretKey(key), tls13Nonce(iv, seq), hdr, [msg], [body], type, trail);
  return Buffer.concat([hdr, body, trail]);
}

/** openssl s_client on `port`: what it printed so far, and waits on what it prints. */
function sClient(port: number) {
  const p = spawn(
    'openssl',
    ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_3', '-servername', 'localhost'],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  const got = { out: Buffer.alloc(0), err: '' };
  const closed = new Promise<void>((resolve) => p.on('close', () => resolve()));
  const until = (check: () => boolean): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const poll = (): void => {
        if (!check()) return;
        p.stdout.removeListener('data', poll);
        p.stderr.removeListener('data', poll);
        p.removeListener('close', fail);
        resolve();
      };
      const fail = (): void => {
        if (!check()) reject(new Error(`s_client closed: ${got.err}`));
      };
      p.stdout.on('data', poll);
      p.stderr.on('data', poll);
      p.once('close', fail);
      setImmediate(poll);
    });
  p.stdout.on('data', (d: Buffer) => {
    got.out = Buffer.concat([got.out, d]);
  });
  p.stderr.on('data', (d: Buffer) => {
    got.err += d.toString('latin1');
  });
  return {
    got,
    closed,
    /** Resolves once `check` holds; rejects if s_client ends before. */
    until,
    /** The handshake is done (s_client prints the session after it). */
    secure: () => until(() => got.out.includes('Verify return code')),
    /** "K": a KeyUpdate that asks the server to update its key too; resolves once it is sent. */
    keyUpdate: async (): Promise<void> => {
      p.stdin.write('K\n');
      await until(() => got.err.includes('KEYUPDATE'));
    },
    write: (text: string): void => {
      p.stdin.write(text);
    },
  };
}

describe('KeyUpdate on a KTLS connection', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it("a client's KeyUpdate leaves the kernel's sending as it was", async () => {
    const kernel = boot();
    const path = await testFile(3000, 41);
    const want = await readFile(path);
    const file = await kernel.open(path);
    const srv = await startKtlsServer(kernel, new Map([['/f', file]]));
    cleanups.push(() => srv.close());
    const { socket } = await tlsClient(srv.port, 'TLS_AES_128_GCM_SHA256');
    expect(sha((await get(socket, '/f')).body)).toBe(sha(want));
    socket.end();
    if (await hasOpenssl()) {
      const p = spawn(
        'openssl',
        ['s_client', '-connect', `127.0.0.1:${srv.port}`, '-tls1_3', '-servername', 'localhost'],
        {
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
      let said = '';
      p.stderr.on('data', (d: Buffer) => {
        said += d.toString('latin1');
      });
      const closed = new Promise<void>((resolve) => p.on('close', () => resolve()));
      let out = Buffer.alloc(0);
      p.stdout.on('data', (d: Buffer) => {
        out = Buffer.concat([out, d]);
      });
      const answered = (count: number): Promise<void> =>
        new Promise<void>((resolve) => {
          const check = (): void => {
            const n = out.toString('latin1').split('HTTP/1.1 200 OK').length - 1;
            const last = out.lastIndexOf('\r\n\r\n');
            if (n >= count && last !== -1 && out.length >= last + 4 + want.length) resolve();
            else p.stdout.once('data', check);
          };
          check();
        });
      p.stdin.write('GET /f HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await answered(1);
      // s_client takes a line that starts with K as its command only when the line comes alone.
      p.stdin.write('K\n');
      await waitFor(() => said.includes('KEYUPDATE'), 's_client to take the K command');
      p.stdin.write('GET /f HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      await answered(2);
      await closed;
      expect(out.toString('latin1').split('HTTP/1.1 200 OK')).toHaveLength(3);
      expect(out.indexOf(want)).not.toBe(out.lastIndexOf(want));
    }
    await srv.close();
    await kernel.close(file);
    await settle(kernel);
  });

  it("a client's KeyUpdate before the takeover is served by OpenSSL; the kernel then sends under the new key", async () => {
    if (!(await hasOpenssl())) return;
    const kernel = boot();
    const path = await testFile(40_000, 43);
    const want = await readFile(path);
    const file = await kernel.open(path);
    // User-space TLS (the /copy route's way); then one response so, and KTLS for the next.
    for (const opts of [{ userSpace: true }, { takeoverAt: 'request' as const, userSpaceFirst: 1 }]) {
      const srv = await startKtlsServer(kernel, new Map([['/f', file]]), opts);
      const c = sClient(srv.port);
      await c.secure();
      await c.keyUpdate();
      c.write('GET /f HTTP/1.1\r\nHost: localhost\r\n\r\n');
      await c.until(() => c.got.out.includes(want));
      c.write('GET /f HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
      await c.closed;
      expect(c.got.out.toString('latin1').split('HTTP/1.1 200 OK')).toHaveLength(3);
      expect(c.got.out.indexOf(want)).not.toBe(c.got.out.lastIndexOf(want));
      const tap = srv.connections[0]!.conn.tap;
      expect(tap.counters.keyupdates_followed).toBe(1);
      expect(tap.counters.keyupdate_refused).toBe(0);
      await srv.close();
    }
    await kernel.close(file);
    await settle(kernel);
  });

  it('a KeyUpdate OpenSSL sends before the takeover moves the tap to the next key', async () => {
    const kernel = boot();
    const { raw, so, tap } = await tapOnLoopback(kernel);
    const suite = tls13Suite('TLS_AES_128_GCM_SHA256')!;
    const secret = Buffer.alloc(32, 5);
    tap.setAppSecret(suite, secret);
    const next = hkdfExpandLabel(suite.hash, secret, 'traffic upd', new Uint8Array(0), 32);
    const keyUpdate = sealed(suite, secret, 0, Buffer.from([24, 0, 0, 1, 1]), TLS_RLTYPE_HANDSHAKE);
    const data = sealed(suite, next, 0, Buffer.from('after the update'), TLS_RLTYPE_APP);
    let failed: Error | null = null;
    tap.once('error', (e) => {
      failed = e;
    });
    await new Promise<void>((resolve, reject) =>
      tap.write(Buffer.concat([keyUpdate, data]), (e) => (e ? reject(e) : resolve())),
    );
    expect(failed).toBeNull();
    expect(tap.counters.app_key_records_user).toBe(2);
    expect(tap.counters.keyupdates_followed).toBe(1);
    expect(tap.nextSeq).toBe(1);
    raw.destroy();
    kernel.soclose(so);
    await settle(kernel);
  });

  it('a KeyUpdate from OpenSSL after the takeover is refused and the connection closed', async () => {
    const kernel = boot();
    const accepted = new Promise<Socket>((resolve) => {
      const server = createServer(resolve).listen(0, '127.0.0.1', () => {
        const a = server.address();
        if (a !== null && typeof a !== 'string') tcpConnect(a.port, '127.0.0.1').on('error', () => {});
      });
      cleanups.push(() => new Promise((r) => server.close(() => r())));
    });
    const raw = await accepted;
    const so = kernel.socket(raw);
    const tap = new KtlsRecordTap(kernel, so, raw);
    const suite = tls13Suite('TLS_AES_128_GCM_SHA256')!;
    const secret = Buffer.alloc(32, 9);
    tap.setAppSecret(suite, secret);
    const { key, iv } = tls13TrafficKeys(suite, secret);
    kernel.ktlsEnableTx(so, {
      cipher_algorithm: suite.cipher_algorithm,
      cipher_key: key,
      iv,
      tls_vmajor: TLS_MAJOR_VER_ONE,
      tls_vminor: TLS_MINOR_VER_THREE,
      rec_seq: 0,
    });
    tap.handOver();
    // KeyUpdate(update_not_requested), as OpenSSL would seal it at its sequence number 0.
    const msg = Buffer.from([24, 0, 0, 1, 0]);
    const hdr = new Uint8Array(5);
    tlsRecordHeader(hdr, msg.length + 17);
    const body = Buffer.alloc(msg.length);
    const trail = new Uint8Array(17);
    tls13Seal(
      suite.nodeCipher,
      createSecretKey(key),
      tls13Nonce(iv, 0),
      hdr,
      [msg],
      [body],
      TLS_RLTYPE_HANDSHAKE,
      trail,
    );
    const failed = new Promise<Error>((resolve) => tap.once('error', resolve));
    tap.write(Buffer.concat([hdr, body, trail]));
    expect((await failed).message).toMatch(/KeyUpdate/);
    expect(tap.counters.keyupdate_refused).toBe(1);
    await new Promise((r) => raw.once('close', r));
    kernel.soclose(so);
    await settle(kernel);
  });
});
