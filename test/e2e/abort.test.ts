// Goal: every wait in a send ends when the caller's connection goes away (its AbortSignal), and
// the call frees what it held: a write sleeping for a cluster (EINTR, the bytes queued before it
// in sbytes), a sendfile sleeping for its first page mbuf (ENOBUFS, its pages unwired), a
// copyfile sleeping in its write, and a sender queued behind another on the send lock.
// Method: zones of two mbufs and two clusters, held by a connection that never drains; each
// sleeper is aborted, then the holder drains and the kernel must come to rest.
import { describe, expect, it } from 'vitest';
import { createKernel, isSysError, type Kernel, type SendfileMapping } from '../../src/index.js';
import { MemoryTransport } from '../../src/net/index.js';
import { waitFor } from '../support/wait.js';
import { testFile } from './helpers.js';

async function settle(p: Promise<number>): Promise<{ code: string; sbytes: number }> {
  try {
    return { code: 'ok', sbytes: await p };
  } catch (e) {
    if (!isSysError(e)) throw e;
    return { code: e.code, sbytes: e.sbytes };
  }
}

function zoneSleepers(k: Kernel): number {
  const m = k.stats().mbuf;
  return m.mbuf.sleeps + m.mbuf_cluster.sleeps;
}

describe.each(['dmap', 'kva', 'extpg'] as SendfileMapping[])('aborted zone sleeps (%s)', (mapping) => {
  it('each sleeper ends with its errno and the kernel comes to rest', async () => {
    const k = createKernel({ mapping, physmemBytes: 1 << 20, nmbufs: 2, nmbclusters: 2, nsfbufs: 8 });
    const file = await k.open(await testFile(3 * 4096, 95));
    const holderT = new MemoryTransport();
    const holder = k.socket(holderT, { sndbufBytes: 64 * 1024 });
    const acHolder = new AbortController();
    const w = settle(k.write(holder, new Uint8Array(16 * 1024).fill(1), acHolder.signal));
    await waitFor(() => zoneSleepers(k) >= 1, 'the writer to sleep on the cluster zone');
    acHolder.abort();
    const wr = await w;
    expect(wr.code).toBe('EINTR');
    expect(wr.sbytes).toBe(4096);

    const so = k.socket(new MemoryTransport({ autoDrain: true }));
    const before = zoneSleepers(k);
    const acSend = new AbortController();
    const s = settle(k.sendfile(file, so, 0, 0, { signal: acSend.signal }));
    await waitFor(() => zoneSleepers(k) > before, 'sendfile to sleep for its first mbuf');
    acSend.abort();
    expect(await s).toEqual({ code: 'ENOBUFS', sbytes: 0 });
    expect(k.stats().vm.v_wire_count).toBe(0);

    const so2 = k.socket(new MemoryTransport({ autoDrain: true }));
    const before2 = zoneSleepers(k);
    const acCopy = new AbortController();
    const c = settle(k.copyfile(file, so2, 0, 0, { signal: acCopy.signal }));
    await waitFor(() => zoneSleepers(k) > before2, 'copyfile to sleep in its write');
    acCopy.abort();
    expect((await c).code).toBe('EINTR');

    // A second sender on the holder's socket waits for the send lock behind a sleeping writer.
    const acW2 = new AbortController();
    const acW3 = new AbortController();
    const w2 = settle(k.write(holder, new Uint8Array(8192), acW2.signal));
    const w3 = settle(k.write(holder, new Uint8Array(10), acW3.signal));
    await waitFor(() => k.stats().sockets.sblock_sleeps > 0, 'a sender to wait for the send lock');
    acW3.abort();
    expect((await w3).code).toBe('EINTR');
    acW2.abort();
    expect((await w2).code).toBe('EINTR');

    holderT.drain();
    for (const x of [holder, so, so2]) k.soclose(x);
    await k.destroy();
    await waitFor(() => k.atRest().atRest, 'rest');
    expect(k.atRest().leaks).toEqual([]);
  });
});
