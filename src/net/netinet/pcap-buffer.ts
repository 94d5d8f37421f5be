// A capture held in memory, bounded: the connections a tap matched, as one pcapng file whose
// Decryption Secrets Block comes right after the Interface Description Block, so that Wireshark
// has the keys before the first encrypted record. Packets beyond the bound are dropped and counted.
import { pcapngDsbKeylog, pcapngIdb, pcapngShb } from './pcapng.js';
import type { PcapSink } from './tcp-pcap.js';
import type { IfNet } from './tcp-var.js';

/** The largest frame a capture holds: a TSO burst with its headers. */
export const PCAP_SNAPLEN_BYTES = 262144;

/** What the Section Header says about the file (the note Wireshark shows in Capture File Properties). */
export function pcapngHeader(ifp: IfNet, userappl: string, extra = ''): Uint8Array {
  const tso = ifp.tso
    ? `TSO on (if_hw_tsomax ${ifp.hwTsomaxBytes}, ${ifp.hwTsomaxsegcount} segments of at most ${ifp.hwTsomaxsegsizeBytes} bytes)`
    : 'TSO off';
  const comment =
    'A model of the wire, not a capture of loopback: the segments are those the simulated ' +
    "FreeBSD tcp_output and the card's TSO would put on a wire for the bytes the server sent; the " +
    "client's packets are its bytes as the server read them; acknowledgements are synthesised " +
    `when the host socket took each batch. MTU ${ifp.mtuBytes}, ${tso}.${extra === '' ? '' : ` ${extra}`}`;
  const shb = pcapngShb({ userappl, comment, os: `${process.platform} (simulating FreeBSD)` });
  const idb = pcapngIdb('zcsim0', `the simulated NIC: MTU ${ifp.mtuBytes}, ${tso}`, PCAP_SNAPLEN_BYTES);
  const out = new Uint8Array(shb.length + idb.length);
  out.set(shb, 0);
  out.set(idb, shb.length);
  return out;
}

export class PcapBuffer implements PcapSink {
  private readonly blocks: Uint8Array[] = [];
  private keylog = '';
  private heldBytes = 0;
  /** Packets dropped because the buffer was full. */
  droppedPackets = 0;
  /** Connections whose last packet was given. */
  closedConnections = 0;
  private readonly closedWaiters: (() => void)[] = [];

  constructor(
    private readonly ifp: IfNet,
    private readonly userappl: string,
    readonly maxBytes: number,
  ) {}

  secrets(lines: string): void {
    if (this.heldBytes + lines.length > this.maxBytes) return;
    this.keylog += lines.endsWith('\n') ? lines : `${lines}\n`;
    this.heldBytes += lines.length + 1;
  }

  packet(epb: Uint8Array): void {
    if (this.heldBytes + epb.length > this.maxBytes) {
      this.droppedPackets++;
      return;
    }
    this.blocks.push(epb);
    this.heldBytes += epb.length;
  }

  closed(): void {
    this.closedConnections++;
    for (const w of this.closedWaiters.splice(0)) w();
  }

  /** Resolves when a connection's last packet was given (at once if one was). */
  whenClosed(): Promise<void> {
    if (this.closedConnections > 0) return Promise.resolve();
    return new Promise((resolve) => this.closedWaiters.push(resolve));
  }

  /** Packets held. */
  get packets(): number {
    return this.blocks.length;
  }

  /** The file: header, the key log (if any), the packets. `withSecrets` false leaves the keys out. */
  bytes(withSecrets = true): Uint8Array {
    const extra =
      this.droppedPackets > 0
        ? `${this.droppedPackets} packets beyond the capture's bound were dropped.`
        : '';
    const parts: Uint8Array[] = [pcapngHeader(this.ifp, this.userappl, extra)];
    if (withSecrets && this.keylog !== '') parts.push(pcapngDsbKeylog(this.keylog));
    parts.push(...this.blocks);
    const total = parts.reduce((s, p) => s + p.length, 0);
    const out = new Uint8Array(total);
    let pos = 0;
    for (const p of parts) {
      out.set(p, pos);
      pos += p.length;
    }
    return out;
  }
}
