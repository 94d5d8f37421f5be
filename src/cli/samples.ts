// The built-in sample set of `zcsim serve` without a root: files of 4 KiB to 128 MiB of
// deterministic bytes (a seeded xorshift stream per file), written once into a cache folder
// ($ZCSIM_SAMPLES_DIR, else $XDG_CACHE_HOME/zcsim/samples, else ~/.cache/zcsim/samples) with a
// progress bar (a line per file when the output is not a terminal). A file already there with the right size is kept; new files are written under a
// temporary name and renamed, so an interrupted run never leaves a short sample behind.
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { createPrng, formatBytes, KiB, MiB } from '../kern/index.js';

export interface Sample {
  readonly name: string;
  readonly sizeBytes: number;
}

export const SAMPLES_ALL: readonly Sample[] = [
  { name: '4k.bin', sizeBytes: 4 * KiB },
  { name: '64k.bin', sizeBytes: 64 * KiB },
  { name: '1m.bin', sizeBytes: MiB },
  { name: '16m.bin', sizeBytes: 16 * MiB },
  { name: '128m.bin', sizeBytes: 128 * MiB },
];

/** `--samples small`: the files up to 1 MiB (tests, quick looks). */
export const SAMPLES_SMALL: readonly Sample[] = SAMPLES_ALL.filter((s) => s.sizeBytes <= MiB);

export function samplesDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ZCSIM_SAMPLES_DIR) return env.ZCSIM_SAMPLES_DIR;
  const cache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'zcsim', 'samples');
}

const CHUNK_BYTES = MiB;

/** Writes one sample: the xorshift stream seeded by its size, 1 MiB at a time. */
async function writeSample(path: string, sample: Sample, progress: (bytes: number) => void): Promise<void> {
  const prng = createPrng(sample.sizeBytes);
  const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, sample.sizeBytes));
  const fh = await open(`${path}.tmp`, 'w');
  try {
    for (let written = 0; written < sample.sizeBytes; ) {
      const n = Math.min(chunk.length, sample.sizeBytes - written);
      for (let i = 0; i < n; i += 4) chunk.writeUInt32LE(prng.nextU32(), i);
      await fh.write(chunk, 0, n);
      written += n;
      progress(n);
    }
  } finally {
    await fh.close();
  }
  renameSync(`${path}.tmp`, path);
}

/**
 * Makes sure every sample of `set` exists in `dir`. On a terminal a progress bar shows the
 * writing; otherwise (a log, a pipe) a line per file says what is being written, so a slow
 * first start is never silent.
 */
export async function ensureSamples(
  dir: string,
  set: readonly Sample[],
  stream: NodeJS.WriteStream,
): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const missing = set.filter((s) => {
    const p = join(dir, s.name);
    return !existsSync(p) || statSync(p).size !== s.sizeBytes;
  });
  if (missing.length === 0) return;
  const total = missing.reduce((n, s) => n + s.sizeBytes, 0);
  if (!stream.isTTY) {
    stream.write(
      `writing ${missing.length} sample file${missing.length === 1 ? '' : 's'} (${formatBytes(total)}) into ${dir}\n`,
    );
    for (const s of missing) {
      stream.write(`  ${s.name} (${formatBytes(s.sizeBytes)})\n`);
      await writeSample(join(dir, s.name), s, () => {});
    }
    stream.write('sample files written\n');
    return;
  }
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'writing sample files [{bar}] {percentage}% | {done} of {all}',
      hideCursor: true,
      clearOnComplete: false,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { done: formatBytes(0), all: formatBytes(total) });
  let done = 0;
  try {
    for (const s of missing) {
      await writeSample(join(dir, s.name), s, (n) => {
        done += n;
        bar.update(done, { done: formatBytes(done) });
      });
    }
  } finally {
    bar.stop();
  }
}
