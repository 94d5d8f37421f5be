// Mirrors sf_buf_shootdown in sys/i386/i386/vm_machdep.c: keep a pool mapping's translation
// valid on the CPUs that may use it. Each buffer remembers the CPUs whose TLB is known to hold
// its current translation (cpumask); a fresh mapping starts with none.
import { SFB_CPUPRIVATE } from './types.js';

/** The TLB traffic counters this file bumps (a part of SfBufCounters). */
export interface TlbStats {
  shootdowns: number;
  ipis: number;
  invlpg_local: number;
}

export interface CpuMasked {
  cpumask: number;
}

/** All CPUs of a machine with `cpuCount` CPUs, as a 32-bit mask. */
export function allCpusMask(cpuCount: number): number {
  return cpuCount >= 32 ? -1 : (1 << cpuCount) - 1;
}

/** Number of CPUs in a 32-bit mask. */
export function cpuCountOf(mask: number): number {
  let v = mask - ((mask >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * sf_buf_shootdown(sf, flags) run on CPU `cpu`: if this CPU is not in the mask, invalidate its
 * own TLB entry (invlpg). Unless SFB_CPUPRIVATE, every other CPU not in the mask gets one
 * targeted invalidate IPI (smp_masked_invlpg), and the mapping becomes valid everywhere.
 * A mapping already valid on every CPU costs nothing.
 */
export function sfBufShootdown(
  sf: CpuMasked,
  flags: number,
  cpu: number,
  all: number,
  stats: TlbStats,
): void {
  const self = 1 << cpu;
  if ((sf.cpumask & self) === 0) {
    sf.cpumask |= self;
    stats.invlpg_local++;
  }
  if ((flags & SFB_CPUPRIVATE) !== 0) return;
  const other = all & ~sf.cpumask;
  if (other !== 0) {
    sf.cpumask |= other;
    stats.shootdowns++;
    stats.ipis += cpuCountOf(other);
  }
}
