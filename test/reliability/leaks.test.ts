// Goal: regressions for the leaks and hangs the reliability runs found, each pinned by a small
// deterministic case; and memory pressure where senders must wait (or fail as they asked) and
// nothing deadlocks. After each case the kernel must be at rest.
// Method: MemoryTransport peers drained by the test, a simulated disk latency to hold a page-in
// in flight, AbortSignal as the simulated signal; debug-mode invariants on.
import { afterAll, describe, expect, it } from 'vitest';
import { assertAtRest, createKernel, type Kernel, SF_NODISKIO } from '../../src/index.js';
import { MemoryTransport } from '../../src/net/index.js';
import { testFile } from '../e2e/helpers.js';
import { atRestSoon, waitFor } from '../support/wait.js';

const kernels: Kernel[] = [];
afterAll(async () => {
  for (const k of kernels) await k.destroy();
});

function boot(config: Parameters<typeof createKernel>[0]): Kernel {
  const k = createKernel({ invariants: true, ...config });
  kernels.push(k);
  return k;
}

/** Drains `t` until `done` settles and nothing is pending (bounded). */
async function drainUntil(t: MemoryTransport, done: Promise<unknown>): Promise<void> {
  let settled = false;
  void done.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let i = 0; i < 100_000 && !(settled && t.pendingWrites === 0); i++) {
    t.drain();
    await new Promise((r) => setImmediate(r));
  }
}

async function rest(k: Kernel): Promise<void> {
  await atRestSoon(() => k.atRest());
  assertAtRest(k);
}

describe('found by the soak and the schedules', () => {
  it('sendfile with headers interrupted while waiting for a busy page frees its header mbufs', async () => {
    const k = boot({ physmemBytes: 4 << 20, diskLatencyMs: 200 });
    const file = await k.open(await testFile(64 * 1024, 71));
    const ta = new MemoryTransport({ autoDrain: true });
    const tb = new MemoryTransport({ autoDrain: true });
    const a = k.socket(ta);
    const b = k.socket(tb);
    // a's page-in is in flight (200 ms of disk), so b finds the pages busy and sleeps.
    const first = k.sendfile(file, a, 0, 0, { flags: SF_NODISKIO });
    const ac = new AbortController();
    const second = k.sendfile(file, b, 0, 0, { headers: [new Uint8Array(300).fill(72)], signal: ac.signal });
    await waitFor(() => k.vm.busyWaits.size > 0, 'the second sender to sleep on a busy page');
    ac.abort();
    await expect(second).rejects.toMatchObject({ code: 'EINTR' });
    await first;
    await drainUntil(ta, first);
    k.soclose(a);
    k.soclose(b);
    await k.close(file);
    await rest(k);
  });

  it('a write bigger than the cluster zone completes (m_uiotombuf sleeps only for its first mbuf)', async () => {
    const k = boot({ physmemBytes: 4 << 20, nmbclusters: 4 });
    const t = new MemoryTransport();
    const so = k.socket(t, { sndbufBytes: 64 * 1024 });
    const buf = new Uint8Array(40 * 1024).map((_, i) => i & 0xff);
    const w = k.write(so, buf);
    await drainUntil(t, w);
    expect(await w).toBe(buf.length);
    expect(Buffer.from(t.received()).equals(Buffer.from(buf))).toBe(true);
    k.soclose(so);
    await rest(k);
  });
});

