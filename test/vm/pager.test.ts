// Goal: the vnode pager and the buffer cache read real files with zero copies and keep nothing
// half-done: paged-in bytes equal the file's bytes and live in vm.physmem itself; read-ahead is
// counted and parked on the inactive queue; EOF is zero-filled; an I/O error leaves every page
// unbusied and invalid; a changed file invalidates its cached pages (wired ones detached);
// opens share one object per file and report errno codes.
// Method: real temp files in the run's folder under .cache, a small Vm with invariants on, and the pagerFault
// hook and a ManualClock for the failure and disk-time cases.
import diagnosticsChannel from 'node:diagnostics_channel';
import { truncateSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, PAGE_SIZE, TRACE_CHANNELS, type TraceEvent } from '../../src/kern/index.js';
import {
  PQ_FREE,
  PQ_INACTIVE,
  PQ_NONE,
  type Vm,
  type VmObject,
  type VmPage,
  vmObjectClose,
  vmObjectOpen,
  vmObjectRevalidate,
  vmPageBusySleep,
  vmPageoutScan,
  vmPagerGetPages,
} from '../../src/vm/index.js';
import { fileBytes, makeVm, type TempDir, tempDir } from './helpers.js';

const FILE_BYTES = 20 * PAGE_SIZE + 123; // 21 pages, the last one mostly past EOF
let tmp: TempDir;
let path: string;
let bytes: Uint8Array;
beforeAll(async () => {
  tmp = await tempDir();
  bytes = fileBytes(FILE_BYTES, 11);
  path = await tmp.file('data.bin', bytes);
});
afterAll(() => tmp.remove());

function allocRun(vm: Vm, obj: VmObject, pindex: number, count: number): VmPage[] {
  return Array.from({ length: count }, (_, i) => vm.vmPageAlloc(obj, pindex + i) as VmPage);
}

/** The file's bytes of page `pindex`, zero-padded to a whole page. */
function filePage(pindex: number): Uint8Array {
  const out = new Uint8Array(PAGE_SIZE);
  out.set(bytes.subarray(pindex * PAGE_SIZE, Math.min(FILE_BYTES, (pindex + 1) * PAGE_SIZE)));
  return out;
}

