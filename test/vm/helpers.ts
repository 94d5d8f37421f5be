// Shared fixtures for the vm tests: a small Vm on a manual clock and real temp files.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createPrng, ManualClock, PAGE_SIZE } from '../../src/kern/index.js';
import { Vm, type VmConfig } from '../../src/vm/index.js';
import { tempDir as newTempDir } from '../support/tmp.js';

export function makeVm(pageCount: number, extra: Partial<VmConfig> = {}): Vm {
  return new Vm({
    physmemBytes: pageCount * PAGE_SIZE,
    invariants: true,
    clock: new ManualClock(),
    kernelId: 0,
    ...extra,
  });
}

/** Deterministic file contents: `sizeBytes` bytes from a seeded generator. */
export function fileBytes(sizeBytes: number, seed: number): Uint8Array {
  const prng = createPrng(seed);
  const out = new Uint8Array(sizeBytes);
  for (let i = 0; i < sizeBytes; i++) out[i] = prng.nextU32() & 0xff;
  return out;
}

export interface TempDir {
  readonly dir: string;
  file(name: string, bytes: Uint8Array): Promise<string>;
  remove(): Promise<void>;
}

export async function tempDir(): Promise<TempDir> {
  const dir = newTempDir('zcsim-vm');
  return {
    dir,
    async file(name, bytes) {
      const path = join(dir, name);
      await writeFile(path, bytes);
      return path;
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
