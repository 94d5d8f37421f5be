// The composition root, the simulator's sys/kern/init_main.c: createKernel(config) boots one
// instance of every room (vm, sf_buf map, mbuf zones, sockets, sendfile) wired together, and
// offers the system calls on top: open/close/fstat, socket, sendfile, read, write, and the copy
// path's read+write loop. Nothing here is module state: a test can boot as many kernels as it likes.
import { constants as bufferConstants } from 'node:buffer';
import {
  type Clock,
  createPrng,
  type FaultConfig,
  type FaultCounters,
  FaultInjector,
  invariantsFromEnv,
  KiB,
  kassert,
  type MemoryTraffic,
  MiB,
  memoryTraffic,
  PAGE_SIZE,
  type Prng,
  pageIndexOf,
  realClock,
  SysError,
} from './kern/index.js';
import {
  type KtlsEnableOptions,
  KtlsLayer,
  type KtlsSession,
  TLS_RLTYPE_APP,
  type TlsEnable,
} from './ktls/index.js';
import { MbufAllocator, type MbufCounters, MCLBYTES, MSIZE, netstatMbufLines } from './mbuf/index.js';
import {
  type KSocket,
  SB_MAX_DEFAULT_BYTES,
  type SocketCounters,
  SocketLayer,
  SS_NOFDREF,
  sbMaxAdjBytes,
  type Transport,
} from './net/index.js';
import {
  type CopyfileOptions,
  type CopyStat,
  KFile,
  SENDFILE_MAPPINGS,
  SendfileLayer,
  type SendfileMapping,
  type SendfileOptions,
  type SfStat,
} from './sendfile/index.js';
import { createSfBufMap, type SfBufCounters, type SfBufMap } from './sfbuf/index.js';
import { Vm, type VmConfig, type VmObject, type VmStats } from './vm/index.js';

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
}

/** The configuration a kernel runs with, every default filled in (the knobs that have one). */
export type ResolvedKernelConfig = Readonly<
  Required<
    Omit<KernelConfig, 'clock' | 'kernelId' | 'pagerFault' | 'freeTargetPages' | 'faults' | 'ktlsMaxlenBytes'>
  >
>;

/** fstat(2) of an open file. */
export interface KStat {
  readonly sizeBytes: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly dev: number;
}

/**
 * stats(): one JSON-friendly snapshot, grouped by room, keys in the kernel's spelling:
 * vm (v_*_count, pageins, ...), sfbuf (nsfbufs, nsfbufsused, nsfbufspeak, sf_allocwait, ...),
 * mbuf (the netstat -m zones), sendfile (struct sfstat), copy (copy_bytes_out/in of the copy
 * path), sockets (the socket layer's counters).
 */
export interface KernelStats {
  readonly vm: VmStats;
  readonly sfbuf: SfBufCounters;
  readonly mbuf: MbufCounters;
  readonly sendfile: Readonly<SfStat>;
  readonly copy: Readonly<CopyStat>;
  readonly sockets: SocketCounters;
  /** kern.ipc.tls.* by sysctl name, and the KTLS work counters. */
  readonly ktls: Readonly<Record<string, number>>;
  /** Bytes moved through memory by the CPU and the NIC (src/kern/memtraffic.ts). */
  readonly memory: MemoryTraffic;
  /** The gauges' highest values since the previous stats() (between two samples). */
  readonly peaks: KernelPeaks;
}

/**
 * High-water marks of the gauges, reset by each read: a sampler that runs between event-loop
 * turns sees the gauges at their low point, the peaks say how high they went in between.
 */
export interface KernelPeaks {
  readonly nsfbufsused: number;
  readonly mbufs: number;
  readonly clusters: number;
  readonly v_wire_count: number;
}

export interface KernelAtRest {
  readonly atRest: boolean;
  /** What is not at rest, one line each (sf_bufs, mbufs, wired pages, sleepers, queued bytes). */
  readonly leaks: string[];
}

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
  };
}

/** One simulated kernel. */
export class Kernel {
  readonly id: number;
  readonly config: ResolvedKernelConfig;
  readonly clock: Clock;
  readonly vm: Vm;
  readonly sfbufs: SfBufMap;
  readonly mbufs: MbufAllocator;
  readonly sockets: SocketLayer;
  readonly sendfileLayer: SendfileLayer;
  readonly ktls: KtlsLayer;
  readonly faults: FaultInjector;
  private readonly prng: Prng;
  private readonly files = new Set<KFile>();
  private readonly openSockets = new Set<KSocket>();
  private nextFd = 3;
  private nextCpu = 0;

