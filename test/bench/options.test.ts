// Goal: each scenario gets the options it uses and its own defaults, and nothing else: compare's
// sizes, connections and reps, the held scenarios' clients and one system, soak's seed, fault rate
// and smaller memory, profile's files; a stray argument outside profile is refused.
// Method: parseBenchOptions on command lines, as `zcsim bench` passes them.
import { describe, expect, it } from 'vitest';
import { parseBenchOptions } from '../../bench/lib/options.js';

const MiB = 1024 * 1024;

describe('parseBenchOptions', () => {
  it('compare: sizes, connections, reps and sections, quick or not', () => {
    const o = parseBenchOptions([]);
    expect(o).toMatchObject({
      scenario: 'compare',
      sizesBytes: [4096, 65536, MiB, 64 * MiB],
      connections: [1, 32],
      reps: 3,
      durationSeconds: 5,
      sections: ['tcp', 'http'],
      physmemBytes: 256 * MiB,
      sndbufBytes: null,
    });
    expect(parseBenchOptions(['--quick', '--conns', '8'])).toMatchObject({
      sizesBytes: [4096, MiB],
      connections: [8],
      reps: 1,
      quick: true,
    });
  });

  it('many-clients and slow-clients: their clients and the one system held against', () => {
    expect(parseBenchOptions(['--scenario', 'many-clients'])).toEqual(
      expect.objectContaining({ scenario: 'many-clients', clients: 1000, system: 'zerocopy-dmap' }),
    );
    const slow = parseBenchOptions(['--scenario', 'slow-clients', '--systems', 'copy,zerocopy-kva']);
    expect(slow).toMatchObject({ clients: 100, system: 'copy' });
    expect(slow).not.toHaveProperty('sizesBytes');
  });

  it('soak: a seed, a fault rate, 32 MiB and a long run', () => {
    const o = parseBenchOptions(['--scenario', 'soak', '--seed', '7', '--eio-pct', '2']);
    expect(o).toMatchObject({ scenario: 'soak', seed: 7, eioPct: 2, clients: 200, physmemBytes: 32 * MiB });
    expect(o).toMatchObject({ durationSeconds: 180 });
    expect(parseBenchOptions(['--scenario', 'soak', '--quick'])).toMatchObject({ durationSeconds: 20 });
  });

  it('profile takes files; any other scenario refuses a stray argument', () => {
    expect(parseBenchOptions(['--scenario', 'profile', 'a.cpuprofile'])).toEqual(
      expect.objectContaining({ scenario: 'profile', files: ['a.cpuprofile'], callers: null }),
    );
    expect(parseBenchOptions(['--scenario', 'micro'])).toEqual(
      expect.objectContaining({ scenario: 'micro' }),
    );
    expect(() => parseBenchOptions(['stray'])).toThrow(/unexpected argument 'stray'/);
  });
});
