// Goal: sendfile(2) under pressure, over real TCP: a KVA pool of 4 sf_bufs serving 32 concurrent
// sends completes without deadlock (senders sleep for sf_bufs: sf_allocwait > 0); a file four
// times larger than physical memory streams intact while the page daemon evicts; a 64 MiB file
// goes through every mapping mode and the copy path intact.
// Method: concurrent loopback connections, each receiver hashing what it gets; afterwards the
// kernel must be at rest. The big transfers run without the O(n) debug checks (they would check
// thousands of pages after every page operation), which the smaller tests already cover.
import { afterAll, describe, expect, it } from 'vitest';
import { createKernel, type Kernel, type SendfileMapping } from '../../src/index.js';
import { finish, loopback, recordingTransport, sliceHash, testFile } from './helpers.js';

const MiB = 1024 * 1024;
const kernels: Kernel[] = [];
afterAll(async () => {
  for (const k of kernels) await k.destroy();
});

describe('sendfile under pressure', () => {
  it('a KVA pool of 4 sf_bufs serves 32 concurrent sends without deadlock', async () => {
    const k = createKernel({
      mapping: 'kva',
      nsfbufs: 4,
      physmemBytes: 16 * MiB,
      cpuCount: 4,
      cpuMigratePct: 20,
    });
    kernels.push(k);
    const size = 256 * 1024 + 77;
    const path = await testFile(size, 8);
    const want = await sliceHash(path, 0, size);
    const file = await k.open(path);
    const conns = await Promise.all(Array.from({ length: 32 }, () => loopback()));
    const sockets = conns.map((lb) => k.socket(lb.client));
    const sent = await Promise.all(sockets.map((so) => k.sendfile(file, so, 0, 0)));
    expect(sent.every((n) => n === size)).toBe(true);
    const got = await Promise.all(conns.map((lb) => finish(k, lb)));
    for (const g of got) expect(g.sha256).toBe(want);
    const s = k.stats();
    expect(s.sfbuf.sf_allocwait).toBeGreaterThan(0);
    expect(s.sendfile.sf_allocwait).toBe(s.sfbuf.sf_allocwait);
    expect(s.sfbuf.nsfbufspeak).toBe(4);
    expect(s.sfbuf.nsfbufsused).toBe(0);
    // Connections moved between CPUs: mappings had to be made valid on more than one.
    expect(s.sfbuf.invlpg_local + s.sfbuf.ipis).toBeGreaterThan(0);
    for (const so of sockets) k.soclose(so);
    await Promise.all(conns.map((lb) => lb.close()));
  });

  it('a file four times larger than physical memory streams intact while pages are evicted', async () => {
    const k = createKernel({ physmemBytes: 16 * MiB, invariants: false, sndbufBytes: 256 * 1024 });
    kernels.push(k);
    const path = await testFile(64 * MiB);
    const file = await k.open(path);
    const lb = await loopback();
    const so = k.socket(lb.client);
    expect(await k.sendfile(file, so, 0, 0)).toBe(64 * MiB);
    const got = await finish(k, lb);
    expect(got.sha256).toBe(await sliceHash(path, 0, 64 * MiB));
    expect(k.vm.stats.evictions).toBeGreaterThan(0);
    k.soclose(so);
    await lb.close();
  });
});

describe('64 MiB, every path', () => {
  const modes: (SendfileMapping | 'copy')[] = ['dmap', 'kva', 'extpg', 'copy'];
  it.each(modes)('%s', async (mode) => {
    const k = createKernel({
      physmemBytes: 80 * MiB,
      mapping: mode === 'copy' ? 'dmap' : mode,
      invariants: false,
      sndbufBytes: 256 * 1024,
    });
    const path = await testFile(64 * MiB);
    const file = await k.open(path);
    const lb = await loopback();
    const { transport, record } = recordingTransport(lb.client, k.vm.physmem);
    const so = k.socket(transport);
    const offset = 12_345;
    const nbytes = 64 * MiB - 2 * offset;
    const n =
      mode === 'copy'
        ? await k.copyfile(file, so, offset, nbytes)
        : await k.sendfile(file, so, offset, nbytes);
    expect(n).toBe(nbytes);
    const got = await finish(k, lb);
    expect(got.sha256).toBe(await sliceHash(path, offset, nbytes));
    const s = k.stats();
    if (mode === 'copy') {
      expect(s.copy).toEqual({ copy_bytes_out: nbytes, copy_bytes_in: nbytes });
    } else {
      expect(s.copy).toEqual({ copy_bytes_out: 0, copy_bytes_in: 0 });
      expect(record.foreignBytes).toBe(0);
    }
    k.soclose(so);
    await k.destroy();
    await lb.close();
  });
});
