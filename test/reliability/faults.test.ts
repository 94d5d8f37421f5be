// Goal: the HTTP server over the simulated kernel under injected faults. Disk: page-ins failing
// with EIO (seeded, by chance) in a memory far smaller than the files, so pages are evicted and
// read again: every response is whole and right, or cut cleanly (the bytes before the cut are the
// file's) and counted as an error exactly once. Peers: a reset mid-transfer, a half-close, a
// reader that never reads, a reader at one byte a second: each holds no more than its send buffer
// and the others keep being served. Files: truncated, extended or replaced while being sent.
// After each case the kernel is at rest.
// Method: real loopback sockets and raw HTTP/1.1 clients (src/load); debug-mode invariants on
// where the memory is small enough for the O(n) walks.
import { createHash } from 'node:crypto';
import { appendFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ServerOptions } from '../../src/http/index.js';
import { PAGE_SIZE } from '../../src/kern/index.js';
import { type ClientResponse, connectRaw, HttpClient, SlowReader } from '../../src/load/index.js';
import { patternBytes } from '../http/fixture.js';
import { atRestSoon, type Running } from '../http/helpers.js';
import { tempDir } from '../support/tmp.js';
import { waitFor } from '../support/wait.js';
import { startReliabilityServer } from './server.js';

const MiB = 1024 * 1024;
const base = tempDir('zcsim-faults');
afterAll(() => rmSync(base, { recursive: true, force: true }));
const servers: Running[] = [];
afterAll(async () => {
  for (const s of servers) await s.server.close();
});

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function makeFile(name: string, sizeBytes: number, seed: number): Buffer {
  const b = patternBytes(sizeBytes, seed);
  writeFileSync(join(base, name), b);
  return b;
}

async function serve(kernel: ServerOptions['kernel']): Promise<Running> {
  const s = await startReliabilityServer({ root: base, kernel: kernel ?? {}, revalidateMs: 0 });
  servers.push(s);
  return s;
}

/** Whole and right, or cut with the right bytes before the cut. Returns true when cut. */
function checkWholeOrCleanCut(r: ClientResponse, body: Uint8Array, what: string): boolean {
  if (r.complete) {
    expect(r.status, what).toBe(200);
    expect(r.sha256, `${what}: whole body`).toBe(sha(body));
    return false;
  }
  expect(['closed', 'error'], `${what}: cut ${r.cut}`).toContain(r.cut);
  expect(r.bodyBytes, what).toBeLessThan(body.length);
  expect(r.sha256, `${what}: the ${r.bodyBytes} bytes before the cut`).toBe(
    sha(body.subarray(0, r.bodyBytes)),
  );
  return true;
}

describe('disk faults: page-in EIO', () => {
  it('every response is whole or cut cleanly, and each cut is counted once', async () => {
    const body = makeFile('eio.bin', 3 * MiB + 123, 31);
    const srv = await serve({
      physmemBytes: 2 * MiB,
      invariants: true,
      faults: { pagerEioPct: 15 },
      seed: 7,
    });
    let cut = 0;
    for (const route of ['zerocopy', 'copy'] as const) {
      for (let i = 0; i < 12; i++) {
        const peer = await HttpClient.connect(srv.port);
        const r = await peer.request(`/${route}/eio.bin`, { timeoutMs: 90_000 });
        peer.close();
        if (checkWholeOrCleanCut(r, body, `${route} #${i}`)) cut++;
      }
    }
    const faults = srv.server.kernel.faultCounters?.();
    const routes = srv.server.zcsim.routes;
    // The route counts a cut after it has looked at the file again (a stat): wait for the count.
    await waitFor(() => routes.zerocopy.errors + routes.copy.errors >= cut, `${cut} cuts counted`);
    const counted = routes.zerocopy.errors + routes.copy.errors;
    expect(faults?.pager_eio).toBeGreaterThan(0);
    expect(cut).toBeGreaterThan(0);
    expect(counted).toBe(cut);
    expect(routes.zerocopy.aborted + routes.copy.aborted).toBe(0);
    expect((await atRestSoon(srv.server)).leaks).toEqual([]);
  });

  it('slow disk (latency per read) with every 3rd read failing: the same holds', async () => {
    const body = makeFile('slow-eio.bin', 3 * MiB + 7, 32);
    const srv = await serve({ physmemBytes: 2 * MiB, diskLatencyMs: 15, faults: { pagerEioEveryNth: 3 } });
    const results = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const peer = await HttpClient.connect(srv.port);
        const r = await peer.request(`/${i % 2 === 0 ? 'zerocopy' : 'copy'}/slow-eio.bin`, {
          timeoutMs: 90_000,
        });
        peer.close();
        return r;
      }),
    );
    for (const [i, r] of results.entries()) checkWholeOrCleanCut(r, body, `request ${i}`);
    expect(srv.server.kernel.faultCounters?.().pager_eio).toBeGreaterThan(0);
    expect((await atRestSoon(srv.server)).leaks).toEqual([]);
  });
});

