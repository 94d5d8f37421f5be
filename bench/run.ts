// `npm run bench` / `zcsim bench`: the one entry point of the benchmarks. `--scenario` picks the
// raw TCP section and the HTTP comparison (compare, the default), the clients held open
// (slow-clients, many-clients), the micro-benchmarks, the soak, or a profile summary. Each run's
// Markdown, JSON and SVG go to bench/runs/<scenario>/ (ignored by git) unless --out names a folder
// (bench/results holds the reference runs that are committed); the report says where it went.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../src/cli/options.js';
import { type BenchOptions, parseBenchOptions, USAGE, UsageRequest } from './lib/options.js';
import { runCompare } from './scenarios/compare.js';
import { runHeld } from './scenarios/held.js';
import { runKtlsCost } from './scenarios/ktls.js';
import { runMicro } from './scenarios/micro.js';
import { summariseProfiles } from './scenarios/profile.js';
import { runSiege } from './scenarios/siege.js';
import { runSoak } from './scenarios/soak.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function resultsDir(options: BenchOptions): string {
  const dir = options.outDir ?? path.join(repoRoot, 'bench', 'runs', options.scenario);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Runs the scenario; the Markdown to print and the exit code. */
async function runScenario(
  options: BenchOptions,
): Promise<{ text: string; code: number; dir: string | null }> {
  if (options.scenario === 'profile') {
    if (options.files.length === 0) throw new UsageError('--scenario profile: name the .cpuprofile files');
    return { text: summariseProfiles(options.files, options.callers), code: 0, dir: null };
  }
  if (options.scenario === 'soak') return { text: '', code: await runSoak(options), dir: null };
  const dir = resultsDir(options);
  const text =
    options.scenario === 'micro'
      ? await runMicro(dir)
      : options.scenario === 'ktls'
        ? await runKtlsCost(options, dir)
        : options.scenario === 'compare'
          ? await runCompare(options, dir)
          : options.scenario === 'siege'
            ? await runSiege(options, dir)
            : await runHeld(options, dir);
  return { text, code: 0, dir };
}

/** Entry point for `zcsim bench` and `npm run bench`; resolves to the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchOptions(argv);
  } catch (error) {
    if (error instanceof UsageRequest) {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    process.stderr.write(`zcsim bench: ${(error as Error).message} (--help lists the options)\n`);
    return 2;
  }
  const { text, code, dir } = await runScenario(options);
  if (text) process.stdout.write(`${text}\n`);
  if (dir) process.stdout.write(`report written to ${path.relative(process.cwd(), dir) || '.'}/\n`);
  return code;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof UsageError) {
        process.stderr.write(`zcsim bench: ${error.message}\n`);
        process.exit(2);
      }
      process.stderr.write(`${(error as Error)?.stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
