// The pcapng file format (the IETF opsawg pcapng draft): the four blocks a capture of the model's
// wire needs. Section Header (byte order, the application's name and a note on what the file is),
// Interface Description (raw IPv4 frames, microsecond timestamps), Decryption Secrets (the TLS key
// log, so that Wireshark decrypts with no extra step) and Enhanced Packet (a frame with its
// direction, the TSO flag and a comment). Little-endian; every block and option padded to 4 bytes.

/** Block types. */
export const PCAPNG_SHB = 0x0a0d0d0a;
export const PCAPNG_IDB = 0x00000001;
export const PCAPNG_EPB = 0x00000006;
export const PCAPNG_DSB = 0x0000000a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
/** Decryption Secrets Block type of an NSS key log ("TLSK"). */
export const SECRETS_TYPE_TLS_KEYLOG = 0x544c534b;
/** LINKTYPE_RAW: each frame starts with its IPv4 (or IPv6) header. */
export const LINKTYPE_RAW = 101;

/** Option codes. */
const OPT_ENDOFOPT = 0;
const OPT_COMMENT = 1;
const SHB_HARDWARE = 2;
const SHB_OS = 3;
const SHB_USERAPPL = 4;
const IF_NAME = 2;
const IF_DESCRIPTION = 3;
const IF_TSRESOL = 9;
const EPB_FLAGS = 2;

/** epb_flags: direction (bits 0-1) and "TCP segmentation offloaded" (bit 11). */
export const EPB_FLAG_INBOUND = 0x1;
export const EPB_FLAG_OUTBOUND = 0x2;
export const EPB_FLAG_TSO = 1 << 11;

/** Bytes of an EPB before its frame: type, length, interface, timestamp (2), captured, original. */
export const EPB_HEAD_BYTES = 28;

const utf8 = new TextEncoder();

const pad4 = (n: number): number => (n + 3) & ~3;

interface Option {
  readonly code: number;
  readonly value: Uint8Array;
}

function textOption(code: number, text: string): Option {
  return { code, value: utf8.encode(text) };
}

function u32Option(code: number, v: number): Option {
  const value = new Uint8Array(4);
  new DataView(value.buffer).setUint32(0, v >>> 0, true);
  return { code, value };
}

function optionsBytes(options: readonly Option[]): number {
  if (options.length === 0) return 0;
  return options.reduce((sum, o) => sum + 4 + pad4(o.value.length), 0) + 4;
}

function writeOptions(view: DataView, bytes: Uint8Array, pos: number, options: readonly Option[]): number {
  if (options.length === 0) return pos;
  for (const o of options) {
    view.setUint16(pos, o.code, true);
    view.setUint16(pos + 2, o.value.length, true);
    bytes.set(o.value, pos + 4);
    pos += 4 + pad4(o.value.length);
  }
  view.setUint16(pos, OPT_ENDOFOPT, true);
  view.setUint16(pos + 2, 0, true);
  return pos + 4;
}

/** A block: `bodyBytes` of fixed fields (written by `fill`), then options, then the length again. */
function block(
  type: number,
  bodyBytes: number,
  options: readonly Option[],
  fill: (v: DataView, b: Uint8Array) => void,
): Uint8Array {
  const total = 8 + pad4(bodyBytes) + optionsBytes(options) + 4;
  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, type, true);
  view.setUint32(4, total, true);
  fill(view, bytes);
  writeOptions(view, bytes, 8 + pad4(bodyBytes), options);
  view.setUint32(total - 4, total, true);
  return bytes;
}

export interface ShbInfo {
  readonly userappl: string;
  readonly comment: string;
  readonly os?: string;
  readonly hardware?: string;
}

/** Section Header Block; the section length is left unknown (-1), as a streaming writer does. */
export function pcapngShb(info: ShbInfo): Uint8Array {
  const options = [textOption(OPT_COMMENT, info.comment)];
  if (info.hardware !== undefined) options.push(textOption(SHB_HARDWARE, info.hardware));
  if (info.os !== undefined) options.push(textOption(SHB_OS, info.os));
  options.push(textOption(SHB_USERAPPL, info.userappl));
  return block(PCAPNG_SHB, 16, options, (v) => {
    v.setUint32(8, BYTE_ORDER_MAGIC, true);
    v.setUint16(12, 1, true);
    v.setUint16(14, 0, true);
    v.setUint32(16, 0xffffffff, true);
    v.setUint32(20, 0xffffffff, true);
  });
}

/** Interface Description Block for raw IP frames, timestamps in microseconds (if_tsresol 6). */
export function pcapngIdb(name: string, description: string, snaplenBytes: number): Uint8Array {
  const tsresol: Option = { code: IF_TSRESOL, value: Uint8Array.of(6) };
  const options = [textOption(IF_NAME, name), textOption(IF_DESCRIPTION, description), tsresol];
  return block(PCAPNG_IDB, 8, options, (v) => {
    v.setUint16(8, LINKTYPE_RAW, true);
    v.setUint16(10, 0, true);
    v.setUint32(12, snaplenBytes, true);
  });
}

/** Decryption Secrets Block holding NSS key log lines. */
export function pcapngDsbKeylog(lines: string): Uint8Array {
  const data = utf8.encode(lines);
  return block(PCAPNG_DSB, 8 + data.length, [], (v, b) => {
    v.setUint32(8, SECRETS_TYPE_TLS_KEYLOG, true);
    v.setUint32(12, data.length, true);
    b.set(data, 16);
  });
}

/**
 * Enhanced Packet Block of a `frameBytes`-byte frame on interface 0, which `fill` writes at offset
 * EPB_HEAD_BYTES of the block (no copy of the frame elsewhere).
 */
export function pcapngEpb(
  timestampUs: number,
  frameBytes: number,
  flags: number,
  comment: string | null,
  fill: (block: Uint8Array, frameOffset: number) => void,
): Uint8Array {
  const options: Option[] = [];
  if (comment !== null) options.push(textOption(OPT_COMMENT, comment));
  options.push(u32Option(EPB_FLAGS, flags));
  const ts = Math.max(0, Math.floor(timestampUs));
  return block(PCAPNG_EPB, 20 + frameBytes, options, (v, b) => {
    v.setUint32(8, 0, true);
    v.setUint32(12, Math.floor(ts / 2 ** 32), true);
    v.setUint32(16, ts % 2 ** 32, true);
    v.setUint32(20, frameBytes, true);
    v.setUint32(24, frameBytes, true);
    fill(b, EPB_HEAD_BYTES);
  });
}
