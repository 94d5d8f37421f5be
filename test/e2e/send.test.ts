// Goal: the behaviours of sendfile(2) that a program sees, over real TCP: headers and trailers
// in order, non-blocking partial sends (EAGAIN with sbytes) resumed to completion, SF_SYNC,
// a file changed between two sends, argument errors, EINTR, and a peer reset that leaks nothing.
// Method: a loopback connection whose receiver hashes what it reads (optionally paused, to fill
// the socket buffer); after each case the kernel must come to rest.
import { rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Kernel, SF_SYNC, type SysError } from '../../src/index.js';
import { SS_ISCONNECTED } from '../../src/net/index.js';
import { waitFor } from '../support/wait.js';
import {
  finish,
  kernelBooter,
  loopback,
  patternBytes,
  recordingTransport,
  settle,
  sha256,
  sliceHash,
  TEST_DIR,
  testFile,
} from './helpers.js';

const MiB = 1024 * 1024;
const boot = kernelBooter();

/** Waits until a sender sleeps in sbwait: the send buffer is full and the host takes no more. */
function blockedInSbwait(k: Kernel): Promise<void> {
  return waitFor(
    () => k.atRest().leaks.some((l) => l.includes('sleeping in sbwait')),
    'a sender blocked in sbwait',
  );
}

async function rejection(p: Promise<unknown>): Promise<SysError> {
  try {
    await p;
  } catch (e) {
    return e as SysError;
  }
  throw new Error('expected a rejection');
}

