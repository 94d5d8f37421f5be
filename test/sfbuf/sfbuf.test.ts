// Goal: both sf_buf(9) implementations keep the manual page's contract and subr_sfbuf.c's
// rules: the direct map hands out the page itself; the pool shares mappings by page, keeps
// freed mappings cached in LRU order, sleeps FIFO on "sfbufa" when empty, honours SFB_NOWAIT,
// SFB_CATCH and SFB_CPUPRIVATE, and counts what the kernel counts.
// Method: direct calls on a fake Vm of wired pages, with invariants checked after every call.
import { describe, expect, it } from 'vitest';
import { KernelAssertionError, PAGE_SIZE } from '../../src/kern/index.js';
import {
  createSfBufMap,
  formatKva,
  SFB_CATCH,
  SFB_CPUPRIVATE,
  SFB_DEFAULT,
  SFB_NOWAIT,
  type SfBuf,
  type SfBufConfig,
} from '../../src/sfbuf/index.js';
import { fakeVm } from './fake-vm.js';

const base: SfBufConfig = { kind: 'kva', nsfbufs: 2, cpuCount: 1, invariants: true, kernelId: 1 };

function sync(r: SfBuf | null | Promise<SfBuf | null>): SfBuf {
  if (r === null || r instanceof Promise) throw new Error('expected a buffer at once');
  return r;
}

describe('sf_buf direct map', () => {
  it('hands out one buffer per page, at the direct-map address, viewing physmem', () => {
    const vm = fakeVm(8);
    const map = createSfBufMap(vm, { ...base, kind: 'dmap' });
    const m = vm.pages[3]!;
    const sf = sync(map.sfBufAlloc(m, SFB_NOWAIT, 0));
    expect(map.hasPool).toBe(false);
    expect(map.sfBufPage(sf)).toBe(m);
    expect(formatKva(map.sfBufKva(sf))).toBe('0xfffff80000003000');
    const bytes = map.sfBufBytes(sf);
    expect(bytes.buffer).toBe(vm.physmem);
    expect(bytes.byteOffset).toBe(3 * PAGE_SIZE);
    expect(bytes.length).toBe(PAGE_SIZE);
    bytes[5] = 0xab;
    expect(new Uint8Array(vm.physmem)[3 * PAGE_SIZE + 5]).toBe(0xab);
    expect(sync(map.sfBufAlloc(m, SFB_DEFAULT, 0))).toBe(sf);
    map.sfBufRef(sf);
    map.sfBufFree(sf);
    map.sfBufFree(sf);
    expect(map.counters()).toMatchObject({ nsfbufs: 0, nsfbufsused: 0, alloc_calls: 2, shootdowns: 0 });
    expect(map.atRest()).toEqual([]);
    map.checkInvariants();
  });

  it('asserts the page is wired', () => {
    const vm = fakeVm(2);
    const map = createSfBufMap(vm, { ...base, kind: 'dmap' });
    vm.pages[0]!.wireCount = 0;
    expect(() => map.sfBufAlloc(vm.pages[0]!, 0, 0)).toThrow(KernelAssertionError);
  });
});

