// A stand-in for the Vm room in sfbuf tests: wired VmPages over one ArrayBuffer of physical
// memory, with pageBytes returning a view (the only parts of Vm that sf_buf uses).
import { PAGE_SIZE } from '../../src/kern/index.js';
import type { SfBufVm } from '../../src/sfbuf/index.js';
import { VmPage } from '../../src/vm/index.js';

export interface FakeVm extends SfBufVm {
  readonly pages: readonly VmPage[];
}

export function fakeVm(pageCount: number): FakeVm {
  const physmem = new ArrayBuffer(pageCount * PAGE_SIZE);
  const pages = Array.from({ length: pageCount }, (_, i) => {
    const m = new VmPage(i);
    m.wireCount = 1;
    return m;
  });
  return { physmem, pages, pageBytes: (m) => new Uint8Array(physmem, m.physAddr, PAGE_SIZE) };
}