  constructor(config: KernelConfig = {}) {
    const c = resolveConfig(config);
    this.config = c;
    this.prng = createPrng(c.seed);
    this.id = config.kernelId ?? this.prng.nextU32() % 100000;
    this.clock = config.clock ?? realClock();
    // Its own stream, so that arming a fault does not change the CPU migrations of a schedule.
    this.faults = new FaultInjector(config.faults ?? {}, createPrng((c.seed ^ 0x5eedfa17) >>> 0));
    const pagerFault =
      config.pagerFault ?? (this.faults.pagerArmed ? () => this.faults.shouldFailPagerRead() : undefined);
    this.vm = new Vm({
      physmemBytes: c.physmemBytes,
      invariants: c.invariants,
      clock: this.clock,
      kernelId: this.id,
      diskLatencyMs: c.diskLatencyMs,
      diskBandwidthMBps: c.diskBandwidthMBps,
      ...(config.freeTargetPages !== undefined ? { freeTargetPages: config.freeTargetPages } : {}),
      ...(pagerFault !== undefined ? { pagerFault } : {}),
    });
    this.sfbufs = createSfBufMap(this.vm, {
      kind: c.mapping === 'kva' ? 'kva' : 'dmap',
      nsfbufs: c.nsfbufs,
      cpuCount: c.cpuCount,
      invariants: c.invariants,
      kernelId: this.id,
      unmapOnFree: c.unmapOnFree,
    });
    this.mbufs = new MbufAllocator({
      nmbufs: c.nmbufs,
      nmbclusters: c.nmbclusters,
      invariants: c.invariants,
      kernelId: this.id,
      dmap: (physAddr, lengthBytes) => this.vm.physBytes(physAddr, lengthBytes),
    });
    this.sockets = new SocketLayer(this.mbufs, {
      sndbufBytes: c.sndbufBytes,
      autosize: c.sndbufAutosize,
      invariants: c.invariants,
      kernelId: this.id,
      clock: this.clock,
    });
    this.ktls = new KtlsLayer({
      vm: this.vm,
      mbufs: this.mbufs,
      sockets: this.sockets,
      cpuCount: c.cpuCount,
      invariants: c.invariants,
      kernelId: this.id,
      // Unmapped mbufs need the direct map, which the i386-like 'kva' mapping lacks.
      useExtPgs: c.mapping !== 'kva',
      ...(config.ktlsMaxlenBytes !== undefined ? { maxlenBytes: config.ktlsMaxlenBytes } : {}),
      checkAll: () => this.sendfileLayer.checkAll(),
    });
    this.sendfileLayer = new SendfileLayer({
      ktls: this.ktls,
      vm: this.vm,
      sfbufs: this.sfbufs,
      mbufs: this.mbufs,
      sockets: this.sockets,
      mapping: c.mapping,
      invariants: c.invariants,
      copyBufferBytes: c.copyBufferBytes,
      revalidateMs: c.revalidateMs,
      checkInvariants: () => this.checkInvariants(),
      kernelId: this.id,
    });
  }

  /** open(2) of a regular file: ENOENT, EACCES, EISDIR, EINVAL (not a regular file). */
  async open(path: string): Promise<KFile> {
    const obj: VmObject = await this.vm.vmObjectOpen(path);
    const file = new KFile(this.nextFd++, obj);
    this.files.add(file);
    return file;
  }

  /** close(2): EBADF if already closed. The file's pages stay cached. */
  async close(file: KFile): Promise<void> {
    if (file.closed) throw new SysError('EBADF', `close: fd ${file.fd} is closed`);
    file.closed = true;
    this.files.delete(file);
    await this.vm.vmObjectClose(file.obj);
  }

  /** fstat(2): a fresh look at the file (a change invalidates its cached pages). */
  async fstat(file: KFile): Promise<KStat> {
    if (file.closed) throw new SysError('EBADF', `fstat: fd ${file.fd} is closed`);
    await this.vm.vmObjectRevalidate(file.obj);
    const o = file.obj;
    return { sizeBytes: o.sizeBytes, mtimeMs: o.mtimeMs, ino: o.ino, dev: o.dev };
  }

