// The sendfile room's header of per-call state, as struct sf_io's block in sys/kern/kern_sendfile.c:
// the call (SfCall), the chunk being built (SfChunk), the loop's outcome (SendResult), struct
// sf_io (one per chunk's pager I/O), struct sendfile_sync (SF_SYNC), and the room's environment.
import { pageIndexOf, type SysError, type Tracer } from '../kern/index.js';
import type { KtlsLayer, KtlsSession } from '../ktls/index.js';
import type { Mbuf, MbufAllocator } from '../mbuf/index.js';
import type { KSocket, SocketLayer } from '../net/index.js';
import { SF_BUF_KINDS, type SfBuf, type SfBufMap } from '../sfbuf/index.js';
import type { Vm, VmObject, VmPage } from '../vm/index.js';
import type { CopyStat, SfStat } from './flags.js';

/** Mapping modes: sf_buf direct map, sf_buf KVA pool, or unmapped M_EXTPG mbufs. */
export const SENDFILE_MAPPINGS = [...SF_BUF_KINDS, 'extpg'] as const;
export type SendfileMapping = (typeof SENDFILE_MAPPINGS)[number];

/**
 * What the sendfile room needs from the kernel it runs in (one per kernel). The free callbacks
 * are created once per kernel and reached through ext_free, so building an mbuf for a page
 * creates no closure.
 */
export interface SendfileEnv {
  readonly vm: Vm;
  readonly sfbufs: SfBufMap;
  readonly mbufs: MbufAllocator;
  readonly sockets: SocketLayer;
  readonly mapping: SendfileMapping;
  /** Kernel TLS, when the kernel has it: sockets with a session send records. */
  readonly ktls: KtlsLayer | null;
  readonly sfstat: SfStat;
  /** copy_bytes_in is the socket layer's (sosend counts it where it copies). */
  readonly copystat: Pick<CopyStat, 'copy_bytes_out'>;
  /** sendfile_free_mext (EXT_SFBUF storage). */
  readonly freeMext: (m: Mbuf) => void;
  /** sendfile_free_mext_pg (M_EXTPG storage). */
  readonly freeMextPg: (m: Mbuf) => void;
  /** Chunks whose pager I/O has not finished (for atRest). */
  readonly sfiosInFlight: Set<SfIo>;
  /** Chunk records no call is using, kept for the next calls (see sfChunkTake). */
  readonly sfChunksIdle: SfChunk[];
  /** Trace events on the zcsim:sendfile channel (call, chunk, iodone, done). */
  readonly trace: Tracer;
  /** Debug mode: every room's checkInvariants, run after each chunk and free callback. */
  readonly invariants: boolean;
  /** A file's fstat is trusted this long by sendfile, read and the copy loop, in ms (0: never). */
  readonly revalidateMs: number;
  checkAll(): void;
}

/**
 * struct sf_io: the pager I/O of one chunk.
 *
 * Ownership and refcount protocol: `nios` starts at 1, the syscall's own reference. Each
 * asynchronous pager read started for the chunk adds one; each completion (sendfileIodone)
 * drops one, and the syscall drops its own after it has queued the chunk's mbufs not-ready
 * (PRUS_NOTREADY). Whoever brings `nios` to 0 finishes the chunk: with no mbufs queued (`m`
 * null) nothing is left to do; after an I/O error it aborts the socket (so_error EIO) and frees
 * the chunk's not-ready units; otherwise it calls prReady(so, m, npages), which makes the data
 * sendable in order. The chunk's pages stay wired by their mbufs throughout; sf_io owns none.
 */
export class SfIo {
  /** References: 1 (the syscall) + pager reads in flight. */
  nios = 1;
  /** The first error a read reported (EIO). */
  error: SysError | null = null;
  /** Not-ready units queued (one per page: EXT_SFBUF mbufs, or pages of M_EXTPG mbufs). */
  npages = 0;
  /** The socket the chunk was queued on; null until queued. */
  so: KSocket | null = null;
  /** First page mbuf of the chunk (after any header); null until queued. */
  m: Mbuf | null = null;
  /** The socket's KTLS session: software mode encrypts the chunk when its reads complete. */
  tls: KtlsSession | null = null;
  /** Woken when only the syscall's reference is left ("sfnosf": reads of the chunk drained). */
  drained: (() => void) | null = null;
  /** XXX(sim): a pager read was started, so the chunk was listed in sfiosInFlight. */
  iosStarted = false;

  constructor(
    readonly obj: VmObject,
    readonly pindex0: number,
  ) {}
}

/**
 * struct sendfile_sync (SF_SYNC): `count` is the number of live storages (EXT_SFBUF mbufs or
 * M_EXTPG mbufs) the call created; each free callback drops one. The call sleeps until it is 0;
 * if the sleep is interrupted the call leaves (`waiting` false) and the last callback ends it.
 */
