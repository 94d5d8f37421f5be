// panic(9) for the hot paths: `if (!cond) panic(msg)` is KASSERT without a message closure built
// on every call (kassert's lazy message allocates one; wiring must not allocate).
import { KernelAssertionError } from '../kern/index.js';

export function panic(message: string): never {
  throw new KernelAssertionError(message);
}
