// The composition root, the simulator's sys/kern/init_main.c: createKernel(config) boots one
// instance of every room (vm, sf_buf map, mbuf zones, sockets, kernel TLS, sendfile) wired
// together, and offers the system calls on top: open/close/fstat, socket, sendfile, read, write,
// and the copy path's read+write loop. The knobs live in config.ts, what the kernel says of itself
// in stats.ts, CPU placement in sched.ts. Nothing here is module state: a test can boot as many
// kernels as it likes.
import {
  type Clock,
  createPrng,
  type FaultCounters,
  FaultInjector,
  type MemoryTraffic,
  realClock,
  SysError,
} from '../kern/index.js';
import {
  type KtlsEnableOptions,
  KtlsLayer,
  type KtlsSession,
  TLS_RLTYPE_APP,
  type TlsEnable,
} from '../ktls/index.js';
import { MbufAllocator, netstatMbufLines } from '../mbuf/index.js';
import { type KSocket, SocketLayer, SS_NOFDREF, type Transport } from '../net/index.js';
import {
  type CopyfileOptions,
  KFile,
  kernCopyfile,
  kernRead,
  kernWrite,
  SendfileLayer,
  type SendfileOptions,
  vnSendfile,
} from '../sendfile/index.js';
import { createSfBufMap, type SfBufMap } from '../sfbuf/index.js';
import { Vm, type VmObject } from '../vm/index.js';
import { type KernelConfig, type ResolvedKernelConfig, resolveConfig, sendspaceMaxBytes } from './config.js';
import { Sched } from './sched.js';
import {
  checkKernelInvariants,
  type KernelAtRest,
  type KernelStats,
  kernelAtRest,
  kernelMemoryTraffic,
  kernelStats,
  queuedInvariantsHook,
} from './stats.js';

export {
  CPU_COUNT_MAX,
  type KernelConfig,
  PHYSMEM_MAX_BYTES,
  PHYSMEM_MIN_BYTES,
  type ResolvedKernelConfig,
  resolveConfig,
  sendspaceMaxBytes,
  validateKernelConfig,
} from './config.js';

import { vmObjectClose, vmObjectOpen, vmObjectRevalidate } from '../vm/index.js';

export type { KernelAtRest, KernelPeaks, KernelStats } from './stats.js';

/** fstat(2) of an open file. */
export interface KStat {
  readonly sizeBytes: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly dev: number;
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
  private readonly sched: Sched;
  private readonly files = new Set<KFile>();
  private readonly openSockets = new Set<KSocket>();
  private nextFd = 3;
  /** Set by destroy(): every later system call fails with EBADF. */
  private destroyed = false;

