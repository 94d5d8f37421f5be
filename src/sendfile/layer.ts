// The sendfile room's instance (one per kernel): the sfstat and copy counters and the free
// callbacks handed to the mbuf code, the state that the system calls (vnSendfile, kernRead,
// kernWrite, kernCopyfile) work on. Mirrors the global state of sys/kern/kern_sendfile.c.
import { type Tracer, tracer } from '../kern/index.js';
import type { KtlsLayer } from '../ktls/index.js';
import type { Mbuf, MbufAllocator } from '../mbuf/index.js';
import type { SocketLayer } from '../net/index.js';
import type { SfBufMap } from '../sfbuf/index.js';
import type { Vm } from '../vm/index.js';
import { type CopyStat, type SfStat, sfstatZero } from './flags.js';
import { sendfileFreeMext, sendfileFreeMextPg } from './mext.js';
import { sendfileNetstatLines } from './netstat.js';
import type { SendfileEnv, SendfileMapping, SfChunk, SfIo } from './sfio.js';

export interface SendfileConfig {
  readonly vm: Vm;
  readonly sfbufs: SfBufMap;
  readonly mbufs: MbufAllocator;
  readonly sockets: SocketLayer;
  readonly mapping: SendfileMapping;
  readonly invariants: boolean;
  /** The copy path's user buffer, in bytes. */
  readonly copyBufferBytes: number;
  /** The kernel's invariants hook (debug mode), queued to the end of the current job. */
  readonly checkAll: () => void;
  readonly kernelId: number;
  /** How long a file's fstat is trusted, in ms (0, the default: an fstat per call). */
  readonly revalidateMs?: number;
  /** Kernel TLS (src/ktls), if the kernel has it. */
  readonly ktls?: KtlsLayer;
}

export class SendfileLayer implements SendfileEnv {
  readonly vm: Vm;
  readonly sfbufs: SfBufMap;
  readonly mbufs: MbufAllocator;
  readonly sockets: SocketLayer;
  readonly mapping: SendfileMapping;
  readonly ktls: KtlsLayer | null;
  readonly invariants: boolean;
  readonly revalidateMs: number;
  readonly sfstat: SfStat = sfstatZero();
  readonly copystat: Pick<CopyStat, 'copy_bytes_out'> = { copy_bytes_out: 0 };
  readonly sfiosInFlight = new Set<SfIo>();
  readonly sfChunksIdle: SfChunk[] = [];
  readonly trace: Tracer;
  readonly freeMext = (m: Mbuf): void => sendfileFreeMext(this, m);
  readonly freeMextPg = (m: Mbuf): void => sendfileFreeMextPg(this, m);
  /** The copy path's user buffer, in bytes. */
  readonly copyBufferBytes: number;
  readonly checkAll: () => void;

  constructor(config: SendfileConfig) {
    this.vm = config.vm;
    this.sfbufs = config.sfbufs;
    this.mbufs = config.mbufs;
    this.sockets = config.sockets;
    this.mapping = config.mapping;
    this.ktls = config.ktls ?? null;
    this.invariants = config.invariants;
    this.revalidateMs = config.revalidateMs ?? 0;
    this.copyBufferBytes = config.copyBufferBytes;
    this.checkAll = config.checkAll;
    this.trace = tracer('sendfile', config.kernelId);
  }

  /** kern.ipc.sfstat: a frozen snapshot (sf_allocwait is counted by sf_buf_alloc). */
  counters(): Readonly<SfStat> {
    return Object.freeze({ ...this.sfstat, sf_allocwait: this.sfbufs.counters().sf_allocwait });
  }

  copyCounters(): Readonly<CopyStat> {
    // One copy_bytes_in: the socket layer's, counted by sosend as it copies into clusters.
    return Object.freeze({ ...this.copystat, copy_bytes_in: this.sockets.cells.copy_bytes_in });
  }

  /** Writing kern.ipc.sfstat zeroes it (sfstat_sysctl). */
  resetCounters(): void {
    Object.assign(this.sfstat, sfstatZero());
    this.copystat.copy_bytes_out = 0;
  }

  /** The sfbufs line (pool only) and the sendfile lines of `netstat -m`. */
  netstatLines(): string[] {
    return sendfileNetstatLines(this.counters(), this.sfbufs.hasPool ? this.sfbufs.counters() : null);
  }

  /** What is not at rest: chunks whose reads are in flight. */
  atRest(): string[] {
    return this.sfiosInFlight.size > 0
      ? [`sendfile: ${this.sfiosInFlight.size} chunk(s) with pager I/O in flight`]
      : [];
  }
}
