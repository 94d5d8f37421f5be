// `npm run bench:micro` (`--scenario micro`): ns/op of the hot operations of the memory rooms, with the
// invariant checks off, as tinybench measures them. Each task runs a batch of BATCH operations
// per sample (a single sf_buf alloc+free is far below the timer's resolution) and reports the
// median sample / BATCH. Targets: every operation < 150 ns/op, direct-map alloc+free < 50 ns/op.
// Then the wire model's price on the send path (wire-cost.ts). Writes micro.json and micro.md in
// the results folder and returns the tables.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Bench } from 'tinybench';
import { MiB, PAGE_SIZE, realClock } from '../../src/kern/index.js';
import {
  EXT_SFBUF,
  M_NOWAIT,
  type Mbuf,
  MbufAllocator,
  MT_DATA,
  mExtadd,
  mFree,
  mGet,
  mGetcl,
} from '../../src/mbuf/index.js';
import { createSfBufMap, type SfBuf, type SfBufMap } from '../../src/sfbuf/index.js';
import {
  PQ_INACTIVE,
  Vm,
  type VmObject,
  type VmPage,
  vmObjectOpen,
  vmPagerGetPages,
} from '../../src/vm/index.js';
import { machineInfo, machineLine } from '../lib/machine.js';
import { measureWireCost, wireCostMarkdown } from './wire-cost.js';

const BATCH = 1000;
const PAGES = 64;
const WIRED = 32;
const TARGET_NS = 150;
const DMAP_TARGET_NS = 50;

interface Fixture {
  vm: Vm;
  obj: VmObject;
  pages: VmPage[];
  dir: string;
}

/** A real Vm with one 64-page file paged in (resident, valid, unwired on a queue). */
async function makeFixture(): Promise<Fixture> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'zcsim-micro-'));
  const file = path.join(dir, 'pages.bin');
  writeFileSync(file, new Uint8Array(PAGES * PAGE_SIZE).fill(0x5a));
  const vm = new Vm({ physmemBytes: 16 * MiB, invariants: false, clock: realClock(), kernelId: 1 });
  const obj = await vmObjectOpen(vm, file);
  const pages: VmPage[] = [];
  for (let i = 0; i < PAGES; i++) {
    const m = vm.vmPageAlloc(obj, i);
    if (!m) throw new Error('micro: no free page');
    pages.push(m);
  }
  await vmPagerGetPages(vm, obj, pages, 0);
  return { vm, obj, pages, dir };
}

function sfBufAllocFree(map: SfBufMap, pages: VmPage[], pageCount: number): () => void {
  let i = 0;
  return () => {
    for (let n = 0; n < BATCH; n++) {
      const m = pages[i] as VmPage;
      i = i + 1 === pageCount ? 0 : i + 1;
      const sf = map.sfBufAlloc(m, 0, 0) as SfBuf;
      map.sfBufFree(sf);
    }
  };
}

function addTasks(bench: Bench, f: Fixture, mbufs: MbufAllocator) {
  const dmap = createSfBufMap(f.vm, {
    kind: 'dmap',
    nsfbufs: 0,
    cpuCount: 2,
    invariants: false,
    kernelId: 1,
  });
  const kvaHit = createSfBufMap(f.vm, {
    kind: 'kva',
    nsfbufs: 128,
    cpuCount: 2,
    invariants: false,
    kernelId: 1,
  });
  const kvaMiss = createSfBufMap(f.vm, {
    kind: 'kva',
    nsfbufs: 8,
    cpuCount: 2,
    invariants: false,
    kernelId: 1,
  });
  const extBuffer = new Uint8Array(f.vm.physmem, 0, PAGE_SIZE);
  const extFree = (_m: Mbuf) => undefined;
  // Pages 0..WIRED-1 are wired for the sf_buf tasks (sf_buf_alloc wants wired pages); the rest
  // stay unwired on a queue, as a resident file page is before sendfile finds it.
  for (const m of f.pages.slice(0, WIRED)) f.vm.vmPageWire(m);
  bench
    .add('sf_buf alloc+free (dmap)', sfBufAllocFree(dmap, f.pages, 16))
    .add('sf_buf alloc+free (kva, hash hit)', sfBufAllocFree(kvaHit, f.pages, 16))
    .add('sf_buf alloc+free (kva, miss: remap)', sfBufAllocFree(kvaMiss, f.pages, WIRED))
    .add('mbuf get+free', () => {
      for (let n = 0; n < BATCH; n++) mFree(mbufs, mGet(mbufs, M_NOWAIT, MT_DATA) as Mbuf);
    })
    .add('cluster get+free', () => {
      for (let n = 0; n < BATCH; n++) mFree(mbufs, mGetcl(mbufs, M_NOWAIT, MT_DATA, 0) as Mbuf);
    })
    .add('ext mbuf extadd+free', () => {
      for (let n = 0; n < BATCH; n++) {
        const m = mGet(mbufs, M_NOWAIT, MT_DATA) as Mbuf;
        mExtadd(mbufs, m, extBuffer, PAGE_SIZE, extFree, null, null, 0, EXT_SFBUF);
        mFree(mbufs, m);
      }
    });
  let i = WIRED;
  bench.add('page lookup+wire+unwire (resident)', () => {
    for (let n = 0; n < BATCH; n++) {
      const m = f.vm.vmPageLookup(f.obj, i) as VmPage;
      i = i + 1 === PAGES ? WIRED : i + 1;
      f.vm.vmPageWire(m);
      f.vm.vmPageUnwire(m, PQ_INACTIVE);
    }
  });
  return { kvaHit, kvaMiss };
}

