// Mirrors sys/sys/ktls.h: struct tls_enable (what setsockopt(TCP_TXTLS_ENABLE) passes), struct
// ktls_session and its parameters, the modes and record types. TLS 1.3 only, AEAD suites only.
import { SysError } from '../kern/index.js';
import {
  AES_GMAC_HASH_LEN,
  type CipherAlgorithm,
  type KtlsMode,
  TLS_HEADER_BYTES,
  TLS_MAX_MSG_SIZE_V10_2,
  TLS13_SUITES,
} from './constants.js';
import { type KtlsCryptoDriver, type KtlsOcfSession, ktlsOcfSessionNew } from './ocf.js';
import { tls13NonceInto } from './record.js';

/** struct tls_enable: the argument of setsockopt(TCP_TXTLS_ENABLE). */
export interface TlsEnable {
  readonly cipher_algorithm: CipherAlgorithm;
  readonly cipher_key: Uint8Array;
  readonly iv: Uint8Array;
  readonly tls_vmajor: number;
  readonly tls_vminor: number;
  /** The sequence number of the first record the kernel sends (rec_seq). */
  readonly rec_seq: number;
}

/** struct ktls_session's params (without the key, which the session keeps out of sight). */
export interface KtlsParams {
  readonly cipher_algorithm: CipherAlgorithm;
  readonly cipher_key_len: number;
  readonly tls_vmajor: number;
  readonly tls_vminor: number;
  /** Record header and trailer bytes (TLS 1.3: 5; 1 inner type + 16 tag). */
  readonly tls_hlen: number;
  readonly tls_tlen: number;
  readonly max_frame_len: number;
}

let nextSessionId = 1;

/**
 * struct ktls_session. The key and the IV live in private fields: neither is enumerable, printed
 * by util.inspect or serialised (never show key material).
 */
export class KtlsSession {
  readonly id = nextSessionId++;
  readonly params: KtlsParams;
  readonly mode: KtlsMode;
  /** The per-CPU work queue its records go to (ktls_get_cpu). */
  readonly wq_index: number;
  /** The crypto session its records are sealed with, keyed once (the key stays inside it). */
  readonly ocf_session: KtlsOcfSession;
  readonly #iv: Uint8Array;
  /** The last nonce made: the AEAD takes it at once, so one buffer serves every record. */
  readonly #nonce = Buffer.alloc(12);
  /** ktls_cleanup ran (the socket closed). */
  destroyed = false;

  constructor(
    en: TlsEnable,
    mode: KtlsMode,
    maxlenBytes: number,
    wqIndex: number,
    crypto: KtlsCryptoDriver | undefined = undefined,
  ) {
    const suite = TLS13_SUITES.find(
      (s) => s.cipher_algorithm === en.cipher_algorithm && s.keyBytes === en.cipher_key.length,
    );
    if (suite === undefined)
      throw new SysError(
        'EINVAL',
        `ktls_create_session: no cipher for ${en.cipher_algorithm}/${en.cipher_key.length}`,
      );
    this.params = {
      cipher_algorithm: en.cipher_algorithm,
      cipher_key_len: en.cipher_key.length,
      tls_vmajor: en.tls_vmajor,
      tls_vminor: en.tls_vminor,
      tls_hlen: TLS_HEADER_BYTES,
      tls_tlen: 1 + AES_GMAC_HASH_LEN,
      max_frame_len: Math.min(TLS_MAX_MSG_SIZE_V10_2, maxlenBytes),
    };
    this.mode = mode;
    this.wq_index = wqIndex;
    this.ocf_session = ktlsOcfSessionNew(suite.nodeCipher, Uint8Array.from(en.cipher_key), crypto);
    this.#iv = Uint8Array.from(en.iv);
  }

  /**
   * The record's nonce: the IV XOR the 64-bit sequence number (RFC 8446 §5.3), valid until the
   * next call.
   */
  nonce(seqno: number): Buffer {
    return tls13NonceInto(this.#iv, seqno, this.#nonce);
  }

  toJSON(): object {
    return { id: this.id, mode: this.mode, params: this.params };
  }
}
