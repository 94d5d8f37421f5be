// Goal: the run grab sendfile_swapin uses (vm_page_grab_pages over the cached part) wires exactly
// the resident, valid, unbusied pages from its start, across a radix leaf boundary, stops at the
// first page that is absent or invalid, and counts each page as vmPageWire does; with and without
// the debug mode (which takes the per-page path).
// Method: a 520-page file, pages 505..515 paged in except 512, one of them left invalid by a page
// allocated and not read; grab from 505 for 11 pages, then check what was wired and the counters.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/kern/index.js';
import { PQ_INACTIVE, type VmPage, vmObjectClose, vmObjectOpen, vmPagerGetPages } from '../../src/vm/index.js';
import { fileBytes, makeVm, type TempDir, tempDir } from './helpers.js';

let tmp: TempDir;
let path: string;
beforeAll(async () => {
  tmp = await tempDir();
  path = await tmp.file('run.bin', fileBytes(520 * PAGE_SIZE, 3));
});
afterAll(() => tmp.remove());

describe('vmPageGrabValidRun', () => {
  for (const invariants of [false, true]) {
    it(`wires the cached run up to the first absent page (invariants ${invariants})`, async () => {
      const vm = makeVm(64, { invariants });
      const obj = await vmObjectOpen(vm, path);
      const run: VmPage[] = [];
      for (let p = 505; p < 512; p++) run.push(vm.vmPageAlloc(obj, p) as VmPage);
      await vmPagerGetPages(vm, obj, run, 0);
      const after = [513, 514].map((p) => vm.vmPageAlloc(obj, p) as VmPage);
      await vmPagerGetPages(vm, obj, after, 0);
      const pa: (VmPage | null)[] = new Array(11).fill(null);
      expect(vm.vmPageGrabValidRun(obj, 505, pa, 0, 11)).toBe(7); // 512 is absent
      expect(pa.slice(0, 7)).toEqual(run);
      expect(pa[7]).toBeNull();
      expect(run.every((m) => m.wireCount === 1 && m.queue === PQ_INACTIVE)).toBe(true);
      expect(vm.stats.v_wire_count).toBe(7);
      // From 513: two valid pages, then 515, allocated and never read (busy, invalid).
      const fresh = vm.vmPageAlloc(obj, 515) as VmPage;
      expect(vm.vmPageGrabValidRun(obj, 513, pa, 8, 3)).toBe(2);
      expect(pa.slice(8, 10)).toEqual(after);
      expect(fresh.wireCount).toBe(0);
      expect(vm.stats.v_wire_count).toBe(9);
      vm.vmPageXunbusy(fresh);
      for (const m of [...run, ...after]) vm.vmPageUnwire(m, PQ_INACTIVE);
      expect(vm.atRest()).toEqual([]);
      await vmObjectClose(vm, obj);
    });
  }
});
