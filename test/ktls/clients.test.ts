// Goal: clients other than the test's own read files from the demo server over HTTPS, with every
// cipher, on the three routes: /zerocopy by kernel sendfile over a KTLS connection, /copy and
// /stream through OpenSSL: Node's https, curl and openssl s_client. Method: each downloads the
// file and the test compares hashes; curl and openssl run when installed (a runtime check), the
// https client always does; every /zerocopy connection was taken over by KTLS; the kernel is at
// rest after each.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { patternBytes } from '../e2e/helpers.js';
import { atRestSoon, startServer } from '../http/helpers.js';
import { tempDir } from '../support/tmp.js';
import { CERT_PEM, KEY_PEM, SUITES } from './helpers.js';

const ROUTES = ['zerocopy', 'copy', 'stream'] as const;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const run_ = promisify(execFile);

async function installed(cmd: string): Promise<boolean> {
  try {
    await run_(cmd, ['--version']);
    return true;
  } catch {
    try {
      await run_(cmd, ['version']);
      return true;
    } catch {
      return false;
    }
  }
}

function httpsGet(port: number, path: string, suite: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port,
        path,
        servername: 'localhost',
        ca: CERT_PEM,
        ciphers: suite,
        minVersion: 'TLSv1.3',
        agent: false,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => resolve(Buffer.concat(parts)));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
  });
}

/** openssl s_client: one GET with Connection: close; returns the body after the head. */
function sClientGet(port: number, path: string, suite: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const p = spawn(
      'openssl',
      [
        's_client',
        '-connect',
        `127.0.0.1:${port}`,
        '-tls1_3',
        '-ciphersuites',
        suite,
        '-quiet',
        '-servername',
        'localhost',
      ],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    const parts: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => parts.push(d));
    p.on('error', reject);
    p.on('close', () => {
      const all = Buffer.concat(parts);
      const end = all.indexOf('\r\n\r\n');
      resolve(end === -1 ? Buffer.alloc(0) : all.subarray(end + 4));
    });
    p.stdin.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n`);
  });
}

describe('real TLS clients over HTTPS', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  for (const suite of SUITES) {
    it(`${suite}: https, curl and openssl s_client get the file on every route`, async () => {
      const root = tempDir('zcsim-https');
      const name = 'f.bin';
      const body = patternBytes(200_000, 31);
      await writeFile(join(root, name), body);
      const want = sha(body);
      const run = await startServer({ root, tls: { cert: CERT_PEM, key: KEY_PEM } });
      cleanups.push(async () => {
        await run.server.close();
        await rm(root, { recursive: true, force: true });
      });
      const hasCurl = await installed('curl');
      const hasOpenssl = await installed('openssl');
      for (const route of ROUTES) {
        const url = `/${route}/${name}`;
        expect(sha(await httpsGet(run.port, url, suite))).toBe(want);
        if (hasCurl) {
          const { stdout } = await run_(
            'curl',
            [
              '--silent',
              '--insecure',
              '--tlsv1.3',
              '--tls13-ciphers',
              suite,
              `https://127.0.0.1:${run.port}${url}`,
            ],
            { encoding: 'buffer', maxBuffer: 1 << 22 },
          );
          expect(sha(stdout)).toBe(want);
        }
        if (hasOpenssl) expect(sha(await sClientGet(run.port, url, suite))).toBe(want);
      }
      const clients = 1 + (hasCurl ? 1 : 0) + (hasOpenssl ? 1 : 0);
      // Only the /zerocopy connections were handed to the kernel.
      expect(run.server.kernel.stats().ktls['kern.ipc.tls.stats.offload_total']).toBe(clients);
      expect(run.server.zcsim.connections.ktls_takeovers).toBe(clients);
      expect((await atRestSoon(run.server)).leaks).toEqual([]);
    });
  }
});
