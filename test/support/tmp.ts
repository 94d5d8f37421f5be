// Where tests write files: the run's folder under .cache (test/support/run-dir.ts makes it and
// removes it when the run ends). A test still removes what it made, so a long run stays small.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

/** The run's folder, shared by every worker of the run. */
export function testDir(): string {
  return inject('testDir');
}

/** A new empty folder `<prefix>-XXXXXX` in the run's folder. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(testDir(), `${prefix}-`));
}
