// Goal: whatever the mapping mode, memory size, send buffer, offset, byte count, flags, readahead,
// blocking mode, disk latency and a rival sender of the same file, sendfile(2) delivers exactly the file slice (headers first, trailers last),
// reports sbytes that add up, copies nothing, and leaves the kernel at rest.
// Method: fast-check (fixed seed; SIM_SEED overrides it) draws a scenario; a MemoryTransport
// takes the bytes (draining by itself), non-blocking calls are resumed after EAGAIN from the
// offset their sbytes say, and the result is compared byte for byte with the file read by fs.
import { readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  assertAtRest,
  createKernel,
  type Kernel,
  SF_NOCACHE,
  SF_USER_READAHEAD,
  type SysError,
} from '../../src/index.js';
import { MemoryTransport } from '../../src/net/index.js';
import { testFile } from '../e2e/helpers.js';
import { waitFor } from '../support/wait.js';

const seed = Number(process.env.SIM_SEED ?? 424242);
const FILE_BYTES = 300_001;

const scenario = fc.record({
  mapping: fc.constantFrom('dmap' as const, 'kva' as const, 'extpg' as const),
  physmemPages: fc.integer({ min: 48, max: 256 }),
  nsfbufs: fc.integer({ min: 1, max: 16 }),
  sndbufBytes: fc.integer({ min: 4096, max: 200_000 }),
  offset: fc.integer({ min: 0, max: FILE_BYTES + 10 }),
  nbytes: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: FILE_BYTES })),
  nocache: fc.boolean(),
  userReadahead: fc.boolean(),
  readahead: fc.integer({ min: 0, max: 300 }),
  nonblocking: fc.boolean(),
  headerBytes: fc.integer({ min: 0, max: 9000 }),
  trailerBytes: fc.integer({ min: 0, max: 3000 }),
  diskLatencyMs: fc.integer({ min: 0, max: 3 }),
  /** A second, blocking connection sends the whole file at the same time (busy pages). */
  rival: fc.boolean(),
  /** 32-bit arm flavour of the KVA pool; and connections moving between CPUs. */
  unmapOnFree: fc.boolean(),
  cpuMigratePct: fc.constantFrom(0, 30),
});

type Scenario = {
  mapping: 'dmap' | 'kva' | 'extpg';
  physmemPages: number;
  nsfbufs: number;
  sndbufBytes: number;
  offset: number;
  nbytes: number;
  nocache: boolean;
  userReadahead: boolean;
  readahead: number;
  nonblocking: boolean;
  headerBytes: number;
  trailerBytes: number;
  diskLatencyMs: number;
  rival: boolean;
  unmapOnFree: boolean;
  cpuMigratePct: number;
};

/** Sends the whole slice, resuming after EAGAIN; returns the total sbytes. */
async function sendAll(
  k: Kernel,
  args: { file: Awaited<ReturnType<Kernel['open']>>; so: ReturnType<Kernel['socket']> },
  s: Scenario,
  header: Uint8Array,
  trailer: Uint8Array,
  want: number,
): Promise<number> {
  const flags = (s.nocache ? SF_NOCACHE : 0) | (s.userReadahead ? SF_USER_READAHEAD : 0);
  let done = 0;
  for (let turn = 0; turn < 10_000; turn++) {
    // Headers and trailers ride with the call that still has them to send.
    const fileDone = Math.max(0, Math.min(want, done - header.length));
    const headers = done < header.length ? [header.subarray(done)] : [];
    try {
      done += await k.sendfile(
        args.file,
        args.so,
        s.offset + fileDone,
        s.nbytes === 0 ? 0 : s.nbytes - fileDone,
        {
          flags,
          readahead: s.readahead,
          headers,
        },
      );
      break;
    } catch (e) {
      const err = e as SysError;
      if (err.code !== 'EAGAIN') throw e;
      done += err.sbytes;
      if (done - header.length >= want && s.nbytes !== 0) break;
      await new Promise((r) => setTimeout(r, 0));
    }
  }
  if (trailer.length > 0) {
    args.so.nonblocking = false;
    done += await k.write(args.so, trailer);
  }
  return done;
}

/** File bytes the scenario asks for. */
function want0(s: Scenario): number {
  const rest = Math.max(0, FILE_BYTES - s.offset);
  return s.nbytes === 0 ? rest : Math.min(s.nbytes, rest);
}

describe('sendfile delivers the file slice, whatever the scenario', () => {
  it('holds for random scenarios', async () => {
    const path = await testFile(FILE_BYTES, 31);
    const fileBytes = new Uint8Array(await readFile(path));
    await fc.assert(
      fc.asyncProperty(scenario, async (s: Scenario) => {
        const k = createKernel({
          mapping: s.mapping,
          physmemBytes: s.physmemPages * 4096,
          nsfbufs: s.nsfbufs,
          diskLatencyMs: s.diskLatencyMs,
          unmapOnFree: s.unmapOnFree,
          cpuMigratePct: s.cpuMigratePct,
          cpuCount: 3,
          invariants: true,
        });
        const file = await k.open(path);
        const t = new MemoryTransport({ autoDrain: true });
        // A send buffer is at most half of memory (a larger one is refused with ENOBUFS).
        const sndbufBytes = Math.min(s.sndbufBytes, (s.physmemPages * 4096) / 2);
        const so = k.socket(t, { sndbufBytes, nonblocking: s.nonblocking });
        // FreeBSD main sends the headers inside its loop over file data: none with no data to send.
        const header = new Uint8Array(want0(s) > 0 ? s.headerBytes : 0).fill(0x48);
        const trailer = new Uint8Array(s.trailerBytes).fill(0x54);
        const rest = Math.max(0, FILE_BYTES - s.offset);
        const want = s.nbytes === 0 ? rest : Math.min(s.nbytes, rest);
        const t2 = new MemoryTransport({ autoDrain: true });
        const rival = s.rival ? k.sendfile(file, k.socket(t2), 0, 0) : Promise.resolve(FILE_BYTES);
        const total = await sendAll(k, { file, so }, s, header, trailer, want);
        expect(total).toBe(header.length + want + trailer.length);
        expect(await rival).toBe(FILE_BYTES);
        await waitFor(() => k.atRest().atRest, 'the kernel at rest');
        assertAtRest(k);
        const got = t.received();
        expect(got.length).toBe(total);
        expect(Buffer.compare(Buffer.from(got.subarray(0, header.length)), Buffer.from(header))).toBe(0);
        const slice = fileBytes.subarray(s.offset, s.offset + want);
        const body = got.subarray(header.length, header.length + want);
        expect(Buffer.compare(Buffer.from(body), Buffer.from(slice))).toBe(0);
        expect(k.stats().copy.copy_bytes_out).toBe(0);
        if (s.rival) expect(Buffer.compare(Buffer.from(t2.received()), Buffer.from(fileBytes))).toBe(0);
        await k.destroy();
      }),
      { seed, numRuns: 100, endOnFailure: true },
    );
  });
});
