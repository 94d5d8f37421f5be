// Goal: the page life cycle of src/vm follows sys/vm/vm_page.c: allocation (reservation-like
// contiguity), wiring and the vm_page_unwire / vm_page_release queue rules, freeing, vm_wait and
// busy sleeps, the page daemon's LRU order with second chances and its lazy dequeue of wired
// pages, and the run grab of sendfile_swapin.
// Method: a tiny Vm (invariants on, so every operation is followed by the O(n) check; the run grab
// also with them off) and two real temp files; pages are allocated by hand and marked valid by
// paging them in.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KernelAssertionError, PAGE_SIZE } from '../../src/kern/index.js';
import {
  PQ_ACTIVE,
  PQ_FREE,
  PQ_INACTIVE,
  PQ_NONE,
  type Vm,
  type VmObject,
  type VmPage,
  VPR_NOREUSE,
  VPR_TRYFREE,
  vmObjectClose,
  vmObjectOpen,
  vmPageoutScan,
  vmPagerGetPages,
} from '../../src/vm/index.js';
import { fileBytes, makeVm, type TempDir, tempDir } from './helpers.js';

let tmp: TempDir;
let path: string;
/** 520 pages: a run from 505 crosses the radix leaf boundary at 512. */
let runPath: string;
beforeAll(async () => {
  tmp = await tempDir();
  path = await tmp.file('pages.bin', fileBytes(64 * PAGE_SIZE, 7));
  runPath = await tmp.file('run.bin', fileBytes(520 * PAGE_SIZE, 3));
});
afterAll(() => tmp.remove());

/** Allocates and pages in `count` pages from `pindex`; returns them valid, unbusied, unwired. */
async function resident(vm: Vm, obj: VmObject, pindex: number, count: number): Promise<VmPage[]> {
  const run: VmPage[] = [];
  for (let i = 0; i < count; i++) {
    const m = vm.vmPageAlloc(obj, pindex + i);
    if (!m) throw new Error('out of pages');
    run.push(m);
  }
  await vmPagerGetPages(vm, obj, run, 0);
  return run;
}

function inactiveOrder(vm: Vm): number[] {
  return vm.pages
    .filter((m) => m.queue === PQ_INACTIVE)
    .map((m) => m.physIndex)
    .sort((a, b) => a - b);
}

describe('allocation', () => {
  it('boots with every page free and the counts adding up', () => {
    const vm = makeVm(16);
    expect(vm.pageCount).toBe(16);
    expect(vm.physmem.byteLength).toBe(16 * PAGE_SIZE);
    expect(vm.stats.v_free_count).toBe(16);
    expect(vm.stats.v_page_count).toBe(16);
    expect(vm.atRest()).toEqual([]);
  });

  it('gives consecutive file pages consecutive frames, and a second file its own run', async () => {
    const vm = makeVm(64, { freeTargetPages: 1 });
    const obj = await vmObjectOpen(vm, path);
    const a = [0, 1, 2, 3].map((p) => vm.vmPageAlloc(obj, p) as VmPage);
    expect(a.map((m) => m.physIndex)).toEqual([0, 1, 2, 3]);
    for (const m of a) expect(m.busy && !m.valid && m.queue === PQ_NONE).toBe(true);
    expect(vm.stats.v_busy_unqueued_count).toBe(4);
    // A page with no predecessor starts halfway into the largest run, leaving room after page 3.
    const other = vm.vmPageAlloc(obj, 40) as VmPage;
    expect(other.physIndex).toBe(4 + 30);
    const next = vm.vmPageAlloc(obj, 4) as VmPage;
    expect(next.physIndex).toBe(4);
    for (const m of [...a, other, next]) vm.vmPageXunbusy(m); // invalid and unwired: freed
    expect(vm.stats.v_free_count).toBe(64);
    await vmObjectClose(vm, obj);
  });

  it('returns null when every page is wired, and vmWait wakes on an unwire', async () => {
    const vm = makeVm(8);
    const obj = await vmObjectOpen(vm, path);
    const pages = await resident(vm, obj, 0, 8);
    for (const m of pages) vm.vmPageWire(m);
    expect(vm.stats.v_wire_count).toBe(8);
    expect(vm.vmPageAlloc(obj, 20)).toBeNull();
    let woken = false;
    const wait = vm.vmWait().then(() => {
      woken = true;
    });
    expect(vm.atRest().join()).toMatch(/vmwait/);
    await Promise.resolve();
    expect(woken).toBe(false);
    expect(vm.vmPageUnwire(pages[3] as VmPage, PQ_INACTIVE)).toBe(true);
    await wait;
    expect(woken).toBe(true);
    const m = vm.vmPageAlloc(obj, 20) as VmPage;
    expect(m.physIndex).toBe(3); // the daemon evicted the one unwired page
    expect(vm.stats.evictions).toBe(1);
    vm.vmPageXunbusy(m);
    for (const p of pages) if (p.wireCount > 0) vm.vmPageUnwire(p, PQ_INACTIVE);
    expect(vm.atRest()).toEqual([]);
    await vmObjectClose(vm, obj);
  });

  it('vmWait rejects with EINTR when its signal aborts', async () => {
    const vm = makeVm(8);
    const ac = new AbortController();
    const wait = vm.vmWait(ac.signal);
    ac.abort();
    await expect(wait).rejects.toMatchObject({ code: 'EINTR' });
    expect(vm.atRest()).toEqual([]);
  });
});

