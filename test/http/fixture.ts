// A served root for the HTTP tests: small and large files of deterministic bytes, a dotfile, a
// sub-folder, an empty file, and symlinks leading inside and outside the root.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { patternBytes } from '../../src/load/index.js';
import { tempDir } from '../support/tmp.js';

export { patternBytes } from '../../src/load/index.js';

export function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

export interface Fixture {
  readonly root: string;
  readonly outside: string;
  readonly files: Readonly<Record<string, Buffer>>;
  cleanup(): void;
}

export function makeFixture(): Fixture {
  const base = tempDir('zcsim-http');
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(outside);
  const files: Record<string, Buffer> = {
    'hello.txt': Buffer.from('hello, zero-copy world\n'),
    'page.html': Buffer.from('<!doctype html><title>x</title>\n'),
    'data.bin': patternBytes(300_000, 1),
    'big.bin': patternBytes(3 * 1024 * 1024 + 123, 2),
    'empty.txt': Buffer.alloc(0),
    'sub/inner.txt': Buffer.from('inner file\n'),
    'with space.txt': Buffer.from('a name with a space\n'),
  };
  for (const [name, content] of Object.entries(files)) writeFileSync(join(root, name), content);
  writeFileSync(join(root, '.secret'), 'dotfile\n');
  writeFileSync(join(outside, 'passwd'), 'outside the root\n');
  symlinkSync(join(outside, 'passwd'), join(root, 'link-out'));
  symlinkSync(join(root, 'hello.txt'), join(root, 'link-in.txt'));
  symlinkSync(outside, join(root, 'dir-out'));
  return { root, outside, files, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}
