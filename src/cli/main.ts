#!/usr/bin/env node
// zcsim: the command. `zcsim serve` runs the demo server and dashboard, `zcsim stat` prints a
// running server's counters as netstat -m does, `zcsim bench` runs the benchmark. Usage mistakes
// print a message and exit 2.
import { bench } from './bench.js';
import { UsageError } from './options.js';
import { SERVE_USAGE, serve } from './serve.js';
import { STAT_USAGE, stat } from './stat.js';
import { TRACE_USAGE, trace } from './trace.js';

const MAIN_HELP = `usage: zcsim <command> [options]

A simulator of FreeBSD's zero-copy send path (sf_buf(9), mbufs, sendfile(2)) over real TCP.

commands:
  ${SERVE_USAGE.padEnd(32)}serve files (default: built-in samples) with the live dashboard
  ${STAT_USAGE.padEnd(32)}print a running server's counters (netstat -m layout)
  ${'zcsim bench [options]'.padEnd(32)}run the benchmark (dist/bench/run.js; see its --help)
  ${TRACE_USAGE.padEnd(32)}trace one request through the kernel (its timeline)

Run \`zcsim <command> --help\` for the options of each command and their defaults.
`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'stat':
      return stat(rest);
    case 'bench':
      return bench(rest);
    case 'trace':
      return trace(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(MAIN_HELP);
      return command === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // serve has closed its server; a timer left by a library must not keep the process up.
    if (process.argv[2] === 'serve') process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`zcsim: ${err.message}\nRun 'zcsim --help' for usage.\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`zcsim: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
