// Mirrors the constants of sys/sys/ktls.h and netinet/tcp.h that KTLS uses, and the three TLS 1.3
// AEAD suites it accepts.
/** netinet/tcp.h socket options. */
export const TCP_TXTLS_ENABLE = 39;
export const TCP_TXTLS_MODE = 40;

/** ktls.h: where a session's records are encrypted. */
export const TCP_TLS_MODE_NONE = 0;
export const TCP_TLS_MODE_SW = 1;
export const TCP_TLS_MODE_IFNET = 2;
export type KtlsMode = typeof TCP_TLS_MODE_SW | typeof TCP_TLS_MODE_IFNET;

export const TLS_MAJOR_VER_ONE = 3;
export const TLS_MINOR_VER_TWO = 3;
export const TLS_MINOR_VER_THREE = 4;

/** Record types (ktls.h TLS_RLTYPE_*). */
export const TLS_RLTYPE_CHANGE_CIPHER_SPEC = 20;
export const TLS_RLTYPE_ALERT = 21;
export const TLS_RLTYPE_HANDSHAKE = 22;
export const TLS_RLTYPE_APP = 23;

/** The largest record payload (TLS_MAX_MSG_SIZE_V10_2), and the record header's size. */
export const TLS_MAX_MSG_SIZE_V10_2 = 16384;
export const TLS_HEADER_BYTES = 5;
export const TLS_1_3_GCM_IV_LEN = 12;
export const AES_GMAC_HASH_LEN = 16;

/** opencrypto cipher algorithms KTLS takes for TLS 1.3. */
export type CipherAlgorithm = 'CRYPTO_AES_NIST_GCM_16' | 'CRYPTO_CHACHA20_POLY1305';

/** The three TLS 1.3 AEAD suites, by their IANA names (what Node's getCipher().standardName says). */
export interface Tls13Suite {
  readonly name: 'TLS_AES_128_GCM_SHA256' | 'TLS_AES_256_GCM_SHA384' | 'TLS_CHACHA20_POLY1305_SHA256';
  readonly cipher_algorithm: CipherAlgorithm;
  /** The name node:crypto's createCipheriv takes. */
  readonly nodeCipher: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';
  readonly keyBytes: number;
  readonly hash: 'sha256' | 'sha384';
}

export const TLS13_SUITES: readonly Tls13Suite[] = [
  {
    name: 'TLS_AES_128_GCM_SHA256',
    cipher_algorithm: 'CRYPTO_AES_NIST_GCM_16',
    nodeCipher: 'aes-128-gcm',
    keyBytes: 16,
    hash: 'sha256',
  },
  {
    name: 'TLS_AES_256_GCM_SHA384',
    cipher_algorithm: 'CRYPTO_AES_NIST_GCM_16',
    nodeCipher: 'aes-256-gcm',
    keyBytes: 32,
    hash: 'sha384',
  },
  {
    name: 'TLS_CHACHA20_POLY1305_SHA256',
    cipher_algorithm: 'CRYPTO_CHACHA20_POLY1305',
    nodeCipher: 'chacha20-poly1305',
    keyBytes: 32,
    hash: 'sha256',
  },
];

/** The suite of an IANA name, or undefined. */
export function tls13Suite(name: string): Tls13Suite | undefined {
  return TLS13_SUITES.find((s) => s.name === name);
}
