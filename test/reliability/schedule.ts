// A random schedule of sendfile(2) and copy-path transfers on the deterministic in-memory
// transport (src/net MemoryTransport), and the driver that plays it: every peer is a test peer
// (a reader, a slow reader, a reader that resets midway, a reader that never reads), each step of
// the driver drains some writes, resets some peers, and lets real file reads complete. When the
// schedule is over, every transfer's received bytes are checked against the file slice it asked
// for, and the kernel must be at rest.
import { readFile } from 'node:fs/promises';
import { setImmediate as yieldToIo } from 'node:timers/promises';
import {
  createKernel,
  isSysError,
  type Kernel,
  type KFile,
  type KSocket,
  type SendfileMapping,
  SF_NOCACHE,
  SF_NODISKIO,
  SF_SYNC,
  SF_USER_READAHEAD,
} from '../../src/index.js';
import { createPrng, type Prng } from '../../src/kern/index.js';
import { MemoryTransport } from '../../src/net/index.js';
import { testFile } from '../e2e/helpers.js';

export type PeerKind = 'reader' | 'slow' | 'reset' | 'stall';

export interface TransferPlan {
  readonly fileIndex: number;
  /** Offset and length as fractions of the file (so they fit any size). */
  readonly offsetFrac: number;
  readonly lengthFrac: number;
  /** 0 = "to EOF" (sendfile's nbytes 0). */
  readonly toEof: boolean;
  readonly path: 'sendfile' | 'copy';
  readonly flags: number;
  readonly readahead: number;
  readonly sndbufBytes: number;
  readonly headerBytes: number;
  readonly trailerBytes: number;
  readonly peer: PeerKind;
  /** For 'reset': how many drains before the reset. */
  readonly resetAfterDrains: number;
}

export interface Schedule {
  readonly mapping: SendfileMapping;
  readonly physPages: number;
  readonly nsfbufs: number;
  readonly cpuCount: number;
  readonly cpuMigratePct: number;
  readonly nmbclusters: number;
  readonly nmbufs: number;
  readonly pagerEioPct: number;
  readonly fileSizes: readonly number[];
  readonly transfers: readonly TransferPlan[];
  readonly driverSeed: number;
}

export const SCHEDULE_FLAGS = [0, SF_NODISKIO, SF_NOCACHE, SF_SYNC, SF_USER_READAHEAD, SF_NOCACHE | SF_SYNC];

/** What one transfer ended with. */
interface Outcome {
  done: boolean;
  sbytes: number;
  code: string | null;
}

interface Live {
  readonly plan: TransferPlan;
  readonly t: MemoryTransport;
  readonly so: KSocket;
  readonly expected: Uint8Array;
  readonly outcome: Outcome;
  drains: number;
  reset: boolean;
  closed: boolean;
}

/** Every driver loop is bounded: a schedule that needs more steps than this has deadlocked. */
const STEPS_MAX = 1_000_000;
/** Time without progress after which stalled peers give up (the application closes them). */
const STUCK_MS = 100;
/** Time without progress that counts as a deadlock. */
const DEADLOCK_MS = 3000;

