// Goal: the debug mode really runs. ZCSIM_INVARIANTS=1 (set by `npm test`) turns it on for every
// kernel; then each room's checkInvariants runs after the operations of a transfer, and each
// invariant of DESIGN.md is caught when broken: an sf_buf freed twice, a wired page freed (it
// would be evicted), an unwiring too many, an external buffer's count off, a zone past its limit,
// a send buffer whose byte count disagrees with its chain, an sf_buf held on an unwired page.
// The byte equality and "a failed transfer leaks nothing" are the property and e2e tests' part.
// Method: spies on each room's checkInvariants over a sendfile and a copy on MemoryTransport;
// then state corrupted by hand, and the next operation must throw KernelAssertionError.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createKernel, type Kernel } from '../../src/index.js';
import { invariantsFromEnv, KernelAssertionError } from '../../src/kern/index.js';
import { mFree, mGetcl } from '../../src/mbuf/index.js';
import { MemoryTransport } from '../../src/net/index.js';
import { PQ_INACTIVE, type VmPage } from '../../src/vm/index.js';
import { testFile } from '../e2e/helpers.js';

const kernels: Kernel[] = [];
afterEach(() => {
  vi.restoreAllMocks();
});

function boot(invariants: boolean): Kernel {
  const k = createKernel({ mapping: 'kva', nsfbufs: 8, physmemBytes: 1 << 20, invariants });
  kernels.push(k);
  return k;
}

async function transfer(k: Kernel): Promise<void> {
  const file = await k.open(await testFile(40_000, 81));
  const t = new MemoryTransport({ autoDrain: true });
  const so = k.socket(t);
  await k.sendfile(file, so, 0, 0);
  await k.copyfile(file, so, 100, 10_000);
  for (let i = 0; i < 1000 && so.so_snd.sb_ccc > 0; i++) await new Promise((r) => setImmediate(r));
  k.soclose(so);
  await k.close(file);
}

function spyRooms(k: Kernel) {
  return {
    vm: vi.spyOn(k.vm, 'checkInvariants'),
    sfbuf: vi.spyOn(k.sfbufs, 'checkInvariants'),
    mbuf: vi.spyOn(k.mbufs, 'checkInvariants'),
    net: vi.spyOn(k.sockets, 'checkInvariants'),
  };
}

describe('the debug mode', () => {
  it('is on for every kernel when ZCSIM_INVARIANTS is set (npm test sets it)', () => {
    expect(createKernel({ physmemBytes: 1 << 20 }).config.invariants).toBe(invariantsFromEnv());
    if (process.env.npm_lifecycle_event === 'test') expect(invariantsFromEnv()).toBe(true);
  });

  it("runs every room's checkInvariants during a transfer, and none when off", async () => {
    const on = boot(true);
    const spiesOn = spyRooms(on);
    await transfer(on);
    for (const [room, spy] of Object.entries(spiesOn)) expect(spy.mock.calls.length, room).toBeGreaterThan(3);
    const off = boot(false);
    const spiesOff = spyRooms(off);
    await transfer(off);
    for (const [room, spy] of Object.entries(spiesOff)) expect(spy.mock.calls.length, room).toBe(0);
  });
});

describe('each DESIGN.md invariant is caught when broken', () => {
  /** A page wired by a sendfile whose mbufs stay queued; read first, so no page-in is in flight. */
  async function wiredPage(k: Kernel): Promise<VmPage> {
    const file = await k.open(await testFile(8192, 82));
    await k.read(file, 0, new Uint8Array(8192));
    const t = new MemoryTransport();
    const so = k.socket(t);
    await k.sendfile(file, so, 0, 0);
    const m = k.vm.pages.find((p) => p.wireCount > 0);
    if (m === undefined) throw new Error('no wired page');
    return m;
  }

  it('an sf_buf freed twice', async () => {
    const k = boot(true);
    const m = await wiredPage(k);
    const sf = await k.sfbufs.sfBufAlloc(m, 0, 0);
    if (sf === null) throw new Error('no sf_buf');
    // Ours and the queued mbuf's: free both, then once more.
    for (let held = sf.ref_count; held > 0; held--) k.sfbufs.sfBufFree(sf);
    expect(() => k.sfbufs.sfBufFree(sf)).toThrow(KernelAssertionError);
  });

  it('a wired page freed (the page daemon would evict it), and one unwiring too many', async () => {
    const k = boot(true);
    const m = await wiredPage(k);
    expect(() => k.vm.vmPageFree(m)).toThrow(KernelAssertionError);
    const wires = m.wireCount;
    for (let i = 0; i < wires; i++) k.vm.vmPageUnwire(m, PQ_INACTIVE);
    expect(() => k.vm.vmPageUnwire(m, PQ_INACTIVE)).toThrow(KernelAssertionError);
  });

  it("a page's wire count out of step with v_wire_count", async () => {
    const k = boot(true);
    await wiredPage(k);
    const m = k.vm.pages.find((p) => p.wireCount === 0);
    if (m === undefined) throw new Error('no unwired page');
    m.wireCount = 1;
    expect(() => k.checkInvariants()).toThrow(/vm invariants: .*v_wire_count/);
    m.wireCount = 0;
  });

  it("an external buffer's reference count off (its free routine would run early or never)", async () => {
    const k = boot(true);
    await wiredPage(k);
    const cl = mGetcl(k.mbufs, 1, 1, 0);
    if (cl === null || cl instanceof Promise) throw new Error('no cluster');
    cl.m_ext!.ext_count++;
    expect(() => mFree(k.mbufs, cl)).toThrow(KernelAssertionError);
  });

  it('a zone past its limit', () => {
    const k = createKernel({ physmemBytes: 1 << 20, nmbclusters: 2, invariants: true });
    const a = mGetcl(k.mbufs, 1, 1, 0);
    expect(a).not.toBeNull();
    const zone = (k.mbufs as unknown as { clusterZone: { items: unknown[] } }).clusterZone;
    zone.items.push(...zone.items);
    expect(() => k.mbufs.checkInvariants()).toThrow(/limit/);
  });

  it('a send buffer whose byte count disagrees with its chain', async () => {
    const k = boot(true);
    const t = new MemoryTransport();
    const so = k.socket(t);
    await k.write(so, new Uint8Array(3000));
    so.so_snd.sb_ccc += 1;
    expect(() => k.sockets.checkInvariants()).toThrow(/sb_ccc/);
    so.so_snd.sb_ccc -= 1;
  });

  it('an sf_buf held on a page nobody wired', async () => {
    const k = boot(true);
    const m = await wiredPage(k);
    const sf = await k.sfbufs.sfBufAlloc(m, 0, 0);
    expect(sf).not.toBeNull();
    const cnt = (k.vm as unknown as { cnt: { v_wire_count: number } }).cnt;
    const saved = cnt.v_wire_count;
    cnt.v_wire_count = 0;
    expect(() => k.checkInvariants()).toThrow(KernelAssertionError);
    cnt.v_wire_count = saved;
  });
});
