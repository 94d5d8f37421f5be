// Goal: the library never sleeps for something that can never come, and a destroyed kernel
// refuses every call. Method: send buffers larger than a small kernel's memory, asked for
// directly (SO_SNDBUF) or grown by autosizing while a file larger than memory is sent (the send
// must finish; the guard signal only bounds a failure); then every system call after destroy().
import { describe, expect, it } from 'vitest';
import { createKernel, type Kernel } from '../../src/index.js';
import { MemoryTransport } from '../../src/net/index.js';
import { errnoOf, errnoOfAsync, testFile } from './helpers.js';

const KiB = 1024;
const MiB = 1024 * KiB;

describe('a send buffer the kernel can never fill', () => {
  it.each([128 * KiB, 256 * KiB])(
    'SO_SNDBUF above what %i bytes of memory can back: ENOBUFS',
    (physmemBytes) => {
      const k = createKernel({ physmemBytes });
      expect(errnoOf(() => k.socket(new MemoryTransport(), { sndbufBytes: MiB }))).toBe('ENOBUFS');
      expect(errnoOf(() => k.socket(new MemoryTransport(), { sndbufBytes: physmemBytes }))).toBe('ENOBUFS');
      // Half of memory is the most a socket may reserve (as the config's own default is clamped).
      const so = k.socket(new MemoryTransport(), { sndbufBytes: physmemBytes / 2 });
      expect(so.so_snd.sb_hiwat).toBe(physmemBytes / 2);
      expect(errnoOf(() => k.sockets.sbsetoptSndbuf(so, physmemBytes))).toBe('ENOBUFS');
      expect(so.so_snd.sb_hiwat).toBe(physmemBytes / 2);
      k.soclose(so);
      expect(k.atRest().leaks).toEqual([]);
    },
  );

  it.each([128 * KiB, 256 * KiB])(
    'autosizing on a %i-byte kernel stops below memory and the send finishes',
    async (physmemBytes) => {
      const k = createKernel({ physmemBytes, sndbufAutosize: true, sndbufBytes: 16 * KiB });
      const size = 2 * MiB;
      const file = await k.open(await testFile(size, 61));
      const so = k.socket(new MemoryTransport({ autoDrain: true }));
      const guard = AbortSignal.timeout(20_000);
      const sent = await k.sendfile(file, so, 0, 0, { signal: guard });
      expect(sent).toBe(size);
      expect(so.so_snd.sb_hiwat).toBeLessThanOrEqual(physmemBytes / 2);
      await k.sodrain(so, guard);
      await k.destroy();
      expect(k.atRest().leaks).toEqual([]);
    },
  );
});

describe('after destroy()', () => {
  async function destroyed(): Promise<{ k: Kernel; path: string }> {
    const k = createKernel({ physmemBytes: MiB });
    const path = await testFile(8192, 62);
    await k.destroy();
    return { k, path };
  }

  it('every system call fails with EBADF', async () => {
    const { k, path } = await destroyed();
    expect(await errnoOfAsync(() => k.open(path))).toBe('EBADF');
    expect(errnoOf(() => k.socket(new MemoryTransport()))).toBe('EBADF');
    expect(k.atRest().leaks).toEqual([]);
  });

  it('calls on what was open before fail with EBADF too', async () => {
    const k = createKernel({ physmemBytes: MiB });
    const file = await k.open(await testFile(8192, 63));
    const so = k.socket(new MemoryTransport({ autoDrain: true }));
    await k.destroy();
    const buf = new Uint8Array(4096);
    expect(await errnoOfAsync(() => k.write(so, buf))).toBe('EBADF');
    expect(await errnoOfAsync(() => k.sendfile(file, so, 0, 0))).toBe('EBADF');
    expect(await errnoOfAsync(() => k.copyfile(file, so, 0, 0))).toBe('EBADF');
    expect(await errnoOfAsync(() => k.read(file, 0, buf))).toBe('EBADF');
    expect(await errnoOfAsync(() => k.fstat(file))).toBe('EBADF');
    expect(await errnoOfAsync(() => k.sendRecord(so, buf))).toBe('EBADF');
    expect(k.atRest().leaks).toEqual([]);
  });

  it('destroy() twice is harmless', async () => {
    const { k } = await destroyed();
    await k.destroy();
    expect(k.atRest().leaks).toEqual([]);
  });
});
