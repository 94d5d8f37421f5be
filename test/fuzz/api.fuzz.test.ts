// Goal: no sequence of public API calls, however hostile, reaches a KASSERT. Random programs of
// open, close, socket, soclose, sodrain, sendfile, copyfile, read, write, drain, reset, abort and
// destroy, with hostile arguments (negative, NaN, huge offsets and counts, closed files and
// sockets, double closes, aborted signals) and calls left running concurrently, over
// MemoryTransport with small pools and zones: every call settles with a value or a SysError,
// nothing is rejected unhandled, and the kernel is at rest after each program.
// Method: fast-check, seeded (ZCSIM_FUZZ_SEED; ZCSIM_FUZZ_RUNS runs, default 60); a failure prints
// the seed and path to replay it. Each program ends by aborting every signal, draining every
// transport and destroying the kernel; a call still pending after that is a hang.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKernel,
  isSysError,
  type Kernel,
  type KFile,
  type KSocket,
  SF_NOCACHE,
  SF_NODISKIO,
  SF_SYNC,
} from '../../src/index.js';
import { MemoryTransport } from '../../src/net/index.js';
import { testFile } from '../e2e/helpers.js';

const seed = Number(process.env.ZCSIM_FUZZ_SEED ?? 20261130);
const numRuns = Number(process.env.ZCSIM_FUZZ_RUNS ?? 60);
/** fast-check's replay path of a failure (printed with the seed). */
const replayPath = process.env.ZCSIM_FUZZ_PATH;
/** How long the settled program may take to come to rest before it counts as a hang. */
const SETTLE_BOUND_MS = 10_000;
/** How long a program waits for a call it does not run concurrently before it moves on. */
const STEP_WAIT_MS = 20;
const FILE_SIZES = [0, 1, 4095, 4096 * 3 + 7, 64 * 1024] as const;

/** Offsets and counts: ordinary ones, and every kind of hostile number. */
const anyCount = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 70_000 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(-1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 1.5, -0, 2 ** 31),
  },
);
const anyFlags = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(0, SF_NODISKIO, SF_SYNC, SF_NOCACHE, SF_NOCACHE | SF_SYNC) },
  { weight: 1, arbitrary: fc.integer({ min: -5, max: 0x7fffffff }) },
);
const ref = fc.nat({ max: 5 });
const signalChoice = fc.constantFrom('none', 'live', 'aborted');
const iov = fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 2 });

const openOp = fc.record({ k: fc.constant('open' as const), file: fc.nat({ max: FILE_SIZES.length - 1 }) });
const socketOp = fc.record({
  k: fc.constant('socket' as const),
  autoDrain: fc.boolean(),
  nonblocking: fc.boolean(),
  sndbuf: fc.option(
    fc.oneof(fc.integer({ min: 1, max: 300_000 }), fc.constantFrom(0, -1, Number.NaN, 2 ** 40)),
  ),
  cpu: fc.option(fc.constantFrom(0, 1, 7, -1, Number.NaN)),
});
const sendfileOp = fc.record({
  k: fc.constant('sendfile' as const),
  file: ref,
  so: ref,
  offset: anyCount,
  nbytes: anyCount,
  flags: anyFlags,
  readahead: fc.option(fc.oneof(fc.nat({ max: 64 }), fc.constantFrom(-1, Number.NaN))),
  headers: iov,
  trailers: iov,
  signal: signalChoice,
});
const copyfileOp = fc.record({
  k: fc.constant('copyfile' as const),
  file: ref,
  so: ref,
  offset: anyCount,
  nbytes: anyCount,
  bufferBytes: fc.option(fc.oneof(fc.integer({ min: 1, max: 70_000 }), fc.constantFrom(0, -3, Number.NaN))),
  headers: iov,
  trailers: iov,
  signal: signalChoice,
});
const op = fc.oneof(
  openOp,
  fc.record({ k: fc.constant('close' as const), file: ref }),
  socketOp,
  fc.record({ k: fc.constant('soclose' as const), so: ref }),
  fc.record({ k: fc.constant('sodrain' as const), so: ref, signal: signalChoice }),
  { weight: 4, arbitrary: sendfileOp },
  { weight: 3, arbitrary: copyfileOp },
  fc.record({
    k: fc.constant('read' as const),
    file: ref,
    offset: anyCount,
    length: fc.nat({ max: 70_000 }),
  }),
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('write' as const),
      so: ref,
      length: fc.nat({ max: 40_000 }),
      signal: signalChoice,
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('drain' as const), so: ref }) },
  fc.record({ k: fc.constant('reset' as const), so: ref }),
  { weight: 2, arbitrary: fc.record({ k: fc.constant('abort' as const), which: fc.nat({ max: 20 }) }) },
  fc.record({ k: fc.constant('tick' as const) }),
  fc.record({ k: fc.constant('destroy' as const) }),
);
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

