// Goal: the self-signed certificate for `serve --tls` is made once into its cache folder, reused
// while valid, remade when near its end or damaged, and a Node TLS 1.3 client that trusts it
// completes a handshake with a KTLS takeover. Method: a temporary cache folder.
import { X509Certificate } from 'node:crypto';
import { rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { selfSignedCert, tlsCertDir } from '../../src/tls/index.js';
import { tempDir } from '../support/tmp.js';

describe('self-signed certificate cache', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('is made once, reused, and remade when near its end or damaged', async () => {
    const dir = tempDir('zcsim-tls');
    dirs.push(dir);
    const first = await selfSignedCert(dir);
    expect(first.created).toBe(true);
    expect((await stat(first.keyPath)).mode & 0o777).toBe(0o600);
    const again = await selfSignedCert(dir);
    expect(again).toMatchObject({ created: false, cert: first.cert });
    const x509 = new X509Certificate(first.cert);
    expect(x509.checkHost('localhost')).toBe('localhost');
    expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1');
    // Six days before its end it is replaced.
    const late = await selfSignedCert(dir, Date.parse(x509.validTo) - 6 * 24 * 3600 * 1000);
    expect(late.created).toBe(true);
    await writeFile(late.certPath, 'not a certificate');
    expect((await selfSignedCert(dir)).created).toBe(true);
  });

  it('serves a TLS 1.3 handshake to a client that trusts it', async () => {
    const dir = tempDir('zcsim-tls');
    dirs.push(dir);
    const { cert, key } = await selfSignedCert(dir);
    const server = tls.createServer({ cert, key, minVersion: 'TLSv1.3' }, (s) => s.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const got = await new Promise<string>((resolve, reject) => {
      const c = tls.connect({ port, host: '127.0.0.1', servername: 'localhost', ca: cert }, () => c.resume());
      let text = '';
      c.on('data', (d: Buffer) => {
        text += d.toString();
      });
      c.on('end', () => resolve(text));
      c.on('error', reject);
    });
    expect(got).toBe('ok');
    await new Promise((r) => server.close(r));
  });

  it('lives in $ZCSIM_TLS_DIR, else the XDG cache', () => {
    expect(tlsCertDir({ ZCSIM_TLS_DIR: '/x' })).toBe('/x');
    expect(tlsCertDir({ XDG_CACHE_HOME: '/c' })).toBe(join('/c', 'zcsim', 'tls'));
  });
});
