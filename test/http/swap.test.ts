// Goal: what is served is the file the server opened and checked, never what a path points to a
// moment later. A symlink to a file outside the root renamed over a served file (and back), a
// directory on the path swapped for a symlink to an outside folder, a listing of a swapped
// directory, a FIFO renamed over a cached file: no body ever holds the outside bytes, and nothing
// hangs. Method: a child process swaps the names in a loop (bounded in count) while the test
// requests the file on all three routes, a bounded number of times; then the kernel is at rest.
// The swapper naps a millisecond every 32 rounds, leaving the other test files some CPU.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  closeSync,
  constants,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { type Fixture, makeFixture } from './fixture.js';
import { atRestSoon, type RawResponse, type Running, rawExchange, rawGet, startServer } from './helpers.js';

const ROUTES = ['zerocopy', 'copy', 'stream'] as const;
const OUTSIDE = 'outside the root';
const INSIDE = 'inside the root\n';
/** Requests per route while a swapper runs. */
const REQUESTS_PER_ROUTE = 150;
/** Swap rounds at most: the child ends on its own even if the test dies. */
const SWAPS_MAX = 2_000_000;

let fx: Fixture;
let outsideDir: string;
let eager: Running;
let cached: Running;
let swappers = 0;

beforeAll(async () => {
  fx = makeFixture();
  outsideDir = join(fx.outside, 'dir');
  mkdirSync(outsideDir);
  writeFileSync(join(outsideDir, 'f.txt'), `${OUTSIDE}\n`);
  writeFileSync(join(fx.root, 'swap.txt'), INSIDE);
  writeFileSync(join(fx.root, '.swap-master'), INSIDE);
  mkdirSync(join(fx.root, 'dswap'));
  writeFileSync(join(fx.root, 'dswap', 'f.txt'), INSIDE);
  mkdirSync(join(fx.root, 'ldir'));
  writeFileSync(join(fx.root, 'ldir', 'inner-name.txt'), INSIDE);
  writeFileSync(join(fx.root, 'fifo.txt'), INSIDE);
  // Every request looks at the path again (the worst case), and the default (cached for 1 s).
  eager = await startServer({ root: fx.root, revalidateMs: 0, list: true });
  cached = await startServer({ root: fx.root, list: true });
});
afterAll(async () => {
  await eager.server.close();
  await cached.server.close();
  expect(eager.server.zcsim.closeReport).toEqual({ atRest: true, leaks: [] });
  expect(cached.server.zcsim.closeReport).toEqual({ atRest: true, leaks: [] });
  fx.cleanup();
});
afterEach(async () => {
  expect((await atRestSoon(eager.server)).leaks).toEqual([]);
  expect((await atRestSoon(cached.server)).leaks).toEqual([]);
});

/** A swapper child and the file whose creation tells it to stop. */
interface Swapper {
  readonly child: ChildProcess;
  readonly stopFile: string;
  /** 0, or how it ended otherwise (the status or signal, and its stderr). */
  readonly exit: Promise<0 | string>;
}

