// Goal: clients other than the test's own read files sent by kernel sendfile over a KTLS
// connection, with every cipher: Node's https, curl and openssl s_client. Method: each downloads
// the file and the test compares hashes; curl and openssl run when installed (a runtime check),
// the https client always does; the kernel is at rest after each.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { kernelBooter, settle, testFile } from '../e2e/helpers.js';
import { CERT_PEM, SUITES, startKtlsServer } from './helpers.js';

const boot = kernelBooter();
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const run = promisify(execFile);

async function installed(cmd: string): Promise<boolean> {
  try {
    await run(cmd, ['--version']);
    return true;
  } catch {
    try {
      await run(cmd, ['version']);
      return true;
    } catch {
      return false;
    }
  }
}

function httpsGet(port: number, suite: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port,
        path: '/f',
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
function sClientGet(port: number, suite: string): Promise<Buffer> {
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
    p.stdin.write('GET /f HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
  });
}

describe('real TLS clients over KTLS', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  for (const suite of SUITES) {
    it(`${suite}: https, curl and openssl s_client get the file`, async () => {
      const kernel = boot();
      const path = await testFile(200_000, 31);
      const want = sha(await readFile(path));
      const file = await kernel.open(path);
      const srv = await startKtlsServer(kernel, new Map([['/f', file]]));
      cleanups.push(() => srv.close());
      expect(sha(await httpsGet(srv.port, suite))).toBe(want);
      let clients = 1;
      if (await installed('curl')) {
        const { stdout } = await run(
          'curl',
          [
            '--silent',
            '--insecure',
            '--tlsv1.3',
            '--tls13-ciphers',
            suite,
            `https://127.0.0.1:${srv.port}/f`,
          ],
          { encoding: 'buffer', maxBuffer: 1 << 22 },
        );
        expect(sha(stdout)).toBe(want);
        clients++;
      }
      if (await installed('openssl')) {
        expect(sha(await sClientGet(srv.port, suite))).toBe(want);
        clients++;
      }
      expect(kernel.stats().ktls['kern.ipc.tls.stats.offload_total']).toBe(clients);
      await srv.close();
      await kernel.close(file);
      await settle(kernel);
    });
  }
});
