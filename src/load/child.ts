// The child-process runner: every load generator and every benchmark server runs in a process of
// its own (child_process.fork), so that it never takes the CPU of the process it measures.
// Request/reply over the IPC channel: a request carries an id and the child answers it once, with
// a result or an error message; a child may also post events (a loader's measured window).
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface IpcRequest {
  readonly id: number;
  readonly type: string;
  readonly body: unknown;
}
export interface IpcReply {
  readonly id: number;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: string;
}
export interface IpcEvent {
  readonly event: string;
  readonly body?: unknown;
}

function isReply(message: unknown): message is IpcReply {
  return typeof message === 'object' && message !== null && 'id' in message && 'ok' in message;
}
function isEvent(message: unknown): message is IpcEvent {
  return typeof message === 'object' && message !== null && 'event' in message;
}

export interface ChildOptions {
  /** Node flags of the child (--cpu-prof ...). */
  readonly execArgv?: readonly string[];
  /** The child's stdout and stderr: shown ('inherit') or dropped ('ignore'). */
  readonly output?: 'inherit' | 'ignore';
}

/** The parent's handle on one child. */
export class ChildHandle {
  readonly process: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly eventListeners = new Set<(event: IpcEvent) => void>();
  private exited = false;

  constructor(scriptPath: string, options: ChildOptions = {}) {
    const output = options.output ?? 'inherit';
    this.process = fork(scriptPath, [], {
      stdio: ['ignore', output, output, 'ipc'],
      execArgv: [...(options.execArgv ?? [])],
    });
    this.process.on('message', (message: unknown) => {
      if (isReply(message)) {
        const waiter = this.pending.get(message.id);
        this.pending.delete(message.id);
        if (message.ok) waiter?.resolve(message.result);
        else waiter?.reject(new Error(message.error ?? 'child error'));
      } else if (isEvent(message)) {
        for (const listener of this.eventListeners) listener(message);
      }
    });
    this.process.on('exit', (code, signal) => {
      this.exited = true;
      const error = new Error(`child ${scriptPath} exited (code ${code}, signal ${signal})`);
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.process.pid ?? -1;
  }

  request<T>(type: string, body: unknown, timeoutMs: number): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`child exited before ${type}`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`child did not answer ${type} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.process.send({ id, type, body } satisfies IpcRequest);
    });
  }

  onEvent(listener: (event: IpcEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  /** Kills the child at once (by its own pid). */
  kill(): void {
    if (!this.exited) this.process.kill('SIGKILL');
  }

  /** Asks the child to stop, then kills it if it has not gone within the grace. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    this.request('stop', null, graceMs).catch(() => undefined);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
    await gone;
    clearTimeout(timer);
  }
}

export type Handler = (body: unknown) => Promise<unknown> | unknown;

/** The child's side: dispatches requests by type; 'stop' runs `onStop` and exits. */
export function serveIpc(handlers: Record<string, Handler>, onStop: () => Promise<void> | void): void {
  if (!process.send) throw new Error('this script runs as a forked child');
  const reply = (message: IpcReply): void => {
    process.send?.(message);
  };
  process.on('message', (message: IpcRequest) => {
    if (message.type === 'stop') {
      Promise.resolve(onStop()).finally(() => {
        reply({ id: message.id, ok: true, result: null });
        process.disconnect?.();
        // autocannon may leave timers behind: the exit is explicit.
        setImmediate(() => process.exit(0));
      });
      return;
    }
    const handler = handlers[message.type];
    if (!handler) {
      reply({ id: message.id, ok: false, error: `unknown request ${message.type}` });
      return;
    }
    Promise.resolve()
      .then(() => handler(message.body))
      .then(
        (result) => reply({ id: message.id, ok: true, result }),
        (error: unknown) =>
          reply({ id: message.id, ok: false, error: String((error as Error)?.stack ?? error) }),
      );
  });
  // The parent going away ends the child: no orphan keeps a port or a core busy.
  process.on('disconnect', () => process.exit(0));
}

/** Posts an event to the parent. */
export function postEvent(event: string, body?: unknown): void {
  process.send?.({ event, body } satisfies IpcEvent);
}

/**
 * The built script `name` of this room (`loader.js`): next to this file in the build, or in
 * dist/src/load when running from the sources (tests).
 */
export function builtScript(name: string): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, name), resolve(here, '..', '..', 'dist', 'src', 'load', name)];
  const found = candidates.find((p) => existsSync(p));
  if (!found)
    throw new Error(`${name} not built: run \`npm run build\` (looked in ${candidates.join(', ')})`);
  return found;
}
