// The kernel's configuration: every knob, its range and its default, as the tunables of
// sys/kern/subr_param.c and kern_mbuf.c are sized. validateKernelConfig runs before anything is
// allocated, so a bad knob is one EINVAL line naming it and nothing leaks.
import { constants as bufferConstants } from 'node:buffer';
import {
  type Clock,
  type FaultConfig,
  invariantsFromEnv,
  KiB,
  MiB,
  PAGE_SIZE,
  pageIndexOf,
  SysError,
} from '../kern/index.js';
import { type KtlsCryptoDriver, osslBinding, osslWhy, TLS_MAX_MSG_SIZE_V10_2 } from '../ktls/index.js';
import { MCLBYTES, MSIZE } from '../mbuf/index.js';
import { ETHERMTU, IP_MAXPACKET, MTU_MIN_BYTES, SB_MAX_DEFAULT_BYTES, sbMaxAdjBytes } from '../net/index.js';
import { SENDFILE_MAPPINGS, type SendfileMapping } from '../sendfile/index.js';
import type { VmConfig } from '../vm/index.js';

/** Every knob of a kernel; each has a default (see resolveConfig). */
export interface KernelConfig {
  /** Simulated physical memory (default 64 MiB). */
  readonly physmemBytes?: number;
  /** 'dmap' (amd64 sf_buf direct map, default), 'kva' (i386 sf_buf pool), 'extpg' (unmapped mbufs). */
  readonly mapping?: SendfileMapping;
  /** kern.ipc.nsfbufs for 'kva' (default 512 + 16 × maxusers, as the kernel sizes it). */
  readonly nsfbufs?: number;
  /** Simulated CPUs (default 2). */
  readonly cpuCount?: number;
  /** Default send buffer, net.inet.tcp.sendspace (default 32 KiB). */
  readonly sndbufBytes?: number;
  /** Send buffer autosizing (default off). */
  readonly sndbufAutosize?: boolean;
  /** kern.ipc.nmbufs and kern.ipc.nmbclusters (defaults from physmem as kern_mbuf.c does). */
  readonly nmbufs?: number;
  readonly nmbclusters?: number;
  /** Simulated disk: latency per pager read, and bandwidth (0 = off, the default). */
  readonly diskLatencyMs?: number;
  readonly diskBandwidthMBps?: number;
  /** Page daemon low-water mark, in pages (default: the vm's). */
  readonly freeTargetPages?: number;
  /** Debug mode: every room's O(n) invariant check after each operation (default from env). */
  readonly invariants?: boolean;
  /** Seed of the kernel's PRNG (CPU migration); default 424242. */
  readonly seed?: number;
  readonly clock?: Clock;
  /** The copy path's user buffer (default 64 KiB). */
  readonly copyBufferBytes?: number;
  /**
   * How long sendfile, read and the copy loop trust a file's last fstat, in ms (default 0: an
   * fstat per call, as vn_sendfile's VOP_GETATTR). A server that checks its files itself (the
   * HTTP demo's open-file cache) sets its own period: a file changed since is sent as it is now.
   */
  readonly revalidateMs?: number;
  /** Chance, in percent, that a socket moves to another CPU between two calls (default 0). */
  readonly cpuMigratePct?: number;
  /** 32-bit arm flavour of the 'kva' pool: nothing stays mapped after free. */
  readonly unmapOnFree?: boolean;
  /** Kernel id in traces (default: drawn from the seed). */
  readonly kernelId?: number;
  /** Fault injection: return true to fail that pager read with EIO (overrides `faults`' pager points). */
  readonly pagerFault?: VmConfig['pagerFault'];
  /** Fault injection points (src/kern/fault.ts), off by default, drawn from a PRNG seeded by `seed`. */
  readonly faults?: FaultConfig;
  /** kern.ipc.tls.maxlen: the largest KTLS record payload (default 16 KiB). */
  readonly ktlsMaxlenBytes?: number;
  /** The crypto driver KTLS sessions seal with (default: ossl when built, else node-crypto). */
  readonly ktlsCrypto?: KtlsCryptoDriver;
  /** The MTU of the interface connections leave by (default 1500, Ethernet; lo0's is 16384). */
  readonly mtuBytes?: number;
  /** The interface does TSO (IFCAP_TSO4, net.inet.tcp.tso; default on). */
  readonly tso?: boolean;
}

