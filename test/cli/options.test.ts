// Goal: the zcsim command line is strict and self-describing: every option of each subcommand
// appears in its --help with its default, environment PORT/HOST work, and mistakes exit 2 with
// a clear message. Method: parseServeArgs directly, and the built command as a child process.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/options.js';
import { parseServeArgs, SERVE_OPTIONS } from '../../src/cli/serve.js';
import { STAT_OPTIONS } from '../../src/cli/stat.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'src', 'cli', 'main.js');
const run = (...args: string[]) => spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8' });

describe('zcsim serve options', () => {
  it('defaults, then PORT and HOST from the environment, then flags', () => {
    const d = parseServeArgs([], {});
    expect(d).toMatchObject({ root: null, port: 8080, host: '127.0.0.1', list: false, samples: 'all' });
    expect(d !== 'help' && d.kernel).toEqual({
      physmemBytes: 64 * 1024 * 1024,
      mapping: 'dmap',
      cpuCount: 2,
      diskLatencyMs: 0,
    });
    expect(parseServeArgs([], { PORT: '9000', HOST: '0.0.0.0' })).toMatchObject({
      port: 9000,
      host: '0.0.0.0',
    });
    expect(parseServeArgs(['--port', '7000'], { PORT: '9000' })).toMatchObject({ port: 7000 });
    const k = parseServeArgs(
      [
        '.',
        '--physmem',
        '128M',
        '--mapping',
        'kva',
        '--nsfbufs',
        '100',
        '--cpus',
        '4',
        '--sndbuf',
        '64k',
        '--disk-latency',
        '3',
        '--list',
      ],
      {},
    );
    expect(k).toMatchObject({
      root: '.',
      list: true,
      kernel: {
        physmemBytes: 128 * 1024 * 1024,
        mapping: 'kva',
        nsfbufs: 100,
        cpuCount: 4,
        sndbufBytes: 65536,
        diskLatencyMs: 3,
      },
    });
  });

  it('mistakes are UsageErrors naming the option', () => {
    const cases: [string[], RegExp][] = [
      [['--port', 'x'], /--port/],
      [['--port', '70000'], /--port/],
      [['--mapping', 'tlb'], /--mapping/],
      [['--physmem', 'lots'], /--physmem/],
      [['--cpus', '0'], /--cpus/],
      [['--samples', 'some'], /--samples/],
      [['--nope'], /nope/],
      [['a', 'b'], /unexpected argument 'b'/],
      [['/definitely/not/here'], /^root '\/definitely\/not\/here' does not exist$/],
      [['package.json'], /^root 'package.json' is not a directory$/],
      [['--physmem', '16G'], /^--physmem must be at most 4 GiB \(what one ArrayBuffer holds\), not '16G'$/],
      [['--prot', '1'], /^unknown option --prot \(did you mean --port\?\)$/],
      [['--port', '-1'], /^--port must be a whole number from 0 to 65535, not '-1'$/],
      [['--port'], /^--port needs a value \(PORT\)$/],
      [['--list=yes'], /^--list takes no value$/],
    ];
    for (const [args, message] of cases)
      expect(() => parseServeArgs(args, {}), args.join(' ')).toThrow(message);
    expect(() => parseServeArgs(['--bogus'], {})).toThrow(UsageError);
  });
});

describe('the zcsim command', () => {
  it('--help of each subcommand lists every option with its default', () => {
    const serve = run('serve', '--help');
    expect(serve.status).toBe(0);
    for (const [name, spec] of Object.entries(SERVE_OPTIONS)) {
      expect(serve.stdout).toContain(`--${name}`);
      if (spec.default !== undefined) expect(serve.stdout).toContain(`(default: ${spec.default})`);
    }
    // docs/knobs.md, where the README sends a reader for every option, names them all too.
    const knobs = readFileSync(join(ROOT, 'docs', 'knobs.md'), 'utf8');
    for (const name of Object.keys(SERVE_OPTIONS)) expect(knobs, name).toContain(`--${name}`);
    const stat = run('stat', '--help');
    expect(stat.status).toBe(0);
    for (const name of Object.keys(STAT_OPTIONS)) expect(stat.stdout).toContain(`--${name}`);
    const main = run('--help');
    expect(main.status).toBe(0);
    for (const c of ['serve', 'stat', 'bench']) expect(main.stdout).toContain(`zcsim ${c}`);
  });

  it('bad options and commands exit 2 with a message', () => {
    for (const args of [
      ['serve', '--bogus'],
      ['serve', '--mapping', 'x'],
      ['stat', 'ftp://x'],
      ['frobnicate'],
      [],
    ]) {
      const r = run(...args);
      expect(r.status, args.join(' ')).toBe(2);
    }
    expect(run('serve', '--port', 'x').stderr).toMatch(/^zcsim: --port must be a whole number/);
  });

  it('--version prints the package version', () => {
    const r = run('--version');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^zcsim \d+\.\d+\.\d+ \(Node\.js \d+/);
  });

  it('a taken port is said before any sample file is written (as nginx binds first)', async () => {
    const taken = createServer();
    const port = await new Promise<number>((done) =>
      taken.listen(0, '127.0.0.1', () => done((taken.address() as { port: number }).port)),
    );
    mkdirSync(join(ROOT, '.cache'), { recursive: true });
    const dir = mkdtempSync(join(ROOT, '.cache', 'test-samples-'));
    try {
      const r = spawnSync(process.execPath, [MAIN, 'serve', '--port', String(port)], {
        encoding: 'utf8',
        env: { ...process.env, ZCSIM_SAMPLES_DIR: dir },
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`zcsim: port ${port} is in use (try --port or PORT)\n`);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      taken.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('zcsim bench hands its arguments to the benchmark (dist/bench/run.js)', () => {
    const r = run('bench', '--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/zcsim bench/);
  });

  it('zcsim stat on a server that is not there: exit 1 with the reason', () => {
    const r = run('stat', 'http://127.0.0.1:9');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('zcsim: cannot connect to http://127.0.0.1:9: is the server running?\n');
  });
});