  /**
   * Drops the file's cached pages and takes a fresh fstat, for a caller that saw the file change
   * in a way size and mtime may not show (a same-size rewrite within one mtime tick, a restored
   * mtime). Pages held by a send in flight keep their bytes until freed, as after any
   * invalidation. XXX(sim): in FreeBSD writers go through the same page cache, so it is never
   * stale; zcsim's writers are outside it (other processes writing the real file).
   */
  async invalidate(file: KFile): Promise<void> {
    if (file.closed) throw new SysError('EBADF', `invalidate: fd ${file.fd} is closed`);
    // An impossible mtime makes the fresh fstat differ: vnode_pager_setsize's path drops the pages.
    file.obj.mtimeMs = Number.NaN;
    await this.vm.vmObjectRevalidate(file.obj);
  }

  /** socket(2)+connect(2) over a connected stream; CPUs are handed out round-robin. */
  socket(
    transport: Transport,
    opts: { sndbufBytes?: number; nonblocking?: boolean; cpu?: number; autosize?: boolean } = {},
  ): KSocket {
    const cpu = opts.cpu ?? this.nextCpu++ % this.config.cpuCount;
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.config.cpuCount) {
      throw new SysError('EINVAL', `socket: cpu ${cpu} is not one of the ${this.config.cpuCount} CPUs`);
    }
    const so = this.sockets.soCreate(transport, { ...opts, cpu });
    this.openSockets.add(so);
    return so;
  }

  /** close(2) of a socket: anything still queued is dropped; later calls give EBADF. */
  soclose(so: KSocket): void {
    this.sockets.soclose(so);
    this.ktls.ktlsCleanup(so);
    so.so_state |= SS_NOFDREF;
    this.openSockets.delete(so);
  }

  /**
   * Waits until everything queued on `so` was taken by its transport (soclose's SO_LINGER wait):
   * resolves at once when nothing is queued; rejects with the errno if the connection drops.
   */
  sodrain(so: KSocket, signal?: AbortSignal): Promise<void> {
    return this.sockets.sodrain(so, signal);
  }

  /**
   * setsockopt(TCP_TXTLS_ENABLE) (and TCP_TXTLS_MODE in `opts`): from now on the socket's send
   * side is a kernel TLS session; write(2) and sendfile(2) send records. See src/ktls.
   */
  ktlsEnableTx(so: KSocket, en: TlsEnable, opts?: KtlsEnableOptions): KtlsSession {
    return this.ktls.ktlsEnableTx(so, en, opts);
  }

  /** sendmsg(2) with TLS_SET_RECORD_TYPE on a KTLS socket: one or more records of `recordType`. */
  sendRecord(
    so: KSocket,
    buf: Uint8Array,
    recordType: number = TLS_RLTYPE_APP,
    signal?: AbortSignal,
  ): Promise<number> {
    this.migrate(so);
    return this.sockets.sosend(so, buf, signal, recordType);
  }

  /** sendfile(2). */
  sendfile(
    file: KFile,
    so: KSocket,
    offset: number,
    nbytes: number,
    opts?: SendfileOptions,
  ): Promise<number> {
    this.migrate(so);
    return this.sendfileLayer.sendfile(file, so, offset, nbytes, opts);
  }

  /** read(2): a real copy out of the buffer cache. */
  read(file: KFile, offset: number, buf: Uint8Array): Promise<number> {
    return this.sendfileLayer.read(file, offset, buf);
  }

  /** write(2) on a socket: a real copy into clusters. */
  write(so: KSocket, buf: Uint8Array, signal?: AbortSignal): Promise<number> {
    this.migrate(so);
    return this.sendfileLayer.write(so, buf, signal);
  }

  /** The copy path: read(2) into a user buffer, write(2) it, until done. */
  copyfile(
    file: KFile,
    so: KSocket,
    offset: number,
    nbytes: number,
    opts?: CopyfileOptions,
  ): Promise<number> {
    this.migrate(so);
    return this.sendfileLayer.copyfile(file, so, offset, nbytes, opts);
  }

  /** The scheduler may move the connection's thread to another CPU between calls (seeded). */
  private migrate(so: KSocket): void {
    if (this.config.cpuMigratePct > 0 && this.prng.chancePct(this.config.cpuMigratePct)) {
      so.cpu = this.prng.intInclusive(0, this.config.cpuCount - 1);
    }
  }

  stats(): KernelStats {
    return {
      vm: this.vm.stats,
      sfbuf: this.sfbufs.counters(),
      mbuf: this.mbufs.counters(),
      sendfile: this.sendfileLayer.counters(),
      copy: this.sendfileLayer.copyCounters(),
      sockets: this.sockets.counters(),
      ktls: this.ktls.counters(),
      memory: this.memoryTraffic(),
      peaks: {
        nsfbufsused: this.sfbufs.takeUsedPeak(),
        mbufs: this.mbufs.mbufZone.takePeak(),
        clusters: this.mbufs.clusterZone.takePeak(),
        v_wire_count: this.vm.takeWirePeak(),
      },
    };
  }

  /** The memory traffic model over this kernel's counters (copies, encryption, output). */
  memoryTraffic(): MemoryTraffic {
    const copy = this.sendfileLayer.copyCounters();
    const k = this.ktls.cells;
    return memoryTraffic({
      copyOutBytes: copy.copy_bytes_out,
      copyInBytes: copy.copy_bytes_in,
      swEncryptBytes: k.sw_encrypt_bytes,
      nicEncryptBytes: k.ifnet_encrypt_bytes,
      wireBytes: this.sockets.counters().tcps_sndbyte,
    });
  }

  /** Faults injected so far, by kind. */
  faultCounters(): FaultCounters {
    return this.faults.counters();
  }

  /** `netstat -m`: the mbuf lines, the sfbufs line (pool only), the sendfile lines. */
  netstatM(): string {
    return `${[...netstatMbufLines(this.mbufs.counters()), ...this.sendfileLayer.netstatLines()].join('\n')}\n`;
  }

  /** Every room's at-rest check: no sf_buf, mbuf or cluster in use, no wired page, no sleeper, no queued byte. */
  atRest(): KernelAtRest {
    const leaks = [
      ...this.vm.atRest(),
      ...this.sfbufs.atRest(),
      ...this.mbufs.atRest(),
      ...this.sockets.atRest(),
      ...this.sendfileLayer.atRest(),
      ...this.ktls.atRest(),
    ];
    return { atRest: leaks.length === 0, leaks };
  }

  /** Every room's O(n) invariant check (the debug mode runs it after each chunk and free). */
  checkInvariants(): void {
    this.vm.checkInvariants();
    this.sfbufs.checkInvariants();
    this.mbufs.checkInvariants();
    this.sockets.checkInvariants();
    this.ktls.checkInvariants();
    // Across rooms: a held sf_buf maps a wired page (sf_buf_alloc's precondition holds until
    // sf_buf_free, which the free routine calls before it unwires), one buffer per page.
    const used = this.sfbufs.counters().nsfbufsused;
    const wired = this.vm.stats.v_wire_count;
    kassert(used <= wired, () => `kernel invariants: ${used} sf_bufs held but ${wired} pages wired`);
    // KTLS's ciphertext and header pages are wired anonymous pages, never mapped by an sf_buf.
    const anon = this.ktls.cells.anon_pages_held;
    kassert(
      used + anon <= wired,
      () => `kernel invariants: ${used} sf_bufs and ${anon} KTLS pages, ${wired} wired`,
    );
  }

  /** Closes every socket and file still open. */
  async destroy(): Promise<void> {
    for (const so of [...this.openSockets]) this.soclose(so);
    for (const file of [...this.files]) await this.close(file);
  }
}

/** Boots a kernel. */
export function createKernel(config: KernelConfig = {}): Kernel {
  return new Kernel(config);
}

/**
 * Throws an Error listing what is not at rest (the one helper every end-to-end test uses): each
 * leak on a line (sf_bufs, mbufs and clusters, wired or busy pages, sleepers, queued bytes), then
 * the `netstat -m` lines for context.
 */
export function assertAtRest(kernel: Kernel): void {
  const r = kernel.atRest();
  if (!r.atRest) {
    throw new Error(`kernel ${kernel.id} is not at rest:\n  ${r.leaks.join('\n  ')}\n${kernel.netstatM()}`);
  }
}
