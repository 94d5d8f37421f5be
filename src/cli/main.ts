#!/usr/bin/env -S node --max-semi-space-size=8
// zcsim: the command. `zcsim serve` runs the demo server and dashboard, `zcsim stat` prints a
// running server's counters as netstat -m does, `zcsim bench` runs the benchmark, `zcsim trace`
// and `zcsim capture` follow one request through the kernel and onto the wire. Failures print
// one line (errors.ts); --debug, anywhere before `--`, adds the stack.
import { readFile } from 'node:fs/promises';
import { bench } from './bench.js';
import { CAPTURE_USAGE, capture } from './capture.js';
import { reportError } from './errors.js';
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
  ${CAPTURE_USAGE.padEnd(32)}record one request on the model's wire (pcapng for Wireshark)

Run \`zcsim <command> --help\` for the options of each command and their defaults.
--debug (with any command) prints the stack of an error after its one-line message.
--version prints the version.
`;

/** The version in the package's package.json (two folders above dist/src/cli). */
async function packageVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** The arguments without --debug (up to a `--`), and whether it was there. */
function takeDebug(argv: readonly string[]): { args: string[]; debug: boolean } {
  const end = argv.indexOf('--');
  const head = end === -1 ? argv : argv.slice(0, end);
  const args = head.filter((a) => a !== '--debug');
  return { args: [...args, ...(end === -1 ? [] : argv.slice(end))], debug: args.length !== head.length };
}

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
    case 'capture':
      return capture(rest);
    case '--version':
    case '-V':
    case 'version':
      process.stdout.write(`zcsim ${await packageVersion()} (Node.js ${process.versions.node})\n`);
      return 0;
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

const { args, debug } = takeDebug(process.argv.slice(2));
main(args).then(
  (code) => {
    process.exitCode = code;
    // serve has closed its server; a timer left by a library must not keep the process up.
    if (args[0] === 'serve') process.exit(code);
  },
  (err: unknown) => {
    const code = reportError(err, debug, process.stderr);
    // A server that failed to start may leave handles (its kernel's timers) behind.
    process.exit(code);
  },
);
