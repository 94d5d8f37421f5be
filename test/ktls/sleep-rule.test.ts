// Goal: the sleep rule holds on the TLS write path: write(2) on KTLS sockets never sleeps for an
// mbuf or a page while it holds others, so writers sharing a pool smaller than their passes all
// finish (a writer that held its chain while asleep would wedge against the other for good).
// Method: two KTLS sockets over in-memory transports that take every write at once; each writes
// more records than the mbuf zone holds, or more pages than physical memory holds, at the same
// time; both writes must resolve, every record must open to the bytes written, and the kernel
// must be at rest after.
import { describe, expect, it } from 'vitest';
import { assertAtRest, createKernel, type Kernel } from '../../src/index.js';
import { TCP_TLS_MODE_SW, TLS_MAJOR_VER_ONE, TLS_MINOR_VER_THREE } from '../../src/ktls/index.js';
import { MemoryTransport } from '../../src/net/index.js';
import { RecordSplitter, tls13Open } from '../../src/tls/index.js';

const KEY = Buffer.alloc(16, 7);
const IV = Buffer.alloc(12, 8);

function ktlsSocket(kernel: Kernel, sndbufBytes: number) {
  const tp = new MemoryTransport({ autoDrain: true });
  const so = kernel.socket(tp, { sndbufBytes });
  kernel.ktlsEnableTx(
    so,
    {
      cipher_algorithm: 'CRYPTO_AES_NIST_GCM_16',
      cipher_key: KEY,
      iv: IV,
      tls_vmajor: TLS_MAJOR_VER_ONE,
      tls_vminor: TLS_MINOR_VER_THREE,
      rec_seq: 0,
    },
    { mode: TCP_TLS_MODE_SW },
  );
  return { tp, so };
}

/** The plaintext of every record the transport received, in order. */
function opened(tp: MemoryTransport): Buffer {
  const records = new RecordSplitter().push(tp.received());
  return Buffer.concat(
    records.map((r, seq) => {
      const o = tls13Open('aes-128-gcm', KEY, IV, seq, r);
      if (o === null) throw new Error(`record ${seq} does not open`);
      return o.plaintext;
    }),
  );
}

async function writers(kernel: Kernel, count: number, bytes: number, sndbufBytes: number): Promise<void> {
  const socks = Array.from({ length: count }, () => ktlsSocket(kernel, sndbufBytes));
  const data = socks.map((_, i) => Buffer.alloc(bytes, 0xa1 + i));
  const sent = await Promise.all(socks.map((s, i) => kernel.write(s.so, data[i] ?? Buffer.alloc(0))));
  expect(sent).toEqual(data.map(() => bytes));
  await Promise.all(socks.map((s) => kernel.sodrain(s.so)));
  socks.forEach((s, i) => {
    expect(opened(s.tp).equals(data[i] ?? Buffer.alloc(0))).toBe(true);
    kernel.soclose(s.so);
  });
  assertAtRest(kernel);
  await kernel.destroy();
}

describe('the sleep rule on the KTLS write path', () => {
  it('two writers, each with more records than the mbuf zone holds', async () => {
    const kernel = createKernel({
      physmemBytes: 8 * 1024 * 1024,
      nmbufs: 3,
      ktlsMaxlenBytes: 4096,
      invariants: true,
    });
    await writers(kernel, 2, 6 * 4096, 256 * 1024);
  }, 20_000);

  it('four writers, together with more pages than physical memory holds', async () => {
    const kernel = createKernel({ physmemBytes: 512 * 1024, invariants: true });
    // Each send buffer is half of memory, the most soCreate grants: together they ask for twice all of it.
    await writers(kernel, 4, 96 * 4096, 64 * 4096);
  }, 20_000);
});
