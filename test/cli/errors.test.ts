// Goal: the zcsim command fails as Unix tools do: one line naming the cause and what to try, no
// stack unless --debug, exit 2 for a setting to change and 1 for a failure at run time.
// Method: describeError on the errors each case raises, then the built command as a child process
// against a port that is taken and a server that is not there.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeError } from '../../src/cli/errors.js';
import { UsageError } from '../../src/cli/options.js';
import { SysError } from '../../src/kern/index.js';
import { tempDir } from '../support/tmp.js';

const MAIN = resolve(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');
const samples = tempDir('zcsim-samples');
const run = (...args: string[]) =>
  spawnSync(process.execPath, [MAIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ZCSIM_INVARIANTS: '0', ZCSIM_SAMPLES_DIR: samples },
    timeout: 120_000,
  });
const lines = (text: string) => text.split('\n').filter((l) => l !== '');

let taken: Server;
let takenPort: number;
beforeAll(async () => {
  taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  takenPort = (taken.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((r) => taken.close(() => r()));
  rmSync(samples, { recursive: true, force: true });
});

describe('what a failure says', () => {
  it('maps each cause to one line and its exit status', () => {
    const inUse = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8080'), {
      code: 'EADDRINUSE',
      syscall: 'listen',
      address: '127.0.0.1',
      port: 8080,
    });
    expect(describeError(inUse)).toEqual({
      message: 'port 8080 is in use (try --port or PORT)',
      exitCode: 1,
    });
    const refused = new SysError('EINVAL', 'createKernel: physmemBytes 1024 is not a multiple of PAGE_SIZE');
    expect(describeError(refused)).toEqual({
      message: 'EINVAL: createKernel: physmemBytes 1024 is not a multiple of PAGE_SIZE',
      exitCode: 2,
    });
    expect(describeError(new UsageError('--port must be a whole number')).exitCode).toBe(2);
    const notHere = Object.assign(new Error('getaddrinfo ENOTFOUND nohost'), {
      code: 'ENOTFOUND',
      hostname: 'nohost',
    });
    expect(describeError(notHere)).toEqual({
      message: "host 'nohost' cannot be resolved (--host)",
      exitCode: 2,
    });
    expect(describeError(new Error('first line\nsecond line'))).toEqual({
      message: 'first line',
      exitCode: 1,
      known: false,
    });
  });

  it('a port in use: one line and exit 1; --debug adds the stack', () => {
    const r = run('serve', samples, '--port', String(takenPort));
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`zcsim: port ${takenPort} is in use (try --port or PORT)\n`);
    const d = run('serve', samples, '--port', String(takenPort), '--debug');
    expect(d.status).toBe(1);
    expect(lines(d.stderr)[0]).toBe(`zcsim: port ${takenPort} is in use (try --port or PORT)`);
    expect(d.stderr).toMatch(/^ {4}at /m);
  });

  it('zcsim stat with nothing listening: cannot connect, exit 1, no stack', () => {
    for (const extra of [[], ['--watch', '--count', '2']]) {
      const r = run('stat', 'http://127.0.0.1:9', ...extra);
      expect(r.status).toBe(1);
      expect(lines(r.stderr)).toEqual([
        'zcsim: cannot connect to http://127.0.0.1:9: is the server running?',
      ]);
    }
  });

  it('bad --physmem, --host and --nsfbufs: a message naming the option, exit 2', () => {
    for (const [args, says] of [
      [['--physmem', '1000'], /--physmem must be a whole number of 4096-byte pages/],
      [['--physmem', '64K'], /--physmem must be at least 1M/],
      [['--physmem', '100000G'], /--physmem 100000G is more than this machine's memory/],
      [['--host', 'not a host'], /--host must be an IP address or a host name/],
      [['--host', 'no-such-host.invalid', '--port', '0'], /host 'no-such-host.invalid' cannot be resolved/],
      [['--nsfbufs', 'many', '--mapping', 'kva'], /--nsfbufs must be a whole number/],
      [['--nsfbufs', '0', '--mapping', 'kva'], /--nsfbufs must be a whole number from 1/],
      [['--cpus', '33'], /--cpus must be a whole number from 1 to 32/],
    ] as const) {
      const r = run('serve', samples, ...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(lines(r.stderr)[0]).toMatch(says);
      expect(r.stderr).not.toMatch(/^ {4}at /m);
    }
  });
});