/** The configuration a kernel runs with, every default filled in (the knobs that have one). */
export type ResolvedKernelConfig = Readonly<
  Required<
    Omit<
      KernelConfig,
      'clock' | 'kernelId' | 'pagerFault' | 'freeTargetPages' | 'faults' | 'ktlsMaxlenBytes' | 'ktlsCrypto'
    >
  >
>;

/** maxusers as subr_param.c autotunes it (pages / 512, at least 32, at most 384 on 32-bit). */
function nsfbufsDefault(physmemBytes: number): number {
  const maxusers = Math.min(384, Math.max(32, Math.floor(pageIndexOf(physmemBytes) / 512)));
  return 512 + 16 * maxusers;
}

/** The smallest memory a kernel boots with: enough pages for the page daemon's reserve and a send. */
export const PHYSMEM_MIN_BYTES = 32 * PAGE_SIZE;
/** The largest: one ArrayBuffer, as large as Node allocates (buffer.constants.MAX_LENGTH). */
export const PHYSMEM_MAX_BYTES = pageIndexOf(bufferConstants.MAX_LENGTH) * PAGE_SIZE;
/** Simulated CPUs: the sf_buf CPU masks are 32 bits wide. */
export const CPU_COUNT_MAX = 32;

/**
 * The largest default send buffer (net.inet.tcp.sendspace) for a memory size: sb_max_adj of
 * kern.ipc.maxsockbuf, and at most half of memory. XXX(sim): the kernel does not scale sendspace
 * with memory; here a chunk of one full send buffer must never need every page, or its sender
 * would wait for pages that only its own chunk holds.
 */
export function sendspaceMaxBytes(physmemBytes: number): number {
  return Math.min(sbMaxAdjBytes(SB_MAX_DEFAULT_BYTES), Math.floor(physmemBytes / 2));
}

/** One knob's refusal: a self-contained line naming the knob, its value and what it accepts. */
function invalid(knob: string, value: unknown, want: string): SysError {
  return new SysError('EINVAL', `${knob} ${String(value)} is invalid: ${want}`);
}

function checkInteger(knob: string, v: number | undefined, min: number, max: number): void {
  if (v === undefined) return;
  if (!Number.isSafeInteger(v) || v < min || v > max)
    throw invalid(knob, v, `want a whole number from ${min} to ${max}`);
}

function checkNumber(knob: string, v: number | undefined, min: number, max: number): void {
  if (v === undefined) return;
  if (!Number.isFinite(v) || v < min || v > max)
    throw invalid(knob, v, `want a number from ${min} to ${max}`);
}

