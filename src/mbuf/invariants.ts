// The debug-mode checks of the mbuf room (the simulator's INVARIANTS for kern_mbuf.c): the zones'
// counts, the life state of every mbuf, every storage's reference count against the mbufs that
// really point at it, and the bounds of every mbuf's data.
import { PAGE_SIZE } from '../kern/index.js';
import { EXT_CLUSTER, EXT_FLAG_EMBREF, M_EXT, M_EXTPG, MBUF_PEXT_MAX_PGS } from './constants.js';
import { type Mbuf, type MExt, type MExtPg, MS_FREE, MS_LIVE, MS_ZOMBIE, mEpgFrameBytes } from './mbuf.js';
import type { Zone } from './zone.js';

/** Returns every broken rule (empty when all hold). */
export function checkMbufZones(mbufs: Zone<Mbuf>, clusters: Zone<Uint8Array>, extLive: number): string[] {
  const out = [...mbufs.violations(), ...clusters.violations()];
  const refs = new Map<MExt, number>();
  let free = 0;
  let held = 0;
  for (const m of mbufs.items) {
    if (m.m_state === MS_FREE) {
      free++;
      if (m.m_ext !== null || m.m_flags !== 0) out.push('free mbuf still carries flags or storage');
      continue;
    }
    held++;
    mbufBounds(m, out);
    const ext = m.m_ext;
    if (ext === null) continue;
    if (m.m_state === MS_ZOMBIE) {
      if (ext.ext_mref !== m) out.push('zombie mbuf is not the owner of its storage');
      refs.set(ext, refs.get(ext) ?? 0);
    } else refs.set(ext, (refs.get(ext) ?? 0) + 1);
  }
  if (free !== mbufs.cache) out.push(`mbuf: ${free} free mbufs but cache ${mbufs.cache}`);
  if (held !== mbufs.current) out.push(`mbuf: ${held} mbufs held but current ${mbufs.current}`);
  let clustersHeld = 0;
  for (const [ext, n] of refs) {
    if (ext.ext_count !== n) out.push(`storage count ${ext.ext_count} but ${n} live mbufs refer to it`);
    if (ext.ext_count <= 0) out.push(`live storage with count ${ext.ext_count}`);
    if (ext.ext_pa >= 0 && ext.ext_buf.byteOffset !== ext.ext_pa) {
      out.push(`storage at ${ext.ext_buf.byteOffset} but ext_pa ${ext.ext_pa}`);
    }
    const owner = ext.ext_mref;
    if ((ext.ext_flags & EXT_FLAG_EMBREF) !== 0) {
      if (owner === null || owner.m_ext !== ext || owner.m_state === MS_FREE) {
        out.push('storage owner is gone while the storage lives');
      }
    }
    if (ext.ext_type === EXT_CLUSTER) clustersHeld++;
  }
  if (refs.size !== extLive) out.push(`${refs.size} live storages but extLive ${extLive}`);
  if (clustersHeld !== clusters.current) {
    out.push(`${clustersHeld} clusters attached but mbuf_cluster current ${clusters.current}`);
  }
  return out;
}

/** Pushes onto `bad` what is wrong with one held mbuf (allocates nothing when all is well). */
function mbufBounds(m: Mbuf, bad: string[]): void {
  if (m.m_state !== MS_LIVE && m.m_state !== MS_ZOMBIE) {
    bad.push(`mbuf in unknown state ${m.m_state}`);
    return;
  }
  if (m.m_len < 0 || m.m_data < 0) bad.push(`mbuf m_len ${m.m_len} m_data ${m.m_data}`);
  const ext = m.m_ext;
  const hasExt = (m.m_flags & M_EXT) !== 0;
  if (hasExt !== (ext !== null)) bad.push('M_EXT flag and m_ext disagree');
  if ((m.m_flags & M_EXTPG) !== 0) {
    if (m.m_epg === null) bad.push('M_EXTPG mbuf without a page list');
    else {
      epgRules(m.m_epg, bad);
      if (m.m_data + m.m_len > mEpgFrameBytes(m.m_epg)) {
        bad.push(`M_EXTPG data ${m.m_data}+${m.m_len} beyond its pages (${mEpgFrameBytes(m.m_epg)})`);
      }
    }
    return;
  }
  const end = ext !== null ? ext.ext_size : m.m_buf.length;
  if (m.m_data + m.m_len > end) bad.push(`mbuf data ${m.m_data}+${m.m_len} beyond its storage (${end})`);
}

/** Reference invariant 12 for M_EXTPG. */
function epgRules(epg: MExtPg, bad: string[]): void {
  const n = epg.m_epg_npgs;
  if (n < 0 || n > MBUF_PEXT_MAX_PGS) bad.push(`m_epg_npgs ${n}`);
  if (epg.m_epg_nrdy < 0 || epg.m_epg_nrdy > n) bad.push(`m_epg_nrdy ${epg.m_epg_nrdy} of ${n} pages`);
  if (n === 0) return;
  if (epg.m_epg_1st_off < 0 || epg.m_epg_1st_off >= PAGE_SIZE) bad.push(`m_epg_1st_off ${epg.m_epg_1st_off}`);
  if (epg.m_epg_last_len <= 0 || epg.m_epg_last_len > PAGE_SIZE)
    bad.push(`m_epg_last_len ${epg.m_epg_last_len}`);
  if (n === 1 && epg.m_epg_1st_off + epg.m_epg_last_len > PAGE_SIZE) {
    bad.push(`single page 1st_off ${epg.m_epg_1st_off} + last_len ${epg.m_epg_last_len} > PAGE_SIZE`);
  }
}
