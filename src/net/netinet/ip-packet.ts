// An IPv4 datagram carrying one TCP segment, as ip_output and tcp_output lay it out (netinet/ip.h,
// tcp.h): a 20-byte IP header with DF and its header checksum, the TCP header with its options,
// the payload, and the TCP checksum over the pseudo-header (in_pseudo, in_cksum). The payload is
// read from the batch's views, which the host writes as they are.
import { kassert } from '../../kern/index.js';
import { IP_HDR_BYTES, IP_MAXPACKET, TCP_HDR_BYTES } from './tcp-var.js';

const IPVERSION = 4;
const IPPROTO_TCP = 6;
const IP_DF = 0x4000;
/** net.inet.ip.ttl. */
const IPDEFTTL = 64;

const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** The two ends of a connection, addresses as unsigned 32-bit numbers. */
export interface TcpEnds {
  readonly srcAddr: number;
  readonly dstAddr: number;
  readonly srcPort: number;
  readonly dstPort: number;
}

export interface TcpHeaderFields {
  readonly seq: number;
  readonly ack: number;
  readonly flags: number;
  /** The window field as sent (already shifted by the window scale). */
  readonly win: number;
  readonly ipId: number;
  /** Encoded options, a multiple of 4 bytes. */
  readonly options: Uint8Array;
}

/** Reads a byte range of a list of views in order (one pass over a batch). */
export class ViewReader {
  private index = 0;
  private offset = 0;

  constructor(private readonly views: readonly Uint8Array[]) {}

  /** Copies the next `bytes` into `dst` at `pos`. */
  copyTo(dst: Uint8Array, pos: number, bytes: number): void {
    let left = bytes;
    while (left > 0) {
      const v = this.views[this.index];
      kassert(v !== undefined, () => `ViewReader: ${left} bytes past the end`);
      const step = Math.min(left, v.length - this.offset);
      dst.set(v.subarray(this.offset, this.offset + step), pos);
      pos += step;
      left -= step;
      this.offset += step;
      if (this.offset === v.length) {
        this.index++;
        this.offset = 0;
      }
    }
  }
}

/**
 * The ones'-complement sum of `bytes[start, end)`, as big-endian 16-bit words, added to `sum` (not
 * folded). An even start reads the words through a Uint16Array in the host's order and swaps the
 * folded sum (RFC 1071: the sum does not depend on byte order), which is several times faster.
 */
function cksumAdd(bytes: Uint8Array, start: number, end: number, sum: number): number {
  const words = (end - start) >> 1;
  if (((bytes.byteOffset + start) & 1) === 0 && LITTLE_ENDIAN) {
    const w = new Uint16Array(bytes.buffer, bytes.byteOffset + start, words);
    let le = 0;
    for (let i = 0; i < words; i++) le += w[i] as number;
    while (le > 0xffff) le = (le & 0xffff) + Math.floor(le / 0x10000);
    sum += ((le & 0xff) << 8) | (le >> 8);
  } else {
    for (let i = start; i + 1 < end; i += 2) sum += ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
  }
  if (((end - start) & 1) === 1) sum += (bytes[end - 1] as number) << 8;
  return sum;
}

function cksumFold(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/** Bytes of the datagram for a payload of `payloadBytes` and the given options. */
export function ipPacketBytes(optionBytes: number, payloadBytes: number): number {
  return IP_HDR_BYTES + TCP_HDR_BYTES + optionBytes + payloadBytes;
}

/**
 * Writes the datagram at `out[pos]`; the payload is `payloadBytes` read from `payload` (or none).
 * Returns the datagram's length.
 */
export function writeTcpIpPacket(
  out: Uint8Array,
  pos: number,
  ends: TcpEnds,
  th: TcpHeaderFields,
  payload: ViewReader | null,
  payloadBytes: number,
): number {
  const optlen = th.options.length;
  kassert(optlen % 4 === 0 && optlen <= 40, () => `tcp header: ${optlen} option bytes`);
  const total = ipPacketBytes(optlen, payloadBytes);
  kassert(total <= IP_MAXPACKET, () => `ip_output: ${total} bytes above IP_MAXPACKET`);
  const v = new DataView(out.buffer, out.byteOffset + pos, total);
  v.setUint8(0, (IPVERSION << 4) | (IP_HDR_BYTES >> 2));
  v.setUint8(1, 0);
  v.setUint16(2, total);
  v.setUint16(4, th.ipId & 0xffff);
  v.setUint16(6, IP_DF);
  v.setUint8(8, IPDEFTTL);
  v.setUint8(9, IPPROTO_TCP);
  v.setUint16(10, 0);
  v.setUint32(12, ends.srcAddr >>> 0);
  v.setUint32(16, ends.dstAddr >>> 0);
  v.setUint16(10, cksumFold(cksumAdd(out, pos, pos + IP_HDR_BYTES, 0)));
  const t = pos + IP_HDR_BYTES;
  v.setUint16(20, ends.srcPort);
  v.setUint16(22, ends.dstPort);
  v.setUint32(24, th.seq >>> 0);
  v.setUint32(28, th.ack >>> 0);
  v.setUint8(32, ((TCP_HDR_BYTES + optlen) >> 2) << 4);
  v.setUint8(33, th.flags);
  v.setUint16(34, th.win & 0xffff);
  v.setUint16(36, 0);
  v.setUint16(38, 0);
  out.set(th.options, t + TCP_HDR_BYTES);
  if (payload !== null && payloadBytes > 0) payload.copyTo(out, t + TCP_HDR_BYTES + optlen, payloadBytes);
  const tcpBytes = total - IP_HDR_BYTES;
  // The pseudo-header: source, destination, protocol, TCP length.
  let sum = cksumAdd(out, pos + 12, pos + 20, 0);
  sum += IPPROTO_TCP + tcpBytes;
  sum = cksumAdd(out, t, t + tcpBytes, sum);
  v.setUint16(36, cksumFold(sum));
  return total;
}
