// Goal: a send whose connection is dropped while it sleeps inside a chunk leaks nothing: the
// header mbufs it built are freed, its not-ready page mbufs are freed when their read completes,
// and the call reports ECONNRESET with sbytes 0; a later call on the socket gives EPIPE.
// Method: a KVA pool of one sf_buf held by another connection's unsent page makes the sender
// sleep in sf_buf_alloc with a page-in in flight (simulated disk latency); the peer resets; then
// the other connection drains, the sf_buf is freed and the sleeper wakes to a dropped socket.
import { describe, expect, it } from 'vitest';
import { assertAtRest, createKernel, type SysError } from '../../src/index.js';
import { MemoryTransport } from '../../src/net/index.js';
import { testFile } from '../e2e/helpers.js';
import { waitFor } from '../support/wait.js';

describe('a connection dropped under a sleeping sendfile', () => {
  it('frees the headers and the not-ready pages, and reports ECONNRESET', async () => {
    const k = createKernel({ mapping: 'kva', nsfbufs: 1, physmemBytes: 4 * 1024 * 1024, diskLatencyMs: 20 });
    const fileA = await k.open(await testFile(4096, 21));
    const fileB = await k.open(await testFile(3 * 4096, 22));
    const tA = new MemoryTransport();
    const tB = new MemoryTransport();
    const soA = k.socket(tA);
    const soB = k.socket(tB);
    expect(await k.sendfile(fileA, soA, 0, 0)).toBe(4096);
    expect(k.sfbufs.counters().nsfbufsused).toBe(1);
    let errB: SysError | null = null;
    const pB = k
      .sendfile(fileB, soB, 0, 0, { headers: [new TextEncoder().encode('hdr')] })
      .catch((e: SysError) => {
        errB = e;
      });
    await waitFor(() => k.sfbufs.sleepers === 1, 'B to sleep for an sf_buf');
    tB.fail('ECONNRESET');
    await waitFor(() => soB.dropped, 'B to be dropped');
    await waitFor(() => tA.pendingWrites > 0, "A's page to be read");
    tA.drain();
    await pB;
    expect(errB).not.toBeNull();
    const err = errB as unknown as SysError;
    expect(err.code).toBe('ECONNRESET');
    expect(err.sbytes).toBe(0);
    await waitFor(() => k.atRest().atRest, 'rest');
    assertAtRest(k);
    const s = k.stats().sendfile;
    expect(s.sf_allocwait).toBeGreaterThan(0);
    let again: SysError | null = null;
    try {
      await k.sendfile(fileB, soB, 0, 0);
    } catch (e) {
      again = e as SysError;
    }
    expect(again?.code).toBe('EPIPE');
    await k.destroy();
  });

  it('an aborted signal during the sleep for an sf_buf ends the call with ENOBUFS after the header', async () => {
    const k = createKernel({ mapping: 'kva', nsfbufs: 1, physmemBytes: 4 * 1024 * 1024 });
    const fileA = await k.open(await testFile(4096, 21));
    const fileB = await k.open(await testFile(3 * 4096, 22));
    const tA = new MemoryTransport();
    const tB = new MemoryTransport({ autoDrain: true });
    const soA = k.socket(tA);
    const soB = k.socket(tB);
    await k.sendfile(fileA, soA, 0, 0);
    await waitFor(() => tA.pendingWrites > 0, "A's page to be queued");
    const ac = new AbortController();
    const hdr = new TextEncoder().encode('header');
    let errB: SysError | null = null;
    const pB = k.sendfile(fileB, soB, 0, 0, { headers: [hdr], signal: ac.signal }).catch((e: SysError) => {
      errB = e;
    });
    await waitFor(() => k.sfbufs.sleepers === 1, 'B to sleep for an sf_buf');
    ac.abort();
    await pB;
    const err = errB as unknown as SysError;
    // vn_sendfile: no sf_buf for the chain's first page is a soft error, ENOBUFS (FreeBSD main).
    expect(err.code).toBe('ENOBUFS');
    expect(err.sbytes).toBe(hdr.length);
    expect(k.stats().sendfile.sf_allocfail).toBe(1);
    tA.drain();
    await waitFor(() => k.atRest().atRest, 'rest');
    expect(new TextDecoder().decode(tB.received())).toBe('header');
    await k.destroy();
  });
});
