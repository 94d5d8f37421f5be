// Goal: the gauges' high-water marks in stats().peaks see what a sampler between event-loop turns
// misses: a send whose mbufs, sf_bufs and wired pages are all freed before the next sample still
// shows how high they went, and the next read starts again from the current values.
// Method: a MemoryTransport (the test decides when the host takes the bytes) in KVA mode; one
// sendfile of a resident file, drained completely, then two reads of stats().
import { describe, expect, it } from 'vitest';
import { createKernel } from '../../src/index.js';
import { MemoryTransport } from '../../src/net/index.js';
import { testFile } from '../e2e/helpers.js';

const MiB = 1024 * 1024;

describe('stats().peaks', () => {
  it('keeps the highest sf_bufs, mbufs, clusters and wired pages since the last read', async () => {
    const k = createKernel({ physmemBytes: 8 * MiB, mapping: 'kva', nsfbufs: 64, sndbufBytes: 64 * 1024 });
    const file = await k.open(await testFile(10 * 4096, 5));
    const so = k.socket(new MemoryTransport());
    const t = so.so_pcb.transport as MemoryTransport;
    expect(k.stats().peaks).toEqual({ nsfbufsused: 0, mbufs: 0, clusters: 0, v_wire_count: 0 });
    const head = new Uint8Array(300).fill(0x41);
    const sent = k.sendfile(file, so, 0, 0, { headers: [head] });
    for (let i = 0; i < 1000 && k.stats().sfbuf.nsfbufsused === 0; i++)
      await new Promise((r) => setTimeout(r, 1));
    k.stats(); // a read in the middle: the peaks start again from what is in use now
    for (let i = 0; i < 1000 && !k.atRest().atRest; i++) {
      t.drain();
      await new Promise((r) => setTimeout(r, 1));
    }
    expect(await sent).toBe(300 + 10 * 4096);
    const s = k.stats();
    expect(s.sfbuf.nsfbufsused).toBe(0);
    expect(s.vm.v_wire_count).toBe(0);
    expect(s.peaks.nsfbufsused).toBe(10);
    expect(s.peaks.v_wire_count).toBe(10);
    expect(s.peaks.mbufs).toBeGreaterThanOrEqual(11);
    expect(s.peaks.clusters).toBe(1);
    expect(k.stats().peaks).toEqual({ nsfbufsused: 0, mbufs: 0, clusters: 0, v_wire_count: 0 });
    await k.destroy();
  });
});
