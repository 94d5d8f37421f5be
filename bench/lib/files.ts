// The files the benchmarks serve: deterministic bytes (the load room's pattern) in a folder under
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
import { patternFill } from '../../src/load/index.js';

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
      state = patternFill(words, state);
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