  constructor(config: KernelConfig = {}) {
    const c = resolveConfig(config);
    this.config = c;
    const prng = createPrng(c.seed);
    this.id = config.kernelId ?? prng.nextU32() % 100000;
    this.sched = new Sched(c.cpuCount, c.cpuMigratePct, prng);
    const checkAll = queuedInvariantsHook(() => this.checkInvariants());
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
      dmap: this.vm.physmem,
    });
    this.sockets = new SocketLayer(this.mbufs, {
      sndbufBytes: c.sndbufBytes,
      autosize: c.sndbufAutosize,
      sndbufMaxBytes: sendspaceMaxBytes(c.physmemBytes),
      invariants: c.invariants,
      kernelId: this.id,
      clock: this.clock,
      wire: { mtuBytes: c.mtuBytes, tso: c.tso, seed: c.seed },
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
      ...(config.ktlsCrypto !== undefined ? { crypto: config.ktlsCrypto } : {}),
      checkAll,
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
      checkAll,
      kernelId: this.id,
    });
  }

  /** open(2) of a regular file: ENOENT, EACCES, EISDIR, EINVAL (not a regular file). */
  async open(path: string): Promise<KFile> {
    this.alive('open');
    const obj: VmObject = await vmObjectOpen(this.vm, path);
    const file = new KFile(this.nextFd++, obj);
    this.files.add(file);
    return file;
  }

  /** close(2): EBADF if already closed. The file's pages stay cached. */
  async close(file: KFile): Promise<void> {
    if (file.closed) throw new SysError('EBADF', `close: fd ${file.fd} is closed`);
    file.closed = true;
    this.files.delete(file);
    await vmObjectClose(this.vm, file.obj);
  }

  /** fstat(2): a fresh look at the file (a change invalidates its cached pages). */
  async fstat(file: KFile): Promise<KStat> {
    this.alive('fstat');
    if (file.closed) throw new SysError('EBADF', `fstat: fd ${file.fd} is closed`);
    await vmObjectRevalidate(this.vm, file.obj);
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
    this.alive('invalidate');
    if (file.closed) throw new SysError('EBADF', `invalidate: fd ${file.fd} is closed`);
    // An impossible mtime makes the fresh fstat differ: vnode_pager_setsize's path drops the pages.
    file.obj.mtimeMs = Number.NaN;
    await vmObjectRevalidate(this.vm, file.obj);
  }

  /** socket(2)+connect(2) over a connected stream; CPUs are handed out round-robin. */
  socket(
    transport: Transport,
    opts: { sndbufBytes?: number; nonblocking?: boolean; cpu?: number; autosize?: boolean } = {},
  ): KSocket {
    this.alive('socket');
    const cpu = this.sched.place(opts.cpu);
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
    if (this.destroyed) return this.gone('sodrain');
    return this.sockets.sodrain(so, signal);
  }

  /**
   * soupcall_set(so, SO_SND): `upcall` runs each time an acknowledgement frees space in the send
   * buffer (sowwakeup), inside the kernel; it must not sleep. Cleared by close(2).
   */
  soupcallSet(so: KSocket, upcall: () => void): void {
    this.alive('soupcall_set');
    this.sockets.soupcallSet(so, upcall);
  }

  /** ioctl(FIONWRITE): bytes in the socket's send queue, not yet taken by the peer (sb_ccc). */
  fionwrite(so: KSocket): number {
    return so.so_snd.sb_ccc;
  }

  /**
   * Sleeps until buffers are freed somewhere in this kernel (an acknowledgement dropped mbufs and
   * what they held: clusters, pages, sf_bufs, KTLS pages; or a connection was dropped); EINTR
   * when `signal` aborts. XXX(sim): no FreeBSD call; a server's admission waits here, not polling.
   */
  bufWait(signal?: AbortSignal): Promise<void> {
    return this.sockets.buffreeq.sleep(signal);
  }

  /**
   * setsockopt(TCP_TXTLS_ENABLE) (and TCP_TXTLS_MODE in `opts`): from now on the socket's send
   * side is a kernel TLS session; write(2) and sendfile(2) send records. See src/ktls.
   */
  ktlsEnableTx(so: KSocket, en: TlsEnable, opts?: KtlsEnableOptions): KtlsSession {
    this.alive('setsockopt');
    return this.ktls.ktlsEnableTx(so, en, opts);
  }

  /** sendmsg(2) with TLS_SET_RECORD_TYPE on a KTLS socket: one or more records of `recordType`. */
  sendRecord(
    so: KSocket,
    buf: Uint8Array,
    recordType: number = TLS_RLTYPE_APP,
    signal?: AbortSignal,
  ): Promise<number> {
    if (this.destroyed) return this.gone('sendmsg');
    this.sched.migrate(so);
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
    if (this.destroyed) return this.gone('sendfile');
    this.sched.migrate(so);
    return vnSendfile(this.sendfileLayer, file, so, offset, nbytes, opts);
  }

  /** read(2): a real copy out of the buffer cache. */
  read(file: KFile, offset: number, buf: Uint8Array): Promise<number> {
    if (this.destroyed) return this.gone('read');
    return kernRead(this.sendfileLayer, file, offset, buf);
  }

  /** write(2) on a socket: a real copy into clusters. */
  write(so: KSocket, buf: Uint8Array, signal?: AbortSignal): Promise<number> {
    if (this.destroyed) return this.gone('write');
    this.sched.migrate(so);
    return kernWrite(this.sendfileLayer, so, buf, signal);
  }

  /** The copy path: read(2) into a user buffer, write(2) it, until done. */
  copyfile(
    file: KFile,
    so: KSocket,
    offset: number,
    nbytes: number,
    opts?: CopyfileOptions,
  ): Promise<number> {
    if (this.destroyed) return this.gone('copyfile');
    this.sched.migrate(so);
    return kernCopyfile(
      this.sendfileLayer,
      file,
      so,
      offset,
      nbytes,
      opts ?? {},
      this.sendfileLayer.copyBufferBytes,
    );
  }

  /** stats(): every room's counters; reading it resets the peaks (src/kernel/stats.ts). */
  stats(): KernelStats {
    return kernelStats(this);
  }

  /** The memory traffic model over this kernel's counters (copies, encryption, output). */
  memoryTraffic(): MemoryTraffic {
    return kernelMemoryTraffic(this);
  }

  /** Faults injected so far, by kind. */
  faultCounters(): FaultCounters {
    return this.faults.counters();
  }

  /** `netstat -m`: the mbuf lines, the sfbufs line (pool only), the sendfile lines. */
  netstatM(): string {
    return `${[...netstatMbufLines(this.mbufs.counters()), ...this.sendfileLayer.netstatLines()].join('\n')}\n`;
  }

  /**
   * Every room's at-rest check: no sf_buf, mbuf or cluster in use, no wired page, no sleeper, no
   * queued byte; what `except`'s send buffer holds aside (a stats request's own socket).
   */
  atRest(except: KSocket | null = null): KernelAtRest {
    return kernelAtRest(this, except);
  }

  /** Every room's O(n) invariant check (the debug mode runs it after each chunk and free). */
  checkInvariants(): void {
    checkKernelInvariants(this);
  }

  /** Closes every socket and file still open; every later system call fails with EBADF. */
  async destroy(): Promise<void> {
    this.destroyed = true;
    for (const so of [...this.openSockets]) this.soclose(so);
    for (const file of [...this.files]) await this.close(file);
  }

  /** Throws EBADF once the kernel is destroyed (every descriptor of it is gone). */
  private alive(call: string): void {
    if (this.destroyed) throw new SysError('EBADF', `${call}: the kernel was destroyed`);
  }

  /** The rejection of a Promise-returning call after destroy(). */
  private gone<T>(call: string): Promise<T> {
    return Promise.reject(new SysError('EBADF', `${call}: the kernel was destroyed`));
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
