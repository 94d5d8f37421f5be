// The TLS 1.3 key schedule steps user space runs before it hands keys to ktls(4) (RFC 8446 §7.1,
// §7.2, §7.3): HKDF-Expand-Label over a traffic secret gives the record key and IV, and the next
// secret after a KeyUpdate. crypto.hkdfSync always runs HKDF-Extract first, so Expand
// (RFC 5869 §2.3) is built here on createHmac.
import { createHmac } from 'node:crypto';
import { kassert } from '../kern/index.js';
import { TLS_1_3_GCM_IV_LEN, type Tls13Suite } from '../ktls/index.js';

/** HKDF-Expand(PRK, info, L): T(i) = HMAC(PRK, T(i-1) | info | i), the first L bytes. */
export function hkdfExpand(
  hash: 'sha256' | 'sha384',
  prk: Uint8Array,
  info: Uint8Array,
  lengthBytes: number,
): Buffer {
  const hashLen = hash === 'sha256' ? 32 : 48;
  kassert(lengthBytes > 0 && lengthBytes <= 255 * hashLen, () => `hkdf_expand: length ${lengthBytes}`);
  const out = Buffer.alloc(lengthBytes);
  let t: Buffer = Buffer.alloc(0);
  for (let i = 1, pos = 0; pos < lengthBytes; i++) {
    t = createHmac(hash, prk).update(t).update(info).update(Uint8Array.of(i)).digest();
    pos += t.copy(out, pos);
  }
  return out;
}

/** HKDF-Expand-Label(Secret, Label, Context, Length) with the "tls13 " prefix. */
export function hkdfExpandLabel(
  hash: 'sha256' | 'sha384',
  secret: Uint8Array,
  label: string,
  context: Uint8Array,
  lengthBytes: number,
): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  kassert(full.length <= 255 && context.length <= 255, 'hkdf_expand_label: label or context too long');
  const info = Buffer.alloc(2 + 1 + full.length + 1 + context.length);
  info.writeUInt16BE(lengthBytes, 0);
  info[2] = full.length;
  full.copy(info, 3);
  info[3 + full.length] = context.length;
  Buffer.from(context).copy(info, 4 + full.length);
  return hkdfExpand(hash, secret, info, lengthBytes);
}

/** [sender]_write_key and [sender]_write_iv from a traffic secret (RFC 8446 §7.3). */
export function tls13TrafficKeys(suite: Tls13Suite, secret: Uint8Array): { key: Buffer; iv: Buffer } {
  const empty = new Uint8Array(0);
  return {
    key: hkdfExpandLabel(suite.hash, secret, 'key', empty, suite.keyBytes),
    iv: hkdfExpandLabel(suite.hash, secret, 'iv', empty, TLS_1_3_GCM_IV_LEN),
  };
}

/** application_traffic_secret_N+1 after a KeyUpdate (RFC 8446 §7.2). */
export function tls13NextSecret(suite: Tls13Suite, secret: Uint8Array): Buffer {
  const hashBytes = suite.hash === 'sha256' ? 32 : 48;
  return hkdfExpandLabel(suite.hash, secret, 'traffic upd', new Uint8Array(0), hashBytes);
}
