// Goal: sf_buf works over the real Vm: a mapped file page's bytes are the file's bytes, seen
// through a view of the Vm's physmem, in both the direct map and the KVA pool.
// Method: page a small temporary file into a real Vm, wire its pages, map them with each kind of
// sf_buf map, compare bytes, then unmap, unwire and close, and check both rooms are at rest.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, PAGE_SIZE } from '../../src/kern/index.js';
import { createSfBufMap, SFB_CATCH, type SfBuf, type SfBufVm } from '../../src/sfbuf/index.js';
import {
  PQ_INACTIVE,
  Vm,
  type VmPage,
  vmObjectClose,
  vmObjectOpen,
  vmPagerGetPages,
} from '../../src/vm/index.js';
import { tempDir } from '../support/tmp.js';

let dir = '';
let path = '';
const content = new Uint8Array(3 * PAGE_SIZE).map((_, i) => (i * 7 + (i >> 12)) & 0xff);

beforeAll(async () => {
  dir = tempDir('zcsim-sfbuf');
  path = join(dir, 'file.bin');
  await writeFile(path, content);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.each(['dmap', 'kva'] as const)('sf_buf over the real Vm (%s)', (kind) => {
  it('maps wired file pages whose bytes are the file bytes, as views of physmem', async () => {
    const vm = new Vm({
      physmemBytes: 64 * PAGE_SIZE,
      invariants: true,
      clock: new ManualClock(),
      kernelId: 3,
    });
    const narrow: SfBufVm = vm;
    const map = createSfBufMap(narrow, { kind, nsfbufs: 2, cpuCount: 2, invariants: true, kernelId: 3 });
    const obj = await vmObjectOpen(vm, path);
    const run: VmPage[] = [0, 1, 2].map((p) => vm.vmPageAlloc(obj, p)!);
    await vmPagerGetPages(vm, obj, run, 0);
    for (const m of run) vm.vmPageWire(m);
    const sfs: SfBuf[] = [];
    for (const [i, m] of run.slice(0, 2).entries()) {
      const sf = map.sfBufAlloc(m, SFB_CATCH, i) as SfBuf;
      const bytes = map.sfBufBytes(sf);
      expect(map.sfBufPage(sf)).toBe(m);
      expect(bytes.buffer).toBe(vm.physmem);
      expect(bytes.byteOffset).toBe(m.physAddr);
      expect(
        Buffer.from(bytes).equals(Buffer.from(content.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE))),
      ).toBe(true);
      sfs.push(sf);
    }
    for (const sf of sfs) map.sfBufFree(sf);
    for (const m of run) vm.vmPageUnwire(m, PQ_INACTIVE);
    await vmObjectClose(vm, obj);
    expect(map.atRest()).toEqual([]);
    expect(vm.atRest()).toEqual([]);
  });
});