describe('sf_buf KVA pool', () => {
  it('gives each slot a fixed i386 kva and shares a mapped page', () => {
    const vm = fakeVm(8);
    const map = createSfBufMap(vm, base);
    const a = sync(map.sfBufAlloc(vm.pages[5]!, 0, 0));
    const b = sync(map.sfBufAlloc(vm.pages[5]!, 0, 0));
    expect(b).toBe(a);
    expect(a.ref_count).toBe(2);
    expect(formatKva(map.sfBufKva(a))).toBe('0xc8000000');
    const c = sync(map.sfBufAlloc(vm.pages[6]!, 0, 0));
    expect(formatKva(c.kva)).toBe('0xc8001000');
    expect(map.sfBufBytes(c).buffer).toBe(vm.physmem);
    expect(map.sfBufBytes(c).byteOffset).toBe(6 * PAGE_SIZE);
    expect(map.counters()).toMatchObject({ nsfbufs: 2, nsfbufsused: 2, nsfbufspeak: 2, alloc_calls: 3 });
    map.sfBufFree(a);
    expect(map.counters().nsfbufsused).toBe(2);
    map.sfBufFree(a);
    map.sfBufFree(c);
    expect(map.counters()).toMatchObject({ nsfbufsused: 0, nsfbufspeak: 2 });
    expect(map.atRest()).toEqual([]);
  });

  it('keeps freed mappings on an LRU list and revives them without remapping (i386)', () => {
    const vm = fakeVm(8);
    const map = createSfBufMap(vm, { ...base, cpuCount: 2 });
    const [p0, p1, p2] = [vm.pages[0]!, vm.pages[1]!, vm.pages[2]!];
    const a = sync(map.sfBufAlloc(p0, 0, 0));
    const b = sync(map.sfBufAlloc(p1, 0, 0));
    map.sfBufFree(b); // free list: b
    map.sfBufFree(a); // free list: b, a
    const before = map.counters();
    const c = sync(map.sfBufAlloc(p2, 0, 1)); // takes the head, b, least recently freed
    expect(c).toBe(b);
    expect(c.m).toBe(p2);
    const again = sync(map.sfBufAlloc(p0, 0, 1)); // a still maps p0
    expect(again).toBe(a);
    const after = map.counters();
    expect(after.mapping_reuses - before.mapping_reuses).toBe(1);
    expect(after.shootdowns - before.shootdowns).toBe(1); // only the fresh mapping of p2
  });

  it('forgets the translation on free with unmapOnFree (32-bit arm)', () => {
    const vm = fakeVm(4);
    const map = createSfBufMap(vm, { ...base, unmapOnFree: true });
    const a = sync(map.sfBufAlloc(vm.pages[0]!, 0, 0));
    map.sfBufFree(a);
    expect(a.m).toBeNull();
    sync(map.sfBufAlloc(vm.pages[0]!, 0, 0));
    expect(map.counters().mapping_reuses).toBe(0);
  });

  it('returns null at once with SFB_NOWAIT on an empty pool', () => {
    const vm = fakeVm(4);
    const map = createSfBufMap(vm, { ...base, nsfbufs: 1 });
    sync(map.sfBufAlloc(vm.pages[0]!, 0, 0));
    expect(map.sfBufAlloc(vm.pages[1]!, SFB_NOWAIT, 0)).toBeNull();
    expect(sync(map.sfBufAlloc(vm.pages[0]!, SFB_NOWAIT, 0)).ref_count).toBe(2); // a hit needs no slot
    expect(map.counters().sf_allocwait).toBe(0);
  });

  it('sleeps FIFO on "sfbufa" and hands each freed buffer to the oldest sleeper', async () => {
    const vm = fakeVm(8);
    const map = createSfBufMap(vm, { ...base, nsfbufs: 1 });
    const a = sync(map.sfBufAlloc(vm.pages[0]!, 0, 0));
    const first = map.sfBufAlloc(vm.pages[1]!, 0, 0);
    const second = map.sfBufAlloc(vm.pages[2]!, SFB_CATCH, 0);
    expect(first).toBeInstanceOf(Promise);
    expect(second).toBeInstanceOf(Promise);
    expect(map.sleepers).toBe(2);
    expect(map.counters().sf_allocwait).toBe(2);
    expect(map.atRest()).toHaveLength(2);
    map.sfBufFree(a);
    expect(map.sfBufAlloc(vm.pages[3]!, SFB_NOWAIT, 0)).toBeNull(); // no barging past sleepers
    const got1 = await first;
    expect(got1?.m).toBe(vm.pages[1]);
    expect(map.sleepers).toBe(1);
    map.sfBufFree(got1!);
    const got2 = await second;
    expect(got2?.m).toBe(vm.pages[2]);
    map.sfBufFree(got2!);
    expect(map.atRest()).toEqual([]);
  });

  it('a sleeper whose page got mapped meanwhile shares that mapping', async () => {
    const vm = fakeVm(8);
    const map = createSfBufMap(vm, { ...base, nsfbufs: 2 });
    const a = sync(map.sfBufAlloc(vm.pages[0]!, 0, 0));
    const b = sync(map.sfBufAlloc(vm.pages[1]!, 0, 0));
    const w1 = map.sfBufAlloc(vm.pages[5]!, 0, 0);
    const w2 = map.sfBufAlloc(vm.pages[5]!, 0, 0);
    const w3 = map.sfBufAlloc(vm.pages[6]!, 0, 0);
    map.sfBufFree(a); // w1 maps page 5; w2, next in line, shares it; w3 still waits
    const [s1, s2] = [await w1, await w2];
    expect(s1).toBe(s2);
    expect(s1?.ref_count).toBe(2);
    expect(map.sleepers).toBe(1);
    map.sfBufFree(b);
    expect((await w3)?.m).toBe(vm.pages[6]);
  });

  it('SFB_CATCH: an abort makes the sleep return null; without it the abort is ignored', async () => {
    const vm = fakeVm(8);
    const map = createSfBufMap(vm, { ...base, nsfbufs: 1 });
    const a = sync(map.sfBufAlloc(vm.pages[0]!, 0, 0));
    const ac1 = new AbortController();
    const ac2 = new AbortController();
    const caught = map.sfBufAlloc(vm.pages[1]!, SFB_CATCH, 0, ac1.signal);
    const uncaught = map.sfBufAlloc(vm.pages[2]!, SFB_DEFAULT, 0, ac2.signal);
    ac1.abort();
    ac2.abort();
    expect(await caught).toBeNull();
    expect(map.sleepers).toBe(1);
    expect((map as unknown as { waiters: unknown[] }).waiters).toHaveLength(1); // no record left behind
    map.sfBufFree(a); // the aborted sleeper is skipped
    expect((await uncaught)?.m).toBe(vm.pages[2]);
    const ac3 = new AbortController();
    ac3.abort();
    expect(map.sfBufAlloc(vm.pages[3]!, SFB_CATCH, 0, ac3.signal)).toBeNull(); // signal pending
    expect(map.counters().sf_allocwait).toBe(3);
  });

  it('CPU-private mappings cost one local invalidation; global ones shoot down the others', () => {
    const vm = fakeVm(8);
    const map = createSfBufMap(vm, { ...base, cpuCount: 4 });
    const a = sync(map.sfBufAlloc(vm.pages[0]!, SFB_DEFAULT, 0));
    expect(map.counters()).toMatchObject({ invlpg_local: 1, shootdowns: 1, ipis: 3 });
    expect(a.cpumask).toBe(0b1111);
    map.sfBufFree(a);
    sync(map.sfBufAlloc(vm.pages[0]!, SFB_DEFAULT, 2)); // cached, valid everywhere: free
    expect(map.counters()).toMatchObject({ invlpg_local: 1, shootdowns: 1, ipis: 3, mapping_reuses: 1 });
    const b = sync(map.sfBufAlloc(vm.pages[1]!, SFB_CPUPRIVATE, 1));
    expect(b.cpumask).toBe(0b0010);
    sync(map.sfBufAlloc(vm.pages[1]!, SFB_CPUPRIVATE, 3));
    expect(b.cpumask).toBe(0b1010);
    expect(map.counters()).toMatchObject({ invlpg_local: 3, shootdowns: 1, ipis: 3 });
    sync(map.sfBufAlloc(vm.pages[1]!, SFB_DEFAULT, 0)); // local invlpg on 0, IPI to CPU 2 only
    expect(map.counters()).toMatchObject({ invlpg_local: 4, shootdowns: 2, ipis: 4 });
    expect(b.cpumask).toBe(0b1111);
  });

  it('asserts on double free, ref of a free buffer, foreign buffers and bad arguments', () => {
    const vm = fakeVm(4);
    const map = createSfBufMap(vm, base);
    const other = createSfBufMap(vm, base);
    const a = sync(map.sfBufAlloc(vm.pages[0]!, 0, 0));
    expect(() => other.sfBufFree(a)).toThrow(KernelAssertionError);
    map.sfBufFree(a);
    expect(() => map.sfBufFree(a)).toThrow(/already free/);
    expect(() => map.sfBufRef(a)).toThrow(/not held/);
    expect(() => map.sfBufAlloc(vm.pages[0]!, 8, 0)).toThrow(/unknown flags/);
    expect(() => map.sfBufAlloc(vm.pages[0]!, 0, 1)).toThrow(/cpu 1/);
    vm.pages[1]!.wireCount = 0;
    expect(() => map.sfBufAlloc(vm.pages[1]!, 0, 0)).toThrow(/not wired/);
  });

  it('checkInvariants names a broken rule', () => {
    const vm = fakeVm(4);
    const map = createSfBufMap(vm, { ...base, invariants: false });
    const a = sync(map.sfBufAlloc(vm.pages[0]!, 0, 0));
    map.checkInvariants();
    a.ref_count = 0;
    expect(() => map.checkInvariants()).toThrow(/onFreeList|nsfbufsused/);
  });
});
