// zcsim bench: runs the benchmark (bench/run.ts, built to dist/bench/run.js) with the given
// arguments, in a child process so that it owns its process (CPU, signals, exit code).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/bench/run.js, seen from dist/src/cli (the build) or src/cli (tests). */
export function benchScript(): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    resolve(here, '..', '..', 'bench', 'run.js'),
    resolve(here, '..', '..', 'dist', 'bench', 'run.js'),
  ];
  return candidates.find((p) => existsSync(p)) ?? null;
}

export async function bench(args: readonly string[]): Promise<number> {
  const script = benchScript();
  if (script === null) {
    process.stderr.write(
      'zcsim bench: the benchmark is not built; it runs from a clone of the repository (npm ci, npm run build)\n',
    );
    return 1;
  }
  const child = spawn(process.execPath, [script, ...args], { stdio: 'inherit' });
  const forward = (sig: NodeJS.Signals): void => {
    child.kill(sig);
  };
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((done) => {
    child.on('exit', (code, signal) => {
      process.removeListener('SIGINT', forward);
      process.removeListener('SIGTERM', forward);
      done(code ?? (signal ? 1 : 0));
    });
  });
}
