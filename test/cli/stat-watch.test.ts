// Goal: `zcsim stat --watch` prints as vmstat does: one line per interval with rates over the
// interval, changes in it and pools in use at its end; the first line averages since the server
// started; sf_buf columns only when the kernel has a pool. Method: watchRow on samples whose
// figures are known.
import { describe, expect, it } from 'vitest';
import { type WatchSample, watchHeader, watchRow } from '../../src/cli/stat-watch.js';

const base: WatchSample = {
  uptimeMs: 10_000,
  requests: 50,
  bodyBytes: { zerocopy: 20e6, copy: 10e6, stream: 0 },
  sfSyscalls: 40,
  pagesPagedIn: 1000,
  copiedBytes: 20e6,
  aborted: 2,
  sfAllocwait: 0,
  mbufs: 7,
  clusters: 3,
  wiredPages: 11,
  nsfbufs: 0,
  sfbufsUsed: 0,
  inflight: 1,
};
const at = new Date(2026, 0, 2, 3, 4, 5);

function cells(header: string, row: string): Record<string, string> {
  const titles = header.split(/ {2,}|(?<=time) +/).map((t) => t.trim());
  const values = row.trim().split(/ +/);
  expect(values).toHaveLength(titles.length);
  return Object.fromEntries(titles.map((t, i) => [t, values[i]!]));
}

describe('zcsim stat --watch lines', () => {
  it('the first line averages over the uptime; later lines over the interval', () => {
    const header = watchHeader(false);
    expect(header).not.toContain('sfbufs');
    const first = cells(header, watchRow(null, base, at));
    expect(first).toMatchObject({
      time: '03:04:05',
      'req/s': '5',
      'zc MB/s': '2.0',
      'copy MB/s': '1.0',
      'strm MB/s': '0.0',
      'sf/s': '4',
      'pgin/s': '100',
      'cp MB/s': '2.0',
      abort: '2',
      mbufs: '7',
      clust: '3',
      wired: '11',
      infl: '1',
    });
    const next: WatchSample = {
      ...base,
      uptimeMs: 12_000,
      requests: 70,
      bodyBytes: { zerocopy: 60e6, copy: 10e6, stream: 1e6 },
      aborted: 5,
      mbufs: 100,
    };
    const second = cells(header, watchRow(base, next, at));
    expect(second).toMatchObject({
      'req/s': '10',
      'zc MB/s': '20.0',
      'copy MB/s': '0.0',
      'strm MB/s': '0.5',
      'sf/s': '0',
      abort: '3',
      mbufs: '100',
    });
    // A server that restarted (uptime went back) is averaged since its start again.
    const restarted = cells(header, watchRow(next, { ...base, uptimeMs: 5000 }, at));
    expect(restarted['req/s']).toBe('10');
  });

  it('kva mode adds the sf_buf pool (in use/size) and the waits for it in the interval', () => {
    const kva: WatchSample = { ...base, nsfbufs: 64, sfbufsUsed: 9, sfAllocwait: 4 };
    const header = watchHeader(true);
    const row = cells(header, watchRow({ ...kva, uptimeMs: 9000, sfAllocwait: 1 }, kva, at));
    expect(row.sfbufs).toBe('9/64');
    expect(row.sfwait).toBe('3');
  });
});