describe('wiring and the release rules', () => {
  let vm: Vm;
  let obj: VmObject;
  beforeAll(async () => {
    vm = makeVm(32);
    obj = await vmObjectOpen(vm, path);
  });
  afterAll(() => vmObjectClose(vm, obj));

  it('wiring leaves a page on its queue (lazy dequeue); the last unwire requeues it at the inactive tail', async () => {
    const [a, b] = (await resident(vm, obj, 0, 2)) as [VmPage, VmPage];
    expect(a.queue).toBe(PQ_INACTIVE);
    const inactive0 = vm.stats.v_inactive_count;
    vm.vmPageWire(a);
    vm.vmPageWire(a);
    expect(a.queue).toBe(PQ_INACTIVE);
    expect(vm.stats.v_wire_count).toBe(1);
    // pq_cnt still counts the wired page, as vm.stats.vm.v_inactive_count does in FreeBSD 13.
    expect(vm.stats.v_inactive_count).toBe(inactive0);
    expect(vm.vmPageUnwire(a, PQ_INACTIVE)).toBe(false);
    expect(a.queue).toBe(PQ_INACTIVE);
    expect(vm.vmPageUnwire(a, PQ_INACTIVE)).toBe(true);
    expect(a.queue).toBe(PQ_INACTIVE);
    expect(vm.inactive.tail).toBe(a);
    expect(vm.inactive.head).toBe(b);
    expect(vm.stats.v_wire_count).toBe(0);
    expect(inactiveOrder(vm)).toEqual([a.physIndex, b.physIndex].sort((x, y) => x - y));
  });

  it('unwire to PQ_ACTIVE activates; a page active before wiring stays active, referenced', async () => {
    const m = vm.vmPageAlloc(obj, 2) as VmPage;
    vm.vmPageWire(m); // wired while busy: not a cache hit, so not referenced
    await vmPagerGetPages(vm, obj, [m], 0);
    vm.vmPageUnwire(m, PQ_ACTIVE);
    expect(m.queue).toBe(PQ_ACTIVE);
    expect(m.referenced).toBe(false);
    vm.vmPageWire(m);
    vm.vmPageRelease(m, 0);
    expect(m.queue).toBe(PQ_ACTIVE);
    expect(m.referenced).toBe(true);
  });

  it('an invalid page and VPR_NOREUSE go to the head of the inactive queue', async () => {
    const [m] = (await resident(vm, obj, 3, 1)) as [VmPage];
    vm.vmPageWire(m);
    vm.vmPageRelease(m, VPR_NOREUSE);
    expect(vm.inactive.head).toBe(m);
    const inv = vm.vmPageAlloc(obj, 30) as VmPage;
    vm.vmPageWire(inv);
    vm.vmPageXunbusy(inv); // wired: stays, invalid
    expect(inv.queue).toBe(PQ_NONE);
    vm.vmPageUnwire(inv, PQ_INACTIVE);
    expect(vm.inactive.head).toBe(inv);
    expect(inv.valid).toBe(false);
  });

  it('wiring a cached page marks it referenced (a cache hit)', async () => {
    const [m] = (await resident(vm, obj, 7, 1)) as [VmPage];
    expect(m.referenced).toBe(false);
    vm.vmPageWire(m);
    expect(m.referenced).toBe(true);
    vm.vmPageUnwire(m, PQ_INACTIVE);
    expect(vm.inactive.tail).toBe(m);
  });

  it('VPR_TRYFREE frees an unbusied page at its last wiring, and only then', async () => {
    const [m] = (await resident(vm, obj, 4, 1)) as [VmPage];
    const free0 = vm.stats.v_free_count;
    vm.vmPageWire(m);
    vm.vmPageWire(m);
    vm.vmPageRelease(m, VPR_TRYFREE);
    expect(m.wireCount).toBe(1);
    expect(vm.vmPageLookup(obj, 4)).toBe(m);
    vm.vmPageRelease(m, VPR_TRYFREE);
    expect(m.queue).toBe(PQ_FREE);
    expect(vm.vmPageLookup(obj, 4)).toBeNull();
    expect(vm.stats.v_free_count).toBe(free0 + 1);
  });

  it('VPR_TRYFREE on a busy page unwires it to the inactive head instead', async () => {
    const m = vm.vmPageAlloc(obj, 5) as VmPage;
    vm.vmPageWire(m);
    const read = vmPagerGetPages(vm, obj, [m], 0);
    vm.vmPageRelease(m, VPR_TRYFREE);
    expect(vm.inactive.head).toBe(m);
    expect(m.busy).toBe(true);
    await read;
    expect(m.busy).toBe(false);
    expect(m.valid).toBe(true);
    expect(m.queue).toBe(PQ_INACTIVE);
  });

  it('asserts against freeing or evicting a wired page and unwiring an unwired one', async () => {
    const [m] = (await resident(vm, obj, 6, 1)) as [VmPage];
    expect(() => vm.vmPageUnwire(m, PQ_INACTIVE)).toThrow(KernelAssertionError);
    vm.vmPageWire(m);
    expect(() => vm.vmPageFree(m)).toThrow(KernelAssertionError);
    vmPageoutScan(vm, vm.pageCount); // reclaim everything it can
    expect(vm.vmPageLookup(obj, 6)).toBe(m);
    expect(m.wireCount).toBe(1);
    vm.vmPageUnwire(m, PQ_INACTIVE);
    expect(vm.atRest()).toEqual([]);
  });
});

