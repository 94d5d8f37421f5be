// Folders named after the process that made them (`NAME<pid>`), left behind when that process
// was killed: the next run removes them, and leaves a live process's folder alone.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Whether a process with this id is running (ours or another user's). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // ESRCH: no such process; EPERM: one of another user, still running.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the folders `parent/<prefix><pid>` whose process is gone. */
export function removeAbandoned(parent: string, prefix: string): void {
  if (!existsSync(parent)) return;
  for (const name of readdirSync(parent)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (Number.isInteger(pid) && pid > 0 && !alive(pid))
      rmSync(join(parent, name), { recursive: true, force: true });
  }
}
