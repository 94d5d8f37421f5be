// Goal: the demo server over HTTPS (TLS 1.3, ALPN http/1.1) answers every route with the file's
// exact bytes to real clients, with every cipher: /zerocopy by sendfile over kernel TLS (software
// and ifnet), /copy by read(2) + OpenSSL + write(2), /stream by Node's read stream into the
// TLSSocket; Range and keep-alive included; the panel too; the kernel at rest after. Method: Node's
// https client on one kept-alive connection per route and cipher, hashes compared with the files.
import https from 'node:https';
import { connect } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CERT_PEM, KEY_PEM, SUITES } from '../ktls/helpers.js';
import { waitFor } from '../support/wait.js';
import { type Fixture, makeFixture, sha256 } from './fixture.js';
import { atRestSoon, parseResponses, type Running, startServer } from './helpers.js';

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

/** The first server-sent event of /events over HTTPS, then the connection is cut. */
function firstEvent(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      { host: '127.0.0.1', port, path: '/events', ca: CERT_PEM, servername: 'localhost', agent: false },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => {
          text += d.toString('utf8');
          if (text.includes('\n\ndata:') || /data: .*\n\n/.test(text)) {
            req.destroy();
            resolve(text);
          }
        });
        res.on('error', () => {});
      },
    );
    req.on('error', reject);
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

    it('the panel answers over HTTPS (/stats, /metrics, the dashboard, /events) and never shows key material', async () => {
      const agent = tlsAgent('TLS_AES_256_GCM_SHA384');
      const secrets: string[] = [];
      agent.on('keylog', (line: Buffer) => {
        const hex = line.toString('latin1').trim().split(' ')[2];
        if (hex !== undefined) secrets.push(hex.toLowerCase());
      });
      // A /zerocopy response first: the kernel holds the session's key from then on.
      const zc = await httpsGet(run.port, '/zerocopy/data.bin', agent);
      expect(sha256(zc.body)).toBe(sha256(fx.files['data.bin']!));
      const texts: string[] = [];
      for (const path of ['/stats', '/metrics', '/', '/files']) {
        const r = await httpsGet(run.port, path, agent);
        expect(r.status).toBe(200);
        texts.push(r.body.toString('utf8'));
      }
      expect(texts[1]).toContain('zcsim_http_memory_read_bytes_total');
      expect(texts[1]).toContain('zcsim_http_ktls_takeovers_total');
      texts.push(await firstEvent(run.port));
      expect(texts.at(-1)).toContain('"tls":{"ktls"');
      const keyBody = KEY_PEM.toString('latin1')
        .split('\n')
        .filter((l) => l.length > 0 && !l.startsWith('-----'));
      expect(secrets.length).toBeGreaterThan(0);
      for (const text of texts) {
        const lower = text.toLowerCase();
        for (const secret of secrets) expect(lower).not.toContain(secret);
        for (const line of keyBody) expect(text).not.toContain(line);
      }
      agent.destroy();
      expect((await atRestSoon(run.server)).leaks).toEqual([]);
    });

    it('a client that sends junk instead of a handshake, or leaves mid-body, frees everything', async () => {
      // Plain HTTP where a handshake belongs gets nginx's 400 in the clear, then the close.
      const junk = connect(run.port, '127.0.0.1');
      junk.on('error', () => {});
      const answer: Buffer[] = [];
      junk.on('data', (d: Buffer) => answer.push(d));
      junk.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
      await new Promise<void>((resolve) => junk.once('close', () => resolve()));
      expect(Buffer.concat(answer).toString('latin1')).toMatch(
        /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*plain HTTP request was sent to HTTPS port/,
      );
      // Bytes that are neither TLS nor HTTP end the connection at once.
      const noise = connect(run.port, '127.0.0.1');
      noise.on('error', () => {});
      noise.write(Buffer.from([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]));
      await new Promise<void>((resolve) => noise.once('close', () => resolve()));
      for (const route of ROUTE_NAMES) {
        const agent = tlsAgent('TLS_CHACHA20_POLY1305_SHA256');
        await new Promise<void>((resolve, reject) => {
          const req = https.get(
            { host: '127.0.0.1', port: run.port, path: `/${route}/big.bin`, agent },
            (res) => {
              res.once('data', () => {
                req.destroy();
                resolve();
              });
            },
          );
          req.on('error', (e) =>
            (e as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(e),
          );
        });
        agent.destroy();
      }
      const stats = run.server.zcsim;
      await waitFor(() => stats.connections.open === 0, 'every connection closed');
      expect((await atRestSoon(run.server)).leaks).toEqual([]);
    });

    it('pipelined requests over one TLS connection are answered in order, across the takeover', async () => {
      const paths = [
        '/copy/data.bin',
        '/stats',
        '/zerocopy/data.bin',
        '/stream/hello.txt',
        '/copy/hello.txt',
        '/files',
      ];
      const heads = paths.map(
        (p, i) =>
          `GET ${p} HTTP/1.1\r\nHost: localhost${i === paths.length - 1 ? '\r\nConnection: close' : ''}\r\n\r\n`,
      );
      const socket = tls.connect({
        host: '127.0.0.1',
        port: run.port,
        ca: CERT_PEM,
        servername: 'localhost',
        minVersion: 'TLSv1.3',
        ALPNProtocols: ['http/1.1'],
      });
      await new Promise<void>((resolve, reject) => {
        socket.once('secureConnect', () => resolve());
        socket.once('error', reject);
      });
      socket.write(heads.join(''));
      const parts: Buffer[] = [];
      socket.on('data', (d: Buffer) => parts.push(d));
      await new Promise<void>((resolve, reject) => {
        socket.once('end', () => resolve());
        socket.once('error', reject);
      });
      socket.destroy();
      const got = parseResponses(
        Buffer.concat(parts),
        paths.map(() => 'GET'),
      );
      expect(got.map((r) => r.status)).toEqual(paths.map(() => 200));
      expect(sha256(got[0]!.body)).toBe(sha256(fx.files['data.bin']!));
      expect(JSON.parse(got[1]!.body.toString('utf8')).server.tls).toEqual({ ktls: ktlsMode });
      expect(sha256(got[2]!.body)).toBe(sha256(fx.files['data.bin']!));
      expect(got[3]!.body.equals(fx.files['hello.txt']!)).toBe(true);
      expect(got[4]!.body.equals(fx.files['hello.txt']!)).toBe(true);
      expect(JSON.parse(got[5]!.body.toString('utf8')).files.length).toBeGreaterThan(0);
      expect((await atRestSoon(run.server)).leaks).toEqual([]);
    });

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
