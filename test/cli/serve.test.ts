// Goal: `zcsim serve` as a person runs it: it writes the sample files once, prints the URL of
// every route and of the dashboard, serves identical bytes on the three routes, answers
// `zcsim stat`, and exits cleanly on SIGINT and SIGTERM with the kernel at rest.
// Method: the built command (dist/src/cli/main.js) as a child process on port 0 with the small
// sample set in a temporary cache folder (ZCSIM_SAMPLES_DIR).
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../http/fixture.js';

const MAIN = resolve(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');
let samples: string;

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: npm run build (npm test does it)`);
  samples = mkdtempSync(join(tmpdir(), 'zcsim-samples-'));
});
afterAll(() => rmSync(samples, { recursive: true, force: true }));

interface Served {
  child: ChildProcess;
  origin: string;
  stdout: () => string;
  exit: Promise<number | null>;
}

function startServe(args: string[]): Promise<Served> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', '--samples', 'small', ...args], {
    env: { ...process.env, ZCSIM_SAMPLES_DIR: samples, ZCSIM_INVARIANTS: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${out}\n${err}`)), 30_000);
    const poll = setInterval(() => {
      const m = /zcsim listening on (http:\/\/\S+)/.exec(out);
      if (m && /\/stream\/1m\.bin/.test(out)) {
        clearInterval(poll);
        clearTimeout(timer);
        resolvePromise({ child, origin: m[1]!, stdout: () => out, exit });
      }
    }, 20);
    void exit.then((code) => {
      clearInterval(poll);
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
    expect(out).toContain(`dashboard   ${s.origin}/`);
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
    expect(watch.stdout.match(/mbufs in use/g)).toHaveLength(3);

    s.child.kill('SIGINT');
    expect(await s.exit).toBe(0);
    expect(s.stdout()).toContain('SIGINT: closing');
    expect(s.stdout()).toContain('kernel at rest');
  });

  it('keeps the sample files it wrote; exits at rest on SIGTERM, also in kva mode', async () => {
    const before = statSync(join(samples, '1m.bin')).mtimeMs;
    const s = await startServe(['--mapping', 'kva', '--nsfbufs', '32', '--physmem', '16M']);
    expect(statSync(join(samples, '1m.bin')).mtimeMs).toBe(before);
    await body(`${s.origin}/zerocopy/1m.bin`);
    s.child.kill('SIGTERM');
    expect(await s.exit).toBe(0);
    expect(s.stdout()).toContain('SIGTERM: closing');
    expect(s.stdout()).toContain('kernel at rest');
  });
});
