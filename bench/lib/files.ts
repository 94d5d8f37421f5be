// The files the benchmarks serve: deterministic pseudo-random bytes in a folder under
// os.tmpdir() (never in the repository), made once and reused, each with its SHA-256 so that
// every loader can check the bodies it receives.
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface BenchFile {
  name: string; // file name inside the root, also the URL path segment
  path: string;
  sizeBytes: number;
  sha256: string;
}

const CHUNK_BYTES = 1 << 20;

/** The folder holding the benchmark files (one per user, reused between runs). */
export function benchRoot(): string {
  const root = path.join(os.tmpdir(), `zcsim-bench-files-${process.getuid?.() ?? 0}`);
  mkdirSync(root, { recursive: true });
  return root;
}

export function fileNameFor(sizeBytes: number): string {
  return `file-${sizeBytes}.bin`;
}

/**
 * Fills `out` with xorshift32 output continuing from `state`; returns the next state.
 * The same size always gives the same bytes, so a hash from an earlier run stays true.
 */
function fillPseudoRandom(out: Uint32Array, state: number): number {
  let x = state | 0;
  for (let i = 0; i < out.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x >>> 0;
  }
  return x;
}

/** Makes (or reuses) the file of `sizeBytes` under `root` and returns it with its hash. */
export function ensureFile(root: string, sizeBytes: number): BenchFile {
  const name = fileNameFor(sizeBytes);
  const filePath = path.join(root, name);
  const hashPath = `${filePath}.sha256`;
  if (existsSync(filePath) && existsSync(hashPath) && statSync(filePath).size === sizeBytes) {
    return { name, path: filePath, sizeBytes, sha256: readFileSync(hashPath, 'utf8').trim() };
  }
  const hash = createHash('sha256');
  const words = new Uint32Array(CHUNK_BYTES / 4);
  const bytes = new Uint8Array(words.buffer);
  let state = (sizeBytes % 0x7fffffff) + 0x9e3779b9;
  const fd = openSync(filePath, 'w');
  try {
    for (let offset = 0; offset < sizeBytes; offset += CHUNK_BYTES) {
      state = fillPseudoRandom(words, state);
      const chunk = bytes.subarray(0, Math.min(CHUNK_BYTES, sizeBytes - offset));
      hash.update(chunk);
      writeSync(fd, chunk);
    }
  } finally {
    closeSync(fd);
  }
  const sha256 = hash.digest('hex');
  writeFileSync(hashPath, `${sha256}\n`);
  return { name, path: filePath, sizeBytes, sha256 };
}
