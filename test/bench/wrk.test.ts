// Goal: the line wrk's done hook prints is read field by field, and a percentile wrk could not
// answer (0 above a median that is not) reads as missing, not as 0 ms.
import { describe, expect, it } from 'vitest';
import { parseWrkLine } from '../../bench/lib/wrk.js';

describe('parseWrkLine', () => {
  it('reads every field of the result line among wrk output', () => {
    const r = parseWrkLine(
      'Running 3s test\nZCSIM_WRK 1200 4915200 3000000 0 1 2 3 4 850.0 2900.0 5200.0 9100.0\n',
    );
    expect(r.requests).toBe(1200);
    expect(r.bytes).toBe(4915200);
    expect(r.seconds).toBe(3);
    expect(r.errors).toEqual({ connect: 0, read: 1, write: 2, status: 3, timeout: 4 });
    expect(r.latencyMs).toEqual({ p50: 0.85, p97_5: 2.9, p99: 5.2, max: 9.1 });
  });

  it('takes a zero percentile above a nonzero median as no answer', () => {
    const r = parseWrkLine('ZCSIM_WRK 32000 1 3000000 0 0 0 0 0 8829.0 0.0 0.0 20000.0');
    expect(r.latencyMs.p50).toBeCloseTo(8.829);
    expect(r.latencyMs.p97_5).toBeNaN();
    expect(r.latencyMs.p99).toBeNaN();
  });

  it('keeps zeros when nothing was measured at all', () => {
    const r = parseWrkLine('ZCSIM_WRK 0 0 3000000 5 0 0 0 0 0.0 0.0 0.0 0.0');
    expect(r.latencyMs).toEqual({ p50: 0, p97_5: 0, p99: 0, max: 0 });
  });

  it('refuses output without the result line', () => {
    expect(() => parseWrkLine('unable to connect to 127.0.0.1:1')).toThrow(/no result line/);
  });
});
