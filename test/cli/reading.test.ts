// Goal: the tools that read a server say which one they read and why they could not: `zcsim
// stat` follows PORT and HOST as `serve` does and names the URL; something that is not a zcsim
// server is called so; a self-signed certificate is reported as curl reports it; an idle server
// reads "at rest" over HTTP and HTTPS alike, though the asking connection itself holds bytes;
// plain HTTP on the TLS port gets nginx's 400; a traced missing file says "not found" without
// the server's paths. Method: servers in this process on port 0 (one plain, one HTTPS with the
// test certificate, one plain node:http server that is not zcsim), the built command as a child.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Running, rawGet, startServer } from '../http/helpers.js';
import { CERT_PEM, KEY_PEM } from '../ktls/helpers.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
let base: string;
let plain: Running;
let secure: Running;
let other: Server;
let otherPort: number;

interface Outcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** The built command with `env` added; its exit code and both streams. */
async function zcsim(env: Record<string, string>, ...args: string[]): Promise<Outcome> {
  try {
    const r = await promisify(execFile)(process.execPath, [MAIN, ...args], {
      env: { ...process.env, ...env },
    });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

beforeAll(async () => {
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  base = mkdtempSync(join(ROOT, '.cache', 'test-reading-'));
  writeFileSync(join(base, 'a.bin'), Buffer.alloc(8192, 3));
  plain = await startServer({ root: base });
  secure = await startServer({ root: base, tls: { cert: CERT_PEM, key: KEY_PEM, ktlsMode: 'sw' } });
  other = createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"hello":"world"}');
  });
  otherPort = await new Promise<number>((done) =>
    other.listen(0, '127.0.0.1', () => done((other.address() as { port: number }).port)),
  );
});

afterAll(async () => {
  await plain?.server.close();
  await secure?.server.close();
  await new Promise((done) => other?.close(done));
  rmSync(base, { recursive: true, force: true });
});

describe('zcsim stat and trace say which server they read', () => {
  it('stat reads the server PORT and HOST name, and says so on its first line', async () => {
    const r = await zcsim({ PORT: String(plain.port), HOST: '127.0.0.1' }, 'stat');
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe(`zcsim server at http://127.0.0.1:${plain.port}/stats`);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('at rest');
  });

  it('something that is not a zcsim server is called so, with the URL', async () => {
    const r = await zcsim({}, 'stat', `http://127.0.0.1:${otherPort}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `zcsim: http://127.0.0.1:${otherPort}/stats did not answer zcsim's /stats: not a zcsim server\n`,
    );
    const t = await zcsim({}, 'trace', `http://127.0.0.1:${otherPort}/zerocopy/a.bin`);
    expect(t.code).toBe(1);
    expect(t.stderr).toMatch(/not a zcsim server/);
  });

  it('a self-signed certificate is named, with -k as the way through (stat and trace)', async () => {
    const https = secure.origin.replace('http:', 'https:');
    for (const args of [
      ['stat', https],
      ['trace', `${https}/zerocopy/a.bin`],
    ]) {
      const r = await zcsim({}, ...args);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(
        `zcsim: cannot read ${https}: self-signed certificate; use -k (--insecure) to read it anyway\n`,
      );
    }
  });

  it('an idle HTTPS server reads at rest through stat -k and /stats, as an idle HTTP one', async () => {
    const https = secure.origin.replace('http:', 'https:');
    for (let i = 0; i < 3; i++) {
      const r = await zcsim({}, 'stat', '-k', https);
      expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('at rest');
    }
    const json = await zcsim({}, 'stat', plain.origin);
    expect(json.stdout.trimEnd().split('\n').at(-1)).toBe('at rest');
  });

  it('plain HTTP on the TLS port gets a 400 in plain text, as nginx answers', async () => {
    const r = await rawGet(secure.port, '/zerocopy/a.bin');
    expect(r.status).toBe(400);
    expect(r.body.toString('latin1')).toMatch(/plain HTTP request was sent to HTTPS port/);
    const s = await zcsim({}, 'stat', secure.origin);
    expect(s.stderr).toMatch(/is an HTTPS server: use https:\/\//);
  });

  it('tracing a missing file says not found, and no path of the server', async () => {
    const r = await zcsim({}, 'trace', `${plain.origin}/zerocopy/missing.bin`);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`zcsim: ${plain.origin}: missing.bin: not found\n`);
    expect(r.stderr).not.toContain(base);
  });
});
