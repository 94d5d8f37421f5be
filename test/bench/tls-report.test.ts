// Goal: the HTTPS report judges software KTLS against Node's https only where Node's https
// finished responses: a reference cell with none (a huge body outlasting the windows) gives no ratio.
// Method: tlsLines on made-up cells, one size with a working reference and one without.
import { describe, expect, it } from 'vitest';
import type { HttpCell } from '../../bench/lib/summary.js';
import { tlsLines } from '../../bench/lib/tls-report.js';

const MiB = 1024 * 1024;

function cell(system: string, sizeBytes: number, requestsPerSecond: number, cpuPerGB: number): HttpCell {
  return {
    system,
    sizeBytes,
    connections: 8,
    generator: 'wrk',
    reps: 1,
    requestsPerSecond,
    payloadMegabytesPerSecond: 100,
    runsMegabytesPerSecond: [100],
    latencyMs: { p50: 1, p97_5: 2, p99: 3 },
    serverCpuSecondsPerGB: cpuPerGB,
    serverCpuMicrosecondsPerResponse: 1,
    serverRssBytesMax: 1,
    copiesPerByte: 0,
    memoryPerByte: 1,
    counters: {},
    errors: [],
  };
}

const ratioRows = (lines: string[]) => lines.filter((l) => l.startsWith('| KTLS sw / node https'));

describe('tlsLines', () => {
  it('gives the ratio where the reference finished responses, and none where it finished none', () => {
    const cells = [
      cell('https-zerocopy-sw', MiB, 400, 1.5),
      cell('https-node-memory', MiB, 800, 1),
      cell('https-zerocopy-sw', 64 * MiB, 2, 3),
      cell('https-node-memory', 64 * MiB, 0, 200),
    ];
    expect(ratioRows(tlsLines(cells, 'wrk', Number.NaN, (v, d = 2) => v.toFixed(d)))).toEqual([
      '| KTLS sw / node https | 1 MiB | 1.50 | ≤ 1.5 | met |',
      '| KTLS sw / node https | 64 MiB | – | ≤ 1.5 | n/a: node https finished no response |',
    ]);
  });
});
