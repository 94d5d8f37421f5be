// Goal: sendfile(2) over a connection that kernel TLS took over from Node's TLSSocket reaches a
// real TLS 1.3 client intact, with every cipher, in software and ifnet mode, sealed by either
// crypto driver (ossl where built, node:crypto always). Method: a file is
// served by kernel sendfile after the takeover; the client hashes the body, and the test opens
// every record it received with the key derived from the client's own keylog: the body comes in
// ceil(body / maxlen) records after the head's record, in sequence.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type KtlsCryptoDriver,
  osslBinding,
  TCP_TLS_MODE_IFNET,
  TCP_TLS_MODE_SW,
  TLS_RLTYPE_APP,
} from '../../src/ktls/index.js';
import { kernelBooter, settle, testFile } from '../e2e/helpers.js';
import { get, openServerRecords, SUITES, startKtlsServer, tlsClient } from './helpers.js';

const boot = kernelBooter();
/** The crypto drivers to run with: the one a server takes by default first. */
const DRIVERS: KtlsCryptoDriver[] = osslBinding() !== null ? ['ossl', 'node-crypto'] : ['node-crypto'];
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('sendfile over kernel TLS', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  const cases = DRIVERS.flatMap((crypto) =>
    (['dmap', 'extpg'] as const).map((mapping) => ({ crypto, mapping })),
  ).filter((c) => c.crypto === DRIVERS[0] || c.mapping === 'dmap');
  for (const mode of [TCP_TLS_MODE_SW, TCP_TLS_MODE_IFNET] as const) {
    for (const suite of SUITES) {
      for (const { crypto, mapping } of cases) {
        it(`${suite}, ${mode === TCP_TLS_MODE_SW ? 'sw' : 'ifnet'}, ${mapping}, ${crypto}: body intact, one record per maxlen`, async () => {
          const kernel = boot({ mapping, ktlsCrypto: crypto });
          const sizeBytes = 300 * 1024 + 123;
          const path = await testFile(sizeBytes, 7);
          const file = await kernel.open(path);
          const srv = await startKtlsServer(kernel, new Map([['/f', file]]), {
            mode,
            sndbufBytes: 1024 * 1024,
          });
          cleanups.push(() => srv.close());
          const { socket, cap } = await tlsClient(srv.port, suite);
          const r = await get(socket, '/f');
          expect(r.status).toBe(200);
          expect(sha(r.body)).toBe(sha(await readFile(path)));
          const records = openServerRecords(cap).filter((x) => x.type === TLS_RLTYPE_APP);
          // The head's record, then the body's.
          expect(records.length).toBe(1 + Math.ceil(sizeBytes / 16384));
          expect(records.slice(1).every((x) => x.length <= 16384)).toBe(true);
          expect(records.slice(1).reduce((s, x) => s + x.length, 0)).toBe(sizeBytes);
          const stats = kernel.stats().ktls;
          expect(stats['kern.ipc.tls.stats.offload_total']).toBe(1);
          if (mode === TCP_TLS_MODE_SW) {
            expect(stats.sw_encrypt_bytes).toBeGreaterThanOrEqual(sizeBytes);
            expect(stats.ifnet_encrypt_bytes).toBe(0);
            // ktls_ocf.c's counts: the file's records sealed into new pages; the head's (and the
            // tickets') in their own; every one under the session's cipher.
            const separate = stats['kern.ipc.tls.stats.ocf.separate_output'];
            const inplace = stats['kern.ipc.tls.stats.ocf.inplace'] ?? 0;
            expect(separate).toBe(Math.ceil(sizeBytes / 16384));
            expect(inplace).toBeGreaterThanOrEqual(1);
            const [used, other] = suite.includes('CHACHA20') ? ['chacha20', 'gcm'] : ['gcm', 'chacha20'];
            expect(stats[`kern.ipc.tls.stats.ocf.tls13_${used}_encrypts`]).toBe(stats.records_sw);
            expect(stats.records_sw).toBe((separate ?? 0) + inplace);
            expect(stats[`kern.ipc.tls.stats.ocf.tls13_${other}_encrypts`]).toBe(0);
          } else {
            expect(stats.ifnet_encrypt_bytes).toBeGreaterThanOrEqual(sizeBytes);
            expect(stats.sw_encrypt_bytes).toBe(0);
          }
          socket.end();
          await srv.close();
          await kernel.close(file);
          await settle(kernel);
          expect(kernel.stats().ktls['kern.ipc.tls.stats.active']).toBe(0);
        });
      }
    }
  }
});