/** Starts `node -e script stopFile max args`; resolves once the child has started its loop. */
async function startSwapper(script: string, args: string[]): Promise<Swapper> {
  const stopFile = join(fx.outside, `.stop-${++swappers}`);
  const child = spawn(process.execPath, ['-e', script, stopFile, String(SWAPS_MAX), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exit = new Promise<0 | string>((r) =>
    child.once('exit', (code, signal) => r(code === 0 ? 0 : `${code ?? signal}: ${stderr}`)),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    void exit.then((how) => reject(new Error(`swapper exited ${how}`)));
  });
  return { child, stopFile, exit };
}

/**
 * Asks the swapper to stop between two rounds, with every name in its place, and waits for it:
 * killed between two renames, it would leave the tree half swapped for the next test. A swapper
 * that died on its own means the requests ran without it: that fails the test.
 */
async function stopSwapper(s: Swapper): Promise<void> {
  const ranThroughout = s.child.exitCode === null && s.child.signalCode === null;
  writeFileSync(s.stopFile, '');
  try {
    await waitFor(() => s.child.exitCode !== null || s.child.signalCode !== null, 'the swapper to stop');
  } finally {
    if (s.child.exitCode === null) s.child.kill('SIGKILL');
    rmSync(s.stopFile, { force: true });
  }
  expect(ranThroughout, 'the swapper ran while the requests did').toBe(true);
  expect(await s.exit, 'the swapper stopped when asked').toBe(0);
}

// Both swappers look for the stop file every 32 rounds (and nap a millisecond there), and stop
// only there: between rounds, when every name is as it was at the start.

// A symlink out renamed over the file, then a hard link of the inside file renamed back:
// rename(2) is atomic, so the name is always one or the other, each for one system call's time.
const SWAP_FILE = `
const fs = require('fs');
const [stop, max, served, target, tmpLink, tmpFile, master] = process.argv.slice(1);
try { fs.unlinkSync(tmpLink); } catch {}
try { fs.unlinkSync(tmpFile); } catch {}
const nap = new Int32Array(new SharedArrayBuffer(4));
process.stdout.write('go\\n');
for (let i = 0; i < Number(max); i++) {
  if (i % 32 === 0) {
    if (fs.existsSync(stop)) break;
    Atomics.wait(nap, 0, 0, 1);
  }
  fs.symlinkSync(target, tmpLink);
  fs.renameSync(tmpLink, served);
  fs.linkSync(master, tmpFile);
  fs.renameSync(tmpFile, served);
}`;

// A directory on the path renamed aside and a symlink to an outside folder renamed in its place.
const SWAP_DIR = `
const fs = require('fs');
const [stop, max, dir, aside, tmpLink, target] = process.argv.slice(1);
try { fs.unlinkSync(tmpLink); } catch {}
fs.symlinkSync(target, tmpLink);
const nap = new Int32Array(new SharedArrayBuffer(4));
process.stdout.write('go\\n');
for (let i = 0; i < Number(max); i++) {
  if (i % 32 === 0) {
    if (fs.existsSync(stop)) break;
    Atomics.wait(nap, 0, 0, 1);
  }
  fs.renameSync(dir, aside);
  fs.renameSync(tmpLink, dir);
  fs.renameSync(dir, tmpLink);
  fs.renameSync(aside, dir);
}
fs.unlinkSync(tmpLink);`;

/** Requests `path` on every route, 4 at a time, REQUESTS_PER_ROUTE times each. */
async function hammer(port: number, path: string): Promise<RawResponse[]> {
  const out: RawResponse[] = [];
  for (const route of ROUTES) {
    for (let i = 0; i < REQUESTS_PER_ROUTE; i += 4) {
      const batch = await Promise.all(
        [0, 1, 2, 3].map(() => rawExchange(port, [{ method: 'GET', path: `/${route}/${path}` }], true)),
      );
      for (const rs of batch) out.push(...rs);
    }
  }
  return out;
}

describe.each([
  ['revalidated per request', () => eager],
  ['cached for a second', () => cached],
])('%s', (_name, server) => {
  it('a symlink out renamed over a served file: never its target, on every route', async () => {
    const child = await startSwapper(SWAP_FILE, [
      join(fx.root, 'swap.txt'),
      join(fx.outside, 'passwd'),
      join(fx.root, '.swap-link'),
      join(fx.root, '.swap-file'),
      join(fx.root, '.swap-master'),
    ]);
    let responses: RawResponse[];
    try {
      responses = await hammer(server().port, 'swap.txt');
    } finally {
      await stopSwapper(child);
    }
    const leaked = responses.filter((r) => r.body.toString().includes(OUTSIDE));
    expect(leaked.length).toBe(0);
    const statuses = new Set(responses.map((r) => r.status));
    for (const s of statuses) expect([200, 403, 404]).toContain(s);
    // Stopped between rounds: the name is the inside file again.
    expect(await servedAgain(server().port, 'swap.txt')).toBe(true);
  });

  it('a directory on the path swapped for a symlink out: never the outside file', async () => {
    const child = await startSwapper(SWAP_DIR, [
      join(fx.root, 'dswap'),
      join(fx.root, '.dswap-aside'),
      join(fx.root, '.dswap-link'),
      outsideDir,
    ]);
    let responses: RawResponse[];
    try {
      responses = await hammer(server().port, 'dswap/f.txt');
    } finally {
      await stopSwapper(child);
    }
    const leaked = responses.filter((r) => r.body.toString().includes(OUTSIDE));
    expect(leaked.length).toBe(0);
    for (const r of responses) expect([200, 403, 404]).toContain(r.status);
    // With the cache, every response may come from one lookup made while the symlink was in
    // place (a refusal): the directory, back in place, is served again once the entry expires.
    expect(await servedAgain(server().port, 'dswap/f.txt')).toBe(true);
  });
});

/** Whether the file is served whole (200, the inside bytes) again, within two cache periods. */
async function servedAgain(port: number, path: string): Promise<boolean> {
  const whole = async (): Promise<boolean> => {
    const [r] = await rawExchange(port, [{ method: 'GET', path: `/zerocopy/${path}` }], true);
    return r?.status === 200 && r.body.toString() === INSIDE;
  };
  await waitFor(whole, `/zerocopy/${path} served whole again`);
  return true;
}

describe('--list', () => {
  it('lists the directory it opened: a directory swapped for a symlink out is not listed', async () => {
    const first = await rawGet(cached.port, '/zerocopy/ldir/');
    expect(first.status).toBe(200);
    expect(first.body.toString()).toContain('inner-name.txt');
    renameSync(join(fx.root, 'ldir'), join(fx.root, '.ldir-aside'));
    symlinkSync(outsideDir, join(fx.root, 'ldir'));
    try {
      for (const route of ROUTES) {
        const r = await rawGet(cached.port, `/${route}/ldir/`);
        expect(r.status, route).toBe(403);
        expect(r.body.toString()).not.toContain('f.txt');
      }
    } finally {
      execFileSync('rm', [join(fx.root, 'ldir')]);
      renameSync(join(fx.root, '.ldir-aside'), join(fx.root, 'ldir'));
    }
  });

  it('does not show or size entries that lead out of the root', async () => {
    const r = await rawGet(cached.port, '/zerocopy/');
    expect(r.status).toBe(200);
    const html = r.body.toString();
    expect(html).toContain('href="link-in.txt"');
    expect(html).not.toContain('link-out');
    expect(html).not.toContain('dir-out');
    // link-in.txt is sized as the file it names, inside the root.
    expect(html).toContain(`<td>${fx.files['hello.txt']!.length}</td>`);
  });
});

describe('a FIFO renamed over a cached file', () => {
  it('answers at once (the old file or 403) on every route, and the server keeps serving', async () => {
    const path = join(fx.root, 'fifo.txt');
    const fifo = join(fx.root, '.fifo');
    for (const route of ROUTES) expect((await rawGet(cached.port, `/${route}/fifo.txt`)).status).toBe(200);
    execFileSync('mkfifo', [fifo]);
    renameSync(fifo, path);
    try {
      const answers = await Promise.race([
        Promise.all(
          [...ROUTES, ...ROUTES, 'stream', 'stream'].map((route) =>
            rawGet(cached.port, `/${route}/fifo.txt`).then((r) => r.status),
          ),
        ),
        new Promise<'hung'>((r) => setTimeout(() => r('hung'), 30_000)),
      ]);
      expect(answers).not.toBe('hung');
      for (const s of answers as number[]) expect([200, 403]).toContain(s);
      const other = await rawGet(cached.port, '/stream/hello.txt');
      expect(other.status).toBe(200);
      // Looked at again (every request on this server): a FIFO is refused with 403.
      for (const route of ROUTES) expect((await rawGet(eager.port, `/${route}/fifo.txt`)).status).toBe(403);
    } finally {
      // Opening the FIFO read-write never blocks, and ends any read(2) or open(2) waiting on it.
      const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
      closeSync(fd);
      writeFileSync(join(fx.root, '.fifo-file'), INSIDE);
      renameSync(join(fx.root, '.fifo-file'), path);
    }
  });
});
