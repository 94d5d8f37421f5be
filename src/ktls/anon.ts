// The anonymous-page side of KTLS: m_uiotombuf(..., M_EXTPG) as sosend and sendfile's header use
// it on a TLS socket (user bytes copied into new pages, one record per mbuf), and the free routine
// of such storage (mb_free_mext_pgs). XXX(sim): m_uiotombuf lives in uipc_mbuf.c; here it sits in
// ktls because src/mbuf knows nothing of vm pages.
import { kassert, PAGE_SIZE } from '../kern/index.js';
import {
  EPG_FLAG_ANON,
  M_EXTPG,
  M_WAITOK,
  type Mbuf,
  mbAllocExtPgs,
  mExtPgAppend,
  mFreem,
  type Uio,
} from '../mbuf/index.js';
import { type VmPage, vmPageAllocNoobj, vmPageFreeNoobj } from '../vm/index.js';
import type { KtlsEnv } from './env.js';

/**
 * A wired anonymous page, right after `prev` when that frame is free (a record's pages then make
 * one view); sleeps for memory when none is free (VM_ALLOC_WAITFAIL, retried).
 */
export async function ktlsPageAlloc(
  env: KtlsEnv,
  prev: VmPage | null,
  signal?: AbortSignal,
): Promise<VmPage> {
  for (;;) {
    const pg = vmPageAllocNoobj(env.vm, prev === null ? -1 : prev.physIndex + 1);
    if (pg !== null) {
      env.cells.anon_pages_allocated++;
      env.cells.anon_pages_held++;
      return pg;
    }
    await env.vm.vmWait(signal);
  }
}

/** mb_free_mext_pgs for anonymous pages: every page of the list is unwired and freed. */
export function ktlsFreeAnon(env: KtlsEnv, m: Mbuf): void {
  const epg = m.m_epg;
  kassert(epg !== null && (m.m_flags & M_EXTPG) !== 0, 'mb_free_mext_pgs: not M_EXTPG');
  kassert((epg.m_epg_flags & EPG_FLAG_ANON) !== 0, 'mb_free_mext_pgs: pages are not anonymous');
  for (let i = 0; i < epg.m_epg_npgs; i++) {
    const pg = env.vm.pages[Math.floor((epg.m_epg_pa[i] ?? -1) / PAGE_SIZE)];
    kassert(pg !== undefined, () => `mb_free_mext_pgs: no page at ${epg.m_epg_pa[i]}`);
    vmPageFreeNoobj(env.vm, pg);
    env.cells.anon_pages_held--;
  }
  if (env.invariants) env.checkAll();
}

/**
 * m_uiotombuf(uio, M_WAITOK, maxBytes, maxlen, M_EXTPG): copies up to `maxBytes` from the cursor
 * into M_EXTPG mbufs of anonymous pages, each at most `maxlenBytes` (one record each).
 */
export async function ktlsUiotombuf(
  env: KtlsEnv,
  uio: Uio,
  maxBytes: number,
  maxlenBytes: number,
  signal?: AbortSignal,
): Promise<Mbuf | null> {
  let budget = Math.min(maxBytes, uio.uio_resid);
  let head: Mbuf | null = null;
  let tail: Mbuf | null = null;
  try {
    while (budget > 0) {
      const r = mbAllocExtPgs(env.mbufs, M_WAITOK, env.freeAnon, null, null, 0);
      const m = r instanceof Promise ? await r : r;
      kassert(m !== null, 'm_uiotombuf: M_WAITOK gave no mbuf');
      m.m_epg!.m_epg_flags |= EPG_FLAG_ANON;
      if (tail === null) head = m;
      else tail.m_next = m;
      tail = m;
      let rec = Math.min(budget, maxlenBytes);
      budget -= rec;
      let prev: VmPage | null = null;
      while (rec > 0) {
        const pg: VmPage = await ktlsPageAlloc(env, prev, signal);
        prev = pg;
        const n = Math.min(rec, PAGE_SIZE);
        copyFromUio(uio, env.vm.pageBytes(pg).subarray(0, n));
        env.cells.copyin_bytes += n;
        mExtPgAppend(env.mbufs, m, pg.physAddr, 0, n);
        rec -= n;
      }
    }
  } catch (e) {
    if (head !== null) mFreem(env.mbufs, head);
    throw e;
  }
  return head;
}

function copyFromUio(uio: Uio, into: Uint8Array): void {
  let pos = 0;
  while (pos < into.length) {
    const iov = uio.uio_iov[uio.iovIndex];
    kassert(iov !== undefined, 'm_uiotombuf: cursor ran out');
    const n = Math.min(iov.length - uio.iovOffsetBytes, into.length - pos);
    into.set(iov.subarray(uio.iovOffsetBytes, uio.iovOffsetBytes + n), pos);
    pos += n;
    uio.iovOffsetBytes += n;
    uio.uio_resid -= n;
    if (uio.iovOffsetBytes === iov.length) {
      uio.iovIndex++;
      uio.iovOffsetBytes = 0;
    }
  }
}
