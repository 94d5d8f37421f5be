// Opens a TLS 1.3 record as a peer does (RFC 8446 §5.2-5.4): the inverse of the kernel's seal, for
// the record tap, which follows what OpenSSL sends, and for tests that read records as a client.
import { createCipheriv, createDecipheriv, type KeyObject } from 'node:crypto';
import { AES_GMAC_HASH_LEN, TLS_HEADER_BYTES, type Tls13Suite, tls13Nonce } from '../ktls/index.js';

/** A received record's content: its real type and plaintext, or null when it does not authenticate. */
export interface Tls13Opened {
  readonly type: number;
  readonly plaintext: Buffer;
}

/** Opens one whole record (header included) with key and IV; null on a bad record MAC. */
export function tls13Open(
  nodeCipher: Tls13Suite['nodeCipher'],
  key: KeyObject | Uint8Array,
  iv: Uint8Array,
  seqno: number,
  record: Uint8Array,
): Tls13Opened | null {
  if (record.length < TLS_HEADER_BYTES + 1 + AES_GMAC_HASH_LEN) return null;
  const body = record.subarray(TLS_HEADER_BYTES, record.length - AES_GMAC_HASH_LEN);
  const tag = record.subarray(record.length - AES_GMAC_HASH_LEN);
  const d = createDecipheriv(nodeCipher as 'aes-128-gcm', key, tls13Nonce(iv, seqno), {
    authTagLength: AES_GMAC_HASH_LEN,
  });
  d.setAAD(record.subarray(0, TLS_HEADER_BYTES));
  d.setAuthTag(tag);
  let inner: Buffer;
  try {
    inner = Buffer.concat([d.update(body), d.final()]);
  } catch {
    return null;
  }
  // The real type is the last non-zero byte (RFC 8446 §5.4: zero padding may follow it).
  let end = inner.length - 1;
  while (end >= 0 && inner[end] === 0) end--;
  if (end < 0) return null;
  return { type: inner[end] ?? 0, plaintext: inner.subarray(0, end) };
}

/** The CTR-mode cipher under each AEAD, and its block and first payload counter (RFC 5116, 8439). */
const PAYLOAD_STREAM = {
  'aes-128-gcm': { cipher: 'aes-128-ctr', blockBytes: 16, firstBlock: 2 },
  'aes-256-gcm': { cipher: 'aes-256-ctr', blockBytes: 16, firstBlock: 2 },
  'chacha20-poly1305': { cipher: 'chacha20', blockBytes: 64, firstBlock: 1 },
} as const;

/**
 * The last byte of a record's inner plaintext, decrypted alone without checking the tag: the real
 * content type when the record has no padding (a zero says there is padding, and the record must
 * be opened). GCM and ChaCha20-Poly1305 encrypt with a counter-mode stream, so one block of it
 * decrypts one byte. For a sender whose records are known to be under this key (the tap's
 * OpenSSL), where a whole open would cost a pass over the payload.
 */
export function tls13PeekType(
  nodeCipher: Tls13Suite['nodeCipher'],
  key: Uint8Array,
  iv: Uint8Array,
  seqno: number,
  record: Uint8Array,
): number {
  const innerBytes = record.length - TLS_HEADER_BYTES - AES_GMAC_HASH_LEN;
  if (innerBytes < 1) return 0;
  const s = PAYLOAD_STREAM[nodeCipher];
  const last = innerBytes - 1;
  const block = s.firstBlock + Math.floor(last / s.blockBytes);
  const nonce = tls13Nonce(iv, seqno);
  const counterBlock = Buffer.alloc(16);
  if (s.blockBytes === 16) {
    nonce.copy(counterBlock, 0);
    counterBlock.writeUInt32BE(block, 12);
  } else {
    counterBlock.writeUInt32LE(block, 0);
    nonce.copy(counterBlock, 4);
  }
  const skip = last % s.blockBytes;
  const input = Buffer.alloc(skip + 1);
  input[skip] = record[TLS_HEADER_BYTES + last] ?? 0;
  const out = createCipheriv(s.cipher, key, counterBlock).update(input);
  return out[skip] ?? 0;
}
