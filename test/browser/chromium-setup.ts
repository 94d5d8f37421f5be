// Vitest global setup: finds the Chromium the browser test drives, once per run. A system
// Chromium is used when given (CHROMIUM_PATH, or Debian's /usr/bin/chromium); otherwise the one
// inside the @sparticuz/chromium package is extracted (about 200 MB) into the git-ignored .cache
// folder. Extraction happens here, once, because concurrent first extractions of that package
// fail with ETXTBSY; it goes to a staging folder renamed into place, so an interrupted run never
// leaves a half-written binary that a later run would trust.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { removeAbandoned } from '../support/abandoned.js';

export interface ChromiumSetup {
  executablePath: string;
  /** Set for the packaged Chromium only: a fontconfig file naming its bundled fonts. */
  fontconfigFile?: string;
  /** Why no Chromium could be had: the browser test fails with it, the other tests run. */
  problem?: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    chromium: ChromiumSetup;
  }
}

const ROOT = resolve(import.meta.dirname, '..', '..');
const SYSTEM_CHROMIUM = '/usr/bin/chromium';

export default async function setup(project: TestProject): Promise<void> {
  try {
    project.provide('chromium', await findChromium());
  } catch (e) {
    project.provide('chromium', { executablePath: '', problem: (e as Error).message });
  }
}

async function findChromium(): Promise<ChromiumSetup> {
  const given = process.env.CHROMIUM_PATH;
  if (given !== undefined && given !== '') {
    if (!existsSync(given)) throw new Error(`CHROMIUM_PATH=${given}: no such file`);
    return { executablePath: given };
  }
  if (existsSync(SYSTEM_CHROMIUM)) return { executablePath: SYSTEM_CHROMIUM };
  return extractPackaged();
}

async function extractPackaged(): Promise<ChromiumSetup> {
  const pkg = JSON.parse(
    readFileSync(join(ROOT, 'node_modules', '@sparticuz', 'chromium', 'package.json'), 'utf8'),
  ) as { version: string };
  const dir = join(ROOT, '.cache', `chromium-${pkg.version}`);
  if (!existsSync(join(dir, 'chromium'))) {
    // Staging folders of runs that were killed mid-extraction.
    removeAbandoned(dirname(dir), `${basename(dir)}.partial-`);
    const staging = `${dir}.partial-${process.pid}`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    // The package extracts into os.tmpdir(), which reads TMPDIR at each call.
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = staging;
    try {
      const { default: chromium } = await import('@sparticuz/chromium');
      await chromium.executablePath();
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    try {
      renameSync(staging, dir);
    } catch (e) {
      // Another run finished first: its copy is as good as ours.
      if (!existsSync(join(dir, 'chromium'))) throw e;
      rmSync(staging, { recursive: true, force: true });
    }
  }
  // The bundled fonts.conf names /tmp/fonts; this one names the extracted copy.
  const fontconfigFile = join(dir, 'fonts.conf');
  writeFileSync(
    fontconfigFile,
    [
      '<?xml version="1.0"?>',
      '<!DOCTYPE fontconfig SYSTEM "fonts.dtd">',
      '<fontconfig>',
      `  <dir>${join(dir, 'fonts', 'fonts')}</dir>`,
      `  <cachedir>${join(dir, 'fonts-cache')}</cachedir>`,
      '</fontconfig>',
      '',
    ].join('\n'),
  );
  return { executablePath: join(dir, 'chromium'), fontconfigFile };
}
