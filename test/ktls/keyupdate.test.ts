// Goal: rekeying cannot happen on a KTLS connection (ktls(4)). A client's KeyUpdate changes only
// its own key, which Node's receive side follows while the kernel keeps sending; a KeyUpdate that
// OpenSSL would send is refused by the record tap and the connection closed. Method: openssl
// s_client's "K" command (when installed) between two responses; and a KeyUpdate record sealed
// under the server's application key written into a tap after its takeover.
import { execFile, spawn } from 'node:child_process';
import { createHash, createSecretKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type Socket, connect as tcpConnect } from 'node:net';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import {
  TLS_MAJOR_VER_ONE,
  TLS_MINOR_VER_THREE,
  TLS_RLTYPE_HANDSHAKE,
  tls13Nonce,
  tls13Seal,
  tls13Suite,
  tls13TrafficKeys,
  tlsRecordHeader,
} from '../../src/ktls/index.js';
import { KtlsRecordTap } from '../../src/tls/index.js';
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
