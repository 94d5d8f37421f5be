// Mirrors the chain routines of sys/kern/uipc_mbuf.c: m_copym (with mb_dupcl), m_copydata,
// m_copyback, m_append, m_cat, m_adj and m_length.
//
// Plain functions over the room's state (MbufCore); MbufAllocator offers them as methods.
// XXX(sim): these never sleep. m_copym with M_WAITOK may sleep in the kernel; here it behaves as
// M_NOWAIT and returns null at the zone's limit (counted as a failure), so callers stay
// synchronous. m_append takes clusters for large remainders (the kernel appends plain mbufs).
import { panic } from '../kern/index.js';
import { deny, type MbufCore, mClattach, mFreem, mFreeOne, mInit, mRelease } from './alloc.js';
import * as constants from './constants.js';
import { M_COPYALL, M_EXT, M_PKTHDR, type MbufHow, MLEN } from './constants.js';
import { type Mbuf, mEpgCopy } from './mbuf.js';
import { mbufWalk } from './walk.js';

// Module-local copies of the constants the per-page code tests: V8 reads an imported binding
// through its module cell at every use (a load and a check), a module-local const not at all.
const { EXT_FLAG_EMBREF, M_EXTPG, M_RDONLY } = constants;

/** M_WRITABLE: not read-only, and external storage only if nobody else refers to it. */
export function mWritable(m: Mbuf): boolean {
  if ((m.m_flags & (M_RDONLY | M_EXTPG)) !== 0) return false;
  const ext = m.m_ext;
  return ext === null || (ext.ext_count === 1 && (ext.ext_flags & EXT_FLAG_EMBREF) !== 0);
}

/** M_TRAILINGSPACE: room after the data, 0 unless the mbuf is writable. */
export function mTrailingspace(m: Mbuf): number {
  if (!mWritable(m)) return 0;
  const end = m.m_ext !== null ? m.m_ext.ext_size : m.m_buf.length;
  return end - (m.m_data + m.m_len);
}

/** m_last. */
function mLast(m: Mbuf): Mbuf {
  while (m.m_next !== null) m = m.m_next;
  return m;
}

/**
 * m_copym: a new chain for [offsetBytes, offsetBytes+lengthBytes) of `m` (M_COPYALL: to the end).
 * External and M_EXTPG storage is shared (count++), internal data is copied. A copy from offset
 * 0 of a packet header keeps M_PKTHDR. Null when the mbuf zone is at its limit.
 */
export function mCopym(
  mb: MbufCore,
  m0: Mbuf,
  offsetBytes: number,
  lengthBytes: number,
  how: MbufHow,
): Mbuf | null {
  void how;
  if (offsetBytes < 0 || lengthBytes < 0) panic(`m_copym: off ${offsetBytes} len ${lengthBytes}`);
  const copyhdr = offsetBytes === 0 && (m0.m_flags & M_PKTHDR) !== 0;
  let m: Mbuf | null = m0;
  let off = offsetBytes;
  while (off > 0) {
    if (m === null) panic(`m_copym: offset ${offsetBytes} > size of mbuf chain`);
    if (off < m.m_len) break;
    off -= m.m_len;
    m = m.m_next;
  }
  let len = lengthBytes;
  let top: Mbuf | null = null;
  let tail: Mbuf | null = null;
  while (len > 0) {
    if (m === null) {
      if (len !== M_COPYALL) panic(`m_copym: length ${lengthBytes} > size of mbuf chain`);
      break;
    }
    const n = mb.mbufZone.alloc();
    if (n === null) {
      mFreem(mb, top);
      return deny(mb, mb.mbufZone);
    }
    mInit(mb, n, m.m_type, top === null && copyhdr ? M_PKTHDR : 0);
    if (top === null && copyhdr) n.m_pkthdr_len = len === M_COPYALL ? m0.m_pkthdr_len : len;
    n.m_len = Math.min(len, m.m_len - off);
    if ((m.m_flags & (M_EXT | M_EXTPG)) !== 0) {
      mbDupcl(mb, n, m);
      n.m_data = m.m_data + off;
    } else {
      const from = m.m_data + off;
      n.m_dat.set(m.m_buf.subarray(from, from + n.m_len), n.m_data);
    }
    if (len !== M_COPYALL) len -= n.m_len;
    off = 0;
    m = m.m_next;
    if (tail === null) top = n;
    else tail.m_next = n;
    tail = n;
  }
  if (mb.invariants) mb.checkInvariants();
  return top;
}