describe('disk faults at the system call', () => {
  it.each(['dmap', 'kva', 'extpg'] as const)(
    '%s: a failed page-in ends sendfile with EIO and partial sbytes; no page left busy, every valid page right',
    async (mapping) => {
      const size = 1 << 20;
      const path = await testFile(size, 75);
      const k = boot({ mapping, physmemBytes: 4 << 20, faults: { pagerEioNth: 3 } });
      const file = await k.open(path);
      const t = new MemoryTransport();
      const so = k.socket(t, { sndbufBytes: 16 * 1024 });
      const p = k.sendfile(file, so, 0, 0, { readahead: 0, flags: 0x08 /* SF_USER_READAHEAD */ });
      await drainUntil(t, p);
      const e = await p.then(
        () => null,
        (err: unknown) => err as { code: string; sbytes: number },
      );
      expect(e?.code).toBe('EIO');
      expect(e!.sbytes).toBeGreaterThan(0);
      expect(e!.sbytes).toBeLessThan(size);
      const want = await import('node:fs/promises').then((fs) => fs.readFile(path));
      const got = t.received();
      expect(Buffer.from(got).equals(want.subarray(0, got.length))).toBe(true);
      expect(k.faultCounters().pager_eio).toBe(1);
      k.soclose(so);
      await k.close(file);
      await rest(k);
      // No page busy; a cached page is valid with the file's bytes, or invalid (the failed read's,
      // at the head of the inactive queue as vm_page_release_toq puts them), never in between.
      expect(k.vm.pages.filter((m) => m.busy).map((m) => m.physIndex)).toEqual([]);
      for (const m of k.vm.pages) {
        if (m.object !== file.obj || !m.valid) continue;
        const at = m.pindex * 4096;
        const bytes = Buffer.from(k.vm.pageBytes(m));
        expect(
          bytes.subarray(0, Math.min(4096, size - at)).equals(want.subarray(at, at + 4096)),
          `page ${m.pindex}`,
        ).toBe(true);
      }
    },
  );
});

describe('memory pressure: senders wait or fail as they asked; nothing deadlocks', () => {
  it('every page wired by stalled readers: SF_NODISKIO gets EBUSY at once, a blocking sender waits and then completes', async () => {
    const k = boot({ physmemBytes: 48 * 4096, freeTargetPages: 2 });
    const big = await k.open(await testFile(1 << 20, 72));
    // Five readers that do not read, whose send buffers (12 pages each) add up to more than memory.
    const stalled = Array.from({ length: 5 }, () => new MemoryTransport());
    const sockets = stalled.map((t) => k.socket(t, { sndbufBytes: 48 * 1024 }));
    const stuck = sockets.map((so, i) => k.sendfile(big, so, i * 64 * 1024, 256 * 1024));
    await waitFor(() => k.vm.stats.v_free_count === 0, 'the stalled readers to wire every page');
    const cold = await k.open(await testFile(200 * 1024, 73));
    const nodisk = new MemoryTransport({ autoDrain: true });
    const so1 = k.socket(nodisk);
    await expect(k.sendfile(cold, so1, 0, 0, { flags: SF_NODISKIO })).rejects.toMatchObject({
      code: 'EBUSY',
    });
    const waiter = new MemoryTransport({ autoDrain: true });
    const so2 = k.socket(waiter, { sndbufBytes: 64 * 1024 });
    const waitsBefore = k.vm.stats.vm_waits;
    const blocking = k.sendfile(cold, so2, 0, 0);
    await waitFor(() => k.vm.stats.vm_waits > waitsBefore, 'the blocking sender to wait for a free page');
    // The stalled readers read at last: pages come free, every sender finishes.
    await Promise.all(stalled.map((t, i) => drainUntil(t, stuck[i]!)));
    await drainUntil(waiter, blocking);
    expect(await blocking).toBe(200 * 1024);
    expect((await Promise.all(stuck)).every((n) => n === 256 * 1024)).toBe(true);
    for (const so of [...sockets, so1, so2]) k.soclose(so);
    await k.close(big);
    await k.close(cold);
    await rest(k);
  });

  it('a KVA pool of one sf_buf serves 16 concurrent senders (they sleep on sfbufa, none deadlocks)', async () => {
    const k = boot({ mapping: 'kva', nsfbufs: 1, physmemBytes: 4 << 20 });
    const file = await k.open(await testFile(100 * 1024, 74));
    const ts = Array.from({ length: 16 }, () => new MemoryTransport({ autoDrain: true }));
    const sent = await Promise.all(ts.map((t) => k.sendfile(file, k.socket(t), 0, 0)));
    expect(sent.every((n) => n === 100 * 1024)).toBe(true);
    expect(k.stats().sfbuf.sf_allocwait).toBeGreaterThan(0);
    await k.destroy();
    await rest(k);
  });
});
