// The anonymous pages of KTLS: the ciphertext of software mode (ktls_encrypt) and the records that
// write(2) and sendfile's headers build on a TLS socket (m_uiotombuf with M_EXTPG, whose page
// source this is), and the free routine of such storage (mb_free_mext_pgs).
import { kassert, PAGE_SIZE } from '../kern/index.js';
import { EPG_FLAG_ANON, M_EXTPG, type Mbuf, type UioPageSource } from '../mbuf/index.js';
import { type VmPage, vmPageAllocNoobj, vmPageFreeNoobj } from '../vm/index.js';
import type { KtlsEnv } from './env.js';

/** A wired anonymous page, frame `preferred` when it is free; null when no page is free now. */
export function ktlsPageTryAlloc(env: KtlsEnv, preferred: number): VmPage | null {
  const pg = vmPageAllocNoobj(env.vm, preferred);
  if (pg !== null) {
    env.cells.anon_pages_allocated++;
    env.cells.anon_pages_held++;
  }
  return pg;
}

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
    const pg = ktlsPageTryAlloc(env, prev === null ? -1 : prev.physIndex + 1);
    if (pg !== null) return pg;
    await env.vm.vmWait(signal);
  }
}

function pageAt(env: KtlsEnv, physAddr: number): VmPage {
  const pg = env.vm.pages[Math.floor(physAddr / PAGE_SIZE)];
  kassert(pg !== undefined, () => `ktls: no page at ${physAddr}`);
  return pg;
}

/** mb_free_mext_pgs for anonymous pages: every page of the list is unwired and freed. */
export function ktlsFreeAnon(env: KtlsEnv, m: Mbuf): void {
  const epg = m.m_epg;
  kassert(epg !== null && (m.m_flags & M_EXTPG) !== 0, 'mb_free_mext_pgs: not M_EXTPG');
  kassert((epg.m_epg_flags & EPG_FLAG_ANON) !== 0, 'mb_free_mext_pgs: pages are not anonymous');
  // Last page first: the free list hands the first back first, and the frame after it is free
  // again, so the next record gets the same physically contiguous run (one view to encrypt and send).
  for (let i = epg.m_epg_npgs - 1; i >= 0; i--) {
    vmPageFreeNoobj(env.vm, pageAt(env, epg.m_epg_pa[i] ?? -1));
    env.cells.anon_pages_held--;
  }
  if (env.invariants) env.checkAll();
}

/** m_uiotombuf's page source on a TLS socket: anonymous pages, records of at most `maxlenBytes`. */
export function ktlsAnonPages(env: KtlsEnv, maxlenBytes: number): UioPageSource {
  return {
    maxlenBytes,
    extFree: env.freeAnon,
    pageAlloc: (preferredPa) =>
      ktlsPageTryAlloc(env, preferredPa < 0 ? -1 : Math.floor(preferredPa / PAGE_SIZE))?.physAddr ?? -1,
    pageWait: (signal) => env.vm.vmWait(signal),
    pageFree: (physAddr) => env.freeAnonPage(pageAt(env, physAddr)),
    pageBytes: (physAddr) => env.vm.pageBytes(pageAt(env, physAddr)),
  };
}