describe('zero-copy page-in', () => {
  it('fills pages with the file bytes, as views of vm.physmem', async () => {
    const vm = makeVm(64);
    const obj = await vmObjectOpen(vm, path);
    expect(obj.sizeBytes).toBe(FILE_BYTES);
    const run = allocRun(vm, obj, 2, 4);
    for (const m of run) vm.vmPageWire(m);
    await vmPagerGetPages(vm, obj, run, 0);
    for (const m of run) {
      const view = vm.pageBytes(m);
      expect(view.buffer).toBe(vm.physmem);
      expect(view.byteOffset).toBe(m.physAddr);
      expect(view.length).toBe(PAGE_SIZE);
      expect(Buffer.from(view).equals(filePage(m.pindex))).toBe(true);
      expect(m.valid && !m.busy && m.queue === PQ_NONE).toBe(true);
    }
    // The four frames are adjacent, so physBytes sees the file's 16 KiB in one view.
    const joined = vm.physBytes((run[0] as VmPage).physAddr, 4 * PAGE_SIZE);
    expect(joined.buffer).toBe(vm.physmem);
    expect(Buffer.from(joined).equals(bytes.subarray(2 * PAGE_SIZE, 6 * PAGE_SIZE))).toBe(true);
    // Writing through physmem is seen through the page view: they are the same memory.
    const mem = new Uint8Array(vm.physmem);
    const addr = (run[0] as VmPage).physAddr;
    mem[addr] = (mem[addr] as number) ^ 0xff;
    expect(vm.pageBytes(run[0] as VmPage)[0]).toBe((bytes[2 * PAGE_SIZE] as number) ^ 0xff);
    for (const m of run) vm.vmPageUnwire(m, PQ_INACTIVE);
    expect(vm.stats.pageins).toBe(1);
    expect(vm.stats.pages_paged_in).toBe(4);
    expect(vm.atRest()).toEqual([]);
    await vmObjectClose(vm, obj);
  });

  it('reads ahead up to EOF, counts it, and zero-fills past EOF', async () => {
    const vm = makeVm(64);
    const obj = await vmObjectOpen(vm, path);
    const run = allocRun(vm, obj, 16, 1);
    const ra = await vmPagerGetPages(vm, obj, run, 10);
    expect(ra).toBe(4); // pages 17..20: page 20 holds the last 123 bytes
    expect(vm.stats.readahead_pages).toBe(4);
    expect(vm.stats.pages_paged_in).toBe(5);
    expect(vm.stats.pageins).toBe(1);
    for (let p = 16; p <= 20; p++) {
      const m = vm.vmPageLookup(obj, p) as VmPage;
      expect(m.valid && !m.busy && m.queue === PQ_INACTIVE).toBe(true);
      expect(Buffer.from(vm.pageBytes(m)).equals(filePage(p))).toBe(true);
    }
    expect(vm.vmPageLookup(obj, 21)).toBeNull();
    await vmObjectClose(vm, obj);
  });

  it('publishes pagein events on the vm trace channel', async () => {
    const events: TraceEvent[] = [];
    const listener = (e: unknown): void => {
      events.push(e as TraceEvent);
    };
    diagnosticsChannel.subscribe(TRACE_CHANNELS.vm, listener);
    try {
      const vm = makeVm(16, { kernelId: 77 });
      const obj = await vmObjectOpen(vm, path);
      await vmPagerGetPages(vm, obj, allocRun(vm, obj, 0, 2), 1);
      await vmObjectClose(vm, obj);
    } finally {
      diagnosticsChannel.unsubscribe(TRACE_CHANNELS.vm, listener);
    }
    const pagein = events.find((e) => e.kernelId === 77 && e.event === 'pagein');
    expect(pagein).toMatchObject({ pindex: 0, pages: 2, readahead: 1 });
  });

  it('stops read-ahead at a resident page', async () => {
    const vm = makeVm(64);
    const obj = await vmObjectOpen(vm, path);
    await vmPagerGetPages(vm, obj, allocRun(vm, obj, 5, 1), 0);
    expect(await vmPagerGetPages(vm, obj, allocRun(vm, obj, 0, 2), 8)).toBe(3);
    expect(vm.stats.readahead_pages).toBe(3);
    await vmObjectClose(vm, obj);
  });

  it('wakes busy sleepers when the read completes, and takes disk time on the clock', async () => {
    const clock = new ManualClock();
    const vm = makeVm(32, { clock, diskLatencyMs: 5, diskBandwidthMBps: 4.096 });
    const obj = await vmObjectOpen(vm, path);
    const run = allocRun(vm, obj, 0, 2);
    const read = vmPagerGetPages(vm, obj, run, 0);
    let woke = false;
    const sleeper = vmPageBusySleep(vm, run[1] as VmPage).then(() => {
      woke = true;
    });
    expect(vm.atRest().join()).toMatch(/busy/);
    await new Promise((r) => setTimeout(r, 20));
    expect(woke).toBe(false);
    clock.advance(5 + 1); // 5 ms latency + 8192 B / 4.096 MB/s = 2 ms: not yet
    await new Promise((r) => setTimeout(r, 20));
    expect(woke).toBe(false);
    clock.advance(1);
    await read;
    await sleeper;
    expect(woke).toBe(true);
    expect(Buffer.from(vm.pageBytes(run[1] as VmPage)).equals(filePage(1))).toBe(true);
    expect(vm.atRest()).toEqual([]);
    await vmObjectClose(vm, obj);
  });
});

describe('scattered frames', () => {
  it('reads a run of more than IOV_MAX scattered pages correctly', async () => {
    const pages = 1100;
    const big = fileBytes(pages * PAGE_SIZE, 21);
    const p = await tmp.file('big.bin', big);
    const vm = makeVm(2 * pages + 8, { freeTargetPages: 1 });
    const obj = await vmObjectOpen(vm, p);
    // Take every frame, then give back every other one: no two free frames are adjacent.
    const filler = allocRun(vm, obj, 100_000, vm.pageCount);
    filler.forEach((m, i) => {
      if (i % 2 === 0) vm.vmPageXunbusy(m); // invalid and unwired: freed
    });
    const again = allocRun(vm, obj, 0, pages);
    expect(
      again.filter((m, i) => i > 0 && m.physIndex === (again[i - 1] as VmPage).physIndex + 1).length,
    ).toBe(0);
    await vmPagerGetPages(vm, obj, again, 0);
    filler.forEach((m, i) => {
      if (i % 2 === 1) vm.vmPageXunbusy(m);
    });
    for (const m of again) {
      expect(
        Buffer.from(vm.pageBytes(m)).equals(big.subarray(m.pindex * PAGE_SIZE, (m.pindex + 1) * PAGE_SIZE)),
      ).toBe(true);
    }
    await vmObjectClose(vm, obj);
  });
});