export class SendfileSync {
  count = 0;
  waiting = true;
  wake: (() => void) | null = null;
}

/** sendfile_sync_signal: one storage of an SF_SYNC call is gone. */
export function sendfileSyncSignal(sfs: SendfileSync): void {
  sfs.count--;
  if (sfs.count === 0 && sfs.wake !== null) {
    const wake = sfs.wake;
    sfs.wake = null;
    wake();
  }
}

/** Waits until every storage of an SF_SYNC call is freed; EINTR-style rejection on abort. */
export function sendfileSyncWait(sfs: SendfileSync, signal?: AbortSignal): Promise<void> | null {
  if (sfs.count === 0) return null;
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      sfs.waiting = false;
      sfs.wake = null;
      reject(signal?.reason);
    };
    sfs.wake = () => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    };
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** What the mbuf loop needs to know about the call (fixed for the whole call). */
export interface SfCall {
  readonly flags: number;
  readonly cpu: number;
  readonly signal: AbortSignal | undefined;
  readonly sync: SendfileSync | null;
  /** File bytes left in the request when the chunk was cut (the kernel's `rem`). */
  rem: number;
  /** A soft error met while building (EBUSY, ENOBUFS): queue what was built, then stop. */
  softerr: 'EBUSY' | 'ENOBUFS' | null;
  /** The socket's KTLS session: M_EXTPG mbufs of at most one record each. */
  readonly tls: KtlsSession | null;
  /** An mbuf obtained before a sleep, waiting to be used. */
  mPending: Mbuf | null;
  /** The result of a first sf_buf allocation that had to sleep (undefined: none pending). */
  sfPending: SfBuf | null | undefined;
  /** The chunk's header mbufs are built: its page mbufs are all M_NOWAIT (no sleep holding mbufs). */
  holdsHeader: boolean;
}

/**
 * The state of the chunk being built. One per call, reused by every chunk and then by later
 * calls, so that neither the per-page loops nor a call's start allocate a page array. `pa[i]`,
 * for i below `grabbed`, is page i of the chunk (wired by us); swapin writes each entry before
 * anything reads it, so entries past `grabbed` are left as the last chunk had them.
 */
export class SfChunk {
  /** File offset of the chunk's first byte. */
  off = 0;
  /** Bytes of file data in the chunk (the kernel's `space` once trimmed). */
  space = 0;
  npages = 0;
  /** Readahead pages for the run that reaches the chunk's last page. */
  rhpages = 0;
  readonly pa: (VmPage | null)[] = [];
  /** Pages grabbed so far (swapin resumes here after a sleep). */
  grabbed = 0;
  /** First page of the run of fresh invalid pages not yet handed to the pager, or -1. */
  runStart = -1;
  /** Pager reads started for this chunk (the kernel's local `nios`). */
  iosStarted = 0;
  /** SF_NODISKIO met a busy page or no free page: pages from `grabbed` on are missing. */
  stopped = false;
  /** Pages turned into mbufs so far. */
  built = 0;
  mhead: Mbuf | null = null;
  mtail: Mbuf | null = null;
  /** The M_EXTPG mbuf being filled (extpg mode). */
  mcur: Mbuf | null = null;
  sfio: SfIo | null = null;

  reset(obj: VmObject, off: number, space: number, npages: number, rhpages: number): SfIo {
    this.off = off;
    this.space = space;
    this.npages = npages;
    this.rhpages = rhpages;
    if (this.pa.length < npages) this.pa.length = npages;
    this.grabbed = 0;
    this.runStart = -1;
    this.iosStarted = 0;
    this.stopped = false;
    this.built = 0;
    this.mhead = null;
    this.mtail = null;
    this.mcur = null;
    const sfio = new SfIo(obj, pageIndexOf(off));
    this.sfio = sfio;
    return sfio;
  }
}

/** Idle chunk records kept at most: each holds a page array as long as its largest chunk. */
const SF_CHUNKS_IDLE_MAX = 16;

/** A chunk record for a call: an idle one (its page array already grown) or a new one. */
export function sfChunkTake(env: SendfileEnv): SfChunk {
  return env.sfChunksIdle.pop() ?? new SfChunk();
}

/** The call is done with `c`: it keeps no I/O or mbufs, and waits for the next call. */
export function sfChunkPut(env: SendfileEnv, c: SfChunk): void {
  c.sfio = null;
  c.mhead = null;
  c.mtail = null;
  c.mcur = null;
  if (env.sfChunksIdle.length < SF_CHUNKS_IDLE_MAX) env.sfChunksIdle.push(c);
}

/** The outcome of the chunk loop: bytes queued, and the error that ended it, if any. */
export interface SendResult {
  sbytes: number;
  error: SysError | null;
}