/** m_copydata: copies [offsetBytes, offsetBytes+lengthBytes) of the chain into `into`. */
export function mCopydata(
  mb: MbufCore,
  m: Mbuf,
  offsetBytes: number,
  lengthBytes: number,
  into: Uint8Array,
): void {
  if (offsetBytes < 0 || lengthBytes < 0 || lengthBytes > into.length) {
    panic(`m_copydata: off ${offsetBytes} len ${lengthBytes} into ${into.length}`);
  }
  mb.copyOut.begin(into);
  const n = mbufWalk(m, offsetBytes, lengthBytes, mb.dmap, mb.copyOut);
  mb.copyOut.end();
  if (n !== lengthBytes) panic(`m_copydata: chain holds ${n} of ${lengthBytes} bytes from ${offsetBytes}`);
}

/**
 * m_copyback: writes `from[0, lengthBytes)` at chain offset `offsetBytes`, growing the chain with
 * zero-filled mbufs past its end. False if an mbuf could not be had (the rest is not written).
 */
export function mCopyback(
  mb: MbufCore,
  m0: Mbuf,
  offsetBytes: number,
  lengthBytes: number,
  from: Uint8Array,
): boolean {
  if (offsetBytes < 0 || lengthBytes < 0 || lengthBytes > from.length) {
    panic(`m_copyback: off ${offsetBytes} len ${lengthBytes} from ${from.length}`);
  }
  let m = m0;
  let off = offsetBytes;
  let totlen = 0;
  let ok = true;
  while (off > m.m_len) {
    off -= m.m_len;
    totlen += m.m_len;
    if (m.m_next === null) {
      const n = mGetNowait(mb, m.m_type, false);
      if (n === null) return copybackDone(mb, m0, totlen, false);
      n.m_len = Math.min(MLEN, lengthBytes + off);
      n.m_dat.fill(0, n.m_data, n.m_data + n.m_len);
      m.m_next = n;
    }
    m = m.m_next;
  }
  let pos = 0;
  while (pos < lengthBytes) {
    const left = lengthBytes - pos;
    if (m.m_next === null && left > m.m_len - off)
      m.m_len += Math.min(left - (m.m_len - off), mTrailingspace(m));
    const n = Math.min(m.m_len - off, left);
    if (n > 0 && (m.m_flags & (M_RDONLY | M_EXTPG)) !== 0) panic('m_copyback: into a read-only mbuf');
    m.m_buf.set(from.subarray(pos, pos + n), m.m_data + off);
    pos += n;
    totlen += off + n;
    off = 0;
    if (pos === lengthBytes) break;
    if (m.m_next === null) {
      const nn = mGetNowait(mb, m.m_type, false);
      if (nn === null) {
        ok = false;
        break;
      }
      nn.m_len = Math.min(MLEN, lengthBytes - pos);
      m.m_next = nn;
    }
    m = m.m_next;
  }
  return copybackDone(mb, m0, totlen, ok);
}

/**
 * m_append: copies `from` onto the end of the chain, into the last mbuf's trailing space and
 * then new mbufs. False if an mbuf could not be had. Updates m_pkthdr_len.
 */
export function mAppend(mb: MbufCore, m0: Mbuf, from: Uint8Array): boolean {
  let m = mLast(m0);
  let pos = Math.min(mTrailingspace(m), from.length);
  m.m_buf.set(from.subarray(0, pos), m.m_data + m.m_len);
  m.m_len += pos;
  while (pos < from.length) {
    const n = mGetNowait(mb, m.m_type, from.length - pos > MLEN);
    if (n === null) break;
    const take = Math.min(mTrailingspace(n), from.length - pos);
    n.m_buf.set(from.subarray(pos, pos + take), n.m_data);
    n.m_len = take;
    pos += take;
    m.m_next = n;
    m = n;
  }
  if ((m0.m_flags & M_PKTHDR) !== 0) m0.m_pkthdr_len += pos;
  if (mb.invariants) mb.checkInvariants();
  return pos === from.length;
}

