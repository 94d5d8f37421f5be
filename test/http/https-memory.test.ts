// Goal: each route's memory traffic per body byte, as the demo counts it (http.routes in /stats),
// is what the model says (src/kern/memtraffic.ts, the README's table): plain /zerocopy 0, /copy 2
// reads + 2 writes; over TLS /zerocopy with KTLS software 1 + 1, with ifnet 0, /copy with
// OpenSSL 3 + 3. Method: a 1 MiB file fetched once per route on a fresh connection of a fresh
// server; the route's counters divided by its body bytes (heads and TLS framing add well under
// 2 %); the kernel's own counters agree (KTLS encrypted the body once in software, not at all in
// ifnet mode); the kernel at rest after. And a route's copies are the kernel's own count: an HTTPS
// /copy request alone on a kept-alive connection, the route's copied bytes against the kernel-wide
// copy-out and copy-in across it.
import { rmSync, writeFileSync } from 'node:fs';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MEMORY_TRAFFIC_PER_BYTE } from '../../src/index.js';
import { CERT_PEM, KEY_PEM } from '../ktls/helpers.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';
import { patternBytes, sha256 } from './fixture.js';
import { atRestSoon, type Running, startServer } from './helpers.js';

const BODY = 1024 * 1024;
type Config = 'http' | 'sw' | 'ifnet';
const M = MEMORY_TRAFFIC_PER_BYTE;

/** The model's CPU reads per body byte of each kernel route (the CPU writes as many). */
const WANT: Record<Config, { zerocopy: number; copy: number }> = {
  http: { zerocopy: M.sendfile.cpu_read, copy: M['read+write'].cpu_read },
  sw: { zerocopy: M['sendfile+ktls-sw'].cpu_read, copy: M['read+SSL_write+write'].cpu_read },
  ifnet: { zerocopy: M['sendfile+ktls-ifnet'].cpu_read, copy: M['read+SSL_write+write'].cpu_read },
};

function fetchOnce(port: number, path: string, tls: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const onRes = (res: IncomingMessage): void => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve(Buffer.concat(parts)));
      res.on('error', reject);
    };
    const opts = { host: '127.0.0.1', port, path, agent: false as const };
    const req = tls
      ? https.get({ ...opts, ca: CERT_PEM, servername: 'localhost', minVersion: 'TLSv1.3' }, onRes)
      : http.get(opts, onRes);
    req.on('error', reject);
  });
}

describe('memory traffic per body byte, per route', () => {
  const base = tempDir('zcsim-memtraffic');
  const body = patternBytes(BODY, 61);
  writeFileSync(join(base, 'm.bin'), body);
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  for (const config of ['http', 'sw', 'ifnet'] as const) {
    for (const route of ['zerocopy', 'copy'] as const) {
      it(`${config}: /${route}`, async () => {
        const tls = config !== 'http';
        const run: Running = await startServer({
          root: base,
          ...(tls ? { tls: { cert: CERT_PEM, key: KEY_PEM, ktlsMode: config } } : {}),
        });
        try {
          const got = await fetchOnce(run.port, `/${route}/m.bin`, tls);
          expect(sha256(got)).toBe(sha256(body));
          const c = run.server.zcsim.routes[route];
          // The client may have the last byte a turn before the server counts the call.
          await waitFor(() => c.inflight === 0, 'the call to be counted');
          expect(c.body_bytes).toBe(BODY);
          const want = WANT[config][route];
          for (const v of [c.cpu_read_bytes / BODY, c.cpu_write_bytes / BODY]) {
            expect(v).toBeGreaterThanOrEqual(want);
            expect(v).toBeLessThan(want + 0.02);
          }
          const k = run.server.kernel.stats().ktls;
          const sw = k.sw_encrypt_bytes ?? 0;
          const nic = k.ifnet_encrypt_bytes ?? 0;
          if (route === 'zerocopy' && config === 'sw') expect(sw).toBeGreaterThanOrEqual(BODY);
          else expect(sw).toBeLessThan(BODY / 50);
          if (route === 'zerocopy' && config === 'ifnet') expect(nic).toBeGreaterThanOrEqual(BODY);
          else expect(nic).toBe(0);
          expect((await atRestSoon(run.server)).leaks).toEqual([]);
        } finally {
          await run.server.close();
        }
      });
    }
  }
});

describe("a route's copies are the kernel's own count", () => {
  const base = tempDir('zcsim-copies');
  writeFileSync(join(base, 'k.bin'), patternBytes(300_000, 17));
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('HTTPS /copy: what the route counts equals the kernel-wide copy-out and copy-in of the request', async () => {
    const run: Running = await startServer({
      root: base,
      tls: { cert: CERT_PEM, key: KEY_PEM, ktlsMode: 'sw' },
    });
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca: CERT_PEM, servername: 'localhost' });
    const get = (path: string) =>
      new Promise<void>((resolve, reject) => {
        https
          .get({ host: '127.0.0.1', port: run.port, path, agent }, (res) => {
            res.resume();
            res.on('end', resolve);
          })
          .on('error', reject);
      });
    try {
      // The handshake and the session tickets go out with the first request; the second is alone.
      await get('/copy/k.bin');
      const copy = () => run.server.kernel.stats().copy;
      const c = run.server.zcsim.routes.copy;
      const kernelBefore = copy().copy_bytes_out + copy().copy_bytes_in;
      const routeBefore = c.copied_bytes;
      await get('/copy/k.bin');
      await waitFor(() => c.inflight === 0, 'the /copy response to end');
      // Over TLS the copy-in is of OpenSSL's records (ciphertext, with their framing).
      expect(c.copied_bytes - routeBefore).toBe(copy().copy_bytes_out + copy().copy_bytes_in - kernelBefore);
    } finally {
      agent.destroy();
      await run.server.close();
    }
  });
});
