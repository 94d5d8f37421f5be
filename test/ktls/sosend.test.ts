// Goal: write(2) on a KTLS socket frames records of at most kern.ipc.tls.maxlen, in sequence from
// the session's starting number, and the setsockopt and sendmsg arguments are checked (EINVAL,
// never an assertion). Method: an in-memory transport collects the kernel's output; the test
// opens each record with the key it handed to TCP_TXTLS_ENABLE.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { assertAtRest, createKernel, isSysError } from '../../src/index.js';
import {
  TCP_TLS_MODE_IFNET,
  TCP_TLS_MODE_SW,
  TLS_MAJOR_VER_ONE,
  TLS_MINOR_VER_THREE,
  TLS_MINOR_VER_TWO,
  TLS_RLTYPE_ALERT,
  TLS_RLTYPE_APP,
  type TlsEnable,
} from '../../src/ktls/index.js';
import { MemoryTransport } from '../../src/net/index.js';
import { RecordSplitter, tls13Open } from '../../src/tls/index.js';

const KEY = Buffer.alloc(32, 3);
const IV = Buffer.alloc(12, 4);
const en = (over: Partial<TlsEnable> = {}): TlsEnable => ({
  cipher_algorithm: 'CRYPTO_CHACHA20_POLY1305',
  cipher_key: KEY,
  iv: IV,
  tls_vmajor: TLS_MAJOR_VER_ONE,
  tls_vminor: TLS_MINOR_VER_THREE,
  rec_seq: 7,
  ...over,
});

async function codeOf(p: () => unknown): Promise<string> {
  try {
    await p();
    return 'ok';
  } catch (e) {
    if (!isSysError(e)) throw e;
    return e.code;
  }
}

describe('write(2) on a KTLS socket', () => {
  for (const mode of [TCP_TLS_MODE_SW, TCP_TLS_MODE_IFNET] as const) {
    it(`${mode === TCP_TLS_MODE_SW ? 'sw' : 'ifnet'}: records of at most maxlen, numbered from rec_seq`, async () => {
      const kernel = createKernel({ physmemBytes: 8 * 1024 * 1024, ktlsMaxlenBytes: 8192 });
      const tp = new MemoryTransport({ autoDrain: true });
      const so = kernel.socket(tp, { sndbufBytes: 256 * 1024 });
      kernel.ktlsEnableTx(so, en(), { mode });
      const data = Buffer.alloc(20_000, 0x61);
      expect(await kernel.write(so, data)).toBe(data.length);
      expect(await kernel.sendRecord(so, Buffer.from([1, 0]), TLS_RLTYPE_ALERT)).toBe(2);
      await kernel.sodrain(so);
      const records = new RecordSplitter().push(tp.received());
      const opened = records.map((r, i) => tls13Open('chacha20-poly1305', KEY, IV, 7 + i, r));
      expect(opened.map((o) => o?.type)).toEqual([
        TLS_RLTYPE_APP,
        TLS_RLTYPE_APP,
        TLS_RLTYPE_APP,
        TLS_RLTYPE_ALERT,
      ]);
      expect(opened.map((o) => o?.plaintext.length)).toEqual([8192, 8192, 3616, 2]);
      expect(Buffer.concat(opened.slice(0, 3).map((o) => o!.plaintext))).toEqual(data);
      kernel.soclose(so);
      assertAtRest(kernel);
      await kernel.destroy();
    });
  }

  it('refuses bad arguments with EINVAL', async () => {
    const kernel = createKernel({ physmemBytes: 4 * 1024 * 1024 });
    const so = kernel.socket(new MemoryTransport({ autoDrain: true }));
    expect(await codeOf(() => kernel.sendRecord(so, Buffer.from('x')))).toBe('EINVAL');
    expect(await codeOf(() => kernel.ktlsEnableTx(so, en({ tls_vminor: TLS_MINOR_VER_TWO })))).toBe('EINVAL');
    expect(await codeOf(() => kernel.ktlsEnableTx(so, en({ cipher_key: Buffer.alloc(5) })))).toBe('EINVAL');
    expect(await codeOf(() => kernel.ktlsEnableTx(so, en({ iv: Buffer.alloc(8) })))).toBe('EINVAL');
    expect(await codeOf(() => kernel.ktlsEnableTx(so, en({ rec_seq: -1 })))).toBe('EINVAL');
    expect(await codeOf(() => kernel.ktlsEnableTx(so, en(), { mode: 3 as typeof TCP_TLS_MODE_SW }))).toBe(
      'EINVAL',
    );
    expect(await codeOf(() => kernel.ktlsEnableTx(so, en()))).toBe('ok');
    // Key material never shows: not in the session's printout, JSON, or the kernel's stats.
    const session = kernel.ktls.sessionOf(so)!;
    for (const text of [
      inspect(session, { depth: 5, showHidden: true }),
      JSON.stringify(session),
      JSON.stringify(kernel.stats()),
    ]) {
      expect(text).not.toContain(KEY.toString('hex'));
      expect(text).not.toContain('3, 3, 3, 3');
      expect(text).not.toContain('03 03 03 03');
      expect(text).not.toContain(IV.toString('hex'));
    }
    // ktls(4): no rekeying.
    expect(await codeOf(() => kernel.ktlsEnableTx(so, en()))).toBe('EINVAL');
    expect(await codeOf(() => kernel.sendRecord(so, Buffer.from('x'), 300))).toBe('EINVAL');
    expect(kernel.stats().ktls['kern.ipc.tls.stats.enable_calls']).toBe(7);
    expect(kernel.stats().ktls['kern.ipc.tls.stats.offload_total']).toBe(1);
    kernel.soclose(so);
    assertAtRest(kernel);
    expect(() => createKernel({ ktlsMaxlenBytes: 1000 })).toThrow(/maxlen/);
    // The i386-like pool has no direct map, so no unmapped mbufs, so no KTLS.
    const kva = createKernel({ physmemBytes: 4 * 1024 * 1024, mapping: 'kva', nsfbufs: 64 });
    const so2 = kva.socket(new MemoryTransport({ autoDrain: true }));
    expect(await codeOf(() => kva.ktlsEnableTx(so2, en()))).toBe('EINVAL');
    kva.soclose(so2);
    assertAtRest(kva);
    await kva.destroy();
    await kernel.destroy();
  });
});
