// Mirrors ktls_encrypt of sys/kern/uipc_ktls.c (software mode): each record of a queued chain is
// encrypted from its pages into newly allocated anonymous pages (file pages are never written),
// the file pages' references are dropped through the storage's old free routine, the mbuf takes
// the new pages, and the chain is marked ready (pr_ready) so that TCP can send it.
import { isSysError, kassert, PAGE_SIZE } from '../kern/index.js';
import {
  EPG_FLAG_ANON,
  EXT_FLAG_CACHE_LAST,
  EXT_FLAG_NOCACHE,
  EXT_FLAG_SYNC,
  M_EXTPG,
  M_NOTREADY,
  M_RDONLY,
  type Mbuf,
  mEpgPagelen,
} from '../mbuf/index.js';
import type { KSocket } from '../net/index.js';
import type { VmPage } from '../vm/index.js';
import { ktlsPageAlloc, ktlsPageTryAlloc } from './anon.js';
import type { KtlsEnv } from './env.js';
import type { KtlsSession } from './session.js';

/**
 * The views of an M_EXTPG mbuf's payload at the page addresses `pa`: one per run of physically
 * contiguous pages (a record read into consecutive frames is one view, encrypted in one call).
 */
export function epgPayloadViews(env: KtlsEnv, m: Mbuf, pa: readonly number[]): Uint8Array[] {
  const epg = m.m_epg!;
  const out: Uint8Array[] = [];
  let start = (pa[0] ?? 0) + epg.m_epg_1st_off;
  let end = start;
  for (let i = 0; i < epg.m_epg_npgs; i++) {
    const at = (pa[i] ?? 0) + (i === 0 ? epg.m_epg_1st_off : 0);
    if (at !== end) {
      out.push(env.vm.physBytes(start, end - start));
      start = at;
    }
    end = at + mEpgPagelen(epg, i);
  }
  if (end > start) out.push(env.vm.physBytes(start, end - start));
  return out;
}

/**
 * ktls_ocf_tls13_aead_encrypt: seals one framed record whose payload is `src` into `dst` (the same
 * views: in place), counting the operation as ktls_ocf.c does. Returns the payload bytes.
 */
function ktlsSealRecord(
  env: KtlsEnv,
  m: Mbuf,
  src: readonly Uint8Array[],
  dst: readonly Uint8Array[],
): number {
  const epg = m.m_epg!;
  const tls = epg.m_epg_tls as KtlsSession;
  if (tls.params.cipher_algorithm === 'CRYPTO_AES_NIST_GCM_16') env.cells.ocf_tls13_gcm_encrypts++;
  else env.cells.ocf_tls13_chacha20_encrypts++;
  if (src === dst) env.cells.ocf_inplace++;
  else env.cells.ocf_separate_output++;
  return tls.ocf_session.seal(
    tls.nonce(epg.m_epg_seqno),
    epg.m_epg_hdr,
    src,
    dst,
    epg.m_epg_record_type,
    epg.m_epg_trail,
  );
}

/**
 * ktls_encrypt: encrypts the records of the chain from `top` until `totalPages` pages are done,
 * then pr_ready. On a dropped connection nothing is encrypted: pr_ready frees the records.
 */
export async function ktlsEncrypt(env: KtlsEnv, top: Mbuf, so: KSocket, totalPages: number): Promise<void> {
  let npages = 0;
  env.cells.tasks_active++;
  try {
    for (let m: Mbuf | null = top; npages !== totalPages; m = m.m_next) {
      kassert(
        m !== null && m.m_epg !== null,
        () => `ktls_encrypt: chain ended after ${npages} of ${totalPages} pages`,
      );
      kassert(
        (m.m_flags & (M_EXTPG | M_NOTREADY)) === (M_EXTPG | M_NOTREADY),
        'ktls_encrypt: not an unready M_EXTPG mbuf',
      );
      npages += m.m_epg.m_epg_nrdy;
      if (so.dropped) continue;
      const r = ktlsEncryptRecord(env, m);
      if (r !== undefined) await r;
    }
  } catch (e) {
    // A failed encryption leaves the connection unusable: abort it; pr_ready below frees the records.
    if (!isSysError(e)) env.cells.failed_crypto++;
    env.sockets.prAbort(so, 'EIO');
  } finally {
    env.cells.tasks_active--;
  }
  env.sockets.prReady(so, top, totalPages);
  if (env.invariants) env.checkAll();
}

/**
 * One record: anonymous pages are encrypted in place; file pages into new pages, then swapped.
 * Synchronous unless a page has to be waited for.
 */
function ktlsEncryptRecord(env: KtlsEnv, m: Mbuf): Promise<void> | undefined {
  const epg = m.m_epg!;
  if ((epg.m_epg_flags & EPG_FLAG_ANON) !== 0) {
    const src = epgPayloadViews(env, m, epg.m_epg_pa);
    env.cells.sw_encrypt_bytes += ktlsSealRecord(env, m, src, src);
    env.cells.records_sw++;
    return undefined;
  }
  const pages: VmPage[] = [];
  for (let i = 0; i < epg.m_epg_npgs; i++) {
    const prev = pages.at(-1);
    const pg = ktlsPageTryAlloc(env, prev === undefined ? -1 : prev.physIndex + 1);
    if (pg === null) return ktlsEncryptRecordSlow(env, m, pages);
    pages.push(pg);
  }
  ktlsEncryptInto(env, m, pages);
  return undefined;
}

/** The rest of the record's pages, sleeping for memory (VM_ALLOC_WAITOK), then the encryption. */
async function ktlsEncryptRecordSlow(env: KtlsEnv, m: Mbuf, pages: VmPage[]): Promise<void> {
  try {
    while (pages.length < m.m_epg!.m_epg_npgs) pages.push(await ktlsPageAlloc(env, pages.at(-1) ?? null));
  } catch (e) {
    for (const pg of pages) env.freeAnonPage(pg);
    throw e;
  }
  ktlsEncryptInto(env, m, pages);
}

/** Encrypts the file pages' record into `pages`, which the mbuf then carries instead. */
function ktlsEncryptInto(env: KtlsEnv, m: Mbuf, pages: readonly VmPage[]): void {
  const epg = m.m_epg!;
  const ext = m.m_ext!;
  const parray = pages.map((pg) => pg.physAddr);
  const src = epgPayloadViews(env, m, epg.m_epg_pa);
  env.cells.sw_encrypt_bytes += ktlsSealRecord(env, m, src, epgPayloadViews(env, m, parray));
  env.cells.records_sw++;
  // Drop the reference to the file pages (their sendfile free routine runs now), then the mbuf
  // carries the ciphertext pages, freed by the basic routine with the mbuf.
  const fileFree = ext.ext_free;
  kassert(fileFree !== null, 'ktls_encrypt: storage without a free routine');
  fileFree(m);
  ext.ext_flags &= ~(EXT_FLAG_SYNC | EXT_FLAG_NOCACHE | EXT_FLAG_CACHE_LAST);
  for (let i = 0; i < parray.length; i++) epg.m_epg_pa[i] = parray[i] ?? 0;
  ext.ext_free = env.freeAnon;
  ext.ext_arg1 = null;
  epg.m_epg_flags |= EPG_FLAG_ANON;
  m.m_flags &= ~M_RDONLY;
  kassert(pages.length === 0 || pages[0]!.physAddr % PAGE_SIZE === 0, 'ktls_encrypt: unaligned page');
}