const program = fc.record({
  mapping: fc.constantFrom('dmap' as const, 'kva' as const, 'extpg' as const),
  physmemPages: fc.integer({ min: 32, max: 128 }),
  nsfbufs: fc.integer({ min: 1, max: 8 }),
  nmbufs: fc.integer({ min: 2, max: 48 }),
  nmbclusters: fc.integer({ min: 1, max: 24 }),
  diskLatencyMs: fc.integer({ min: 0, max: 2 }),
  /** Files and sockets opened first, so that most calls have something to work on. */
  setup: fc.array(fc.oneof(openOp, socketOp), { minLength: 2, maxLength: 6 }),
  ops: fc.array(fc.record({ op, concurrent: fc.boolean() }), { minLength: 1, maxLength: 40, size: 'medium' }),
});
type Program = typeof program extends fc.Arbitrary<infer T> ? T : never;

/** One program's world: the kernel, what it opened, and every call still running. */
interface World {
  k: Kernel;
  paths: string[];
  files: KFile[];
  sockets: { so: KSocket; t: MemoryTransport }[];
  controllers: AbortController[];
  running: Promise<void>[];
  /** Errors that were not SysErrors: each is a finding. */
  bad: unknown[];
}

function pick<T>(list: readonly T[], i: number): T | undefined {
  return list.length === 0 ? undefined : list[i % list.length];
}

function signalFor(w: World, choice: 'none' | 'live' | 'aborted'): AbortSignal | undefined {
  if (choice === 'none') return undefined;
  if (choice === 'aborted') return AbortSignal.abort();
  const ac = new AbortController();
  w.controllers.push(ac);
  return ac.signal;
}

/** Runs one call: its result is a value or a SysError; anything else is recorded as a finding. */
function call(w: World, run: () => unknown): Promise<void> {
  let p: Promise<unknown>;
  try {
    p = Promise.resolve(run());
  } catch (e) {
    p = Promise.reject(e);
  }
  return p.then(
    () => undefined,
    (e: unknown) => {
      if (!isSysError(e)) w.bad.push(e);
    },
  );
}

function step(w: World, o: Op): Promise<void> {
  const k = w.k;
  switch (o.k) {
    case 'open':
      return call(w, async () => w.files.push(await k.open(w.paths[o.file]!)));
    case 'close': {
      const f = pick(w.files, o.file);
      return f ? call(w, () => k.close(f)) : Promise.resolve();
    }
    case 'socket':
      return call(w, () => {
        const t = new MemoryTransport({ autoDrain: o.autoDrain });
        // The transport's owner listens for its errors, as a server does for its sockets.
        t.on('error', () => undefined);
        const opts = {
          nonblocking: o.nonblocking,
          ...(o.sndbuf !== null ? { sndbufBytes: o.sndbuf } : {}),
          ...(o.cpu !== null ? { cpu: o.cpu } : {}),
        };
        w.sockets.push({ so: k.socket(t, opts), t });
      });
    case 'soclose': {
      const s = pick(w.sockets, o.so);
      return s ? call(w, () => k.soclose(s.so)) : Promise.resolve();
    }
    case 'sodrain': {
      const s = pick(w.sockets, o.so);
      return s ? call(w, () => k.sodrain(s.so, signalFor(w, o.signal))) : Promise.resolve();
    }
    case 'sendfile': {
      const f = pick(w.files, o.file);
      const s = pick(w.sockets, o.so);
      if (!f || !s) return Promise.resolve();
      const signal = signalFor(w, o.signal);
      return call(w, () =>
        k.sendfile(f, s.so, o.offset, o.nbytes, {
          flags: o.flags,
          headers: o.headers.map((n) => new Uint8Array(n).fill(0x48)),
          trailers: o.trailers.map((n) => new Uint8Array(n).fill(0x54)),
          ...(o.readahead !== null ? { readahead: o.readahead } : {}),
          ...(signal ? { signal } : {}),
        }),
      );
    }
    case 'copyfile': {
      const f = pick(w.files, o.file);
      const s = pick(w.sockets, o.so);
      if (!f || !s) return Promise.resolve();
      const signal = signalFor(w, o.signal);
      return call(w, () =>
        k.copyfile(f, s.so, o.offset, o.nbytes, {
          headers: o.headers.map((n) => new Uint8Array(n).fill(0x48)),
          trailers: o.trailers.map((n) => new Uint8Array(n).fill(0x54)),
          ...(o.bufferBytes !== null ? { bufferBytes: o.bufferBytes } : {}),
          ...(signal ? { signal } : {}),
        }),
      );
    }
    case 'read': {
      const f = pick(w.files, o.file);
      return f ? call(w, () => k.read(f, o.offset, new Uint8Array(o.length))) : Promise.resolve();
    }
    case 'write': {
      const s = pick(w.sockets, o.so);
      return s
        ? call(w, () => k.write(s.so, new Uint8Array(o.length).fill(0x57), signalFor(w, o.signal)))
        : Promise.resolve();
    }
    case 'drain': {
      const s = pick(w.sockets, o.so);
      if (s) s.t.drain();
      return Promise.resolve();
    }
    case 'reset': {
      const s = pick(w.sockets, o.so);
      if (s) s.t.fail('ECONNRESET');
      return Promise.resolve();
    }
    case 'abort':
      pick(w.controllers, o.which)?.abort();
      return Promise.resolve();
    case 'tick':
      return new Promise((r) => setTimeout(r, 1));
    case 'destroy':
      return call(w, () => k.destroy());
  }
}

