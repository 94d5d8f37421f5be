// Goal: page-ins never take every thread of the host's I/O pool, so that a stat or an open of
// the server's (its file cache revalidating a path) does not wait behind the reads of every
// stalled download, as namei of a cached name never waits for the disk's queue in FreeBSD.
// Method: one Vm starts many page-ins of a real file at once, then the test stats a file; the
// page-ins finished when the stat answered are counted (order, not time): with every read handed
// to the host at once the stat waits behind nearly all of them.
import { stat } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/kern/index.js';
import {
  PAGER_READS_MAX,
  type VmPage,
  vmObjectClose,
  vmObjectOpen,
  vmPagerGetPages,
} from '../../src/vm/index.js';
import { fileBytes, makeVm, type TempDir, tempDir } from './helpers.js';

const READS = 48;
const RUN_PAGES = 64;
let tmp: TempDir;
let path: string;
beforeAll(async () => {
  tmp = await tempDir();
  path = await tmp.file('big.bin', fileBytes(READS * RUN_PAGES * PAGE_SIZE, 5));
});
afterAll(() => tmp.remove());

describe('the pager and the host I/O pool', () => {
  it('leaves room for other I/O while many page-ins are queued', async () => {
    const vm = makeVm(READS * RUN_PAGES + 64);
    const obj = await vmObjectOpen(vm, path);
    let done = 0;
    const reads: Promise<number>[] = [];
    for (let r = 0; r < READS; r++) {
      const run = Array.from(
        { length: RUN_PAGES },
        (_, i) => vm.vmPageAlloc(obj, r * RUN_PAGES + i) as VmPage,
      );
      reads.push(
        vmPagerGetPages(vm, obj, run, 0).then((n) => {
          done++;
          return n;
        }),
      );
    }
    // Every read has reached the host (or its queue) before the stat is asked.
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(0);
    await stat(path);
    const doneAtStat = done;
    await Promise.all(reads);
    // The stat queued behind at most the reads in flight (and those the pool had started).
    expect(doneAtStat).toBeLessThanOrEqual(PAGER_READS_MAX + 4);
    expect(done).toBe(READS);
    expect(vm.stats.pageins).toBe(READS);
    await vmObjectClose(vm, obj);
  });
});
