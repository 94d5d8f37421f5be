// Goal: clients that read as fast as they can are never cut because the mbuf zone ran dry. When
// every send buffer is full the zone is empty; a response whose head is already built into mbufs
// then gets ENOBUFS from sendfile(2) with the head's bytes in sbytes (its first page mbuf may not
// sleep while the header mbufs are held). The server must go on with the rest, as with any partial
// send, not close the connection after the head went out.
// Method: one server over a kernel whose mbuf zone holds fewer page mbufs than the clients' send
// buffers together; CLIENTS keep-alive clients each download the file ROUNDS times, at once.
// Every response must be whole: a 200 with the right bytes (or a 503 that never started), the route must count no error, and
// the kernel must be at rest afterwards.
import { createHash } from 'node:crypto';
import diagnosticsChannel from 'node:diagnostics_channel';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TRACE_CHANNELS, type TraceEvent } from '../../src/kern/index.js';
import { HttpClient } from '../../src/load/index.js';
import { patternBytes } from '../http/fixture.js';
import { atRestSoon } from '../http/helpers.js';
import { tempDir } from '../support/tmp.js';
import { startReliabilityServer } from './server.js';

const CLIENTS = 64;
const ROUNDS = 6;
const SNDBUF_BYTES = 64 * 1024;
/**
 * An eighth of what the send buffers hold in page mbufs together: dry often enough that heads meet
 * it in every run (a quarter left some runs with none, once responses let go at the acknowledgement).
 */
const NMBUFS = 128;

const base = tempDir('zcsim-dry');
const body = patternBytes(512 * 1024 + 7, 31);
writeFileSync(join(base, 'big.bin'), body);
const bodySha = createHash('sha256').update(body).digest('hex');
afterAll(() => rmSync(base, { recursive: true, force: true }));

describe('a dry mbuf zone under many fast clients', () => {
  it('cuts no response and ends at rest', async () => {
    const { server, port } = await startReliabilityServer({
      root: base,
      logger: false,
      kernel: { physmemBytes: 64 * 1024 * 1024, sndbufBytes: SNDBUF_BYTES, nmbufs: NMBUFS },
    });
    // sendfile calls that ended with ENOBUFS after queueing their head (the case at issue).
    let headOnly = 0;
    const listener = (e: unknown): void => {
      const t = e as TraceEvent;
      if (t.kernelId !== server.kernel.id || t.event !== 'sendfile-done') return;
      if (t.error === 'ENOBUFS' && typeof t.sbytes === 'number' && t.sbytes > 0) headOnly++;
    };
    diagnosticsChannel.subscribe(TRACE_CHANNELS.sendfile, listener);
    const problems: string[] = [];
    let whole = 0;
    // A response that could not start for a dry pool may be refused (503, Retry-After): not a cut.
    let refused = 0;
    try {
      const clients = await Promise.all(Array.from({ length: CLIENTS }, () => HttpClient.connect(port)));
      await Promise.all(
        clients.map(async (c) => {
          for (let i = 0; i < ROUNDS; i++) {
            const r = await c.request('/zerocopy/big.bin', { timeoutMs: 60_000 });
            if (!r.complete) problems.push(`cut: ${r.cut}`);
            else if (r.status === 503) refused++;
            else if (r.status !== 200) problems.push(`status ${r.status}`);
            else if (r.sha256 !== bodySha) problems.push('wrong bytes');
            else whole++;
            if (!r.complete) break;
          }
          c.close();
        }),
      );
      const route = server.zcsim.routes.zerocopy;
      expect(problems.slice(0, 5)).toEqual([]);
      expect(whole + refused).toBe(CLIENTS * ROUNDS);
      expect(refused).toBe(server.zcsim.connections.pool_503);
      expect(route.errors).toBe(0);
      expect(route.aborted).toBe(0);
      // The zone did run dry while heads were built (else this test shows nothing).
      expect(headOnly).toBeGreaterThan(0);
    } finally {
      diagnosticsChannel.unsubscribe(TRACE_CHANNELS.sendfile, listener);
      const rest = await atRestSoon(server);
      await server.close();
      expect(rest).toEqual({ atRest: true, leaks: [] });
    }
  });
});
