// Goal: every sleep of a send ends when its caller's connection closes, the zone sleeps included:
// a write(2) or sendfile(2) asleep on a dry mbuf or cluster zone gives EINTR when its signal
// aborts, frees what it held, and leaves no sleeper behind.
// Method: a kernel with a tiny cluster or mbuf zone; one socket over a MemoryTransport that never
// completes its writes holds every item; a second socket's call sleeps on the zone, its signal
// aborts, then the first socket drains and the kernel must be at rest.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createKernel } from '../../src/index.js';
import { MemoryTransport } from '../../src/net/index.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';

const dir = tempDir('zcsim-zonesleep');
const file = join(dir, 'f.bin');
writeFileSync(file, Buffer.alloc(256 * 1024, 3));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('zone sleeps end when the connection closes', () => {
  it('write(2) asleep on the cluster zone: EINTR, nothing held', async () => {
    const k = createKernel({ physmemBytes: 4 * 1024 * 1024, nmbclusters: 8, invariants: true });
    const hog = new MemoryTransport();
    const so1 = k.socket(hog, { sndbufBytes: 64 * 1024 });
    // 8 clusters taken and never freed (the transport never calls back).
    await k.write(so1, Buffer.alloc(16 * 1024, 1));
    expect(k.mbufs.clusterZone.current).toBe(8);
    const so2 = k.socket(new MemoryTransport({ autoDrain: true }));
    const ac = new AbortController();
    const w = k.write(so2, Buffer.alloc(4096, 2), ac.signal);
    await waitFor(() => k.mbufs.clusterZone.sleepers === 1, 'the writer to sleep on the cluster zone');
    ac.abort();
    await expect(w).rejects.toMatchObject({ code: 'EINTR' });
    expect(k.mbufs.clusterZone.sleepers).toBe(0);
    hog.drain();
    k.soclose(so1);
    k.soclose(so2);
    expect(k.atRest().leaks).toEqual([]);
    await k.destroy();
  });

  it('sendfile(2) asleep on the mbuf zone (its header: EINTR, then its first page mbuf: ENOBUFS), nothing held', async () => {
    // An M_EXTPG mbuf carries several pages: fewer mbufs run that zone dry.
    for (const [mapping, nmbufs] of [
      ['dmap', 16],
      ['extpg', 4],
    ] as const) {
      const k = createKernel({ physmemBytes: 4 * 1024 * 1024, mapping, nmbufs, invariants: true });
      const f = await k.open(file);
      const hog = new MemoryTransport();
      const so1 = k.socket(hog, { sndbufBytes: 1024 * 1024 });
      // The hog's writes never complete: it takes every mbuf, then sleeps for more.
      const ac1 = new AbortController();
      const s1 = k.sendfile(f, so1, 0, 0, { signal: ac1.signal });
      await waitFor(
        () => k.mbufs.mbufZone.current >= nmbufs && k.mbufs.mbufZone.sleepers === 1,
        'the mbuf zone dry and one sleeper',
      );
      const so2 = k.socket(new MemoryTransport({ autoDrain: true }));
      for (const headers of [[Buffer.from('HTTP/1.1 200 OK\r\n\r\n')], []]) {
        const ac = new AbortController();
        const s = k.sendfile(f, so2, 0, 8192, { headers, signal: ac.signal });
        await waitFor(() => k.mbufs.mbufZone.sleepers === 2, 'a second sleeper on the mbuf zone');
        ac.abort();
        // The header's copy is write(2)'s (EINTR); an interrupted first page mbuf is a buffer
        // sendfile could not get (ENOBUFS, as for its first sf_buf).
        await expect(s).rejects.toMatchObject({ code: headers.length > 0 ? 'EINTR' : 'ENOBUFS' });
        expect(k.mbufs.mbufZone.sleepers).toBe(1);
      }
      ac1.abort();
      // The hog slept for the first page mbuf of its next chunk.
      await expect(s1).rejects.toMatchObject({ code: 'ENOBUFS' });
      expect(k.mbufs.mbufZone.sleepers).toBe(0);
      hog.drain();
      k.soclose(so1);
      k.soclose(so2);
      await k.close(f);
      expect(k.atRest().leaks, mapping).toEqual([]);
      await k.destroy();
    }
  });
});