describe.each(['dmap', 'kva', 'extpg'] as const)('sendfile over TCP, mapping %s', (mapping) => {
  it('puts headers before and trailers after the file data, in order', async () => {
    const k = boot({ mapping, nsfbufs: 32 });
    const path = await testFile(100_000);
    const file = await k.open(path);
    const lb = await loopback();
    const { transport, record } = recordingTransport(lb.client, k.vm.physmem);
    const so = k.socket(transport);
    const headers = [
      new TextEncoder().encode('HTTP/1.1 200 OK\r\n'),
      new TextEncoder().encode('X-Zc: 1\r\n\r\n'),
    ];
    const trailers = [new TextEncoder().encode('--trailer one--'), new TextEncoder().encode('--two--')];
    const sbytes = await k.sendfile(file, so, 10, 50_000, { headers, trailers });
    const hdrBytes = headers.reduce((n, h) => n + h.length, 0);
    const trlBytes = trailers.reduce((n, h) => n + h.length, 0);
    expect(sbytes).toBe(hdrBytes + 50_000 + trlBytes);
    const got = await finish(k, lb);
    const fileSlice = patternFileSlice(path, 10, 50_000);
    expect(got.sha256).toBe(sha256(...headers, await fileSlice, ...trailers));
    expect(record.foreignBytes).toBe(hdrBytes + trlBytes);
    // The file's bytes are not copied; the trailers are written by sosend (kern_writev), a copy.
    expect(k.stats().copy).toEqual({ copy_bytes_out: 0, copy_bytes_in: trlBytes });
    k.soclose(so);
    await lb.close();
  });

  it('gives EAGAIN with the partial sbytes on a full non-blocking socket, and resumes to the end', async () => {
    const k = boot({ mapping, nsfbufs: 64 });
    const size = MiB + 123;
    const path = await testFile(size);
    const file = await k.open(path);
    const lb = await loopback({ pauseReceiver: true });
    const so = k.socket(lb.client, { nonblocking: true });
    let off = 0;
    let eagains = 0;
    while (off < size) {
      try {
        off += await k.sendfile(file, so, off, 0);
      } catch (e) {
        const err = e as SysError;
        expect(err.code).toBe('EAGAIN');
        expect(err.sbytes).toBeGreaterThanOrEqual(0);
        off += err.sbytes;
        eagains++;
        lb.peer.resume();
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    expect(off).toBe(size);
    expect(eagains).toBeGreaterThan(0);
    const got = await finish(k, lb);
    expect(got.sha256).toBe(await sliceHash(path, 0, size));
    k.soclose(so);
    await lb.close();
  });

  it('SF_SYNC resolves only once every mbuf of the call has been freed', async () => {
    const k = boot({ mapping, nsfbufs: 64 });
    const path = await testFile(300_000);
    const file = await k.open(path);
    const lb = await loopback();
    const so = k.socket(lb.client);
    const sbytes = await k.sendfile(file, so, 0, 0, { flags: SF_SYNC });
    expect(sbytes).toBe(300_000);
    expect(k.mbufs.counters().ext_live).toBe(0);
    expect(k.vm.stats.v_wire_count).toBe(0);
    const got = await finish(k, lb);
    expect(got.sha256).toBe(await sliceHash(path, 0, 300_000));
    k.soclose(so);
    await lb.close();
  });

  it('a peer reset mid-transfer gives EPIPE or ECONNRESET and leaks nothing', async () => {
    const k = boot({ mapping, nsfbufs: 64 });
    const path = await testFile(64 * MiB);
    const file = await k.open(path);
    const lb = await loopback({ pauseReceiver: true });
    const so = k.socket(lb.client, { sndbufBytes: 256 * 1024 });
    const sending = k.sendfile(file, so, 0, 0);
    await blockedInSbwait(k);
    lb.peer.resetAndDestroy();
    const err = await rejection(sending);
    expect(['EPIPE', 'ECONNRESET']).toContain(err.code);
    expect(err.sbytes).toBeGreaterThan(0);
    expect(err.sbytes).toBeLessThan(64 * MiB);
    k.soclose(so);
    await settle(k);
    await lb.close();
  });
});

/** The bytes of a slice of a file written by testFile (read with plain fs). */
async function patternFileSlice(path: string, offset: number, length: number): Promise<Uint8Array> {
  const { readFile } = await import('node:fs/promises');
  const all = await readFile(path);
  return all.subarray(offset, offset + length);
}

describe('sendfile semantics', () => {
  it('sends a file changed between two sends as it is now', async () => {
    const k = boot();
    const path = join(TEST_DIR, `zcsim-e2e-changing-${process.pid}.bin`);
    await writeFile(path, patternBytes(20_000, 1));
    try {
      const file = await k.open(path);
      for (const [seed, size] of [
        [1, 20_000],
        [2, 33_333],
        [3, 5_000],
      ] as const) {
        const bytes = patternBytes(size, seed);
        if (seed !== 1) {
          await writeFile(path, bytes);
          // Another mtime, set rather than waited for.
          await utimes(path, seed, seed);
        }
        const lb = await loopback();
        const so = k.socket(lb.client);
        expect(await k.sendfile(file, so, 0, 0)).toBe(size);
        const got = await finish(k, lb);
        expect(got.sha256).toBe(sha256(bytes));
        k.soclose(so);
        await lb.close();
      }
    } finally {
      await rm(path, { force: true });
    }
  });

  it('rejects bad arguments with EINVAL, closed descriptors with EBADF, an unconnected socket with ENOTCONN', async () => {
    const k = boot();
    const file = await k.open(await testFile(4096));
    const lb = await loopback();
    const so = k.socket(lb.client);
    expect((await rejection(k.sendfile(file, so, -1, 0))).code).toBe('EINVAL');
    expect((await rejection(k.sendfile(file, so, 0, -5))).code).toBe('EINVAL');
    expect((await rejection(k.sendfile(file, so, 0, 0, { flags: 0x8000 }))).code).toBe('EINVAL');
    expect((await rejection(k.copyfile(file, so, -1, 0))).code).toBe('EINVAL');
    expect(await k.sendfile(file, so, 4096, 0)).toBe(0);
    expect(await k.sendfile(file, so, 1 << 30, 0)).toBe(0);
    // A socket that is not connected (never, in this simulator, unless told so) gives ENOTCONN.
    so.so_state &= ~SS_ISCONNECTED;
    expect((await rejection(k.sendfile(file, so, 0, 0))).code).toBe('ENOTCONN');
    so.so_state |= SS_ISCONNECTED;
    await k.close(file);
    expect((await rejection(k.sendfile(file, so, 0, 0))).code).toBe('EBADF');
    expect((await rejection(k.fstat(file))).code).toBe('EBADF');
    expect((await rejection(k.read(file, 0, new Uint8Array(10)))).code).toBe('EBADF');
    expect((await rejection(k.close(file))).code).toBe('EBADF');
    const file2 = await k.open(await testFile(4096));
    k.soclose(so);
    expect((await rejection(k.sendfile(file2, so, 0, 0))).code).toBe('EBADF');
    await settle(k);
    await lb.close();
  });

  it('an aborted signal ends a sleep in sbwait with EINTR and the partial sbytes', async () => {
    const k = boot();
    const path = await testFile(MiB + 123);
    const file = await k.open(path);
    const lb = await loopback({ pauseReceiver: true });
    const so = k.socket(lb.client);
    const ac = new AbortController();
    const sending = k.sendfile(file, so, 0, 0, { signal: ac.signal });
    await blockedInSbwait(k);
    ac.abort();
    const err = await rejection(sending);
    expect(err.code).toBe('EINTR');
    expect(err.sbytes).toBeGreaterThan(0);
    lb.peer.resume();
    // The bytes queued before the signal still go out; the rest can be sent by a later call.
    const rest = await k.sendfile(file, so, err.sbytes, 0);
    expect(err.sbytes + rest).toBe(MiB + 123);
    const got = await finish(k, lb);
    expect(got.sha256).toBe(await sliceHash(path, 0, MiB + 123));
    k.soclose(so);
    await lb.close();
  });
});
