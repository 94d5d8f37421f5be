// Goal: the benchmark reads each counter from its one place: a run's kernel counters come from
// the kernel's own sections (v_wire_count from vm, not the peaks; sf_allocwait from the sf_buf
// layer, not sfstat; copy_bytes_in from the copy path, not sosend's socket counter; the pool size
// from sfbuf, not from the config, which a /stats document carries too), and the per-byte figures
// from the route's own counters.
// Method: a real kernel's stats() and a real server's GET /stats, with each duplicated name given a
// different value in its other place; the reports' numbers must ignore the decoys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copiesPerByte, counterDelta, kernelCopiesPerByte, memoryPerByte } from '../../bench/lib/counters.js';
import type { StatsSnapshot } from '../../src/http/index.js';
import { createKernel, type KernelStats } from '../../src/index.js';
import { type Fixture, makeFixture } from '../http/fixture.js';
import { type Running, startServer } from '../http/helpers.js';

let fx: Fixture;
let srv: Running;

beforeAll(async () => {
  fx = makeFixture();
  srv = await startServer({ root: fx.root, kernel: { physmemBytes: 16 * 1024 * 1024, mapping: 'dmap' } });
});
afterAll(async () => {
  await srv.server.close();
  fx.cleanup();
});

function kernelStats(): KernelStats {
  const kernel = createKernel({ physmemBytes: 1024 * 1024 });
  const s = kernel.stats();
  void kernel.destroy();
  return s;
}

describe('counterDelta', () => {
  it('reads each counter from its own section, never a namesake elsewhere', () => {
    const before = kernelStats();
    const after: KernelStats = {
      ...before,
      vm: { ...before.vm, v_wire_count: 7, pageins: before.vm.pageins + 3 },
      peaks: { ...before.peaks, v_wire_count: 99 },
      sfbuf: { ...before.sfbuf, sf_allocwait: before.sfbuf.sf_allocwait + 2 },
      sendfile: { ...before.sendfile, sf_allocwait: before.sendfile.sf_allocwait + 50, sf_syscalls: 4 },
      copy: { ...before.copy, copy_bytes_in: before.copy.copy_bytes_in + 10 },
      sockets: { ...before.sockets, copy_bytes_in: before.sockets.copy_bytes_in + 1000 },
    };
    const d = counterDelta(before, after);
    expect(d.v_wire_count).toBe(7);
    expect(d.pageins).toBe(3);
    expect(d.sf_allocwait).toBe(2);
    expect(d.copy_bytes_in).toBe(10);
    expect(d.sf_syscalls).toBe(4 - before.sendfile.sf_syscalls);
    expect(kernelCopiesPerByte({ copy_bytes_out: 10, copy_bytes_in: 10 }, 10)).toBe(2);
  });

  it("takes the pool size from the kernel's sf_buf layer, not from the config in /stats", async () => {
    const snap = (await (await fetch(`${srv.origin}/stats`)).json()) as StatsSnapshot;
    // The direct map has no pool, whatever nsfbufs the config resolved.
    expect(snap.server.kernel.nsfbufs).toBeGreaterThan(0);
    expect(counterDelta(snap.kernel, snap.kernel).nsfbufs).toBe(0);
  });
});

describe('copiesPerByte and memoryPerByte', () => {
  it("divide the route's copied and read bytes by its body bytes over the interval", async () => {
    const get = async () => (await (await fetch(`${srv.origin}/stats`)).json()) as StatsSnapshot;
    const before = await get();
    await (await fetch(`${srv.origin}/copy/data.bin`)).arrayBuffer();
    const after = await get();
    const c = (s: StatsSnapshot) => s.http.routes.copy;
    const body = c(after).body_bytes - c(before).body_bytes;
    expect(body).toBe(fx.files['data.bin']!.length);
    expect(copiesPerByte(before, after, 'copy')).toBe(
      (c(after).copied_bytes - c(before).copied_bytes) / body,
    );
    expect(copiesPerByte(before, after, 'copy')).toBeGreaterThan(2);
    expect(memoryPerByte(before, after, 'copy')).toBe(
      (c(after).cpu_read_bytes - c(before).cpu_read_bytes) / body,
    );
    expect(copiesPerByte(before, after, 'zerocopy')).toBeNaN();
  });
});