describe('page daemon', () => {
  it('evicts least recently used first and gives referenced pages a second chance', async () => {
    const vm = makeVm(16, { freeTargetPages: 5 });
    const obj = await vmObjectOpen(vm, path);
    const pages = await resident(vm, obj, 0, 12); // 4 free now
    // Use page 0 again (wire+unwire requeues it at the tail) and make page 1 active-referenced.
    vm.vmPageWire(pages[0] as VmPage);
    vm.vmPageUnwire(pages[0] as VmPage, PQ_INACTIVE);
    (pages[1] as VmPage).referenced = true;
    const m = vm.vmPageAlloc(obj, 20) as VmPage; // 4 free < 5: reclaim one
    expect(vm.stats.reactivations).toBe(1);
    expect(vm.stats.evictions).toBe(1);
    expect(vm.vmPageLookup(obj, 0)).toBe(pages[0]);
    expect(vm.vmPageLookup(obj, 1)).toBe(pages[1]);
    expect((pages[1] as VmPage).queue).toBe(PQ_ACTIVE);
    expect(vm.vmPageLookup(obj, 2)).toBeNull();
    vm.vmPageXunbusy(m);
    // Pressure until everything unwired went: active pages age to inactive and go too.
    expect(vmPageoutScan(vm, vm.pageCount)).toBe(11);
    expect(vm.stats.v_free_count).toBe(16);
    await vmObjectClose(vm, obj);
  });

  it('takes a wired page it meets off its queue without freeing it; the last unwire requeues it', async () => {
    const vm = makeVm(16, { freeTargetPages: 1 });
    const obj = await vmObjectOpen(vm, path);
    const [a, b] = (await resident(vm, obj, 0, 2)) as [VmPage, VmPage];
    vm.vmPageWire(a);
    expect(a.queue).toBe(PQ_INACTIVE);
    expect(vm.stats.v_inactive_count).toBe(2);
    expect(vm.stats.v_wire_count).toBe(1);
    expect(vmPageoutScan(vm, vm.pageCount)).toBe(1); // b goes; a is dequeued, not freed
    expect(b.queue).toBe(PQ_FREE);
    expect(a.queue).toBe(PQ_NONE);
    expect(vm.vmPageLookup(obj, 0)).toBe(a);
    expect(vm.stats.v_inactive_count).toBe(0);
    expect(vm.stats.v_busy_unqueued_count).toBe(0);
    vm.vmPageUnwire(a, PQ_INACTIVE);
    expect(a.queue).toBe(PQ_INACTIVE);
    expect(vm.inactive.tail).toBe(a);
    expect(vm.atRest()).toEqual([]);
    await vmObjectClose(vm, obj);
  });
});

describe('physical allocator', () => {
  it('finds the largest free run in the bitmap, whatever the pattern (property)', () => {
    const seed = Number(process.env.SIM_SEED ?? 424242);
    const property = fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 200 }), (used) => {
      const vm = makeVm(used.length, { invariants: false });
      const phys = vm.phys;
      for (let i = 0; i < used.length; i++) if (used[i]) phys.allocFrame(i);
      let best: [number, number] = [-1, 0];
      for (let i = 0; i < used.length; ) {
        if (used[i]) {
          i++;
          continue;
        }
        const start = i;
        while (i < used.length && !used[i]) i++;
        if (i - start > best[1]) best = [start, i - start];
      }
      expect(phys.largestFreeRun()).toEqual(best);
      const problems: string[] = [];
      phys.check(problems);
      expect(problems).toEqual([]);
    });
    try {
      fc.assert(property, { seed, numRuns: 300 });
    } catch (e) {
      throw new Error(`largestFreeRun property failed; replay with SIM_SEED=${seed}\n${e}`);
    }
  });
});

// The run grab sendfile_swapin uses (vm_page_grab_pages over the cached part): it wires exactly
// the resident, valid, unbusied pages from its start, across a radix leaf boundary, stops at the
// first page that is absent or not valid, and counts each page as vmPageWire does; with and
// without the debug mode (which takes the per-page path).
describe('vmPageGrabValidRun', () => {
  for (const invariants of [false, true]) {
    it(`wires the cached run up to the first absent page (invariants ${invariants})`, async () => {
      const vm = makeVm(64, { invariants });
      const obj = await vmObjectOpen(vm, runPath);
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
