// Goal: zcsim installs as an npm package and its README's examples run as written. The package
// `npm pack` makes holds the build, the type declarations and the dashboard's files, and its
// `exports` resolve `zcsim` and `zcsim/tls`; every ```js block of the README runs unchanged in a
// scratch project where the package is installed; no installed dependency declares an engine that
// excludes the running Node. Method: npm pack (the build is npm test's first step) into a folder
// under .cache/, the tarball extracted into the scratch project's node_modules/zcsim (its own
// dependencies resolve from the clone's node_modules above it), each example a child process.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const run = promisify(execFile);
let scratch: string;
let packed: { files: { path: string }[] };

/** The ```js blocks of a Markdown text, in order. */
function jsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/^```js\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? '');
}

beforeAll(async () => {
  mkdirSync(join(ROOT, '.cache'), { recursive: true });
  scratch = mkdtempSync(join(ROOT, '.cache', 'test-package-'));
  // --ignore-scripts: npm test has built dist/ already (prepack would build it again).
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', scratch], {
    cwd: ROOT,
  });
  packed = (JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }])[0];
  const tgz = join(scratch, (JSON.parse(stdout) as [{ filename: string }])[0].filename);
  const into = join(scratch, 'node_modules', 'zcsim');
  mkdirSync(into, { recursive: true });
  await run('tar', ['-xzf', tgz, '-C', into, '--strip-components=1']);
  writeFileSync(
    join(scratch, 'package.json'),
    JSON.stringify({ name: 'scratch', private: true, type: 'module' }),
  );
}, 120_000);

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the npm package', () => {
  it('holds the build with its declarations and the dashboard, and no tests', () => {
    const paths = packed.files.map((f) => f.path);
    for (const p of [
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'dist/src/tls/index.js',
      'dist/src/tls/index.d.ts',
      'dist/src/cli/main.js',
      'src/http/panel/public/index.html',
      'README.md',
      'package.json',
    ])
      expect(paths, p).toContain(p);
    expect(paths.filter((p) => p.startsWith('test/') || p.startsWith('dist/test/'))).toEqual([]);
  });

  it('resolves zcsim and zcsim/tls through its exports, with their types', () => {
    const req = createRequire(join(scratch, 'index.js'));
    const pkg = JSON.parse(readFileSync(join(scratch, 'node_modules', 'zcsim', 'package.json'), 'utf8')) as {
      exports: Record<string, { types: string; default: string }>;
    };
    for (const sub of ['.', './tls']) {
      const e = pkg.exports[sub]!;
      expect(e.types).toMatch(/\.d\.ts$/);
      expect(packed.files.map((f) => `./${f.path}`)).toContain(e.types);
    }
    // Only the exported entries resolve: the rooms' own files are not the API.
    expect(() => req.resolve('zcsim/dist/src/kern/index.js')).toThrow();
  });

  it('runs every ```js example of the README unchanged', async () => {
    const blocks = jsBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(blocks.length).toBeGreaterThanOrEqual(2);
    for (const [i, code] of blocks.entries()) {
      const file = join(scratch, `example-${i}.mjs`);
      writeFileSync(file, code);
      const r = await run(process.execPath, [file], {
        cwd: scratch,
        env: { ...process.env, XDG_CACHE_HOME: join(scratch, 'cache') },
        timeout: 60_000,
      }).catch((err: { stderr?: string; message: string }) => {
        throw new Error(`README example ${i} failed:\n${code}\n${err.stderr ?? err.message}`);
      });
      expect(r.stdout.length, `example ${i} prints what it did`).toBeGreaterThan(0);
    }
  }, 180_000);

  it('installs no dependency whose engines exclude the running Node', () => {
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { engines?: { node?: string } }>;
    };
    const semver = createRequire(import.meta.url)('semver') as {
      satisfies(v: string, range: string): boolean;
    };
    const refused = Object.entries(lock.packages)
      .filter(([, e]) => e.engines?.node !== undefined && !semver.satisfies(process.version, e.engines.node))
      .map(([p, e]) => `${p} wants node ${e.engines?.node}`);
    expect(refused).toEqual([]);
  });
});