interface MicroRow {
  name: string;
  nsPerOp: number;
  opsPerSecond: number;
  rmePercent: number;
  targetNs: number;
  pass: boolean;
}

function toRows(bench: Bench): MicroRow[] {
  return bench.tasks.map((task) => {
    const r = task.result;
    const latencyMs = r.state === 'completed' ? r.latency.p50 : Number.NaN;
    const rme = r.state === 'completed' ? r.latency.rme : Number.NaN;
    const nsPerOp = (latencyMs * 1e6) / BATCH;
    const targetNs = task.name.includes('(dmap)') ? DMAP_TARGET_NS : TARGET_NS;
    return {
      name: task.name,
      nsPerOp,
      opsPerSecond: 1e9 / nsPerOp,
      rmePercent: rme,
      targetNs,
      pass: nsPerOp < targetNs,
    };
  });
}

function markdown(rows: MicroRow[], machine: string): string {
  const lines = [
    '# zcsim micro-benchmarks (`npm run bench:micro`)',
    '',
    `Machine: ${machine}. tinybench, invariants off, ${BATCH} operations per sample, median sample.`,
    '',
    '| operation | ns/op | ops/s | ±rme % | target ns/op | result |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.name} | ${r.nsPerOp.toFixed(1)} | ${(r.opsPerSecond / 1e6).toFixed(2)} M | ${r.rmePercent.toFixed(1)} | < ${r.targetNs} | ${r.pass ? 'pass' : '**MISS**'} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

export async function runMicro(dir: string): Promise<string> {
  const fixture = await makeFixture();
  const mbufs = new MbufAllocator({
    nmbufs: 65536,
    nmbclusters: 16384,
    invariants: false,
    kernelId: 1,
    dmap: fixture.vm.physmem,
  });
  const bench = new Bench({ name: 'zcsim micro', time: 600, warmupTime: 200 });
  const maps = addTasks(bench, fixture, mbufs);
  await bench.run();
  const rows = toRows(bench);
  const machine = machineLine(machineInfo());
  // The counters prove each KVA task measured what its name says (hits reuse, misses remap).
  const counters = { kvaHit: maps.kvaHit.counters(), kvaMiss: maps.kvaMiss.counters() };
  const reuse = (c: { mapping_reuses: number; alloc_calls: number }) =>
    ((100 * c.mapping_reuses) / c.alloc_calls).toFixed(1);
  const wire = await measureWireCost();
  const md = `${markdown(rows, machine)}\nKVA pool check: hash-hit task reused a cached mapping on ${reuse(counters.kvaHit)}% of allocs; miss task on ${reuse(counters.kvaMiss)}% (${counters.kvaMiss.shootdowns} shootdowns, ${counters.kvaMiss.ipis} IPIs).\n\n${wireCostMarkdown(wire)}`;
  writeFileSync(path.join(dir, 'micro.md'), md);
  writeFileSync(
    path.join(dir, 'micro.json'),
    `${JSON.stringify({ machine: machineInfo(), batch: BATCH, rows, counters, wire }, null, 1)}\n`,
  );
  rmSync(fixture.dir, { recursive: true, force: true });
  return md;
}
