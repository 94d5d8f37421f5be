// Goal: the page arithmetic of vn_sendfile (xfsize, fixspace, the readahead formula, the
// SF_FLAGS packing) holds for every offset and length.
// Method: fast-check properties with a fixed seed (SIM_SEED overrides it; printed on failure).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  fixspace,
  SF_FLAGS,
  SF_NOCACHE,
  SF_NODISKIO,
  SF_READAHEAD,
  SF_USER_READAHEAD,
  sendfileReadahead,
  xfsize,
} from '../../src/sendfile/index.js';

const seed = Number(process.env.SIM_SEED ?? 424242);
const PAGE = 4096;

describe('vn_sendfile page arithmetic', () => {
  it('the xfsize of the pages of a chunk add up to the chunk, each within its page', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 << 30 }), fc.integer({ min: 1, max: 1 << 20 }), (off, len) => {
        const n = Math.ceil((len + (off % PAGE)) / PAGE);
        let sum = 0;
        for (let i = 0; i < n; i++) {
          const x = xfsize(i, n, off, len);
          expect(x).toBeGreaterThan(0);
          expect(x + (i === 0 ? off % PAGE : 0)).toBeLessThanOrEqual(PAGE);
          sum += x;
          expect(fixspace(i + 1, off, len)).toBe(sum);
        }
        expect(sum).toBe(len);
        expect(fixspace(0, off, len)).toBe(0);
      }),
      {
        seed,
        numRuns: 200,
        examples: [
          [4095, 1],
          [4095, 2],
          [0, 4096],
          [1, 8191],
        ],
      },
    );
  });

  it('SF_FLAGS packs readahead pages above the flags', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), (rh) => {
        const f = SF_FLAGS(rh, SF_NODISKIO | SF_NOCACHE);
        expect(SF_READAHEAD(f)).toBe(rh);
        expect(f & 0xffff).toBe(SF_NODISKIO | SF_NOCACHE);
      }),
      { seed },
    );
  });

  it('readahead: the rest of the request plus the count of the caller, or exactly the count, capped', () => {
    // 100 pages left after an 8-page chunk at offset 0 of a 1000-page file.
    expect(sendfileReadahead(0, 0, 108 * PAGE, 0, 8, 1000 * PAGE)).toBe(100);
    expect(sendfileReadahead(0, 20, 108 * PAGE, 0, 8, 1000 * PAGE)).toBe(120);
    expect(sendfileReadahead(SF_USER_READAHEAD, 20, 108 * PAGE, 0, 8, 1000 * PAGE)).toBe(20);
    // Capped at maxphys (256 pages) and at EOF.
    expect(sendfileReadahead(0, 1000, 108 * PAGE, 0, 8, 10_000 * PAGE)).toBe(256);
    expect(sendfileReadahead(0, 1000, 108 * PAGE, 0, 8, 50 * PAGE)).toBe(42);
    expect(sendfileReadahead(SF_USER_READAHEAD, 9, PAGE, 3 * PAGE + 5, 1, 6 * PAGE)).toBe(2);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff }),
        fc.integer({ min: 1, max: 1 << 24 }),
        fc.integer({ min: 0, max: 1 << 24 }),
        fc.boolean(),
        (ra, rem, off, user) => {
          const size = off + rem + (off % 7) * PAGE;
          const npages = Math.ceil((Math.min(rem, 32768) + (off % PAGE)) / PAGE);
          const rh = sendfileReadahead(user ? SF_USER_READAHEAD : 0, ra, rem, off, npages, size);
          expect(rh).toBeGreaterThanOrEqual(0);
          expect(rh).toBeLessThanOrEqual(256);
          expect(Math.floor(off / PAGE) + npages + rh).toBeLessThanOrEqual(Math.ceil(size / PAGE));
        },
      ),
      { seed, numRuns: 200 },
    );
  });
});
