// Goal: the demo server over HTTPS (TLS 1.3, ALPN http/1.1) answers every route with the file's
// exact bytes to real clients, with every cipher: /zerocopy by sendfile over kernel TLS (software
// and ifnet), /copy by read(2) + OpenSSL + write(2), /stream by Node's read stream into the
// TLSSocket; Range and keep-alive included; the panel too; the kernel at rest after. Method: Node's
// https client on one kept-alive connection per route and cipher, hashes compared with the files.
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CERT_PEM, KEY_PEM, SUITES } from '../ktls/helpers.js';
import { type Fixture, makeFixture, sha256 } from './fixture.js';
import { atRestSoon, type Running, startServer } from './helpers.js';

const ROUTE_NAMES = ['zerocopy', 'copy', 'stream'] as const;

interface Got {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  readonly alpn: string | false;
  readonly protocol: string | null;
}

export function httpsGet(
  port: number,
  path: string,
  agent: https.Agent,
  headers: Record<string, string> = {},
): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path, agent, headers }, (res) => {
      const parts: Buffer[] = [];
      const sock = res.socket as TLSSocket;
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(parts),
          alpn: sock.alpnProtocol ?? false,
          protocol: sock.getProtocol(),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

export function tlsAgent(suite: string): https.Agent {
  return new https.Agent({
    keepAlive: true,
    maxSockets: 1,
    ca: CERT_PEM,
    servername: 'localhost',
    ciphers: suite,
    minVersion: 'TLSv1.3',
    ALPNProtocols: ['http/1.1'],
  });
}

for (const ktlsMode of ['sw', 'ifnet'] as const) {
  describe(`HTTPS with kernel TLS (${ktlsMode})`, () => {
    let fx: Fixture;
    let run: Running;
    beforeAll(async () => {
      fx = makeFixture();
      run = await startServer({ root: fx.root, tls: { cert: CERT_PEM, key: KEY_PEM, ktlsMode } });
    });
    afterAll(async () => {
      await run.server.close();
      fx.cleanup();
    });

    for (const suite of SUITES) {
      it(`${suite}: the three routes give the same bytes, whole and by range, on one connection each`, async () => {
        const big = fx.files['big.bin']!;
        const data = fx.files['data.bin']!;
        for (const route of ROUTE_NAMES) {
          const agent = tlsAgent(suite);
          const whole = await httpsGet(run.port, `/${route}/big.bin`, agent);
          expect(whole.status).toBe(200);
          expect(whole.protocol).toBe('TLSv1.3');
          expect(whole.alpn).toBe('http/1.1');
          expect(sha256(whole.body)).toBe(sha256(big));
          const part = await httpsGet(run.port, `/${route}/data.bin`, agent, { Range: 'bytes=1000-70000' });
          expect(part.status).toBe(206);
          expect(sha256(part.body)).toBe(sha256(data.subarray(1000, 70001)));
          const multi = await httpsGet(run.port, `/${route}/hello.txt`, agent, { Range: 'bytes=0-4,7-9' });
          expect(multi.status).toBe(206);
          expect(multi.body.toString('latin1')).toContain('hello');
          const small = await httpsGet(run.port, `/${route}/hello.txt`, agent);
          expect(small.body.equals(fx.files['hello.txt']!)).toBe(true);
          const missing = await httpsGet(run.port, `/${route}/nope.txt`, agent);
          expect(missing.status).toBe(404);
          const stats = await httpsGet(run.port, '/stats', agent);
          expect(stats.status).toBe(200);
          expect(JSON.parse(stats.body.toString('utf8')).server.tls).toEqual({ ktls: ktlsMode });
          agent.destroy();
        }
        const s = run.server.zcsim;
        expect(s.connections.ktls_takeovers).toBeGreaterThan(0);
        const v = await atRestSoon(run.server);
        expect(v.leaks).toEqual([]);
      });
    }

    it('one connection per request sequence: keep-alive reuses the TLS connection and its kernel socket', async () => {
      const before = run.server.zcsim.connections.accepted;
      const agent = tlsAgent('TLS_AES_128_GCM_SHA256');
      for (let i = 0; i < 5; i++) {
        for (const route of ROUTE_NAMES) {
          const r = await httpsGet(run.port, `/${route}/data.bin`, agent);
          expect(sha256(r.body)).toBe(sha256(fx.files['data.bin']!));
        }
      }
      agent.destroy();
      expect(run.server.zcsim.connections.accepted - before).toBe(1);
      expect((await atRestSoon(run.server)).leaks).toEqual([]);
    });
  });
}
