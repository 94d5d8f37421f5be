// The O(n) consistency check of the sf_buf pool (sys/kern/subr_sfbuf.c keeps these rules under
// its one lock; INVARIANTS kernels assert parts of them). Each failure names the rule it broke.

import type { WaitQueue } from '../kern/index.js';
import { kassert } from '../kern/index.js';
import type { AllocWaiter, PoolSfBuf } from './pool-buf.js';
import type { SfBufConfig, SfBufCounters } from './types.js';

/** What the check reads of the pool (KvaSfBufMap). */
export interface PoolState {
  readonly config: SfBufConfig;
  readonly stats: SfBufCounters;
  readonly bufs: readonly PoolSfBuf[];
  readonly active: readonly (PoolSfBuf | null)[];
  readonly freeHead: PoolSfBuf | null;
  readonly freeTail: PoolSfBuf | null;
  readonly waiters: readonly AllocWaiter[];
  readonly waitq: WaitQueue;
}

export function checkPoolInvariants(pool: PoolState): void {
  const { stats, config } = pool;
  const nsfbufs = config.nsfbufs;
  const onList = checkFreeList(pool);
  let held = 0;
  for (const sf of pool.bufs) {
    if (sf.ref_count > 0) held++;
    kassert(sf.ref_count >= 0, () => `sfbuf: ${sf.kva} has ref_count ${sf.ref_count}`);
    kassert(
      sf.onFreeList === (sf.ref_count === 0),
      () => `sfbuf: ${sf.kva} ref_count ${sf.ref_count} but onFreeList ${sf.onFreeList}`,
    );
    kassert(sf.ref_count === 0 || sf.m !== null, () => `sfbuf: held ${sf.kva} maps no page`);
    if (sf.m !== null) {
      kassert(
        pool.active[sf.m.physIndex] === sf,
        () => `sfbuf: ${sf.kva} maps page ${sf.m?.physIndex} but is not hashed under it`,
      );
    } else {
      kassert(sf.cpumask === 0, () => `sfbuf: ${sf.kva} maps nothing but cpumask ${sf.cpumask}`);
    }
    if (config.unmapOnFree === true && sf.ref_count === 0) {
      kassert(sf.m === null, () => `sfbuf: unmapOnFree but free ${sf.kva} still maps a page`);
    }
  }
  let hashed = 0;
  pool.active.forEach((sf, physIndex) => {
    if (sf === null) return;
    hashed++;
    kassert(
      sf.m !== null && sf.m.physIndex === physIndex,
      () => `sfbuf: hash entry ${physIndex} -> ${sf.kva} maps page ${sf.m?.physIndex}`,
    );
  });
  kassert(hashed <= nsfbufs, () => `sfbuf: ${hashed} hash entries > nsfbufs ${nsfbufs}`);
  kassert(
    stats.nsfbufsused === held,
    () => `sfbuf: nsfbufsused ${stats.nsfbufsused} != ${held} held buffers`,
  );
  kassert(onList === nsfbufs - held, () => `sfbuf: free list holds ${onList}, want ${nsfbufs - held}`);
  kassert(stats.nsfbufsused <= nsfbufs, () => `sfbuf: nsfbufsused ${stats.nsfbufsused} > nsfbufs ${nsfbufs}`);
  kassert(
    stats.nsfbufspeak >= stats.nsfbufsused,
    () => `sfbuf: nsfbufspeak ${stats.nsfbufspeak} < used ${stats.nsfbufsused}`,
  );
  const live = pool.waiters.filter((w) => w.signal?.aborted !== true && w.sf === null).length;
  kassert(live === pool.waitq.length, () => `sfbuf: ${live} waiters recorded, ${pool.waitq.length} asleep`);
  kassert(live === 0 || onList === 0, () => `sfbuf: ${live} sleepers while ${onList} buffers are free`);
}

/** Walks the free list both ways; every buffer on it is free. Returns its length. */
function checkFreeList(pool: PoolState): number {
  let n = 0;
  let prev: PoolSfBuf | null = null;
  for (let sf = pool.freeHead; sf !== null; sf = sf.free_next) {
    kassert(sf.free_prev === prev, () => `sfbuf: free list link broken at ${sf.kva}`);
    kassert(
      sf.onFreeList && sf.ref_count === 0,
      () => `sfbuf: ${sf.kva} on the free list with ref_count ${sf.ref_count}`,
    );
    kassert(++n <= pool.bufs.length, 'sfbuf: free list has a cycle');
    prev = sf;
  }
  kassert(pool.freeTail === prev, 'sfbuf: free list tail is not its last buffer');
  return n;
}
