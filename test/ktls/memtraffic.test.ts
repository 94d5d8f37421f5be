// Goal: the memory traffic each way of sending costs per body byte is what the model says
// (src/kern/memtraffic.ts): sendfile 0 CPU bytes, KTLS ifnet 0, KTLS software 1 read + 1 write,
// the copy path 2 + 2, user-space TLS 3 + 3; the NIC's DMA reads each byte once. Method: 1 MiB
// sent once on a fresh kernel per way; the kernel's counters (plus the tap's count of OpenSSL's
// encryption for user-space TLS) divided by the body bytes, allowing for heads, record framing
// and the handshake.
import { afterAll, describe, expect, it } from 'vitest';
import { type Kernel, MEMORY_TRAFFIC_PER_BYTE, memoryTraffic } from '../../src/index.js';
import { TCP_TLS_MODE_IFNET, TCP_TLS_MODE_SW } from '../../src/ktls/index.js';
import { finish, kernelBooter, loopback, settle, testFile } from '../e2e/helpers.js';
import { get, startKtlsServer, tlsClient } from './helpers.js';

const boot = kernelBooter();
const BODY = 1024 * 1024;

function perByte(
  kernel: Kernel,
  userEncryptBytes = 0,
): { cpu_read: number; cpu_write: number; dma_read: number } {
  const s = kernel.stats();
  const m = memoryTraffic({
    copyOutBytes: s.copy.copy_bytes_out,
    copyInBytes: s.copy.copy_bytes_in,
    swEncryptBytes: s.ktls.sw_encrypt_bytes ?? 0,
    nicEncryptBytes: s.ktls.ifnet_encrypt_bytes ?? 0,
    wireBytes: s.sockets.tcps_sndbyte,
    userEncryptBytes,
  });
  return {
    cpu_read: m.cpu_read_bytes / BODY,
    cpu_write: m.cpu_write_bytes / BODY,
    dma_read: m.dma_read_bytes / BODY,
  };
}

function expectModel(
  got: { cpu_read: number; cpu_write: number; dma_read: number },
  want: { cpu_read: number; cpu_write: number; dma_read: number },
): void {
  // Heads, TLS framing (22 bytes a record) and the handshake add well under 2 %.
  for (const k of ['cpu_read', 'cpu_write', 'dma_read'] as const) {
    expect(got[k]).toBeGreaterThanOrEqual(want[k]);
    expect(got[k]).toBeLessThan(want[k] + 0.02);
  }
}

describe('memory traffic per body byte', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  for (const way of ['sendfile', 'read+write'] as const) {
    it(`${way} over plain TCP`, async () => {
      const kernel = boot();
      const file = await kernel.open(await testFile(BODY, 51));
      const lb = await loopback();
      const so = kernel.socket(lb.client);
      if (way === 'sendfile') await kernel.sendfile(file, so, 0, 0);
      else await kernel.copyfile(file, so, 0, 0);
      expect((await finish(kernel, lb)).bytes).toBe(BODY);
      expect(kernel.stats().memory).toEqual(
        memoryTraffic({
          copyOutBytes: kernel.stats().copy.copy_bytes_out,
          copyInBytes: kernel.stats().copy.copy_bytes_in,
          swEncryptBytes: 0,
          nicEncryptBytes: 0,
          wireBytes: kernel.stats().sockets.tcps_sndbyte,
        }),
      );
      expectModel(perByte(kernel), MEMORY_TRAFFIC_PER_BYTE[way]);
      kernel.soclose(so);
      await lb.close();
      await kernel.close(file);
      await settle(kernel);
    });
  }

  for (const way of ['sendfile+ktls-sw', 'sendfile+ktls-ifnet', 'read+SSL_write+write'] as const) {
    it(`${way} over TLS`, async () => {
      const kernel = boot();
      const file = await kernel.open(await testFile(BODY, 52));
      const srv = await startKtlsServer(kernel, new Map([['/f', file]]), {
        mode: way === 'sendfile+ktls-ifnet' ? TCP_TLS_MODE_IFNET : TCP_TLS_MODE_SW,
        userSpace: way === 'read+SSL_write+write',
      });
      cleanups.push(() => srv.close());
      const { socket } = await tlsClient(srv.port, 'TLS_AES_256_GCM_SHA384');
      expect((await get(socket, '/f')).body.length).toBe(BODY);
      const tap = srv.connections[0]!.conn.tap;
      expectModel(perByte(kernel, tap.counters.user_encrypt_bytes), MEMORY_TRAFFIC_PER_BYTE[way]);
      socket.end();
      await srv.close();
      await kernel.close(file);
      await settle(kernel);
    });
  }
});
