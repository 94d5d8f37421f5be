// The TLS 1.3 record protection KTLS applies (RFC 8446 §5.2-5.4; ktls_ocf.c's
// ktls_ocf_tls13_encrypt): AEAD over the payload and the real content type, the record header as
// additional data, the nonce the IV XOR the sequence number.
import { type CipherGCM, createCipheriv, type KeyObject } from 'node:crypto';
import { kassert } from '../kern/index.js';
import {
  AES_GMAC_HASH_LEN,
  TLS_HEADER_BYTES,
  TLS_MAJOR_VER_ONE,
  TLS_MINOR_VER_TWO,
  TLS_RLTYPE_APP,
  type Tls13Suite,
} from './constants.js';

/**
 * Writes the nonce of record `seqno` into `out`: `iv` XOR the 64-bit sequence number,
 * right-aligned (a safe integer: its high word below 2^21).
 */
export function tls13NonceInto(iv: Uint8Array, seqno: number, out: Buffer): Buffer {
  kassert(Number.isSafeInteger(seqno) && seqno >= 0, () => `tls13_nonce: sequence number ${seqno}`);
  out.set(iv);
  const at = out.length - 8;
  out.writeUInt32BE((out.readUInt32BE(at) ^ Math.floor(seqno / 2 ** 32)) >>> 0, at);
  out.writeUInt32BE((out.readUInt32BE(at + 4) ^ seqno) >>> 0, at + 4);
  return out;
}

/** The nonce of record `seqno`, in a new buffer. */
export function tls13Nonce(iv: Uint8Array, seqno: number): Buffer {
  return tls13NonceInto(iv, seqno, Buffer.alloc(iv.length));
}

/** One byte for each record type: the inner content type each record's AEAD ends with. */
const INNER_TYPES = Uint8Array.from({ length: 256 }, (_, i) => i);

/** Writes a TLS 1.3 record header (application_data, legacy version 3.3) for `lengthBytes`. */
export function tlsRecordHeader(into: Uint8Array, lengthBytes: number): void {
  kassert(lengthBytes > 0 && lengthBytes <= 0xffff, () => `tls_record_header: length ${lengthBytes}`);
  into[0] = TLS_RLTYPE_APP;
  into[1] = TLS_MAJOR_VER_ONE;
  into[2] = TLS_MINOR_VER_TWO;
  into[3] = lengthBytes >> 8;
  into[4] = lengthBytes & 0xff;
}

/** What the AEAD takes as its key: the session's raw bytes (cheaper per record) or a KeyObject. */
export type Tls13Key = KeyObject | Uint8Array;

/** One byte view for each record type: the inner content type each record's AEAD ends with. */
const INNER_TYPE_VIEWS = Array.from({ length: 256 }, (_, i) => INNER_TYPES.subarray(i, i + 1));

/** A new AEAD for one record, the record header already given as additional data. */
function tls13SealBegin(
  nodeCipher: Tls13Suite['nodeCipher'],
  key: Tls13Key,
  nonce: Uint8Array,
  hdr: Uint8Array,
): CipherGCM {
  // XXX(sim): typed as GCM; chacha20-poly1305 has the same AEAD calls. Node makes a cipher per
  // record: it has no way to give an existing one a new nonce.
  const cipher = createCipheriv(nodeCipher as 'aes-128-gcm', key, nonce, {
    authTagLength: AES_GMAC_HASH_LEN,
  });
  cipher.setAAD(hdr.length === TLS_HEADER_BYTES ? hdr : hdr.subarray(0, TLS_HEADER_BYTES));
  return cipher;
}

/** Encrypts the real record type into trail[0] and writes the tag after it. */
function tls13SealEnd(cipher: CipherGCM, recordType: number, trail: Uint8Array): void {
  const type = cipher.update(INNER_TYPE_VIEWS[recordType & 0xff] as Uint8Array);
  const fin = cipher.final();
  kassert(type.length === 1 && fin.length === 0, 'tls13_seal: inner type not one byte');
  trail[0] = type[0] ?? 0;
  trail.set(cipher.getAuthTag(), 1);
}

/** One AEAD update over `s`, checked to give as many bytes (a stream cipher). */
function tls13SealUpdate(cipher: CipherGCM, s: Uint8Array): Buffer {
  const out = cipher.update(s);
  kassert(out.length === s.length, () => `tls13_seal: stream cipher gave ${out.length} of ${s.length}`);
  return out;
}

/**
 * Seals one record: the payload in `src` views is encrypted into `dst` views of the same total
 * length (the same memory is allowed; the two may be cut differently: one AEAD update per source
 * view, its output copied across the destination views), the real record type into trail[0] and
 * the tag after it. Returns the payload bytes.
 */
export function tls13Seal(
  nodeCipher: Tls13Suite['nodeCipher'],
  key: Tls13Key,
  nonce: Uint8Array,
  hdr: Uint8Array,
  src: readonly Uint8Array[],
  dst: readonly Uint8Array[],
  recordType: number,
  trail: Uint8Array,
): number {
  const cipher = tls13SealBegin(nodeCipher, key, nonce, hdr);
  // XXX(sim): Node has no cipher output into a given buffer, so each update's output is copied
  // once into the destination pages.
  let bytes = 0;
  let d = 0;
  let dOff = 0;
  for (const s of src) {
    const out = tls13SealUpdate(cipher, s);
    for (let pos = 0; pos < out.length; ) {
      const view = dst[d];
      kassert(view !== undefined, () => `tls13_seal: destinations end at ${bytes + pos} bytes`);
      const n = Math.min(out.length - pos, view.length - dOff);
      view.set(pos === 0 && n === out.length ? out : out.subarray(pos, pos + n), dOff);
      pos += n;
      dOff += n;
      if (dOff === view.length) {
        d++;
        dOff = 0;
      }
    }
    bytes += out.length;
  }
  while (d < dst.length && dst[d]?.length === 0) d++;
  kassert(d === dst.length && dOff === 0, () => `tls13_seal: ${bytes} bytes left destinations unfilled`);
  tls13SealEnd(cipher, recordType, trail);
  return bytes;
}

/**
 * Seals one record as tls13Seal does, handing each source view's ciphertext to `ciphertext` (a
 * buffer of the cipher's own, in order) instead of writing it anywhere: for a sender whose
 * ciphertext lives in memory of its own (the NIC of ifnet mode). Returns the payload bytes.
 */
export function tls13SealRuns(
  nodeCipher: Tls13Suite['nodeCipher'],
  key: Tls13Key,
  nonce: Uint8Array,
  hdr: Uint8Array,
  src: readonly Uint8Array[],
  recordType: number,
  trail: Uint8Array,
  ciphertext: Uint8Array[],
): number {
  const cipher = tls13SealBegin(nodeCipher, key, nonce, hdr);
  let bytes = 0;
  for (const s of src) {
    ciphertext.push(tls13SealUpdate(cipher, s));
    bytes += s.length;
  }
  tls13SealEnd(cipher, recordType, trail);
  return bytes;
}