describe('pager failure', () => {
  it('EIO leaves every page unbusied and invalid: unwired ones and read-ahead freed', async () => {
    let fail = true;
    const vm = makeVm(32, { pagerFault: () => fail });
    const obj = await vmObjectOpen(vm, path);
    const run = allocRun(vm, obj, 3, 3);
    vm.vmPageWire(run[0] as VmPage);
    let sleeperWoke = false;
    const sleeper = vmPageBusySleep(vm, run[2] as VmPage).then(() => {
      sleeperWoke = true;
    });
    await expect(vmPagerGetPages(vm, obj, run, 4)).rejects.toMatchObject({ code: 'EIO' });
    await sleeper;
    expect(sleeperWoke).toBe(true);
    for (const m of vm.pages) expect(m.busy).toBe(false);
    for (const m of vm.pages) if (m.object) expect(m.valid).toBe(false);
    const held = run[0] as VmPage;
    expect(held.wireCount).toBe(1);
    expect(vm.vmPageLookup(obj, 3)).toBe(held);
    for (let p = 4; p <= 10; p++) expect(vm.vmPageLookup(obj, p)).toBeNull();
    expect(vm.stats.v_free_count).toBe(31);
    vm.vmPageUnwire(held, PQ_INACTIVE); // invalid: the head of the inactive queue
    expect(vm.inactive.head).toBe(held);
    expect(vm.atRest()).toEqual([]);
    // The next read of the same page works.
    fail = false;
    const again = vm.vmPageLookup(obj, 3) as VmPage;
    vm.vmPageFree(again);
    await vmPagerGetPages(vm, obj, allocRun(vm, obj, 3, 1), 0);
    expect(Buffer.from(vm.pageBytes(vm.vmPageLookup(obj, 3) as VmPage)).equals(filePage(3))).toBe(true);
    await vmObjectClose(vm, obj);
  });

  it('a short read (the file shrank under the pager) is EIO too', async () => {
    const p = await tmp.file('shrinks.bin', fileBytes(8 * PAGE_SIZE, 3));
    const vm = makeVm(32);
    const obj = await vmObjectOpen(vm, p);
    await writeFile(p, fileBytes(PAGE_SIZE, 3));
    await expect(vmPagerGetPages(vm, obj, allocRun(vm, obj, 4, 2), 0)).rejects.toMatchObject({ code: 'EIO' });
    expect(vm.stats.v_free_count).toBe(32);
    expect(vm.atRest()).toEqual([]);
    await vmObjectClose(vm, obj);
  });
  it('a whole read of a file found shorter after it is EIO (a truncation raced the read)', async () => {
    // A host truncation of a large folio zeroes what a racing read copies, and the read's count
    // stays whole: the pager cannot trust those bytes and must not hand out zeros as data.
    const p = await tmp.file('raced.bin', fileBytes(8 * PAGE_SIZE, 4));
    const vm = makeVm(32);
    const obj = await vmObjectOpen(vm, p);
    const fh = obj.fh as FileHandle;
    const readv = fh.readv.bind(fh);
    fh.readv = (async (buffers: NodeJS.ArrayBufferView[], position?: number) => {
      const r = await readv(buffers, position);
      truncateSync(p, 2 * PAGE_SIZE);
      return r;
    }) as typeof fh.readv;
    const [m, n] = allocRun(vm, obj, 4, 2) as [VmPage, VmPage];
    vm.vmPageWire(m);
    await expect(vmPagerGetPages(vm, obj, [m, n], 0)).rejects.toMatchObject({ code: 'EIO' });
    expect(m.valid || m.busy).toBe(false);
    expect(n.queue).toBe(PQ_FREE);
    vm.vmPageUnwire(m, PQ_INACTIVE);
    expect(vm.atRest()).toEqual([]);
    await vmObjectClose(vm, obj);
  });
});

