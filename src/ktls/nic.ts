// The "NIC" of ifnet mode (ktls(4): TCP_TLS_MODE_IFNET; a driver's TLS send tag): TCP hands it
// records whose pages still hold plaintext, and the card encrypts them as it reads them, in its
// own memory. The same tag can simulate a lost segment: the retransmission reads the mbuf's
// memory again, which is how a file changed under an ifnet send reaches the peer as a record whose
// tag no longer matches (bad record MAC), while software mode re-sends its own ciphertext.
// XXX(sim): no segments or retransmissions really happen; the host TCP is reliable.
import { kassert } from '../kern/index.js';
import { M_EXTPG, type Mbuf } from '../mbuf/index.js';
import type { SndTag } from '../net/index.js';
import { TCP_TLS_MODE_IFNET } from './constants.js';
import { epgPayloadViews } from './encrypt.js';
import type { KtlsEnv } from './env.js';
import type { KtlsSession } from './session.js';

/**
 * A simulated loss, once per connection: segment `segmentIndex` (of `segmentBytes`) of the first
 * record with at least `minPayloadBytes` of payload is lost and sent again.
 */
export interface KtlsRexmit {
  readonly minPayloadBytes: number;
  readonly segmentBytes: number;
  readonly segmentIndex: number;
  /** Runs between the first transmission and the retransmission (a test changes the file here). */
  readonly beforeResend?: () => void;
}

/** The send tag of one connection. */
export class KtlsNic implements SndTag {
  private readonly scratch: Uint8Array[] = [];
  private rexmitDone = false;

  constructor(
    private readonly env: KtlsEnv,
    private readonly rexmit: KtlsRexmit | null,
  ) {}

  output(m: Mbuf, bytes: number, out: Uint8Array[]): number {
    let listed = 0;
    for (let n: Mbuf | null = m; n !== null && listed < bytes; n = n.m_next) {
      kassert(n.m_len <= bytes - listed, () => `nic: batch ends inside an mbuf (${bytes - listed} left)`);
      const wire = this.wireBytes(n);
      if (this.rexmit !== null && !this.rexmitDone && isRecord(n)) {
        const epg = n.m_epg!;
        if (n.m_len - epg.m_epg_hdrlen - epg.m_epg_trllen >= this.rexmit.minPayloadBytes) {
          this.rexmitDone = true;
          this.retransmit(n, wire);
        }
      }
      for (const v of wire) out.push(v);
      listed += n.m_len;
    }
    return listed;
  }

  /**
   * What the card sends for one mbuf: an ifnet record is encrypted now, as the card reads its
   * pages, into the card's own memory (the cipher's output buffers, never physical memory): the
   * header, the ciphertext, then the type and tag.
   */
  private wireBytes(n: Mbuf): Uint8Array[] {
    const tls = isRecord(n) ? (n.m_epg!.m_epg_tls as KtlsSession) : null;
    if (tls !== null && tls.mode === TCP_TLS_MODE_IFNET) {
      kassert(n.m_data === 0, 'nic: a record must go out whole');
      const epg = n.m_epg!;
      const wire: Uint8Array[] = [epg.m_epg_hdr.subarray(0, epg.m_epg_hdrlen)];
      const trail = new Uint8Array(epg.m_epg_trllen);
      const payload = tls.ocf_session.sealRuns(
        tls.nonce(epg.m_epg_seqno),
        epg.m_epg_hdr,
        epgPayloadViews(this.env, n, epg.m_epg_pa),
        epg.m_epg_record_type,
        trail,
        wire,
      );
      wire.push(trail);
      this.env.cells.records_ifnet++;
      this.env.cells.ifnet_encrypt_bytes += payload;
      return wire;
    }
    this.scratch.length = 0;
    this.env.mbufs.mbufViews(n, n.m_len, this.scratch);
    return [...this.scratch];
  }

  /** Replaces one segment of `wire` with what a second read of the mbuf gives. */
  private retransmit(n: Mbuf, wire: Uint8Array[]): void {
    const r = this.rexmit!;
    const first = concat(wire);
    r.beforeResend?.();
    const again = concat(this.wireBytes(n));
    const start = Math.min(r.segmentIndex * r.segmentBytes, first.length);
    const end = Math.min(start + r.segmentBytes, first.length);
    first.set(again.subarray(start, end), start);
    this.env.cells.rexmit_segments++;
    wire.length = 0;
    wire.push(first);
  }
}

function isRecord(n: Mbuf): boolean {
  return (n.m_flags & M_EXTPG) !== 0 && n.m_epg !== null && n.m_epg.m_epg_tls !== null;
}

function concat(views: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(views.reduce((s, v) => s + v.length, 0));
  let pos = 0;
  for (const v of views) {
    out.set(v, pos);
    pos += v.length;
  }
  return out;
}
