// Goal: how vn_sendfile queues data, step by step and deterministically: chunks no larger than
// the socket's free space, ending on page boundaries; resident pages go out at once with no I/O;
// a chunk waiting for its page-in is queued not ready and goes out only when the read completes
// (headers wait with it, order is kept); SF_SYNC waits for the last free; readahead follows the
// kernel's formula; sockets get CPUs round-robin; stats() is plain JSON.
// Method: a MemoryTransport (the test decides when the host takes bytes) and a ManualClock (the
// test decides when the simulated disk answers), over a real file in the run's folder; the trace
// events of the zcsim:sendfile channel show the order of call, chunk, return and read completion.

import diagnosticsChannel from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { assertAtRest, createKernel, type Kernel, SF_SYNC, SF_USER_READAHEAD } from '../../src/index.js';
import { ManualClock, TRACE_CHANNELS, type TraceEvent } from '../../src/kern/index.js';
import { MemoryTransport } from '../../src/net/index.js';
import { testFile } from '../e2e/helpers.js';
import { waitFor } from '../support/wait.js';

const MiB = 1024 * 1024;

/** Drains the transport until `call` has settled and the kernel is at rest; returns its result. */
async function pump<T>(k: Kernel, t: MemoryTransport, call: Promise<T>): Promise<T> {
  let settled = false;
  const watched = call.finally(() => {
    settled = true;
  });
  await waitFor(() => {
    t.drain();
    return settled && k.atRest().atRest;
  }, 'the call to end and the kernel to rest');
  assertAtRest(k);
  return watched;
}