describe('peer faults', () => {
  it('reset mid-transfer, half-close, a reader that never reads, one byte a second: others are served', async () => {
    // Each stalled reader's part is far more than the host's socket buffers can take (its send
    // buffer grows to tcp_wmem's 4 MiB, the receiver's to more), so neither response can end.
    makeFile('peer.bin', 24 * MiB, 33);
    const small = makeFile('small.bin', 64 * 1024, 34);
    const sndbufBytes = 32 * 1024;
    const srv = await serve({ physmemBytes: 32 * MiB, sndbufBytes, invariants: false });
    const stats = (): { vm: { v_wire_count: number } } =>
      srv.server.kernel.stats() as unknown as { vm: { v_wire_count: number } };
    // A reader that never reads, and one at a byte a second, each on its own part of the file.
    const never = await connectRaw(srv.port);
    never.on('error', () => {});
    never.write('GET /zerocopy/peer.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const trickle = await SlowReader.open(srv.port, '/zerocopy/peer.bin', 1, {
      extraHeaders: `Range: bytes=${12 * MiB}-\r\n`,
    });
    // Resets and half-closes, while a good client keeps downloading.
    const resets = await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        const p = await HttpClient.connect(srv.port);
        return p.request('/zerocopy/peer.bin', {
          abortAfterBytes: 64 * 1024 * (i + 1),
          abortHow: i % 2 === 0 ? 'reset' : 'close',
        });
      }),
    );
    for (const r of resets) expect(r.cut).toBe('aborted');
    // A client that half-closes right after its request: Node's HTTP server (httpAllowHalfOpen
    // false, its default) aborts the request on the FIN, so the answer is whole or nothing; never
    // wrong bytes, never a hang.
    const half = await connectRaw(srv.port);
    const halfGot = await new Promise<Buffer>((resolve) => {
      const chunks: Buffer[] = [];
      half.on('data', (c: Buffer) => chunks.push(c));
      half.on('close', () => resolve(Buffer.concat(chunks)));
      half.on('error', () => {});
      half.end('GET /zerocopy/small.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n');
    });
    const halfBody = halfGot.subarray(halfGot.indexOf('\r\n\r\n') + 4);
    if (halfGot.length > 0) expect(sha(halfBody)).toBe(sha(small.subarray(0, halfBody.length)));
    const good = await HttpClient.connect(srv.port);
    for (let i = 0; i < 5; i++) {
      const r = await good.request('/copy/small.bin');
      expect(r.sha256).toBe(sha(small));
    }
    good.close();
    // Everything else has ended: only the two stalled peers' responses are in flight.
    const routes = srv.server.zcsim.routes;
    await waitFor(
      () => routes.zerocopy.inflight === 2 && routes.copy.inflight === 0,
      () =>
        `only the two stalled responses in flight (zerocopy ${routes.zerocopy.inflight}, copy ${routes.copy.inflight})`,
    );
    // Two stalled peers: each holds at most its send buffer (plus a straddled and a pending page).
    const wired = stats().vm.v_wire_count;
    expect(wired, 'pages wired by the two stalled peers').toBeLessThanOrEqual(
      2 * (sndbufBytes / PAGE_SIZE + 2),
    );
    never.destroy();
    trickle.stop();
    expect((await atRestSoon(srv.server)).leaks).toEqual([]);
  });
});

describe('a file changed while being sent', () => {
  /** Asks for `name` without reading, runs `change` once the response is under way, then reads all. */
  async function changeMidway(
    srv: Running,
    name: string,
    change: () => void,
  ): Promise<{ head: string; bytes: Buffer }> {
    const s = await connectRaw(srv.port);
    s.on('error', () => {});
    s.pause();
    const route = srv.server.zcsim.routes.zerocopy;
    const bodyBytesBefore = route.body_bytes;
    s.write(`GET /zerocopy/${name} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    await waitFor(() => route.body_bytes > bodyBytesBefore, 'the response to be under way');
    change();
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.resume();
    await new Promise<void>((resolve) => s.on('close', () => resolve()));
    const all = Buffer.concat(chunks);
    const end = all.indexOf('\r\n\r\n');
    return { head: all.subarray(0, end).toString('latin1'), bytes: all.subarray(end + 4) };
  }

  const SIZE = 24 * MiB;

  it('truncated: the response is cut, the bytes before the cut are the old file, counted', async () => {
    const body = makeFile('trunc.bin', SIZE, 35);
    const srv = await serve({ physmemBytes: 64 * MiB, invariants: false });
    const got = await changeMidway(srv, 'trunc.bin', () => truncateSync(join(base, 'trunc.bin'), MiB));
    expect(got.head).toContain(`Content-Length: ${SIZE}`);
    expect(got.bytes.length).toBeLessThan(SIZE);
    expect(sha(got.bytes)).toBe(sha(body.subarray(0, got.bytes.length)));
    await waitFor(() => srv.server.zcsim.routes.zerocopy.file_changed > 0, 'the change to be counted');
    expect(srv.server.zcsim.routes.zerocopy.file_changed).toBe(1);
    expect((await atRestSoon(srv.server)).leaks).toEqual([]);
  });

  it('extended: the response is the file as it was when the request came', async () => {
    const body = makeFile('ext.bin', SIZE, 36);
    const srv = await serve({ physmemBytes: 64 * MiB, invariants: false });
    const got = await changeMidway(srv, 'ext.bin', () =>
      appendFileSync(join(base, 'ext.bin'), Buffer.alloc(MiB, 7)),
    );
    expect(got.bytes.length).toBe(SIZE);
    expect(sha(got.bytes)).toBe(sha(body));
    expect((await atRestSoon(srv.server)).leaks).toEqual([]);
  });

  it('replaced (renamed over): the open file is sent whole, the old bytes', async () => {
    const body = makeFile('repl.bin', SIZE, 37);
    makeFile('repl.new', SIZE, 38);
    const srv = await serve({ physmemBytes: 64 * MiB, invariants: false });
    const got = await changeMidway(srv, 'repl.bin', () =>
      renameSync(join(base, 'repl.new'), join(base, 'repl.bin')),
    );
    expect(got.bytes.length).toBe(SIZE);
    expect(sha(got.bytes)).toBe(sha(body));
    expect((await atRestSoon(srv.server)).leaks).toEqual([]);
  });
});