/** Every knob's range, checked before anything is allocated (EINVAL naming the first bad one). */
export function validateKernelConfig(c: KernelConfig): void {
  const physmem = c.physmemBytes;
  if (physmem !== undefined) {
    if (!Number.isSafeInteger(physmem) || physmem % PAGE_SIZE !== 0) {
      throw invalid('physmemBytes', physmem, `want a whole number of ${PAGE_SIZE}-byte pages`);
    }
    if (physmem < PHYSMEM_MIN_BYTES || physmem > PHYSMEM_MAX_BYTES) {
      throw invalid('physmemBytes', physmem, `want ${PHYSMEM_MIN_BYTES} to ${PHYSMEM_MAX_BYTES} bytes`);
    }
  }
  if (c.mapping !== undefined && !SENDFILE_MAPPINGS.includes(c.mapping)) {
    throw invalid('mapping', c.mapping, `want one of ${SENDFILE_MAPPINGS.join(', ')}`);
  }
  checkInteger('nsfbufs', c.nsfbufs, c.mapping === 'kva' ? 1 : 0, 1 << 24);
  checkInteger('cpuCount', c.cpuCount, 1, CPU_COUNT_MAX);
  checkInteger('sndbufBytes', c.sndbufBytes, 1, Number.MAX_SAFE_INTEGER);
  checkInteger('nmbufs', c.nmbufs, 1, 1 << 26);
  checkInteger('nmbclusters', c.nmbclusters, 1, 1 << 24);
  checkInteger('copyBufferBytes', c.copyBufferBytes, 1, 1 << 30);
  checkInteger('freeTargetPages', c.freeTargetPages, 0, Number.MAX_SAFE_INTEGER);
  checkInteger('seed', c.seed, 0, 0xffffffff);
  checkNumber('diskLatencyMs', c.diskLatencyMs, 0, 60_000);
  checkNumber('diskBandwidthMBps', c.diskBandwidthMBps, 0, Number.MAX_VALUE);
  checkNumber('revalidateMs', c.revalidateMs, 0, Number.MAX_VALUE);
  checkNumber('cpuMigratePct', c.cpuMigratePct, 0, 100);
  checkInteger('mtuBytes', c.mtuBytes, MTU_MIN_BYTES, IP_MAXPACKET);
  if (
    c.ktlsCrypto !== undefined &&
    c.ktlsCrypto !== 'node-crypto' &&
    (c.ktlsCrypto !== 'ossl' || osslBinding() === null)
  ) {
    throw invalid('ktlsCrypto', c.ktlsCrypto, `want node-crypto, or ossl once built (${osslWhy()})`);
  }
  const maxlen = c.ktlsMaxlenBytes;
  if (
    maxlen !== undefined &&
    (!Number.isSafeInteger(maxlen) ||
      maxlen % PAGE_SIZE !== 0 ||
      maxlen < PAGE_SIZE ||
      maxlen > TLS_MAX_MSG_SIZE_V10_2)
  ) {
    throw invalid(
      'ktlsMaxlenBytes',
      maxlen,
      `want a multiple of ${PAGE_SIZE} up to ${TLS_MAX_MSG_SIZE_V10_2} (kern.ipc.tls.maxlen)`,
    );
  }
}

/**
 * The configuration `createKernel(c)` runs with: every default filled in, after
 * validateKernelConfig. The default send buffer is clamped to sendspaceMaxBytes, as sbreserve
 * bounds every reservation by sb_max_adj.
 */
export function resolveConfig(c: KernelConfig): ResolvedKernelConfig {
  validateKernelConfig(c);
  const physmemBytes = c.physmemBytes ?? 64 * MiB;
  // tunable_mbinit: maxmbufmem is half of memory; a quarter of it for clusters.
  const maxmbufmemBytes = physmemBytes / 2;
  const nmbclusters = c.nmbclusters ?? Math.max(1024, Math.floor(maxmbufmemBytes / MCLBYTES / 4));
  const nmbufs = c.nmbufs ?? Math.max(nmbclusters * 2, Math.floor(maxmbufmemBytes / MSIZE / 5));
  return {
    physmemBytes,
    mapping: c.mapping ?? 'dmap',
    nsfbufs: c.nsfbufs ?? nsfbufsDefault(physmemBytes),
    cpuCount: c.cpuCount ?? 2,
    sndbufBytes: Math.min(c.sndbufBytes ?? 32 * KiB, sendspaceMaxBytes(physmemBytes)),
    sndbufAutosize: c.sndbufAutosize ?? false,
    nmbufs,
    nmbclusters,
    diskLatencyMs: c.diskLatencyMs ?? 0,
    diskBandwidthMBps: c.diskBandwidthMBps ?? 0,
    invariants: c.invariants ?? invariantsFromEnv(),
    seed: c.seed ?? 424242,
    copyBufferBytes: c.copyBufferBytes ?? 64 * KiB,
    revalidateMs: c.revalidateMs ?? 0,
    cpuMigratePct: c.cpuMigratePct ?? 0,
    unmapOnFree: c.unmapOnFree ?? false,
    mtuBytes: c.mtuBytes ?? ETHERMTU,
    tso: c.tso ?? true,
  };
}
