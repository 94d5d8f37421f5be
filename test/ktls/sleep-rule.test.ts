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

async function twoWriters(kernel: Kernel, bytes: number, sndbufBytes: number): Promise<void> {
  const a = ktlsSocket(kernel, sndbufBytes);
  const b = ktlsSocket(kernel, sndbufBytes);
  const dataA = Buffer.alloc(bytes, 0xa1);
  const dataB = Buffer.alloc(bytes, 0xb2);
  expect(await Promise.all([kernel.write(a.so, dataA), kernel.write(b.so, dataB)])).toEqual([bytes, bytes]);
  await Promise.all([kernel.sodrain(a.so), kernel.sodrain(b.so)]);
  expect(opened(a.tp).equals(dataA)).toBe(true);
  expect(opened(b.tp).equals(dataB)).toBe(true);
  kernel.soclose(a.so);
  kernel.soclose(b.so);
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
    await twoWriters(kernel, 6 * 4096, 256 * 1024);
  }, 20_000);

  it('two writers, each with more pages than physical memory holds', async () => {
    const kernel = createKernel({ physmemBytes: 512 * 1024, invariants: true });
    await twoWriters(kernel, 96 * 4096, 128 * 4096);
  }, 20_000);
});
