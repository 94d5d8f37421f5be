// Goal: under memory pressure, whatever the order of allocations, page-ins, wirings, unwirings,
// releases, file changes and page-daemon runs, a wired page is never freed, evicted or reused
// (its identity and bytes stay put), and free + active + inactive + wired always add up to the
// page count.
// Method: fast-check with a fixed, printed seed (SIM_SEED overrides it) drives random command
// sequences against a 16-page Vm with invariants on, beside a model of who holds which wiring.
import { utimes } from 'node:fs/promises';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/kern/index.js';
import {
  PQ_ACTIVE,
  PQ_FREE,
  PQ_INACTIVE,
  type Vm,
  type VmObject,
  type VmPage,
  VPR_NOREUSE,
  VPR_TRYFREE,
} from '../../src/vm/index.js';
import { fileBytes, makeVm, type TempDir, tempDir } from './helpers.js';

const SEED = Number(process.env.SIM_SEED ?? 424242);
const PAGES = 16;
const FILE_PAGES = 24;

type Cmd =
  | { op: 'alloc'; file: number; pindex: number; pagein: boolean; wire: boolean; readahead: number }
  | { op: 'wire'; pick: number }
  | { op: 'unwire'; pick: number; how: 'active' | 'inactive' | 'release' | 'noreuse' | 'tryfree' }
  | { op: 'pageout'; target: number }
  | { op: 'touch'; file: number };

const allocArb = fc.record({
  op: fc.constant('alloc' as const),
  file: fc.integer({ min: 0, max: 1 }),
  pindex: fc.integer({ min: 0, max: FILE_PAGES - 1 }),
  pagein: fc.boolean(),
  wire: fc.boolean(),
  readahead: fc.integer({ min: 0, max: 4 }),
});
const unwireArb = fc.record({
  op: fc.constant('unwire' as const),
  pick: fc.nat(),
  how: fc.constantFrom('active', 'inactive', 'release', 'noreuse', 'tryfree'),
});
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { arbitrary: allocArb, weight: 5 },
  { arbitrary: fc.record({ op: fc.constant('wire' as const), pick: fc.nat() }), weight: 3 },
  { arbitrary: unwireArb, weight: 3 },
  {
    arbitrary: fc.record({ op: fc.constant('pageout' as const), target: fc.integer({ min: 0, max: PAGES }) }),
    weight: 1,
  },
  {
    arbitrary: fc.record({ op: fc.constant('touch' as const), file: fc.integer({ min: 0, max: 1 }) }),
    weight: 1,
  },
);

/** One wiring held by the model: the page and the bytes it must keep while wired. */
interface Hold {
  readonly m: VmPage;
  readonly bytes: Uint8Array | null;
}

let tmp: TempDir;
const paths: string[] = [];
beforeAll(async () => {
  tmp = await tempDir();
  for (let f = 0; f < 2; f++) paths.push(await tmp.file(`f${f}.bin`, fileBytes(FILE_PAGES * PAGE_SIZE, f)));
});
afterAll(() => tmp.remove());

async function step(vm: Vm, objs: VmObject[], holds: Hold[], cmd: Cmd, mtime: { ms: number }): Promise<void> {
  switch (cmd.op) {
    case 'alloc': {
      const obj = objs[cmd.file] as VmObject;
      if (vm.vmPageLookup(obj, cmd.pindex)) return;
      const m = vm.vmPageAlloc(obj, cmd.pindex);
      if (!m) {
        // Nothing reclaimable: every page is wired (no page is left busy between steps).
        expect(vm.stats.v_wire_count).toBe(PAGES);
        return;
      }
      if (cmd.wire) vm.vmPageWire(m);
      if (cmd.pagein) await vm.vmPagerGetPages(obj, [m], cmd.readahead);
      else vm.vmPageXunbusy(m); // invalid: freed unless wired
      if (cmd.wire) holds.push({ m, bytes: m.valid ? vm.pageBytes(m).slice() : null });
      return;
    }
    case 'wire': {
      const cached = vm.pages.filter((m) => m.object !== null && !m.busy);
      const m = cached[cmd.pick % Math.max(1, cached.length)];
      if (!m) return;
      vm.vmPageWire(m);
      holds.push({ m, bytes: m.valid ? vm.pageBytes(m).slice() : null });
      return;
    }
    case 'unwire': {
      const [hold] = holds.splice(cmd.pick % Math.max(1, holds.length), 1);
      if (!hold) return;
      const { m } = hold;
      if (cmd.how === 'active') vm.vmPageUnwire(m, PQ_ACTIVE);
      else if (cmd.how === 'inactive') vm.vmPageUnwire(m, PQ_INACTIVE);
      else vm.vmPageRelease(m, cmd.how === 'tryfree' ? VPR_TRYFREE : cmd.how === 'noreuse' ? VPR_NOREUSE : 0);
      return;
    }
    case 'pageout':
      vm.vmPageout(cmd.target);
      return;
    case 'touch': {
      const obj = objs[cmd.file] as VmObject;
      mtime.ms += 1000;
      await utimes(obj.path, mtime.ms / 1000, mtime.ms / 1000);
      await vm.vmObjectRevalidate(obj);
      return;
    }
  }
}

function checkModel(vm: Vm, holds: Hold[]): void {
  const s = vm.stats;
  expect(s.v_free_count + s.v_active_count + s.v_inactive_count + s.v_wire_count).toBe(s.v_page_count);
  expect(s.v_busy_unqueued_count).toBe(0);
  const count = new Map<VmPage, number>();
  for (const h of holds) count.set(h.m, (count.get(h.m) ?? 0) + 1);
  for (const h of holds) {
    expect(h.m.queue).not.toBe(PQ_FREE);
    expect(h.m.wireCount).toBe(count.get(h.m));
    if (h.m.object) expect(h.m.object.pages.get(h.m.pindex)).toBe(h.m);
    if (h.bytes) expect(Buffer.from(vm.pageBytes(h.m)).equals(h.bytes)).toBe(true);
  }
  expect(s.v_wire_count).toBe(count.size);
}

describe('vm under memory pressure (property)', () => {
  it('never frees or evicts a wired page, and the counts add up', async () => {
    const property = fc.asyncProperty(
      fc.array(cmdArb, { minLength: 20, maxLength: 150, size: 'max' }),
      async (cmds) => {
        const vm = makeVm(PAGES, { freeTargetPages: 4 });
        const objs = [await vm.vmObjectOpen(paths[0] as string), await vm.vmObjectOpen(paths[1] as string)];
        const holds: Hold[] = [];
        const mtime = { ms: 1_700_000_000_000 };
        for (const cmd of cmds) {
          await step(vm, objs, holds, cmd, mtime);
          checkModel(vm, holds);
        }
        for (const h of holds.splice(0)) vm.vmPageUnwire(h.m, PQ_INACTIVE);
        expect(vm.atRest()).toEqual([]);
        expect(vm.stats.v_free_count + vm.stats.v_active_count + vm.stats.v_inactive_count).toBe(PAGES);
        for (const obj of objs) await vm.vmObjectClose(obj);
      },
    );
    try {
      await fc.assert(property, { seed: SEED, numRuns: 100 });
    } catch (e) {
      throw new Error(`vm property failed; replay with SIM_SEED=${SEED} npx vitest run test/vm\n${e}`);
    }
  });
});
