// Goal: zcsim stat shows kernel TLS as `sysctl kern.ipc.tls` does, once a socket had a session,
// and the memory traffic the kernel counted. Method: a kernel with one KTLS socket that sends a
// record over an in-memory transport; its stats() through formatKtls.
import { describe, expect, it } from 'vitest';
import { formatKtls } from '../../src/cli/stat.js';
import { assertAtRest, createKernel } from '../../src/index.js';
import { TCP_TLS_MODE_SW, TLS_MAJOR_VER_ONE, TLS_MINOR_VER_THREE } from '../../src/ktls/index.js';
import { MemoryTransport } from '../../src/net/index.js';

describe('zcsim stat: kernel TLS', () => {
  it('prints nothing of TLS before a session, then the kern.ipc.tls sysctls and the memory traffic', async () => {
    const kernel = createKernel({ physmemBytes: 8 * 1024 * 1024 });
    const before = formatKtls(kernel.stats());
    expect(before.some((l) => l.startsWith('kern.ipc.tls'))).toBe(false);
    expect(before.at(-1)).toMatch(/^memory traffic: 0 B read and 0 B written by the CPU/);

    const so = kernel.socket(new MemoryTransport({ autoDrain: true }));
    kernel.ktlsEnableTx(
      so,
      {
        cipher_algorithm: 'CRYPTO_AES_NIST_GCM_16',
        cipher_key: Buffer.alloc(16, 1),
        iv: Buffer.alloc(12, 2),
        tls_vmajor: TLS_MAJOR_VER_ONE,
        tls_vminor: TLS_MINOR_VER_THREE,
        rec_seq: 0,
      },
      { mode: TCP_TLS_MODE_SW },
    );
    await kernel.write(so, Buffer.alloc(5000, 7));
    await kernel.sodrain(so);
    const after = formatKtls(kernel.stats());
    expect(after).toContain('kern.ipc.tls.stats.offload_total: 1');
    expect(after).toContain('kern.ipc.tls.stats.active: 1');
    expect(after.some((l) => l.startsWith('kern.ipc.tls.sw.gcm:'))).toBe(true);
    // write(2) copied 5000 bytes into pages and the worker encrypted them: two CPU passes.
    const cpuRead = kernel.stats().memory.cpu_read_bytes;
    expect(cpuRead).toBeGreaterThanOrEqual(10_000);
    expect(after.at(-1)).toMatch(/^memory traffic: .* read and .* written by the CPU, .* read by the NIC/);
    kernel.soclose(so);
    assertAtRest(kernel);
    await kernel.destroy();
  });
});
