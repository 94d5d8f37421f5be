// What the zcsim command says when it fails: one line naming the cause and what to try, and an
// exit status as other Unix tools give it (2 for a usage mistake or a refused setting, 1 for a
// failure at run time). The stack is printed only with --debug.
import { isSysError } from '../kern/index.js';
import { escapeControls } from './banner.js';
import { UsageError } from './options.js';

/** A failure at run time that already has its one-line message (exit 1). */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

export interface ErrorReport {
  readonly message: string;
  readonly exitCode: 1 | 2;
  /** False for an error no rule here names: its line ends with a pointer to --debug. */
  readonly known?: false;
}

interface NodeSystemError {
  code?: unknown;
  syscall?: unknown;
  port?: unknown;
  address?: unknown;
  hostname?: unknown;
}

/** The one line and exit status for an error that reached the top of the command. */
export function describeError(err: unknown): ErrorReport {
  if (err instanceof UsageError) return { message: err.message, exitCode: 2 };
  if (err instanceof CommandError) return { message: err.message, exitCode: 1 };
  // createKernel refuses a configuration it cannot run with EINVAL: a setting to change.
  if (isSysError(err) && err.code === 'EINVAL') return { message: firstLine(err.message), exitCode: 2 };
  const e = (typeof err === 'object' && err !== null ? err : {}) as NodeSystemError;
  if (e.syscall === 'listen' || e.syscall === 'bind') {
    const port = typeof e.port === 'number' ? e.port : null;
    const address = typeof e.address === 'string' ? e.address : null;
    switch (e.code) {
      case 'EADDRINUSE':
        return { message: `port ${port ?? '?'} is in use (try --port or PORT)`, exitCode: 1 };
      case 'EACCES':
        return {
          message: `port ${port ?? '?'} needs privileges (try a port above 1023 with --port or PORT)`,
          exitCode: 1,
        };
      case 'EADDRNOTAVAIL':
        return { message: `address ${address ?? '?'} is not on this machine (--host)`, exitCode: 2 };
    }
  }
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') {
    const host = typeof e.hostname === 'string' ? e.hostname : '?';
    return { message: `host '${host}' cannot be resolved (--host)`, exitCode: 2 };
  }
  const text = err instanceof Error ? err.message : String(err);
  return { message: firstLine(text), exitCode: 1, known: false };
}

function firstLine(text: string): string {
  return text.split('\n', 1)[0] ?? '';
}

/** Writes the report to stderr (the stack after it with --debug) and returns the exit status. */
export function reportError(err: unknown, debug: boolean, stderr: NodeJS.WritableStream): number {
  const { message, exitCode, known } = describeError(err);
  stderr.write(
    `zcsim: ${escapeControls(message)}${known === false && !debug ? ' (--debug shows where)' : ''}\n`,
  );
  if (err instanceof UsageError) stderr.write("Run 'zcsim --help' for usage.\n");
  if (debug && err instanceof Error && err.stack) stderr.write(`${err.stack}\n`);
  return exitCode;
}