function bytesOf(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The first index where a and b differ within the first n bytes, or -1. */
function firstDifference(a: Uint8Array, b: Uint8Array, n: number): number {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}

function start(k: Kernel, file: KFile, content: Uint8Array, plan: TransferPlan, index: number): Live {
  const size = content.length;
  const offset = Math.min(size, Math.floor(plan.offsetFrac * size));
  // nbytes 0 means "to EOF" for both paths, as it does for sendfile(2).
  const cut = Math.floor(plan.lengthFrac * (size - offset));
  const length = plan.toEof || cut === 0 ? size - offset : cut;
  const headers = plan.headerBytes > 0 ? [bytesOf(plan.headerBytes, index)] : [];
  const trailers = plan.trailerBytes > 0 ? [bytesOf(plan.trailerBytes, index + 100)] : [];
  const expected = concat([...headers, content.subarray(offset, offset + length), ...trailers]);
  const t = new MemoryTransport();
  const so = k.socket(t, { sndbufBytes: plan.sndbufBytes });
  const outcome: Outcome = { done: false, sbytes: 0, code: null };
  const nbytes = plan.toEof || cut === 0 ? 0 : length;
  const p =
    plan.path === 'sendfile'
      ? k.sendfile(file, so, offset, nbytes, {
          headers,
          trailers,
          flags: plan.flags,
          readahead: plan.readahead,
        })
      : k.copyfile(file, so, offset, nbytes, { headers, trailers });
  p.then(
    (n) => Object.assign(outcome, { done: true, sbytes: n }),
    (e: unknown) => {
      if (!isSysError(e)) throw e; // a KernelAssertionError is a bug: let it surface
      Object.assign(outcome, { done: true, sbytes: e.sbytes, code: e.code });
    },
  );
  return { plan, t, so, expected, outcome, drains: 0, reset: false, closed: false };
}

/** One step of a peer: drain, reset, or nothing (a stalled peer). Returns bytes taken. */
function stepPeer(l: Live, prng: Prng): number {
  if (l.reset || l.closed) return 0;
  const p = l.plan;
  if (p.peer === 'stall') return 0;
  if (p.peer === 'slow' && !prng.chancePct(10)) return 0;
  if (p.peer === 'reset' && l.drains >= p.resetAfterDrains) {
    l.reset = true;
    l.t.fail(prng.chancePct(50) ? 'ECONNRESET' : 'EPIPE');
    return 0;
  }
  if (l.t.pendingWrites === 0) return 0;
  l.drains++;
  return l.t.drain(prng.intInclusive(1, 3));
}

/** Plays a schedule; returns problems (empty = every check held). */
export async function playSchedule(s: Schedule): Promise<string[]> {
  const k = createKernel({
    physmemBytes: s.physPages * 4096,
    mapping: s.mapping,
    nsfbufs: s.nsfbufs,
    cpuCount: s.cpuCount,
    cpuMigratePct: s.cpuMigratePct,
    nmbclusters: s.nmbclusters,
    nmbufs: s.nmbufs,
    invariants: true,
    seed: s.driverSeed,
    faults: { pagerEioPct: s.pagerEioPct },
  });
  const paths = await Promise.all(s.fileSizes.map((size, i) => testFile(size, 1000 + i)));
  const contents = await Promise.all(paths.map((p) => readFile(p)));
  const files = await Promise.all(paths.map((p) => k.open(p)));
  const live = s.transfers.map((plan, i) => {
    const f = plan.fileIndex % files.length;
    return start(k, files[f]!, contents[f]!, plan, i);
  });
  const prng = createPrng(s.driverSeed);
  const problems = await drive(k, live, prng);
  for (const l of live) problems.push(...check(l, s.pagerEioPct > 0));
  for (const l of live) k.soclose(l.so);
  for (const f of files) await k.close(f);
  problems.push(...(await restOrLeaks(k)));
  return problems;
}

/** Runs peers until every transfer is done and every reader has its bytes; bounded in steps and time. */
async function drive(k: Kernel, live: Live[], prng: Prng): Promise<string[]> {
  // Real file reads finish on the host's thread pool, so "stuck" is measured in time, not steps.
  let lastProgressMs = performance.now();
  let settledCount = 0;
  for (let step = 0; step < STEPS_MAX; step++) {
    let progress = 0;
    for (const l of live) progress += stepPeer(l, prng);
    await yieldToIo();
    const settled = live.filter((l) => l.outcome.done).length;
    const quiet = live.every(
      (l) => l.reset || l.closed || l.plan.peer === 'stall' || l.t.pendingWrites === 0,
    );
    if (settled === live.length && quiet && k.sockets.atRest().every((line) => stalledLine(line, live))) {
      return [];
    }
    if (progress > 0 || settled !== settledCount) lastProgressMs = performance.now();
    settledCount = settled;
    const idleMs = performance.now() - lastProgressMs;
    if (idleMs >= STUCK_MS) {
      // The application gives up on peers that never read: close(2) drops what they hold.
      for (const l of live) {
        if (l.plan.peer === 'stall' && !l.closed) {
          l.closed = true;
          k.soclose(l.so);
          lastProgressMs = performance.now();
        }
      }
      if (idleMs >= DEADLOCK_MS)
        return [`deadlock: no progress for ${Math.round(idleMs)} ms; ${k.atRest().leaks.join('; ')}`];
    }
  }
  return [`schedule did not finish in ${STEPS_MAX} steps`];
}

/** A socket line that only concerns a peer that never reads (its bytes stay queued by design). */
function stalledLine(line: string, live: Live[]): boolean {
  return live.some(
    (l) => (l.plan.peer === 'stall' || l.reset || l.closed) && line.startsWith(`socket ${l.so.so_id}:`),
  );
}

/** The received bytes are the expected ones: all of sbytes for a clean reader, a prefix otherwise. */
function check(l: Live, eioArmed: boolean): string[] {
  const { plan, outcome, expected } = l;
  const got = l.t.received();
  const name = `transfer ${l.so.so_id} (${plan.path}, peer ${plan.peer}, flags 0x${plan.flags.toString(16)})`;
  const out: string[] = [];
  if (!outcome.done) return [`${name}: never returned`];
  if (got.length > outcome.sbytes) out.push(`${name}: received ${got.length} > sbytes ${outcome.sbytes}`);
  if (outcome.sbytes > expected.length)
    out.push(`${name}: sbytes ${outcome.sbytes} > ${expected.length} asked`);
  const diff = firstDifference(got, expected, Math.min(got.length, expected.length));
  if (diff >= 0) out.push(`${name}: wrong byte at ${diff} of ${got.length}`);
  const allowed = allowedErrors(plan, eioArmed);
  if (outcome.code !== null && !allowed.includes(outcome.code)) {
    out.push(`${name}: unexpected ${outcome.code} (allowed: ${allowed.join(', ') || 'none'})`);
  }
  const clean = plan.peer === 'reader' || plan.peer === 'slow';
  const aborted = outcome.code === 'EIO' || (eioArmed && l.so.so_error === 'EIO');
  if (clean && !aborted && got.length !== outcome.sbytes) {
    out.push(`${name}: a reader got ${got.length} of ${outcome.sbytes} bytes sent`);
  }
  if (clean && outcome.code === null && outcome.sbytes !== expected.length && !aborted) {
    out.push(`${name}: completed with ${outcome.sbytes} of ${expected.length} bytes`);
  }
  return out;
}

function allowedErrors(plan: TransferPlan, eioArmed: boolean): string[] {
  const out: string[] = [];
  if (eioArmed) out.push('EIO', 'ECONNRESET', 'EPIPE');
  if (plan.path === 'sendfile' && (plan.flags & SF_NODISKIO) !== 0) out.push('EBUSY');
  if (plan.peer === 'reset' || plan.peer === 'stall') out.push('ECONNRESET', 'EPIPE');
  // The application closes a stalled peer's socket: the copy loop's next write(2) gets EBADF.
  if (plan.peer === 'stall') out.push('EBADF');
  return out;
}

/** Waits (bounded) for in-flight reads to finish, then lists what is not at rest. */
async function restOrLeaks(k: Kernel): Promise<string[]> {
  for (let i = 0; i < 2000 && !k.atRest().atRest; i++) await yieldToIo();
  return k.atRest().leaks;
}
