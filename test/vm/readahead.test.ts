// Goal: read-ahead is VM_ALLOC_NORMAL, as in vnode_pager_generic_getpages: it takes only free
// pages above v_free_reserved, stops at the first page memory does not give, and never makes the
// page daemon reclaim cached pages; a page a caller needs (VM_ALLOC_WAITFAIL) still gets one.
// Method: a small Vm with invariants on; a hot file's pages cached on the inactive queue (the
// least recently used), memory filled with a cold file until exactly v_free_target pages are
// free, then one pager read of the cold file asking for more read-ahead than is free.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/kern/index.js';
import {
  PQ_INACTIVE,
  type Vm,
  type VmObject,
  type VmPage,
  vmObjectClose,
  vmObjectOpen,
  vmPagerGetPages,
} from '../../src/vm/index.js';
import { fileBytes, makeVm, type TempDir, tempDir } from './helpers.js';

const HOT_PAGES = 16;
const COLD_PAGES = 320;
let tmp: TempDir;
let hotPath: string;
let coldPath: string;
beforeAll(async () => {
  tmp = await tempDir();
  hotPath = await tmp.file('hot.bin', fileBytes(HOT_PAGES * PAGE_SIZE, 5));
  coldPath = await tmp.file('cold.bin', fileBytes(COLD_PAGES * PAGE_SIZE, 6));
});
afterAll(() => tmp.remove());

/** Pages [pindex, pindex + count) of `obj` read in and left cached, unwired, on the inactive queue. */
async function cache(vm: Vm, obj: VmObject, pindex: number, count: number): Promise<void> {
  const run = Array.from({ length: count }, (_, i) => vm.vmPageAlloc(obj, pindex + i) as VmPage);
  await vmPagerGetPages(vm, obj, run, 0);
}

describe('read-ahead under memory shortage', () => {
  it('stops at v_free_reserved and evicts no cached page', async () => {
    const vm = makeVm(256, { freeTargetPages: 32 });
    const hot = await vmObjectOpen(vm, hotPath);
    const cold = await vmObjectOpen(vm, coldPath);
    await cache(vm, hot, 0, HOT_PAGES);
    const filler = vm.pageCount - HOT_PAGES - vm.freeTargetPages;
    await cache(vm, cold, 0, filler);
    expect(vm.stats.v_free_count).toBe(vm.freeTargetPages);

    // The page the caller needs comes from the free pages; the read-ahead only from those above
    // the reserve, so it is cut short and nothing cached is reclaimed for it.
    const need = vm.vmPageAlloc(cold, COLD_PAGES - 64) as VmPage;
    const readahead = await vmPagerGetPages(vm, cold, [need], 48);
    expect(vm.stats.evictions).toBe(0);
    expect(hot.pages.size).toBe(HOT_PAGES);
    expect(vm.freeReservedPages).toBeGreaterThan(0);
    expect(readahead).toBe(vm.freeTargetPages - 1 - vm.freeReservedPages);
    expect(vm.stats.v_free_count).toBe(vm.freeReservedPages);
    for (let p = 0; p < HOT_PAGES; p++) expect(hot.pages.get(p)?.queue).toBe(PQ_INACTIVE);

    // Below the reserve read-ahead gets nothing, while a page a caller needs still comes (the
    // page daemon reclaims the least recently used pages for it).
    const next = vm.vmPageAlloc(cold, COLD_PAGES - 8) as VmPage;
    expect(next).not.toBeNull();
    expect(await vmPagerGetPages(vm, cold, [next], 4)).toBeLessThanOrEqual(4);
    expect(vm.stats.evictions).toBeGreaterThan(0);
    await vmObjectClose(vm, hot);
    await vmObjectClose(vm, cold);
    vm.checkInvariants();
  });
});
