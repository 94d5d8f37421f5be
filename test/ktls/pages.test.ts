// Goal: software KTLS never writes into a file page, and a file changing under an ifnet KTLS send
// reaches the client as a bad record MAC on a "retransmitted" record while software mode does
// not. Method: after a software send the cached file pages are compared with the file; then a
// simulated lost segment is sent again by the NIC after the test rewrote the file's cached pages
// (what a write(2) through the page cache does): the NIC re-reads plaintext in ifnet mode and
// re-encrypts it, while in software mode it re-reads the ciphertext pages the worker wrote.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import type { Kernel } from '../../src/index.js';
import { TCP_TLS_MODE_IFNET, TCP_TLS_MODE_SW } from '../../src/ktls/index.js';
import type { KFile } from '../../src/sendfile/index.js';
import { kernelBooter, settle, testFile } from '../e2e/helpers.js';
import { get, startKtlsServer, tlsClient } from './helpers.js';

const boot = kernelBooter();
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const SUITE = 'TLS_CHACHA20_POLY1305_SHA256';

/** The cached pages of `file`, page index -> bytes in the kernel's physical memory. */
function cachedPages(kernel: Kernel, file: KFile, sizeBytes: number): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  for (let i = 0; i < Math.ceil(sizeBytes / 4096); i++) {
    const pg = kernel.vm.vmPageLookup(file.obj, i);
    if (pg !== null) out.set(i, kernel.vm.pageBytes(pg));
  }
  return out;
}

describe('KTLS and file pages', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it('software KTLS encrypts into new pages: the file pages keep the file bytes', async () => {
    const kernel = boot();
    const sizeBytes = 128 * 1024;
    const path = await testFile(sizeBytes, 21);
    const want = await readFile(path);
    const file = await kernel.open(path);
    const srv = await startKtlsServer(kernel, new Map([['/f', file]]), { mode: TCP_TLS_MODE_SW });
    cleanups.push(() => srv.close());
    const { socket } = await tlsClient(srv.port, SUITE);
    expect(sha((await get(socket, '/f')).body)).toBe(sha(want));
    const pages = cachedPages(kernel, file, sizeBytes);
    expect(pages.size).toBe(sizeBytes / 4096);
    for (const [i, bytes] of pages)
      expect(Buffer.compare(bytes, want.subarray(i * 4096, (i + 1) * 4096))).toBe(0);
    const k = kernel.stats().ktls;
    // Every body page got a ciphertext page of its own.
    expect(k.anon_pages_allocated).toBeGreaterThanOrEqual(sizeBytes / 4096);
    socket.end();
    await srv.close();
    await kernel.close(file);
    await settle(kernel);
    expect(kernel.stats().ktls.anon_pages_held).toBe(0);
  });

  for (const mode of [TCP_TLS_MODE_IFNET, TCP_TLS_MODE_SW] as const) {
    const name = mode === TCP_TLS_MODE_IFNET ? 'ifnet' : 'sw';
    it(`${name}: a file page rewritten before a retransmission ${mode === TCP_TLS_MODE_IFNET ? 'breaks' : 'does not break'} the record`, async () => {
      const kernel = boot();
      const sizeBytes = 64 * 1024;
      const path = await testFile(sizeBytes, 22);
      const file = await kernel.open(path);
      const rewrite = (): void => {
        for (const bytes of cachedPages(kernel, file, sizeBytes).values()) bytes.fill(0x55);
      };
      const srv = await startKtlsServer(kernel, new Map([['/f', file]]), {
        mode,
        rexmit: { minPayloadBytes: 16384, segmentBytes: 1448, segmentIndex: 3, beforeResend: rewrite },
      });
      cleanups.push(() => srv.close());
      const { socket } = await tlsClient(srv.port, SUITE);
      const r = await get(socket, '/f').then(
        (x) => ({ ok: true as const, body: x.body }),
        (e: NodeJS.ErrnoException) => ({ ok: false as const, code: e.code }),
      );
      expect(kernel.stats().ktls.rexmit_segments).toBe(1);
      if (mode === TCP_TLS_MODE_IFNET) {
        expect(r).toEqual({ ok: false, code: 'ERR_SSL_DECRYPTION_FAILED_OR_BAD_RECORD_MAC' });
      } else {
        // The record authenticates; its bytes are those the worker read before the rewrite.
        expect(r.ok).toBe(true);
        if (r.ok) expect(r.body.length).toBe(sizeBytes);
      }
      socket.destroy();
      await srv.close();
      await kernel.close(file);
      await settle(kernel);
    });
  }
});