/** Files the kernel still holds open (vm objects with references or an open handle). */
function openObjects(k: Kernel): string[] {
  return [...k.vm.objects.values()]
    .filter((o) => o.ref_count > 0 || o.fh !== null)
    .map((o) => `object ${o.id} ref_count ${o.ref_count} fh ${o.fh === null ? 'closed' : 'open'}`);
}

/** Aborts, drains and destroys until every call has settled and the kernel is at rest. */
async function settle(w: World): Promise<void> {
  const deadline = Date.now() + SETTLE_BOUND_MS;
  let pending = true;
  void Promise.all(w.running).then(() => {
    pending = false;
  });
  while (Date.now() < deadline) {
    const wasPending = pending;
    for (const ac of w.controllers) ac.abort();
    for (const s of w.sockets) s.t.drain();
    await call(w, () => w.k.destroy());
    if (!wasPending && w.k.atRest().atRest && openObjects(w.k).length === 0) return;
    // A timer, not only the calls: their settling must not keep the event loop from its I/O.
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error(
    `not settled after ${SETTLE_BOUND_MS} ms: calls ${pending ? 'still pending' : 'done'}; ${[...w.k.atRest().leaks, ...openObjects(w.k)].join('; ')}`,
  );
}

async function runProgram(paths: string[], p: Program): Promise<void> {
  const w: World = {
    k: createKernel({
      mapping: p.mapping,
      physmemBytes: p.physmemPages * 4096,
      nsfbufs: p.nsfbufs,
      nmbufs: p.nmbufs,
      nmbclusters: p.nmbclusters,
      diskLatencyMs: p.diskLatencyMs,
      cpuCount: 2,
      invariants: true,
    }),
    paths,
    files: [],
    sockets: [],
    controllers: [],
    running: [],
    bad: [],
  };
  for (const o of p.setup) await step(w, o);
  for (const { op: o, concurrent } of p.ops) {
    const r = step(w, o);
    w.running.push(r);
    // A call that blocks (no space, a peer that never reads) keeps running while the program
    // goes on, as another thread would; the final settle must end it.
    if (!concurrent) await Promise.race([r, new Promise((resolve) => setTimeout(resolve, STEP_WAIT_MS))]);
  }
  await settle(w);
  expect(w.bad.map(String)).toEqual([]);
  expect(w.k.atRest().leaks).toEqual([]);
}

describe('the API fuzzer', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown): void => {
    unhandled.push(e);
  };
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterAll(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  it(`only SysErrors, and at rest after each program (seed ${seed}, ${numRuns} runs)`, async () => {
    const paths = await Promise.all(FILE_SIZES.map((n, i) => testFile(n, 500 + i)));
    await fc.assert(
      fc.asyncProperty(program, (p) => runProgram(paths, p)),
      { seed, numRuns, endOnFailure: true, ...(replayPath !== undefined ? { path: replayPath } : {}) },
    );
    expect(unhandled.map(String)).toEqual([]);
  }, 600_000);
});
