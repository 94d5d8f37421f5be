// Mirrors KASSERT/MPASS (sys/sys/systm.h): an assertion failure is a bug in the simulator, not an
// operating condition, so it throws an error that nothing is meant to catch. Messages start with
// the function's name and print the values that broke the rule, as a KASSERT message does.

export class KernelAssertionError extends Error {
  override readonly name = 'KernelAssertionError';
}

/**
 * panic(9) for the hot paths: `if (!cond) panic(msg)` is KASSERT without a message closure built
 * on every call (kassert's lazy message allocates one; wiring and mbuf frees must not allocate).
 */
export function panic(message: string): never {
  throw new KernelAssertionError(message);
}

export function kassert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new KernelAssertionError(typeof message === 'function' ? message() : message);
  }
}

/** The debug mode: O(n) invariant checks after every operation (INVARIANTS in a kernel config). */
export function invariantsFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.ZCSIM_INVARIANTS;
  return v !== undefined && v !== '' && v !== '0' && v !== 'false';
}
