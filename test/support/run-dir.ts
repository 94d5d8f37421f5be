// Vitest global setup: one folder per run for every file the tests write, under the project's
// git-ignored .cache folder (never the system's /tmp), removed when the run ends; the folder of a
// run that was killed is removed by the next one. Test files reach it through test/support/tmp.ts.
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { removeAbandoned } from './abandoned.js';

declare module 'vitest' {
  export interface ProvidedContext {
    testDir: string;
  }
}

const PARENT = resolve(import.meta.dirname, '..', '..', '.cache');
const PREFIX = 'test-run-';

export default function setup(project: TestProject): () => void {
  removeAbandoned(PARENT, PREFIX);
  const dir = join(PARENT, `${PREFIX}${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  project.provide('testDir', dir);
  return () => rmSync(dir, { recursive: true, force: true });
}
