// zcsim's public API: createKernel and the types and flags a program needs to use it.

export {
  type Errno,
  isSysError,
  MEMORY_TRAFFIC_PER_BYTE,
  type MemoryTraffic,
  memoryTraffic,
  SysError,
} from './kern/index.js';
export {
  assertAtRest,
  CPU_COUNT_MAX,
  createKernel,
  Kernel,
  type KernelAtRest,
  type KernelConfig,
  type KernelPeaks,
  type KernelStats,
  type KStat,
  PHYSMEM_MAX_BYTES,
  PHYSMEM_MIN_BYTES,
  type ResolvedKernelConfig,
  resolveConfig,
  sendspaceMaxBytes,
  validateKernelConfig,
} from './kernel/index.js';
export {
  type KtlsEnableOptions,
  type KtlsMode,
  type KtlsSession,
  TCP_TLS_MODE_IFNET,
  TCP_TLS_MODE_SW,
  TCP_TXTLS_ENABLE,
  type TlsEnable,
} from './ktls/index.js';
export type { KSocket, Transport } from './net/index.js';
export {
  type CopyfileOptions,
  KFile,
  SENDFILE_MAPPINGS,
  type SendfileMapping,
  type SendfileOptions,
  SF_FLAGS,
  SF_MNOWAIT,
  SF_NOCACHE,
  SF_NODISKIO,
  SF_READAHEAD,
  SF_SYNC,
  SF_USER_READAHEAD,
  type SfStat,
} from './sendfile/index.js';
