// Goal: the pure rules of semantics.ts and multipart.ts hold for any input, not only the cases
// the end-to-end tests pick: ranges stay inside the file, never more than MAX_RANGES, the
// multipart length announced equals the body laid out, and the conditional order is RFC 9110's.
// Method: fast-check properties with a fixed seed (SIM_SEED overrides), plus a few pinned cases.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decide,
  MAX_RANGES,
  makeEtag,
  multipartLayout,
  type Validators,
} from '../../src/http/files/index.js';

/** The server's wall time the answers are decided at (a two-digit year is reckoned from it). */
const NOW_MS = Date.UTC(2026, 0, 1);

const seed = Number(process.env.SIM_SEED ?? 424242);
const v = (sizeBytes: number): Validators => ({
  etag: makeEtag(7n, BigInt(sizeBytes), 1_700_000_000_000_000_000n),
  lastModifiedSec: 1_700_000_000,
  sizeBytes,
});

const rangeSpec = fc.oneof(
  fc.tuple(fc.nat(5000), fc.nat(5000)).map(([a, b]) => `${a}-${a + b}`),
  fc.nat(5000).map((a) => `${a}-`),
  fc.nat(5000).map((n) => `-${n}`),
  fc.constantFrom('x', '', '5-2', '-'),
);

describe('decide', () => {
  it('206 ranges lie inside the file, sorted as asked, at most MAX_RANGES; 416 only when none fits', () => {
    fc.assert(
      fc.property(fc.nat(6000), fc.array(rangeSpec, { minLength: 1, maxLength: 20 }), (size, specs) => {
        const d = decide('GET', { range: `bytes=${specs.join(',')}` }, v(size), NOW_MS);
        if (d.status === 206) {
          expect(d.ranges.length).toBeGreaterThan(0);
          expect(d.ranges.length).toBeLessThanOrEqual(MAX_RANGES);
          for (const r of d.ranges) {
            expect(r.start).toBeGreaterThanOrEqual(0);
            expect(r.end).toBeGreaterThanOrEqual(r.start);
            expect(r.end).toBeLessThan(size);
          }
        } else expect([200, 416]).toContain(d.status);
      }),
      { seed, numRuns: 500 },
    );
  });

  it('If-None-Match wins over If-Modified-Since; If-Match failing is 412 before anything else', () => {
    const val = v(100);
    const lm = new Date(val.lastModifiedSec * 1000).toUTCString();
    expect(decide('GET', { 'if-none-match': val.etag }, val, NOW_MS).status).toBe(304);
    expect(decide('GET', { 'if-none-match': '"x"', 'if-modified-since': lm }, val, NOW_MS).status).toBe(200);
    expect(decide('GET', { 'if-modified-since': lm }, val, NOW_MS).status).toBe(304);
    expect(decide('GET', { 'if-match': '"x"', 'if-none-match': val.etag }, val, NOW_MS).status).toBe(412);
    expect(decide('GET', { 'if-none-match': val.etag, range: 'bytes=0-1' }, val, NOW_MS).status).toBe(304);
    expect(decide('HEAD', { range: 'bytes=0-1' }, val, NOW_MS).status).toBe(206);
  });
});

describe('multipartLayout', () => {
  it('the announced length is the length of the body it lays out', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000_000 }),
        fc.array(fc.tuple(fc.nat(), fc.nat(100_000)), { minLength: 2, maxLength: MAX_RANGES }),
        (size, raw) => {
          const ranges = raw.map(([s, n]) => {
            const start = s % size;
            return { start, end: Math.min(size - 1, start + n) };
          });
          const layout = multipartLayout('B0123', 'text/plain; charset=utf-8', size, ranges);
          let built = layout.closing.length;
          for (let i = 0; i < ranges.length; i++)
            built += layout.partHeaders[i]!.length + ranges[i]!.end - ranges[i]!.start + 1;
          expect(layout.lengthBytes).toBe(built);
          expect(layout.contentType).toBe('multipart/byteranges; boundary=B0123');
          expect(layout.partHeaders[0]!.toString()).toMatch(
            /^\r\n--B0123\r\nContent-Type: text\/plain; charset=utf-8\r\nContent-Range: bytes \d+-\d+\/\d+\r\n\r\n$/,
          );
        },
      ),
      { seed, numRuns: 200 },
    );
  });
});
