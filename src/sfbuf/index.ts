// src/sfbuf: sf_buf(9), the temporary kernel mappings of physical pages (sys/sys/sf_buf.h,
// sys/kern/subr_sfbuf.c). The public header of the room: flags, types, createSfBufMap, formatKva.
import { kassert } from '../kern/index.js';
import { DmapSfBufMap } from './dmap.js';
import { KvaSfBufMap } from './pool.js';
import type { SfBufConfig, SfBufMap, SfBufVm } from './types.js';

export { DMAP_MIN_ADDRESS_48, formatKva, SFBUF_KVA_BASE } from './kva.js';
export {
  SF_BUF_KINDS,
  SFB_CATCH,
  SFB_CPUPRIVATE,
  SFB_DEFAULT,
  SFB_NOWAIT,
  type SfBuf,
  type SfBufConfig,
  type SfBufCounters,
  type SfBufKind,
  type SfBufMap,
  type SfBufVm,
} from './types.js';

/**
 * sf_buf_init: the direct map ('dmap', amd64/arm64: no pool) or the KVA pool ('kva', i386; with
 * unmapOnFree, 32-bit arm). `vm` is the real Vm or anything with its physmem and pageBytes.
 */
export function createSfBufMap(vm: SfBufVm, config: SfBufConfig): SfBufMap {
  kassert(
    Number.isInteger(config.cpuCount) && config.cpuCount >= 1 && config.cpuCount <= 32,
    () => `createSfBufMap: cpuCount ${config.cpuCount} not in 1..32`,
  );
  return config.kind === 'dmap'
    ? new DmapSfBufMap(vm, config.cpuCount, config.kernelId)
    : new KvaSfBufMap(vm, config);
}
