// The one bounded wait of the tests: a condition on a counter or on a flag that an event set,
// looked at again each millisecond until it holds. The bound is generous because a busy machine
// is slow; a wait that succeeds returns as soon as its condition holds, so the bound costs nothing.
// Failing, it names what it waited for.

/** How long a wait lasts at most unless the caller says otherwise. */
export const WAIT_MS = 20_000;

/**
 * Resolves once `cond()` holds; throws `timed out after N ms waiting for WHAT` otherwise (`what`
 * may be a function, to say at that moment what is still missing).
 */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs: number = WAIT_MS,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await cond())) {
    if (performance.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`,
      );
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** The kernel's at-rest verdict once it is at rest, or as it stands when the wait ends. */
export async function atRestSoon<V extends { atRest: boolean }>(
  atRest: () => V,
  timeoutMs: number = WAIT_MS,
): Promise<V> {
  try {
    await waitFor(() => atRest().atRest, 'the kernel at rest', timeoutMs);
  } catch {
    // The verdict's leaks say more than a timeout does.
  }
  return atRest();
}
