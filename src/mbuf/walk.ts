// The byte walk over an mbuf chain that m_copydata (sys/kern/uipc_mbuf.c) and the socket's
// writev listing share: each mbuf's bytes are found in its storage (internal, cluster, external
// buffer) or, for M_EXTPG, page by page through the direct map, as m_unmapped_copydata does.
// A sink receives (buffer, byteOffset, length) spans; no view is made unless the sink makes one.
import * as constants from './constants.js';
import { EMPTY_BYTES, type Mbuf, mEpgPagelen } from './mbuf.js';

// Module-local copies of the constants the per-page code tests: V8 reads an imported binding
// through its module cell at every use (a load and a check), a module-local const not at all.
const { M_EXTPG } = constants;

export interface ByteSink {
  put(buffer: ArrayBufferLike, byteOffset: number, lengthBytes: number): void;
}

/** The direct map: physical memory, where a physical address is a byte offset. */
export type Dmap = ArrayBufferLike;

/** Hands `sink` the chain's bytes [offsetBytes, offsetBytes+lengthBytes); returns bytes walked. */
export function mbufWalk(
  m: Mbuf | null,
  offsetBytes: number,
  lengthBytes: number,
  dmap: Dmap,
  sink: ByteSink,
): number {
  let off = offsetBytes;
  let left = lengthBytes;
  for (; m !== null && left > 0; m = m.m_next) {
    if (off >= m.m_len) {
      off -= m.m_len;
      continue;
    }
    const n = Math.min(m.m_len - off, left);
    const ext = m.m_ext;
    if ((m.m_flags & M_EXTPG) !== 0) walkPages(m, m.m_data + off, n, dmap, sink);
    else if (ext !== null && ext.ext_pa >= 0) sink.put(dmap, ext.ext_pa + m.m_data + off, n);
    else sink.put(m.m_buf.buffer, m.m_buf.byteOffset + m.m_data + off, n);
    left -= n;
    off = 0;
  }
  return lengthBytes - left;
}

/**
 * The bytes of an M_EXTPG mbuf from data offset `offsetBytes`: the KTLS record header, the pages
 * through the direct map, then the trailer (m_unmapped_copydata's order).
 */
function walkPages(m: Mbuf, offsetBytes: number, lengthBytes: number, dmap: Dmap, sink: ByteSink): void {
  const epg = m.m_epg;
  if (epg === null) return;
  let off = offsetBytes;
  let left = lengthBytes;
  const hdrlen = epg.m_epg_hdrlen;
  if (off < hdrlen && left > 0) {
    const n = Math.min(hdrlen - off, left);
    sink.put(epg.m_epg_hdr.buffer, epg.m_epg_hdr.byteOffset + off, n);
    left -= n;
    off = 0;
  } else off -= hdrlen;
  for (let i = 0; i < epg.m_epg_npgs && left > 0; i++) {
    const pglen = mEpgPagelen(epg, i);
    if (off >= pglen) {
      off -= pglen;
      continue;
    }
    const n = Math.min(pglen - off, left);
    const pgoff = i === 0 ? epg.m_epg_1st_off : 0;
    sink.put(dmap, (epg.m_epg_pa[i] ?? 0) + pgoff + off, n);
    left -= n;
    off = 0;
  }
  if (left > 0) sink.put(epg.m_epg_trail.buffer, epg.m_epg_trail.byteOffset + off, left);
}

/** What a joiner holds between listings (nothing is pushed onto it: begin comes first). */
const NO_VIEWS: Uint8Array[] = [];

/**
 * Collects spans into views for writev, joining a span onto the previous one when it continues
 * it in the same ArrayBuffer (physically contiguous memory): one view for adjacent pages.
 */
export class ViewJoiner implements ByteSink {
  private buf: ArrayBufferLike | null = null;
  private start = 0;
  private end = 0;
  private out: Uint8Array[] = NO_VIEWS;

  begin(out: Uint8Array[]): void {
    this.out = out;
    this.buf = null;
  }

  put(buffer: ArrayBufferLike, byteOffset: number, lengthBytes: number): void {
    if (buffer === this.buf && byteOffset === this.end) {
      this.end += lengthBytes;
      return;
    }
    this.finish();
    this.buf = buffer;
    this.start = byteOffset;
    this.end = byteOffset + lengthBytes;
  }

  /** Pushes the pending view. */
  finish(): void {
    if (this.buf !== null) this.out.push(new Uint8Array(this.buf, this.start, this.end - this.start));
    this.buf = null;
  }

  /** Ends a listing: the pending view is pushed and the caller's array let go. */
  done(): void {
    this.finish();
    this.out = NO_VIEWS;
  }
}

/** Copies spans out into `into` from position 0 (m_copydata's destination). */
export class CopyOutSink implements ByteSink {
  private into: Uint8Array = EMPTY_BYTES;
  private pos = 0;

  begin(into: Uint8Array): void {
    this.into = into;
    this.pos = 0;
  }

  put(buffer: ArrayBufferLike, byteOffset: number, lengthBytes: number): void {
    this.into.set(new Uint8Array(buffer, byteOffset, lengthBytes), this.pos);
    this.pos += lengthBytes;
  }

  end(): void {
    this.into = EMPTY_BYTES;
  }
}