describe('vn_sendfile queueing', () => {
  it('cuts chunks to the free space, ending on a page boundary; resident pages need no I/O', async () => {
    const k = createKernel({ physmemBytes: 8 * MiB, sndbufBytes: 32 * 1024 });
    const path = await testFile(100_000, 11);
    const file = await k.open(path);
    const t = new MemoryTransport();
    const so = k.socket(t);
    const first = k.sendfile(file, so, 100, 0);
    await waitFor(() => so.so_snd.sb_ccc > 0 && t.pendingWrites > 0, 'first chunk');
    expect(so.so_snd.sb_ccc).toBe(32 * 1024 - ((100 + 32 * 1024) % 4096));
    expect(await pump(k, t, first)).toBe(100_000 - 100);
    const cold = k.stats().sendfile;
    expect(cold.sf_iocnt).toBeGreaterThan(0);
    // Now every page is resident: no I/O, every chunk "completed without I/O request".
    expect(await pump(k, t, k.sendfile(file, so, 0, 0))).toBe(100_000);
    const warm = k.stats().sendfile;
    expect(warm.sf_iocnt).toBe(cold.sf_iocnt);
    expect(warm.sf_noiocnt - cold.sf_noiocnt).toBeGreaterThanOrEqual(4);
    expect(warm.sf_pages_valid - cold.sf_pages_valid).toBe(Math.ceil(100_000 / 4096));
    expect(t.received().length).toBe(2 * 100_000 - 100);
    for (const w of t.writes) expect(w.chunk.buffer).toBe(k.vm.physmem);
    await k.destroy();
  });

  it('queues a chunk whose pages are being read not ready, headers and all, until the read completes', async () => {
    const clock = new ManualClock();
    const k = createKernel({ physmemBytes: 8 * MiB, clock, diskLatencyMs: 50, sndbufBytes: 256 * 1024 });
    const path = await testFile(3 * 4096 + 5, 12);
    const file = await k.open(path);
    const t = new MemoryTransport();
    const so = k.socket(t);
    const hdr = new TextEncoder().encode('header!');
    const events: TraceEvent[] = [];
    const listener = (e: unknown): void => {
      if ((e as TraceEvent).kernelId === k.id) events.push(e as TraceEvent);
    };
    diagnosticsChannel.subscribe(TRACE_CHANNELS.sendfile, listener);
    const n = await k.sendfile(file, so, 0, 0, { headers: [hdr] });
    expect(n).toBe(hdr.length + 3 * 4096 + 5);
    expect(so.so_snd.sb_ccc).toBe(n);
    expect(t.writes.length).toBe(0);
    expect(k.atRest().atRest).toBe(false);
    clock.advance(50);
    await waitFor(() => t.pendingWrites > 0, 'the data to go out after the read');
    await pump(k, t, Promise.resolve());
    const got = t.received();
    expect(new TextDecoder().decode(got.subarray(0, hdr.length))).toBe('header!');
    expect(got.length).toBe(n);
    diagnosticsChannel.unsubscribe(TRACE_CHANNELS.sendfile, listener);
    // The call returns before the read completes: its chunk is queued not ready.
    expect(events.map((e) => e.event)).toEqual([
      'sendfile',
      'chunk',
      'sendfile-done',
      'iodone',
      'free_mext',
      'free_mext',
      'free_mext',
      'free_mext',
    ]);
    expect(events[1]).toMatchObject({ bytes: 3 * 4096 + 5, pages: 4, ios: 1, notready: true });
    expect(events[3]).toMatchObject({ pages: 4, error: null });
    await k.destroy();
  });

  it('sends headers larger than the socket buffer over several chunks, in order, before the file', async () => {
    const k = createKernel({ physmemBytes: 8 * MiB, mapping: 'kva', nsfbufs: 8 });
    const path = await testFile(70_000, 15);
    const file = await k.open(path);
    const t = new MemoryTransport();
    const so = k.socket(t, { sndbufBytes: 16 * 1024 });
    const header = new Uint8Array(40_000).map((_, i) => i % 251);
    const trailer = new Uint8Array(3000).fill(7);
    const n = await pump(k, t, k.sendfile(file, so, 5, 60_000, { headers: [header], trailers: [trailer] }));
    expect(n).toBe(40_000 + 60_000 + 3000);
    const got = t.received();
    const { readFile } = await import('node:fs/promises');
    const want = new Uint8Array([...header, ...(await readFile(path)).subarray(5, 60_005), ...trailer]);
    expect(Buffer.compare(Buffer.from(got), Buffer.from(want))).toBe(0);
    await k.destroy();
  });

  it('SF_SYNC resolves only after the host has taken the last byte', async () => {
    const k = createKernel({ physmemBytes: 8 * MiB, mapping: 'extpg' });
    const file = await k.open(await testFile(50_000, 13));
    const t = new MemoryTransport();
    const so = k.socket(t, { sndbufBytes: 128 * 1024 });
    let done = false;
    const p = k.sendfile(file, so, 0, 0, { flags: SF_SYNC }).then((n) => {
      done = true;
      return n;
    });
    await waitFor(() => t.pendingWrites > 0, 'the data to be written');
    await new Promise((r) => setTimeout(r, 10));
    expect(done).toBe(false);
    t.drain();
    expect(await p).toBe(50_000);
    assertAtRest(k);
    await k.destroy();
  });

  it('reads ahead as the kernel computes it', async () => {
    const k = createKernel({ physmemBytes: 8 * MiB });
    const file = await k.open(await testFile(40 * 4096, 14));
    const t = new MemoryTransport({ autoDrain: true });
    const so = k.socket(t, { sndbufBytes: 64 * 1024 });
    // SF_USER_READAHEAD: exactly the caller's count beyond the 16 pages of the chunk.
    await pump(k, t, k.sendfile(file, so, 0, 16 * 4096, { flags: SF_USER_READAHEAD, readahead: 4 }));
    let s = k.stats().sendfile;
    expect(s.sf_pages_read).toBe(16);
    expect(s.sf_rhpages_read).toBe(4);
    expect(s.sf_rhpages_requested).toBe(4);
    // Otherwise: the rest of the request (here to EOF) plus the caller's count, capped at EOF.
    await pump(k, t, k.sendfile(file, so, 20 * 4096, 0, { readahead: 100 }));
    s = k.stats().sendfile;
    expect(s.sf_pages_read).toBe(32);
    expect(s.sf_rhpages_read).toBe(8);
    expect(s.sf_iocnt).toBe(2);
    await k.destroy();
  });

  it('hands out CPUs round-robin and reports stats as plain JSON', async () => {
    const k = createKernel({ physmemBytes: 4 * MiB, cpuCount: 3 });
    const cpus = [0, 1, 2, 3].map(() => k.socket(new MemoryTransport()).cpu);
    expect(cpus).toEqual([0, 1, 2, 0]);
    const s = JSON.parse(JSON.stringify(k.stats()));
    expect(Object.keys(s)).toEqual([
      'vm',
      'sfbuf',
      'mbuf',
      'sendfile',
      'copy',
      'sockets',
      'tcp',
      'ktls',
      'memory',
      'peaks',
    ]);
    expect(Object.keys(s.sendfile)).toEqual([
      'sf_syscalls',
      'sf_noiocnt',
      'sf_iocnt',
      'sf_pages_read',
      'sf_pages_valid',
      'sf_rhpages_requested',
      'sf_rhpages_read',
      'sf_busy',
      'sf_allocfail',
      'sf_allocwait',
      'sf_pages_bogus',
    ]);
    await k.destroy();
    assertAtRest(k);
  });
});
