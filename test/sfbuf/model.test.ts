// Goal: the KVA pool behaves like a small reference model of subr_sfbuf.c under any sequence of
// calls: which slot each alloc gets (sharing by page, LRU reuse of freed mappings, FIFO hand-off
// to sleepers), NOWAIT and SFB_CATCH outcomes, CPU masks, and every counter.
// Method: fast-check generates command lists (alloc/ref/free/abort on 1-4 slots, 1-4 CPUs, a
// few pages) from a fixed seed (SIM_SEED overrides); each list runs against the real pool, with
// invariants checked after every call, and against test/sfbuf/model.ts, comparing after each
// step; the run ends by freeing everything and checking the pool is at rest.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  createSfBufMap,
  SFB_CATCH,
  SFB_CPUPRIVATE,
  SFB_NOWAIT,
  SFBUF_KVA_BASE,
  type SfBuf,
  type SfBufMap,
} from '../../src/sfbuf/index.js';
import { type FakeVm, fakeVm } from './fake-vm.js';
import { SfBufModel } from './model.js';

const seed = Number(process.env.SIM_SEED ?? 424242);
const numRuns = Number(process.env.SIM_RUNS ?? 300);

type Cmd =
  | {
      t: 'alloc';
      page: number;
      cpu: number;
      nowait: boolean;
      catchSignal: boolean;
      privateMap: boolean;
      preAborted: boolean;
    }
  | { t: 'free' | 'ref' | 'abort'; i: number };

/** True one time in five, so that most allocations may sleep. */
const rarely = fc.integer({ min: 0, max: 4 }).map((n) => n === 0);

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('alloc' as const),
      page: fc.nat(5),
      cpu: fc.nat(3),
      nowait: rarely,
      catchSignal: fc.boolean(),
      privateMap: fc.boolean(),
      preAborted: rarely,
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('free' as const), i: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('ref' as const), i: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('abort' as const), i: fc.nat(7) }) },
);

const slotOf = (sf: SfBuf): number => (sf.kva - SFBUF_KVA_BASE) / 4096;

interface Pending {
  readonly id: number;
  readonly ac: AbortController;
  /** An SFB_CATCH sleeper whose signal aborted: it must come back with null. */
  gaveUp: boolean;
  result: SfBuf | null | undefined;
}

class Run {
  readonly vm: FakeVm = fakeVm(8);
  readonly map: SfBufMap;
  readonly model: SfBufModel;
  readonly held: { slot: number; sf: SfBuf }[] = [];
  readonly pending: Pending[] = [];

  constructor(
    nsfbufs: number,
    readonly cpuCount: number,
    unmapOnFree: boolean,
  ) {
    this.map = createSfBufMap(this.vm, {
      kind: 'kva',
      nsfbufs,
      cpuCount,
      invariants: true,
      kernelId: 7,
      unmapOnFree,
    });
    this.model = new SfBufModel(nsfbufs, cpuCount, unmapOnFree);
  }

  async step(c: Cmd): Promise<void> {
    if (c.t === 'alloc') this.alloc(c);
    else if (c.t === 'abort') {
      const p = this.pending[c.i % Math.max(1, this.pending.length)];
      if (p !== undefined && !p.ac.signal.aborted) {
        p.gaveUp = this.model.abort(p.id);
        p.ac.abort();
      }
    } else {
      const h = this.held[c.i % Math.max(1, this.held.length)];
      if (h === undefined) return;
      if (c.t === 'ref') {
        this.map.sfBufRef(h.sf);
        this.model.ref(h.slot);
        this.held.push({ ...h });
      } else {
        this.held.splice(this.held.indexOf(h), 1);
        this.map.sfBufFree(h.sf);
        this.model.free1(h.slot);
      }
    }
    await this.settle();
    this.compare();
  }

  private alloc(c: Extract<Cmd, { t: 'alloc' }>): void {
    const flags =
      (c.nowait ? SFB_NOWAIT : 0) | (c.catchSignal ? SFB_CATCH : 0) | (c.privateMap ? SFB_CPUPRIVATE : 0);
    const cpu = c.cpu % this.cpuCount;
    const ac = new AbortController();
    if (c.preAborted) ac.abort();
    const r = this.map.sfBufAlloc(this.vm.pages[c.page]!, flags, cpu, ac.signal);
    const want = this.model.alloc(c.page, c, cpu);
    if ('slot' in want) {
      expect(r).not.toBeInstanceOf(Promise);
      expect(r === null || r instanceof Promise ? null : slotOf(r)).toBe(want.slot);
      this.held.push({ slot: want.slot, sf: r as SfBuf });
    } else if ('nothing' in want) {
      expect(r).toBeNull();
    } else {
      expect(r).toBeInstanceOf(Promise);
      const p: Pending = { id: want.sleeper, ac, gaveUp: false, result: undefined };
      (r as Promise<SfBuf | null>).then((sf) => {
        p.result = sf;
      });
      this.pending.push(p);
    }
  }

  /** Lets woken sleepers run, then checks each one got what the model gave it. */
  async settle(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    for (const p of [...this.pending]) {
      const slot = this.model.granted.get(p.id);
      if (slot !== undefined) {
        expect(p.result, `sleeper ${p.id}`).not.toBeUndefined();
        expect(p.result === null || p.result === undefined ? null : slotOf(p.result)).toBe(slot);
        this.held.push({ slot, sf: p.result as SfBuf });
      } else if (p.gaveUp) {
        expect(p.result, `aborted sleeper ${p.id}`).toBeNull();
      } else {
        expect(p.result, `sleeper ${p.id} still asleep`).toBeUndefined();
        continue;
      }
      this.pending.splice(this.pending.indexOf(p), 1);
    }
  }

  compare(): void {
    const { nsfbufs: _n, ...real } = this.map.counters();
    expect(real).toEqual(this.model.c);
    expect(this.map.sleepers).toBe(this.model.sleepers());
    for (const h of this.held) {
      const s = this.model.slots[h.slot]!;
      expect(slotOf(h.sf)).toBe(h.slot);
      expect(h.sf.ref_count).toBe(s.ref);
      expect(h.sf.m?.physIndex).toBe(s.page);
      expect(h.sf.cpumask).toBe(this.model.mask(h.slot));
    }
  }

  async drain(): Promise<void> {
    while (this.held.length > 0) await this.step({ t: 'free', i: 0 });
    expect(this.pending).toEqual([]);
    expect(this.map.atRest()).toEqual([]);
  }
}

describe('sf_buf pool against a reference model', () => {
  it(`matches the model on random call sequences (SIM_SEED=${seed})`, async () => {
    const property = fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 4 }),
      fc.boolean(),
      fc.array(cmdArb, { maxLength: 80, size: 'medium' }),
      async (nsfbufs, cpuCount, unmapOnFree, cmds) => {
        const run = new Run(nsfbufs, cpuCount, unmapOnFree);
        for (const c of cmds) await run.step(c);
        await run.drain();
      },
    );
    try {
      await fc.assert(property, { seed, numRuns });
    } catch (e) {
      throw new Error(
        `sf_buf model test failed; replay with SIM_SEED=${seed} npx vitest run test/sfbuf\n${String(e)}`,
      );
    }
  });
});
