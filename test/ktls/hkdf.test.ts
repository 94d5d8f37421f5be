// Goal: HKDF-Expand-Label and the traffic key derivation match RFC 8448's "Simple 1-RTT
// Handshake" trace (TLS_AES_128_GCM_SHA256), and the record seal opens with the same keys; the
// type read alone from a record's last byte is the one a whole open finds, for every suite and
// payload length around the cipher's block edges; the nonce (no BigInt) matches the 64-bit XOR;
// a seal whose source and destination views are cut differently opens.
import { createSecretKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TLS13_SUITES, tls13Nonce, tls13Seal, tls13Suite, tlsRecordHeader } from '../../src/ktls/index.js';
import { tls13Open, tls13PeekType, tls13TrafficKeys } from '../../src/tls/index.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const suite = tls13Suite('TLS_AES_128_GCM_SHA256')!;

describe('TLS 1.3 key schedule (RFC 8448 §3)', () => {
  it('derives the server handshake write key and IV', () => {
    const secret = hex(
      'b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38',
    );
    const { key, iv } = tls13TrafficKeys(suite, secret);
    expect(key.toString('hex')).toBe('3fce516009c21727d0f2e4e86ee403bc');
    expect(iv.toString('hex')).toBe('5d313eb2671276ee13000b30');
  });

  it('derives the server application write key and IV', () => {
    const secret = hex(
      'a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43',
    );
    const { key, iv } = tls13TrafficKeys(suite, secret);
    expect(key.toString('hex')).toBe('9f02283b6c9c07efc26bb9f2ac92e356');
    expect(iv.toString('hex')).toBe('cf782b88dd83549aadf1e984');
  });

  it('a sealed record opens at its sequence number only', () => {
    const { key, iv } = tls13TrafficKeys(suite, Buffer.alloc(32, 7));
    const payload = Buffer.from('hello, kernel');
    const hdr = new Uint8Array(5);
    tlsRecordHeader(hdr, payload.length + 17);
    const body = Buffer.alloc(payload.length);
    const trail = new Uint8Array(17);
    const nonce = Buffer.from(iv);
    nonce[11] = (nonce[11] ?? 0) ^ 5;
    tls13Seal(suite.nodeCipher, createSecretKey(key), nonce, hdr, [payload], [body], 23, trail);
    const record = Buffer.concat([hdr, body, trail]);
    expect(tls13Open(suite.nodeCipher, key, iv, 5, record)).toEqual({ type: 23, plaintext: payload });
    expect(tls13Open(suite.nodeCipher, key, iv, 4, record)).toBeNull();
  });
});

describe("a record's type read from its last byte", () => {
  it('matches the opened type for every suite, length and sequence number', () => {
    for (const each of TLS13_SUITES) {
      const { key, iv } = tls13TrafficKeys(each, Buffer.alloc(each.hash === 'sha256' ? 32 : 48, 11));
      for (const length of [0, 1, 14, 15, 16, 62, 63, 64, 1000, 16383]) {
        for (const [seq, type] of [
          [0, 23],
          [1, 22],
          [70_000, 21],
        ] as const) {
          const payload = Buffer.alloc(length, length & 0xff);
          const hdr = new Uint8Array(5);
          tlsRecordHeader(hdr, length + 17);
          const body = Buffer.alloc(length);
          const trail = new Uint8Array(17);
          tls13Seal(
            each.nodeCipher,
            createSecretKey(key),
            tls13Nonce(iv, seq),
            hdr,
            [payload],
            [body],
            type,
            trail,
          );
          const record = Buffer.concat([hdr, body, trail]);
          expect(tls13Open(each.nodeCipher, key, iv, seq, record)?.type).toBe(type);
          expect(tls13PeekType(each.nodeCipher, key, iv, seq, record)).toBe(type);
          expect(tls13PeekType(each.nodeCipher, key, iv, seq + 1, record)).not.toBe(type);
        }
      }
    }
  });
});

describe('record protection', () => {
  it('the nonce is the IV XOR the 64-bit sequence number', () => {
    const iv = Buffer.from('0123456789abcdef01234567', 'hex');
    for (const seq of [0, 1, 255, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 12345, Number.MAX_SAFE_INTEGER]) {
      const want = Buffer.from(iv);
      const s = BigInt(seq);
      for (let i = 0; i < 8; i++) want[11 - i] = (want[11 - i] ?? 0) ^ Number((s >> BigInt(8 * i)) & 0xffn);
      expect(tls13Nonce(iv, seq).toString('hex')).toBe(want.toString('hex'));
    }
  });

  it('a payload cut into views one way seals into views cut another way', () => {
    const { key, iv } = tls13TrafficKeys(suite, Buffer.alloc(32, 3));
    const payload = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i & 0xff));
    const hdr = new Uint8Array(5);
    tlsRecordHeader(hdr, payload.length + 17);
    const body = Buffer.alloc(payload.length);
    const trail = new Uint8Array(17);
    const src = [payload.subarray(0, 4096), payload.subarray(4096)];
    const dst = [
      body.subarray(0, 100),
      body.subarray(100, 100),
      body.subarray(100, 8000),
      body.subarray(8000),
    ];
    tls13Seal(suite.nodeCipher, createSecretKey(key), tls13Nonce(iv, 9), hdr, src, dst, 23, trail);
    expect(tls13Open(suite.nodeCipher, key, iv, 9, Buffer.concat([hdr, body, trail]))).toEqual({
      type: 23,
      plaintext: payload,
    });
  });
});