describe('reads in flight', () => {
  it('re-reads an invalid page in place after vmPageTryXbusy', async () => {
    let fail = true;
    const vm = makeVm(16, { pagerFault: () => fail });
    const obj = await vmObjectOpen(vm, path);
    const [m] = allocRun(vm, obj, 9, 1) as [VmPage];
    vm.vmPageWire(m);
    await expect(vmPagerGetPages(vm, obj, [m], 0)).rejects.toMatchObject({ code: 'EIO' });
    fail = false;
    expect(vm.vmPageTryXbusy(m)).toBe(true);
    expect(vm.vmPageTryXbusy(m)).toBe(false);
    await vmPagerGetPages(vm, obj, [m], 0);
    expect(m.valid && !m.busy).toBe(true);
    expect(Buffer.from(vm.pageBytes(m)).equals(filePage(9))).toBe(true);
    vm.vmPageUnwire(m, PQ_INACTIVE);
    expect(vm.atRest()).toEqual([]);
    await vmObjectClose(vm, obj);
  });

  it('close waits for the reads in flight before closing the file', async () => {
    const clock = new ManualClock();
    const vm = makeVm(16, { clock, diskLatencyMs: 10 });
    const obj = await vmObjectOpen(vm, path);
    const read = vmPagerGetPages(vm, obj, allocRun(vm, obj, 0, 2), 0);
    let closed = false;
    const close = vmObjectClose(vm, obj).then(() => {
      closed = true;
    });
    await new Promise((r) => setTimeout(r, 10));
    expect(closed).toBe(false);
    expect(obj.fh).not.toBeNull();
    expect(vm.atRest().join()).toMatch(/in flight/);
    clock.advance(10);
    await read;
    await close;
    expect(obj.fh).toBeNull();
    expect(vm.vmPageLookup(obj, 1)?.valid).toBe(true);
    expect(vm.atRest()).toEqual([]);
  });

  it('a file that shrank during a read: EIO, its pages detached and freed when no longer held', async () => {
    const p = await tmp.file('moving.bin', fileBytes(4 * PAGE_SIZE, 9));
    const clock = new ManualClock();
    const vm = makeVm(16, { clock, diskLatencyMs: 10 });
    const obj = await vmObjectOpen(vm, p);
    const [a, b] = allocRun(vm, obj, 0, 2) as [VmPage, VmPage];
    vm.vmPageWire(a);
    const read = vmPagerGetPages(vm, obj, [a, b], 2);
    await writeFile(p, fileBytes(3 * PAGE_SIZE, 10));
    await vmObjectRevalidate(vm, obj);
    expect(obj.generation).toBe(1);
    expect(obj.pages.size).toBe(0);
    expect(a.object).toBeNull();
    expect(a.busy && b.busy).toBe(true);
    clock.advance(10);
    // The bytes past the new end are no file's: a holder of these pages (a sendfile under way)
    // must fail rather than send zeros.
    await expect(read).rejects.toMatchObject({ code: 'EIO' });
    expect(b.queue).toBe(PQ_FREE);
    expect(a.wireCount).toBe(1);
    expect(a.object).toBeNull();
    expect(a.valid).toBe(false);
    vm.vmPageUnwire(a, PQ_INACTIVE);
    expect(vm.stats.v_free_count).toBe(16);
    expect(vm.atRest()).toEqual([]);
    await vmObjectClose(vm, obj);
  });

  it('a file rewritten whole during a read: the read completes with what the file held', async () => {
    const p = await tmp.file('rewritten.bin', fileBytes(4 * PAGE_SIZE, 9));
    const clock = new ManualClock();
    const vm = makeVm(16, { clock, diskLatencyMs: 10 });
    const obj = await vmObjectOpen(vm, p);
    const [a, b] = allocRun(vm, obj, 0, 2) as [VmPage, VmPage];
    vm.vmPageWire(a);
    const read = vmPagerGetPages(vm, obj, [a, b], 0);
    await writeFile(p, fileBytes(4 * PAGE_SIZE, 10));
    await vmObjectRevalidate(vm, obj);
    clock.advance(10);
    await read;
    expect(a.valid && !a.busy && a.object === null).toBe(true);
    expect(Buffer.from(vm.pageBytes(a)).equals(fileBytes(4 * PAGE_SIZE, 10).subarray(0, PAGE_SIZE))).toBe(
      true,
    );
    expect(b.queue).toBe(PQ_FREE);
    vm.vmPageUnwire(a, PQ_INACTIVE);
    expect(vm.atRest()).toEqual([]);
    await vmObjectClose(vm, obj);
  });
});

