// The TLS 1.3 record protection KTLS applies (RFC 8446 §5.2-5.4; ktls_ocf.c's
// ktls_ocf_tls13_encrypt): AEAD over the payload and the real content type, the record header as
// additional data, the nonce the IV XOR the sequence number.
import { createCipheriv, type KeyObject } from 'node:crypto';
import { kassert } from '../kern/index.js';
import {
  AES_GMAC_HASH_LEN,
  TLS_HEADER_BYTES,
  TLS_MAJOR_VER_ONE,
  TLS_MINOR_VER_TWO,
  TLS_RLTYPE_APP,
  type Tls13Suite,
} from './constants.js';

/** The nonce of record `seqno`: `iv` XOR the 64-bit sequence number, right-aligned. */
export function tls13Nonce(iv: Uint8Array, seqno: number): Buffer {
  const n = Buffer.from(iv);
  let s = BigInt(seqno);
  for (let i = n.length - 1; i >= n.length - 8; i--) {
    n[i] = (n[i] ?? 0) ^ Number(s & 0xffn);
    s >>= 8n;
  }
  return n;
}

/** Writes a TLS 1.3 record header (application_data, legacy version 3.3) for `lengthBytes`. */
export function tlsRecordHeader(into: Uint8Array, lengthBytes: number): void {
  kassert(lengthBytes > 0 && lengthBytes <= 0xffff, () => `tls_record_header: length ${lengthBytes}`);
  into[0] = TLS_RLTYPE_APP;
  into[1] = TLS_MAJOR_VER_ONE;
  into[2] = TLS_MINOR_VER_TWO;
  into[3] = lengthBytes >> 8;
  into[4] = lengthBytes & 0xff;
}

/**
 * Seals one record: `src` views (the payload) are encrypted into `dst` views of the same lengths
 * (the same memory is allowed), the real record type into trail[0] and the tag after it.
 * Returns the payload bytes.
 */
export function tls13Seal(
  nodeCipher: Tls13Suite['nodeCipher'],
  key: KeyObject,
  nonce: Uint8Array,
  hdr: Uint8Array,
  src: readonly Uint8Array[],
  dst: readonly Uint8Array[],
  recordType: number,
  trail: Uint8Array,
): number {
  kassert(src.length === dst.length, () => `tls13_seal: ${src.length} sources, ${dst.length} destinations`);
  // XXX(sim): typed as GCM; chacha20-poly1305 has the same AEAD calls.
  const cipher = createCipheriv(nodeCipher as 'aes-128-gcm', key, nonce, {
    authTagLength: AES_GMAC_HASH_LEN,
  });
  cipher.setAAD(hdr.subarray(0, TLS_HEADER_BYTES));
  let bytes = 0;
  for (let i = 0; i < src.length; i++) {
    const s = src[i] as Uint8Array;
    const d = dst[i] as Uint8Array;
    kassert(s.length === d.length, () => `tls13_seal: view ${i} ${s.length} into ${d.length}`);
    const out = cipher.update(s);
    kassert(out.length === s.length, () => `tls13_seal: stream cipher gave ${out.length} of ${s.length}`);
    d.set(out);
    bytes += s.length;
  }
  const type = cipher.update(Uint8Array.of(recordType));
  const fin = cipher.final();
  kassert(type.length === 1 && fin.length === 0, 'tls13_seal: inner type not one byte');
  trail[0] = type[0] ?? 0;
  trail.set(cipher.getAuthTag(), 1);
  return bytes;
}
