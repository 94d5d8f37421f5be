// Goal: `zcsim serve` as a person runs it: it writes the sample files once (saying so even when
// its output is not a terminal), prints its settings, every endpoint and the URL of every route,
// serves identical bytes on the three routes, answers `zcsim stat` (once, and a line per
// interval), and exits cleanly on SIGINT and SIGTERM with the kernel at rest; with --tls it makes
// its self-signed certificate once and serves HTTPS, which `zcsim stat -k` and `zcsim trace -k` read.
// Method: the built command (dist/src/cli/main.js) as a child process on port 0 with the small
// sample set in a temporary cache folder (ZCSIM_SAMPLES_DIR).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../http/fixture.js';
import { tempDir } from '../support/tmp.js';

const MAIN = resolve(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');
const HOLD_AFTER_BANNER = resolve(import.meta.dirname, 'fixtures', 'hold-after-banner.mjs');
let samples: string;
let tlsDir: string;

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: npm run build (npm test does it)`);
  samples = tempDir('zcsim-samples');
  tlsDir = tempDir('zcsim-tls');
});
afterAll(() => {
  rmSync(samples, { recursive: true, force: true });
  rmSync(tlsDir, { recursive: true, force: true });
});

interface Served {
  child: ChildProcess;
  origin: string;
  stdout: () => string;
  stderr: () => string;
  /** The exit status, or the name of the signal that ended the process. */
  exit: Promise<number | NodeJS.Signals | null>;
}

/** Starts `zcsim serve`; resolves once its banner, up to `lastUrl`, is on stdout. */
function startServe(args: string[], lastUrl = /\/stream\/1m\.bin/, nodeArgs: string[] = []): Promise<Served> {
  const child = spawn(
    process.execPath,
    [...nodeArgs, MAIN, 'serve', '--port', '0', '--samples', 'small', ...args],
    {
      env: { ...process.env, ZCSIM_SAMPLES_DIR: samples, ZCSIM_TLS_DIR: tlsDir, ZCSIM_INVARIANTS: '0' },
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exit = new Promise<number | NodeJS.Signals | null>((r) =>
    child.on('exit', (code, signal) => r(code ?? signal)),
  );
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}\n${err}`)), 50_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /zcsim listening on (https?:\/\/\S+)/.exec(out);
      if (m && lastUrl.test(out)) {
        clearTimeout(timer);
        resolvePromise({ child, origin: m[1]!, stdout: () => out, stderr: () => err, exit });
      }
    });
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited ${code}:\n${out}\n${err}`));
    });
  });
}

async function body(url: string): Promise<Buffer> {
  const r = await request(url);
  expect(r.statusCode, url).toBe(200);
  return Buffer.from(await r.body.arrayBuffer());
}

describe('zcsim serve', () => {
  it('prints its URLs, serves the samples on every route, exits at rest on SIGINT', async () => {
    const s = await startServe([]);
    const out = s.stdout();
    // Not a terminal: a line per sample file instead of a progress bar.
    expect(s.stderr()).toContain('writing 3 sample files (1.1 MiB)');
    expect(s.stderr()).toMatch(/^ {2}1m\.bin \(1 MiB\)$/m);
    // The settings the kernel runs with, and every endpoint.
    expect(out).toMatch(/^ {2}mapping {7}dmap /m);
    expect(out).toMatch(/^ {2}physmem {7}64 MiB \(16384 pages of 4 KiB\)$/m);
    expect(out).toMatch(/^ {2}sf_bufs {7}no pool/m);
    // Its share of every pool: a 32nd of the 4096 clusters of 64 MiB, in pages.
    expect(out).toMatch(/^ {2}send buffer {3}256 KiB per socket/m);
    expect(out).toContain(`  root          ${samples} (3 files)`);
    for (const path of ['/', '/stats', '/metrics', '/events', '/files', '/compare', '/trace'])
      expect(out).toMatch(new RegExp(`^ {2}${s.origin}${path} +\\S`, 'm'));
    for (const name of ['4k.bin', '64k.bin', '1m.bin']) {
      for (const route of ['zerocopy', 'copy', 'stream'])
        expect(out).toContain(`${s.origin}/${route}/${name}`);
    }
    expect(out).not.toContain('16m.bin');
    const sizes: Record<string, number> = { '4k.bin': 4096, '64k.bin': 65536, '1m.bin': 1048576 };
    for (const [name, size] of Object.entries(sizes)) {
      const bodies = await Promise.all(
        ['zerocopy', 'copy', 'stream'].map((r) => body(`${s.origin}/${r}/${name}`)),
      );
      expect(bodies[0]!.length).toBe(size);
      expect(new Set(bodies.map(sha256)).size, name).toBe(1);
    }
    expect((await body(`${s.origin}/`)).toString()).toContain('zcsim');

    // zcsim stat prints the netstat -m layout and the routes.
    const { stdout } = await promisify(execFile)(process.execPath, [MAIN, 'stat', s.origin]);
    expect(stdout).toMatch(/mbufs in use \(current\/cache\/total\)/);
    expect(stdout).toMatch(/sendfile syscalls/);
    expect(stdout).toMatch(/^\/zerocopy +3 requests/m);
    const watch = await promisify(execFile)(process.execPath, [
      MAIN,
      'stat',
      s.origin,
      '--watch',
      '--interval',
      '100',
      '--count',
      '3',
    ]);
    // A header, then one line per interval (the time first), never the netstat -m text again.
    const rows = watch.stdout.trimEnd().split('\n');
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatch(/^time +req\/s +zc MB\/s/);
    for (const row of rows.slice(1)) expect(row).toMatch(/^\d\d:\d\d:\d\d +\d+ +\d+\.\d/);
    expect(watch.stdout).not.toContain('mbufs in use');
    // --count alone means --watch.
    const counted = await promisify(execFile)(process.execPath, [MAIN, 'stat', s.origin, '--count', '1']);
    expect(counted.stdout.trimEnd().split('\n')).toHaveLength(2);

    s.child.kill('SIGINT');
    expect(await s.exit).toBe(0);
    expect(s.stdout()).toContain('SIGINT: closing');
    expect(s.stdout()).toContain('kernel at rest');
  });

  it('keeps the sample files it wrote; exits at rest on SIGTERM, also in kva mode', async () => {
    const before = statSync(join(samples, '1m.bin')).mtimeMs;
    const s = await startServe(['--mapping', 'kva', '--nsfbufs', '32', '--physmem', '16M']);
    expect(statSync(join(samples, '1m.bin')).mtimeMs).toBe(before);
    expect(s.stderr()).not.toContain('writing');
    expect(s.stdout()).toMatch(/^ {2}sf_bufs {7}32 in the pool \(kern\.ipc\.nsfbufs\), 2 CPUs$/m);
    await body(`${s.origin}/zerocopy/1m.bin`);
    // In kva mode a watch line shows the pool: in use/size.
    const watch = await promisify(execFile)(process.execPath, [MAIN, 'stat', s.origin, '-w', '--count', '1']);
    expect(watch.stdout.split('\n')[0]).toMatch(/ sfbufs +sfwait /);
    expect(watch.stdout.split('\n')[1]).toMatch(/ \d+\/32 /);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
    expect(s.stdout()).toContain('SIGTERM: closing');
    expect(s.stdout()).toContain('kernel at rest');
  });

  it('--nsfbufs without a pool says it has no effect; a long list is cut; names are escaped', async () => {
    const root = tempDir('zcsim-root');
    try {
      for (let i = 0; i < 14; i++) writeFileSync(join(root, `f${String(i).padStart(2, '0')}.txt`), 'x');
      writeFileSync(join(root, 'a\x1b[2Jb\nc.txt'), '');
      const s = await startServe([root, '--nsfbufs', '16'], /more \(/);
      expect(s.stderr()).toContain('--nsfbufs has no effect with --mapping dmap');
      const out = s.stdout();
      expect(out).toContain('  a\\x1b[2Jb\\nc.txt (0 B)');
      expect(out).not.toContain('\x1b');
      expect(out).toContain(`  … 3 more (${s.origin}/files lists them all)`);
      expect(out.match(/^ {4}\/zerocopy\//gm)).toHaveLength(12);
      s.child.kill('SIGTERM');
      expect(await s.exit).toBe(0);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('a signal sent the moment the banner is out closes the server cleanly', async () => {
    // The process stops right after printing until the signal is on its way (see the fixture):
    // the banner is the promise that a signal from then on closes the server.
    const s = await startServe([], /\/stream\/1m\.bin/, ['--import', HOLD_AFTER_BANNER]);
    s.child.kill('SIGTERM');
    s.child.stdin!.end('x');
    expect(await s.exit).toBe(0);
    expect(s.stdout()).toContain('SIGTERM: closing');
    expect(s.stdout()).toContain('kernel at rest');
  });

  it('--tls: a self-signed certificate made once, HTTPS on every route, stat -k and trace -k', async () => {
    const run = promisify(execFile);
    const s = await startServe(['--tls', '--ktls', 'ifnet']);
    expect(s.origin).toMatch(/^https:\/\//);
    expect(s.stderr()).toContain(`made a self-signed certificate in ${join(tlsDir, 'cert.pem')}`);
    expect(s.stdout()).toContain('kernel TLS on the NIC');
    const hashes = new Set<string>();
    const insecure = new Agent({ connect: { rejectUnauthorized: false } });
    for (const route of ['zerocopy', 'copy', 'stream']) {
      const r = await request(`${s.origin}/${route}/64k.bin`, { dispatcher: insecure });
      expect(r.statusCode).toBe(200);
      hashes.add(sha256(Buffer.from(await r.body.arrayBuffer())));
    }
    await insecure.close();
    expect(hashes.size).toBe(1);
    const refused = await run(process.execPath, [MAIN, 'stat', s.origin]).catch((e: { stderr: string }) => e);
    expect((refused as { stderr: string }).stderr).toContain('self-signed certificate; use -k');
    const stat = await run(process.execPath, [MAIN, 'stat', '-k', s.origin]);
    expect(stat.stdout).toMatch(/^\/zerocopy +1 requests, 64 KiB body/m);
    const trace = await run(process.execPath, [MAIN, 'trace', '-k', `${s.origin}/zerocopy/4k.bin`]);
    expect(trace.stdout).toMatch(/^GET \/zerocopy\/4k\.bin: 200, 4096 body bytes/m);
    // The trace's own request went over TLS: kernel TLS took its socket's send side over (the NIC encrypts).
    expect(trace.stdout).toMatch(/setsockopt\(TCP_TXTLS_ENABLE\) so \d+: session \d+, TCP_TLS_MODE_IFNET/);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
    expect(s.stdout()).toContain('kernel at rest');
    // The second start reuses the certificate.
    const again = await startServe(['--tls']);
    expect(again.stderr()).not.toContain('made a self-signed certificate');
    again.child.kill('SIGTERM');
    expect(await again.exit).toBe(0);
  });
});