describe('buffer cache objects', () => {
  it('invalidates on a size or mtime change: unwired pages freed, wired ones detached', async () => {
    const p = await tmp.file('changes.bin', fileBytes(6 * PAGE_SIZE, 5));
    const vm = makeVm(32);
    const obj = await vmObjectOpen(vm, p);
    const run = allocRun(vm, obj, 0, 6);
    await vmPagerGetPages(vm, obj, run, 0);
    const wired = run[1] as VmPage;
    vm.vmPageWire(wired);
    await vmObjectRevalidate(vm, obj); // unchanged: nothing happens
    expect(obj.pages.size).toBe(6);
    const st = await stat(p);
    await utimes(p, st.atime, new Date(st.mtimeMs + 5000));
    await vmObjectRevalidate(vm, obj);
    expect(obj.generation).toBe(1);
    expect(obj.pages.size).toBe(0);
    expect(vm.stats.invalidations).toBe(6);
    expect(wired.object).toBeNull();
    expect(wired.wireCount).toBe(1);
    expect(vm.stats.v_free_count).toBe(31);
    expect(vm.vmPageUnwire(wired, PQ_INACTIVE)).toBe(true); // object gone: freed
    expect(vm.stats.v_free_count).toBe(32);
    // A shrink: pages past the new end (and all others) are dropped; new reads see new bytes.
    await vmPagerGetPages(vm, obj, allocRun(vm, obj, 0, 4), 0);
    const smaller = fileBytes(PAGE_SIZE + 10, 6);
    await writeFile(p, smaller);
    await vmObjectRevalidate(vm, obj);
    expect(obj.sizeBytes).toBe(PAGE_SIZE + 10);
    expect(obj.pages.size).toBe(0);
    const [m0, m1] = allocRun(vm, obj, 0, 2) as [VmPage, VmPage];
    expect(await vmPagerGetPages(vm, obj, [m0], 4)).toBe(0);
    await vmPagerGetPages(vm, obj, [m1], 0);
    expect(Buffer.from(vm.pageBytes(m0)).equals(smaller.subarray(0, PAGE_SIZE))).toBe(true);
    expect(vm.pageBytes(m1).subarray(0, 10)).toEqual(smaller.subarray(PAGE_SIZE));
    expect(
      vm
        .pageBytes(m1)
        .subarray(10)
        .every((b) => b === 0),
    ).toBe(true);
    expect(obj.generation).toBe(2);
    await vmObjectClose(vm, obj);
  });

  it('shares one object per file; pages stay cached across close and reopen', async () => {
    const vm = makeVm(32);
    const a = await vmObjectOpen(vm, path);
    const b = await vmObjectOpen(vm, join(tmp.dir, '.', 'data.bin'));
    expect(b).toBe(a);
    expect(a.ref_count).toBe(2);
    await vmPagerGetPages(vm, a, allocRun(vm, a, 0, 2), 0);
    await vmObjectClose(vm, a);
    await vmObjectClose(vm, b);
    expect(a.fh).toBeNull();
    const c = await vmObjectOpen(vm, path);
    expect(c).toBe(a);
    expect(vm.vmPageLookup(c, 1)?.valid).toBe(true);
    await vmObjectClose(vm, c);
    vmPageoutScan(vm, vm.pageCount); // the last pages go: the object leaves the registry
    const d = await vmObjectOpen(vm, path);
    expect(d).not.toBe(a);
    await vmObjectClose(vm, d);
  });

  it('reports ENOENT, EISDIR and EINVAL as SysError codes', async () => {
    const vm = makeVm(8);
    await expect(vmObjectOpen(vm, join(tmp.dir, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(vmObjectOpen(vm, join(tmp.dir, 'data.bin', 'x'))).rejects.toMatchObject({ code: 'ENOENT' });
    await mkdir(join(tmp.dir, 'sub'));
    await expect(vmObjectOpen(vm, join(tmp.dir, 'sub'))).rejects.toMatchObject({ code: 'EISDIR' });
    await expect(vmObjectOpen(vm, '/dev/null')).rejects.toMatchObject({ code: 'EINVAL' });
    expect(vm.objects.size).toBe(0);
  });
});
