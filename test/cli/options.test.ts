// Goal: the zcsim command line is strict and self-describing: every option of each subcommand
// appears in its --help with its default, environment PORT/HOST work, and mistakes exit 2 with
// a clear message. Method: parseServeArgs directly, and the built command as a child process.
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/cli/options.js';
import { parseServeArgs, SERVE_OPTIONS } from '../../src/cli/serve.js';
import { STAT_OPTIONS } from '../../src/cli/stat.js';

const MAIN = resolve(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');
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
      [['/definitely/not/here'], /not a directory/],
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
