// Goal: under any schedule of concurrent sendfile(2) and copy-path transfers (random files,
// offsets, sizes, flags, mapping modes, CPU migrations, socket buffer sizes, tiny memory and
// sf_buf pools, peers that read, read slowly, reset midway or never read, and pager reads failing
// with EIO) every byte a peer receives is the byte of the file slice it asked for (all of it for a
// clean reader, a prefix when the connection was cut), errors are only the ones the schedule
// allows, nothing deadlocks, and the kernel comes back to rest.
// Method: fast-check generates schedules from a fixed seed (SIM_SEED overrides it); schedule.ts
// plays each on MemoryTransport peers with a seeded driver, with every room's invariant checks on.
// A failure prints the seed, fast-check's path and the schedule, so `SIM_SEED=<seed>
// SIM_PATH=<path> npx vitest run test/reliability/schedule.property.test.ts` replays it.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { playSchedule, SCHEDULE_FLAGS, type Schedule, type TransferPlan } from './schedule.js';

const SEED = Number(process.env.SIM_SEED ?? 424242);
const RUNS = Number(process.env.SIM_RUNS ?? 40);
/** fast-check's path of a failing run: with the seed, replays that one schedule first. */
const PATH = process.env.SIM_PATH;

const transferArb: fc.Arbitrary<TransferPlan> = fc.record({
  fileIndex: fc.nat(3),
  offsetFrac: fc.double({ min: 0, max: 1, noNaN: true }),
  lengthFrac: fc.double({ min: 0, max: 1, noNaN: true }),
  toEof: fc.boolean(),
  path: fc.constantFrom('sendfile' as const, 'sendfile' as const, 'copy' as const),
  flags: fc.constantFrom(...SCHEDULE_FLAGS),
  readahead: fc.nat(8),
  sndbufBytes: fc.constantFrom(2048, 4096, 8192 + 13, 32 * 1024, 64 * 1024),
  headerBytes: fc.constantFrom(0, 0, 17, 300),
  trailerBytes: fc.constantFrom(0, 0, 5, 2100),
  peer: fc.constantFrom(
    'reader' as const,
    'reader' as const,
    'slow' as const,
    'reset' as const,
    'stall' as const,
  ),
  resetAfterDrains: fc.nat(12),
});

const scheduleArb: fc.Arbitrary<Schedule> = fc.record({
  mapping: fc.constantFrom('dmap' as const, 'kva' as const, 'extpg' as const),
  physPages: fc.constantFrom(48, 96, 256, 1024),
  nsfbufs: fc.constantFrom(1, 2, 4, 64),
  cpuCount: fc.integer({ min: 1, max: 4 }),
  cpuMigratePct: fc.constantFrom(0, 25, 100),
  nmbclusters: fc.constantFrom(8, 64, 1024),
  nmbufs: fc.constantFrom(16, 64, 4096),
  pagerEioPct: fc.constantFrom(0, 0, 0, 10, 50),
  fileSizes: fc.array(fc.oneof(fc.nat(5000), fc.integer({ min: 4096, max: 400_000 })), {
    minLength: 1,
    maxLength: 4,
  }),
  transfers: fc.array(transferArb, { minLength: 1, maxLength: 6 }),
  driverSeed: fc.nat(),
});

describe('random schedules on the in-memory transport', () => {
  it(`bytes equal the file slices and the kernel comes to rest (seed ${SEED}, ${RUNS} runs)`, async () => {
    const result = await fc.check(
      fc.asyncProperty(scheduleArb, async (s) => {
        const problems = await playSchedule(s);
        if (problems.length > 0) throw new Error(problems.join('\n'));
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true, ...(PATH !== undefined ? { path: PATH } : {}) },
    );
    if (result.failed) {
      const why =
        result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance);
      expect.fail(
        `schedule failed: replay with SIM_SEED=${SEED} SIM_PATH=${result.counterexamplePath} ` +
          `npx vitest run test/reliability/schedule.property.test.ts\n` +
          `${JSON.stringify(result.counterexample)}\n${why}`,
      );
    }
  });
});
