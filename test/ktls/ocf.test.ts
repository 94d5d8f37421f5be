// Goal: the ossl crypto driver seals every record exactly as node:crypto does, for every suite,
// with one context reused across records and nonces, whatever the cut of its source and
// destination views (in place or not); it refuses views whose lengths differ; and it is built
// wherever the build could build it. Method: a seeded property compares the two drivers' output
// byte for byte, then opens the record as a peer does; the build's own status file says whether
// a compiler and Node's headers were found.
import { readFileSync } from 'node:fs';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  ktlsOcfSessionNew,
  osslBinding,
  osslWhy,
  TLS13_SUITES,
  tls13Nonce,
  tlsRecordHeader,
} from '../../src/ktls/index.js';
import { tls13Open } from '../../src/tls/index.js';

/** Cuts `bytes` at the given fractions: views of one buffer, in order, some possibly empty. */
function cut(bytes: Uint8Array, at: readonly number[]): Uint8Array[] {
  const points = at.map((f) => Math.floor(f * bytes.length)).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let start = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(start, p));
    start = p;
  }
  return out;
}

const ossl = osslBinding();

describe('the ossl crypto driver', () => {
  it('is built wherever the build found a compiler and the headers', () => {
    const status = JSON.parse(readFileSync(new URL('../../build/ossl.json', import.meta.url), 'utf8')) as {
      built: boolean;
      why: string;
    };
    if (status.built) expect(ossl, osslWhy()).not.toBeNull();
    if (status.built) expect(ktlsOcfSessionNew('aes-128-gcm', new Uint8Array(16)).driver).toBe('ossl');
  });

  if (ossl === null) return;

  test.prop(
    [
      fc.constantFrom(...TLS13_SUITES),
      fc.integer({ min: 1, max: 16384 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }),
      fc.boolean(),
      fc.integer({ min: 0, max: 2 ** 40 }),
      fc.integer({ min: 20, max: 24 }),
    ],
    { seed: 16, numRuns: 150 },
  )(
    'seals as node:crypto does, for any suite, length, cut and sequence number',
    (suite, length, srcCuts, dstCuts, inPlace, seqno, recordType) => {
      const key = Buffer.alloc(suite.keyBytes, seqno % 251);
      const iv = Buffer.alloc(12, 0x5a);
      const plain = Buffer.alloc(length);
      for (let i = 0; i < length; i++) plain[i] = (i * 31 + seqno) & 0xff;
      const hdr = new Uint8Array(5);
      tlsRecordHeader(hdr, length + 17);
      const sessions = [ktlsOcfSessionNew(suite.nodeCipher, key, 'ossl')];
      sessions.push(ktlsOcfSessionNew(suite.nodeCipher, key, 'node-crypto'));
      const sealed = sessions.map((s) => {
        const src = Buffer.from(plain);
        const dst = inPlace ? src : Buffer.alloc(length);
        const trail = new Uint8Array(17);
        // A record sealed first under another nonce: the context must take the new one whole.
        s.seal(tls13Nonce(iv, seqno + 1), hdr, [Buffer.from(plain)], [Buffer.alloc(length)], 23, trail);
        const bytes = s.seal(
          tls13Nonce(iv, seqno),
          hdr,
          cut(src, srcCuts),
          cut(dst, inPlace ? srcCuts : dstCuts),
          recordType,
          trail,
        );
        expect(bytes).toBe(length);
        return Buffer.concat([hdr, dst, trail]);
      });
      expect(sealed[0]!.equals(sealed[1]!)).toBe(true);
      const opened = tls13Open(suite.nodeCipher, key, iv, seqno, sealed[0]!);
      expect(opened?.type).toBe(recordType);
      expect(opened?.plaintext.equals(plain)).toBe(true);
    },
  );

  it('writes into the ciphertext buffers of its own for a NIC, as node:crypto does', () => {
    const suite = TLS13_SUITES[1]!;
    const key = Buffer.alloc(suite.keyBytes, 3);
    const plain = Buffer.alloc(9000, 0x41);
    const hdr = new Uint8Array(5);
    tlsRecordHeader(hdr, plain.length + 17);
    const [a, b] = (['ossl', 'node-crypto'] as const).map((driver) => {
      const out: Uint8Array[] = [];
      const trail = new Uint8Array(17);
      const n = ktlsOcfSessionNew(suite.nodeCipher, key, driver).sealRuns(
        tls13Nonce(key.subarray(0, 12), 5),
        hdr,
        [plain.subarray(0, 4000), plain.subarray(4000)],
        23,
        trail,
        out,
      );
      expect(n).toBe(plain.length);
      return Buffer.concat([...out, trail]);
    });
    expect(a!.equals(b!)).toBe(true);
  });

  it('refuses a destination shorter or longer than the source, and a wrong nonce length', () => {
    const s = ktlsOcfSessionNew('aes-256-gcm', new Uint8Array(32), 'ossl');
    const nonce = new Uint8Array(12);
    const hdr = new Uint8Array(5);
    const trail = new Uint8Array(17);
    const src = [new Uint8Array(100)];
    expect(() => s.seal(nonce, hdr, src, [new Uint8Array(99)], 23, trail)).toThrow(/lengths differ/);
    expect(() => s.seal(nonce, hdr, src, [new Uint8Array(101)], 23, trail)).toThrow(/lengths differ/);
    expect(() => s.seal(new Uint8Array(8), hdr, src, [new Uint8Array(100)], 23, trail)).toThrow(/seal\(/);
    expect(() => ktlsOcfSessionNew('aes-256-gcm', new Uint8Array(16), 'ossl')).toThrow(/cipher/);
  });
});
