// The crypto session behind a KTLS session (ktls_ocf.c: crypto_newsession once, at
// ktls_create_session; then one request per record with its nonce). Two drivers: ossl, one
// OpenSSL AEAD context per session writing straight into the record's pages (FreeBSD's ossl(4)
// does the same in the kernel); and node:crypto, where no native module is built.
import { SysError } from '../kern/index.js';
import type { Tls13Suite } from './constants.js';
import { type OsslBinding, osslBinding, osslWhy } from './ossl.js';
import { tls13Seal, tls13SealRuns } from './record.js';

/** Which driver seals a session's records. */
export type KtlsCryptoDriver = 'ossl' | 'node-crypto';

/** One session's AEAD, keyed once. */
export interface KtlsOcfSession {
  readonly driver: KtlsCryptoDriver;
  /** Seals one record from `src` into `dst` (same total length); type and tag into `trail`. */
  seal(
    nonce: Uint8Array,
    hdr: Uint8Array,
    src: readonly Uint8Array[],
    dst: readonly Uint8Array[],
    recordType: number,
    trail: Uint8Array,
  ): number;
  /** Seals one record into buffers of the driver's own, pushed onto `ciphertext` in order. */
  sealRuns(
    nonce: Uint8Array,
    hdr: Uint8Array,
    src: readonly Uint8Array[],
    recordType: number,
    trail: Uint8Array,
    ciphertext: Uint8Array[],
  ): number;
}

/** The record header's bytes only: the additional data. */
function aad(hdr: Uint8Array): Uint8Array {
  return hdr.length === 5 ? hdr : hdr.subarray(0, 5);
}

/** The size of the slabs the NIC's ciphertext is carved from. */
const NIC_SLAB_BYTES = 256 * 1024;

class OsslSession implements KtlsOcfSession {
  readonly driver = 'ossl';
  readonly seal: KtlsOcfSession['seal'];
  readonly sealRuns: KtlsOcfSession['sealRuns'];

  constructor(ossl: OsslBinding, nodeCipher: Tls13Suite['nodeCipher'], key: Uint8Array) {
    const ctx = ossl.newSession(nodeCipher, key);
    const dst: Uint8Array[] = [];
    // The card's memory: runs carved from slabs, so that a record's ciphertext is not an
    // allocation of its own (a slab is freed once every run cut from it has been sent).
    let slab = new Uint8Array(0);
    let used = 0;
    const carve = (bytes: number): Uint8Array => {
      if (used + bytes > slab.length) {
        slab = Buffer.allocUnsafeSlow(Math.max(NIC_SLAB_BYTES, bytes));
        used = 0;
      }
      used += bytes;
      return slab.subarray(used - bytes, used);
    };
    this.seal = (nonce, hdr, src, into, type, trail) =>
      ossl.seal(ctx, nonce, aad(hdr), src, into, type, trail);
    this.sealRuns = (nonce, hdr, src, type, trail, ciphertext) => {
      dst.length = 0;
      for (const s of src) dst.push(carve(s.length));
      const bytes = ossl.seal(ctx, nonce, aad(hdr), src, dst, type, trail);
      for (const d of dst) ciphertext.push(d);
      dst.length = 0;
      return bytes;
    };
  }
}

/** XXX(sim): Node's cipher API has no new nonce for an existing cipher: a cipher per record. */
class NodeCryptoSession implements KtlsOcfSession {
  readonly driver = 'node-crypto';
  readonly seal: KtlsOcfSession['seal'];
  readonly sealRuns: KtlsOcfSession['sealRuns'];

  constructor(nodeCipher: Tls13Suite['nodeCipher'], key: Uint8Array) {
    this.seal = (nonce, hdr, src, dst, type, trail) =>
      tls13Seal(nodeCipher, key, nonce, hdr, src, dst, type, trail);
    this.sealRuns = (nonce, hdr, src, type, trail, ciphertext) =>
      tls13SealRuns(nodeCipher, key, nonce, hdr, src, type, trail, ciphertext);
  }
}

/** crypto_newsession: the session's AEAD on the ossl driver when built, else on node:crypto. */
export function ktlsOcfSessionNew(
  nodeCipher: Tls13Suite['nodeCipher'],
  key: Uint8Array,
  driver: KtlsCryptoDriver | undefined = undefined,
): KtlsOcfSession {
  const ossl = driver === 'node-crypto' ? null : osslBinding();
  if (ossl !== null) return new OsslSession(ossl, nodeCipher, key);
  if (driver === 'ossl') throw new SysError('EINVAL', `crypto_newsession: no ossl driver (${osslWhy()})`);
  return new NodeCryptoSession(nodeCipher, key);
}
