// Goal: the compare report says what was measured and judges its targets from the cells: the
// zero-copy path against the upper bound and the copy path at 64 MiB, and not at all in quick mode.
// Method: tcpMarkdown and optionsLine on made-up results with known ratios.
import { describe, expect, it } from 'vitest';
import { parseBenchOptions } from '../../bench/lib/options.js';
import { optionsLine, tcpMarkdown } from '../../bench/lib/report.js';
import type { TcpCell, TcpResult } from '../../bench/scenarios/compare-tcp.js';

const MiB = 1024 * 1024;

function cell(system: TcpCell['system'], megabytesPerSecond: number, vsUpperBound: number): TcpCell {
  return {
    system,
    sizeBytes: 64 * MiB,
    megabytesPerSecond,
    runs: [megabytesPerSecond],
    vsUpperBound,
    vsCopy: megabytesPerSecond / 1000,
    senderCpuSecondsPerGB: 0.5,
    copiesPerByte: system === 'copy' ? 2 : 0,
  };
}

function result(dmapMBps: number): TcpResult {
  const cells = [
    cell('node-write', 3000, 1),
    cell('copy', 1000, 0.33),
    cell('sendfile-dmap', dmapMBps, dmapMBps / 3000),
  ];
  return { systems: cells.map((c) => c.system), skipped: {}, cells, runs: [] };
}

const targetRows = (md: string) => md.split('\n').filter((l) => l.startsWith('| sendfile-dmap ≥'));

describe('tcpMarkdown', () => {
  it('passes the targets a fast zero-copy path meets and misses the ones a slow one does not', () => {
    expect(targetRows(tcpMarkdown(result(2800), 3, 5, false))).toEqual([
      '| sendfile-dmap ≥ 0.85× upper bound (64 MiB) | 0.93 | pass |',
      '| sendfile-dmap ≥ 1.3× copy path (64 MiB) | 2.80 | pass |',
    ]);
    const slow = targetRows(tcpMarkdown(result(1100), 3, 5, false));
    expect(slow.every((l) => l.endsWith('| **MISS** |'))).toBe(true);
  });

  it('judges nothing from a quick run', () => {
    const rows = targetRows(tcpMarkdown(result(1100), 1, 1, true));
    expect(rows).toHaveLength(2);
    expect(rows.every((l) => l.endsWith('| not judged (quick) |'))).toBe(true);
  });
});

describe('optionsLine', () => {
  it('names the sizes, connections, timing, reps and the kernel', () => {
    const o = parseBenchOptions(['--sizes', '4K,1M', '--conns', '8', '--sndbuf', '256K']);
    if (o.scenario !== 'compare') throw new Error('compare expected');
    const line = optionsLine(o);
    expect(line).toContain('sizes 4 KiB, 1 MiB; connections 8;');
    expect(line).toContain('5 s measured + 1 s warm-up per run; 3 interleaved reps (median)');
    expect(line).toContain('simulated physmem 256 MiB, send buffer 256 KiB');
  });
});
