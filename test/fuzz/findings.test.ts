// Goal: each thing the API fuzzer found, pinned as a regression test: the call gives a SysError
// (never a KernelAssertionError) and the kernel stays usable and comes to rest.
import { describe, expect, it } from 'vitest';
import { createKernel, type SysError } from '../../src/index.js';
import { MemoryTransport } from '../../src/net/index.js';
import { errnoOf as errno, testFile } from '../e2e/helpers.js';

describe('API fuzzer findings', () => {
  it('socket() with a CPU out of range or NaN: EINVAL', () => {
    const k = createKernel({ physmemBytes: 1 << 20, cpuCount: 2 });
    expect(errno(() => k.socket(new MemoryTransport(), { cpu: 7 }))).toBe('EINVAL');
    expect(errno(() => k.socket(new MemoryTransport(), { cpu: Number.NaN }))).toBe('EINVAL');
    expect(errno(() => k.socket(new MemoryTransport(), { cpu: -1 }))).toBe('EINVAL');
    expect(k.atRest().leaks).toEqual([]);
  });

  it('socket() with a send buffer of -1, 0 or NaN: EINVAL; above sb_max: ENOBUFS', () => {
    const k = createKernel({ physmemBytes: 1 << 20 });
    for (const sndbufBytes of [-1, 0, Number.NaN, 1.5]) {
      expect(errno(() => k.socket(new MemoryTransport(), { sndbufBytes }))).toBe('EINVAL');
    }
    expect(errno(() => k.socket(new MemoryTransport(), { sndbufBytes: 2 ** 40 }))).toBe('ENOBUFS');
    expect(k.atRest().leaks).toEqual([]);
  });

  it.each(['dmap', 'extpg'] as const)(
    'sendfile whose header took the last mbufs does not sleep for a page mbuf holding them (%s)',
    async (mapping) => {
      const k = createKernel({ mapping, physmemBytes: 1 << 20, nmbufs: 2, nmbclusters: 2 });
      const file = await k.open(await testFile(8192, 97));
      const so = k.socket(new MemoryTransport());
      let err: SysError | null = null;
      try {
        await k.sendfile(file, so, 0, 0, { headers: [new Uint8Array(4096)] });
      } catch (e) {
        err = e as SysError;
      }
      // Headers queued, no mbuf for the first page without sleeping: ENOBUFS, as for an sf_buf.
      expect(err?.code).toBe('ENOBUFS');
      expect(err?.sbytes).toBe(4096);
      expect(k.stats().vm.v_wire_count).toBe(0);
      await k.destroy();
      expect(k.atRest().leaks).toEqual([]);
    },
  );
});
