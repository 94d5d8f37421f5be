// Goal: read(2) through the buffer cache returns the file's bytes with a real copy out: short at
// EOF, 0 past it, counted in copy_bytes_out; the pages are unwired again afterwards, also when
// memory is smaller than the file (pages are evicted and read again).
// Method: reads at chosen offsets, compared with the file read by plain fs; a kernel with 32
// pages of memory for the second case.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { assertAtRest, createKernel } from '../../src/index.js';
import { testFile } from '../e2e/helpers.js';

describe('read(2) through the buffer cache', () => {
  it('copies the bytes out, short at EOF and none past it', async () => {
    const k = createKernel({ physmemBytes: 4 * 1024 * 1024 });
    const path = await testFile(50_000, 51);
    const want = new Uint8Array(await readFile(path));
    const file = await k.open(path);
    let copied = 0;
    for (const [offset, length] of [
      [0, 10],
      [4090, 20],
      [0, 50_000],
      [49_990, 100],
      [50_000, 10],
      [70_000, 10],
    ] as const) {
      const buf = new Uint8Array(length);
      const n = await k.read(file, offset, buf);
      const expected = Math.max(0, Math.min(length, 50_000 - offset));
      expect(n).toBe(expected);
      expect(
        Buffer.compare(Buffer.from(buf.subarray(0, n)), Buffer.from(want.subarray(offset, offset + n))),
      ).toBe(0);
      copied += n;
    }
    expect(k.stats().copy.copy_bytes_out).toBe(copied);
    assertAtRest(k);
    await k.destroy();
  });

  it('reads a file larger than memory, evicting as it goes', async () => {
    const k = createKernel({ physmemBytes: 32 * 4096 });
    const path = await testFile(1024 * 1024 + 123);
    const want = new Uint8Array(await readFile(path));
    const file = await k.open(path);
    const buf = new Uint8Array(want.length);
    for (let off = 0; off < want.length; off += 65_536) {
      await k.read(file, off, buf.subarray(off, Math.min(want.length, off + 65_536)));
    }
    expect(Buffer.compare(Buffer.from(buf), Buffer.from(want))).toBe(0);
    expect(k.vm.stats.evictions).toBeGreaterThan(0);
    assertAtRest(k);
    await k.destroy();
  });
});
