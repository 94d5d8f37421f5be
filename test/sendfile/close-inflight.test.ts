// Goal: closing a file (or destroying the kernel) while a sendfile or copyfile on it is in flight
// never reaches a KASSERT: the call holds its own references (fget_read, vm_object_reference in
// sendfile_getobj), finishes with the bytes or a SysError, and the kernel comes to rest.
// Method: a cold file on a simulated slow disk, so the call is inside a page-in when close()
// runs; each mapping mode; the receiver drains by itself.
import { describe, expect, it } from 'vitest';
import { createKernel, isSysError, type Kernel, type SendfileMapping } from '../../src/index.js';
import { MemoryTransport } from '../../src/net/index.js';
import { testFile } from '../e2e/helpers.js';
import { atRestSoon as kernelAtRestSoon } from '../support/wait.js';

const MAPPINGS: readonly SendfileMapping[] = ['dmap', 'kva', 'extpg'];
const SIZE = 256 * 1024;

async function atRestSoon(k: Kernel): Promise<void> {
  expect((await kernelAtRestSoon(() => k.atRest())).leaks).toEqual([]);
}

/** Whether `p` settles with a number or a SysError (never a KernelAssertionError). */
async function outcome(p: Promise<number>): Promise<number | string> {
  try {
    return await p;
  } catch (e) {
    if (isSysError(e)) return e.code;
    throw e;
  }
}

describe.each(MAPPINGS)('close while a call is in flight (%s)', (mapping) => {
  const boot = () => createKernel({ mapping, physmemBytes: 4 * 1024 * 1024, nsfbufs: 16, diskLatencyMs: 5 });

  it('sendfile: close(fd) during the page-in; the call sends the whole file', async () => {
    const k = boot();
    const file = await k.open(await testFile(SIZE, 71));
    const so = k.socket(new MemoryTransport({ autoDrain: true }));
    const p = k.sendfile(file, so, 0, 0);
    await k.close(file);
    expect(await outcome(p)).toBe(SIZE);
    await k.sodrain(so);
    k.soclose(so);
    await atRestSoon(k);
  });

  it('copyfile: close(fd) during the read; the call copies the whole file', async () => {
    const k = boot();
    const file = await k.open(await testFile(SIZE, 72));
    const so = k.socket(new MemoryTransport({ autoDrain: true }));
    const p = k.copyfile(file, so, 0, 0);
    await k.close(file);
    expect(await outcome(p)).toBe(SIZE);
    await k.sodrain(so);
    k.soclose(so);
    await atRestSoon(k);
  });

  it('destroy() during a copyfile and a sendfile: clean SysErrors or full counts', async () => {
    const k = boot();
    const a = await k.open(await testFile(SIZE, 73));
    const b = await k.open(await testFile(SIZE, 74));
    const soA = k.socket(new MemoryTransport({ autoDrain: true }));
    const soB = k.socket(new MemoryTransport({ autoDrain: true }));
    const pA = outcome(k.copyfile(a, soA, 0, 0));
    const pB = outcome(k.sendfile(b, soB, 0, 0));
    await k.destroy();
    for (const r of [await pA, await pB])
      expect(typeof r === 'number' ? r : ['EPIPE', 'EBADF', 'ECONNRESET']).toContain(r);
    await atRestSoon(k);
  });
});