/**
 * m_cat: appends chain `n` to `m`, copying each mbuf's data into m's last mbuf while it fits
 * (and freeing it), linking the rest. m_pkthdr_len is not updated, as in the kernel.
 */
export function mCat(mb: MbufCore, m0: Mbuf, n0: Mbuf | null): void {
  const m = mLast(m0);
  let n = n0;
  while (n !== null) {
    if (!mWritable(m) || (n.m_flags & M_EXTPG) !== 0 || mTrailingspace(m) < n.m_len) {
      m.m_next = n;
      break;
    }
    m.m_buf.set(n.m_buf.subarray(n.m_data, n.m_data + n.m_len), m.m_data + m.m_len);
    m.m_len += n.m_len;
    n = mFreeOne(mb, n);
  }
  if (mb.invariants) mb.checkInvariants();
}

/**
 * m_adj: a positive count trims bytes from the head, a negative one from the tail. Emptied
 * mbufs stay in the chain with m_len 0; m_pkthdr_len follows.
 */
export function mAdj(mb: MbufCore, mp: Mbuf | null, reqLenBytes: number): void {
  if (mp === null) return;
  if (reqLenBytes >= 0) {
    let len = reqLenBytes;
    for (let m: Mbuf | null = mp; m !== null && len > 0; m = m.m_next) {
      const n = Math.min(m.m_len, len);
      m.m_len -= n;
      m.m_data += n;
      len -= n;
    }
    if ((mp.m_flags & M_PKTHDR) !== 0) mp.m_pkthdr_len -= reqLenBytes - len;
  } else {
    let count = Math.max(0, mLength(mb, mp) + reqLenBytes);
    if ((mp.m_flags & M_PKTHDR) !== 0) mp.m_pkthdr_len = count;
    for (let m: Mbuf | null = mp; m !== null; m = m.m_next) {
      const keep = Math.min(m.m_len, count);
      m.m_len = keep;
      count -= keep;
    }
  }
  if (mb.invariants) mb.checkInvariants();
}

/** m_length: bytes in the chain. */
export function mLength(_mb: MbufCore, m: Mbuf | null): number {
  let n = 0;
  for (; m !== null; m = m.m_next) n += m.m_len;
  return n;
}

/** mb_dupcl: n refers to m's storage (count++); M_EXTPG metadata is copied. */
export function mbDupcl(_mb: MbufCore, n: Mbuf, m: Mbuf): void {
  const ext = m.m_ext;
  if (ext === null || ext.ext_count <= 0) panic(`mb_dupcl: storage count ${ext?.ext_count}`);
  if (n.m_ext !== null) panic('mb_dupcl: target already has storage');
  ext.ext_count++;
  n.m_ext = ext;
  n.m_buf = m.m_buf;
  n.m_flags |= m.m_flags & (M_RDONLY | M_EXT | M_EXTPG);
  if ((m.m_flags & M_EXTPG) !== 0 && m.m_epg !== null) {
    n.m_epg = n.m_epg_embedded;
    mEpgCopy(n.m_epg, m.m_epg);
  }
}

/** An mbuf (with a cluster when asked) without sleeping; null and a failure at the limit. */
export function mGetNowait(mb: MbufCore, type: number, cluster: boolean): Mbuf | null {
  const m = mb.mbufZone.alloc();
  if (m === null) return deny(mb, mb.mbufZone);
  mInit(mb, m, type, 0);
  if (!cluster) return m;
  const cl = mb.clusterZone.alloc();
  if (cl === null) {
    mRelease(mb, m);
    return deny(mb, mb.clusterZone);
  }
  mClattach(mb, m, cl);
  return m;
}

export function copybackDone(mb: MbufCore, m0: Mbuf, totlen: number, ok: boolean): boolean {
  if ((m0.m_flags & M_PKTHDR) !== 0 && m0.m_pkthdr_len < totlen) m0.m_pkthdr_len = totlen;
  if (mb.invariants) mb.checkInvariants();
  return ok;
}
