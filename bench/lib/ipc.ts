// Request/reply over the IPC channel of a forked child: every server and every load generator
// of the benchmark runs in its own process and is driven through this. A request carries an id;
// the child answers it once, with a result or an error message. A child may also post events
// (a loader says when its measured window starts and ends).
import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface IpcRequest {
  id: number;
  type: string;
  body: unknown;
}
export interface IpcReply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}
export interface IpcEvent {
  event: string;
  body?: unknown;
}

function isReply(message: unknown): message is IpcReply {
  return typeof message === 'object' && message !== null && 'id' in message && 'ok' in message;
}
function isEvent(message: unknown): message is IpcEvent {
  return typeof message === 'object' && message !== null && 'event' in message;
}

/** The parent's handle on one child. */
export class ChildHandle {
  readonly process: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly eventListeners = new Set<(event: IpcEvent) => void>();
  private exited = false;

  constructor(scriptUrl: URL, execArgv: string[] = []) {
    this.process = fork(fileURLToPath(scriptUrl), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv,
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
      const error = new Error(`child ${scriptUrl.pathname} exited (code ${code}, signal ${signal})`);
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

  /** Asks the child to stop, then kills it (by its own pid) if it has not gone within the grace. */
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
  if (!process.send) throw new Error('this script runs as a forked child of the benchmark');
  const reply = (message: IpcReply): void => {
    process.send?.(message);
  };
  process.on('message', (message: IpcRequest) => {
    if (message.type === 'stop') {
      Promise.resolve(onStop()).finally(() => {
        reply({ id: message.id, ok: true, result: null });
        process.disconnect?.();
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
