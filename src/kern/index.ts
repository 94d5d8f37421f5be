// src/kern: errno-coded errors, assertions, units, clock, PRNG, wait queues and trace channels.
// Imported by every room; imports none.
export { invariantsFromEnv, KernelAssertionError, kassert, panic } from './assert.js';
export { type Clock, ManualClock, realClock, type TimerHandle, wallMs } from './clock.js';
export { type CopyLoopCalls, type CopyLoopOptions, copyLoop } from './copyloop.js';
export { ERRNO_MEANING, type Errno, errnoFromNode, isSysError, SysError } from './errno.js';
export { type FaultConfig, type FaultCounters, FaultInjector } from './fault.js';
export {
  MEMORY_TRAFFIC_PER_BYTE,
  type MemoryTraffic,
  type MemoryTrafficInputs,
  memoryTraffic,
} from './memtraffic.js';
export { createPrng, type Prng } from './prng.js';
export { TRACE_CHANNELS, type TraceEvent, type TraceRoom, type Tracer, tracer } from './trace.js';
export {
  formatBytes,
  GiB,
  KiB,
  MiB,
  PAGE_MASK,
  PAGE_SHIFT,
  PAGE_SIZE,
  pageIndexOf,
  pagesCeil,
  parseSizeBytes,
} from './units.js';
export { WaitQueue } from './waitq.js';
