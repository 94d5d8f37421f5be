// An open-file cache in the manner of nginx's open_file_cache: one entry per request path holds
// the file opened and checked once (open-checked.ts: inside the root, no symlink swapped in, a
// regular file or a directory), its fstat, and the validators and header strings derived from
// that fstat. Every request is checked by an fstat(2) of the held descriptor taken after the
// request arrived: a file written since (size, mtime or ctime in nanoseconds, or the inode) gets
// a new entry and its cached pages dropped, so a request that starts after a write gets the new
// bytes. Requests that arrive in one turn of the event loop share that fstat: it runs once their
// lookups have all begun (setImmediate, after the poll phase that read them). The path is
// looked at again after `revalidateMs` (open_file_cache_valid): a file renamed over the path is
// seen then; until then the entry serves the file it opened, whole.
//
// A body sent whole is checked once more, for a write that raced it (changed_during_send): by
// the file's next fstat, the next request's or one a turn of the event loop later, whichever
// comes first, so a busy file costs one fstat per response rather than two. A write that lands
// after the body's end but before that check is counted too, as a check right at the end would
// count one landing between the end and its own system call.
//
// Ownership: an entry's descriptor and its kernel file (opened through the descriptor on first
// use) are closed when the entry is retired (replaced, evicted or the cache closed) and no
// response still uses it (`users` reaches 0).
import { type BigIntStats, fstatSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { sep } from 'node:path';
import mime from 'mime-types';
import type { Kernel, KFile } from '../../index.js';
import { type Clock, SysError, type TimerHandle } from '../../kern/index.js';
import { StaleEntryError } from '../errors.js';
import { type CheckedFile, openChecked, reopenChecked, reopenPath } from './open-checked.js';
import { makeEtag, type Validators } from './semantics.js';

export interface FileEntry extends Validators {
  readonly relative: string;
  /** Where the opened file is, inside the root. */
  readonly realPath: string;
  readonly isDirectory: boolean;
  /** A regular file (not a directory). */
  readonly isRegular: boolean;
  readonly ino: number;
  readonly mtimeMs: number;
  readonly lastModified: string;
  readonly contentType: string;
  /** Headers shared by every 200/206 of this entry (flat name, value list for writeHead). */
  readonly baseHeaders: readonly string[];
}

/** A response's hold on an entry's checked file. */
export interface FileLease {
  /** The kernel's open file of the checked descriptor, opened once per entry. */
  kernelFile(): Promise<KFile>;
  /** A descriptor of its own on the checked file (the stream route), closed by the caller. */
  openStream(): Promise<FileHandle>;
  /** The kernel file when it is open already (no wait), else null: then kernelFile(). */
  kernelFileNow(): KFile | null;
  /** Whether the file changed since the entry was made (a write raced the response): an fstat now. */
  changed(): boolean;
  /** After a body went out whole: `onChanged` runs if the file's next fstat finds it changed. */
  checkAfterSend(onChanged: () => void): void;
  release(): void;
}

interface Slot {
  readonly entry: FileEntry;
  readonly checked: CheckedFile;
  validatedAtMs: number;
  kfile: Promise<KFile> | null;
  /** What `kfile` resolved to, once it did (null until then, and after the slot closed). */
  kfileOpen: KFile | null;
  users: number;
  retired: boolean;
  /** Bodies sent whole, waiting for the file's next fstat (each holds a user). */
  afterSend: (() => void)[];
}

export interface FileCacheConfig {
  readonly realRoot: string;
  readonly revalidateMs: number;
  readonly capacity: number;
  readonly clock: Clock;
  readonly kernel: Kernel;
}

/** Files whose last fstat is remembered, to know whether the kernel's pages may be older. */
const SEEN_FILES_MAX = 65_536;

/** The file's identity and content version as fstat tells them, to nanoseconds. */
function sameStat(a: BigIntStats, b: BigIntStats): boolean {
  return (
    a.ino === b.ino &&
    a.dev === b.dev &&
    a.size === b.size &&
    a.mtimeNs === b.mtimeNs &&
    a.ctimeNs === b.ctimeNs
  );
}

function fileKey(st: BigIntStats): string {
  return `${st.dev}:${st.ino}`;
}

function version(st: BigIntStats): string {
  return `${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

export class FileCache {
  private readonly slots = new Map<string, Slot>();
  private readonly pending = new Map<string, Promise<Slot>>();
  private readonly slotOf = new WeakMap<FileEntry, Slot>();
  /** dev:ino -> the version the kernel's pages were last known to hold. */
  private readonly seen = new Map<string, string>();
  private seenForgotten = false;
  private closed = false;
  /** Entries with bodies waiting for their after-send check, and the turn that checks them. */
  private readonly awaitingCheck = new Set<Slot>();
  private checkTimer: TimerHandle | null = null;
  /** Lookups waiting for their entry's shared fstat, and whether its turn is scheduled. */
  private readonly lookups = new Map<Slot, ((same: boolean) => void)[]>();
  private lookupsScheduled = false;

  constructor(private readonly config: FileCacheConfig) {}

  /**
   * The entry of `relative`: the cached one while its path is fresh and its descriptor's fstat
   * is unchanged; else the path is opened and checked again. Rejects with the errno of the open.
   */
  async lookup(relative: string): Promise<FileEntry> {
    const slot = this.slots.get(relative);
    if (slot && this.config.clock.nowMs() - slot.validatedAtMs < this.config.revalidateMs) {
      if (await this.checkAfterArrival(slot)) return slot.entry;
      this.retire(relative, slot);
    }
    return (await this.validate(relative)).entry;
  }

  /**
   * A hold on `entry`'s checked file; call release() when the response is done. Throws
   * StaleEntryError when the entry was replaced meanwhile (its file changed).
   */
  acquire(entry: FileEntry): FileLease {
    const slot = this.slotOf.get(entry);
    if (!slot || slot.retired) throw new StaleEntryError(`${entry.relative} changed before it was sent`);
    slot.users++;
    return new Lease(this, slot);
  }

  /** The slot's kernel file, opened on first use; a failed open is not kept (the next one tries again). */
  kernelFileOf(slot: Slot): Promise<KFile> {
    if (slot.kfile === null) {
      const opening = this.openKernelFile(slot);
      slot.kfile = opening;
      opening.then(
        (file) => {
          if (slot.kfile === opening) slot.kfileOpen = file;
        },
        () => {
          if (slot.kfile === opening) slot.kfile = null;
        },
      );
    }
    return slot.kfile;
  }

  /** A body sent whole waits, holding the slot, for the file's next fstat. */
  checkAfterSendOf(slot: Slot, onChanged: () => void): void {
    slot.users++;
    slot.afterSend.push(onChanged);
    this.awaitingCheck.add(slot);
    this.checkTimer ??= this.config.clock.setTimer(0, () => this.checkAwaiting());
  }

  /** A lease let go of its slot: a retired slot closes with its last user. */
  unuse(slot: Slot): void {
    slot.users--;
    if (slot.retired && slot.users === 0) void this.closeSlot(slot);
  }

  /** Drops the entry of `relative`: the next lookup opens the path again. */
  forget(relative: string): void {
    const slot = this.slots.get(relative);
    if (slot) this.retire(relative, slot);
  }

  /**
   * Whether the entry's file is unchanged, by an fstat taken after this call: one per entry for
   * every lookup that began before it. It is setImmediate, not the server's clock, since
   * it must follow the poll phase whatever the clock does.
   */
  private checkAfterArrival(slot: Slot): Promise<boolean> {
    return new Promise((resolve) => {
      const waiting = this.lookups.get(slot);
      if (waiting === undefined) this.lookups.set(slot, [resolve]);
      else waiting.push(resolve);
      if (!this.lookupsScheduled) {
        this.lookupsScheduled = true;
        setImmediate(this.checkLookups);
      }
    });
  }

  private readonly checkLookups = (): void => {
    this.lookupsScheduled = false;
    const batches = [...this.lookups];
    this.lookups.clear();
    for (const [slot, waiting] of batches) {
      const same = this.unchanged(slot);
      for (const resolve of waiting) resolve(same);
    }
  };

  /** Number of entries and of open kernel files (for /stats). */
  counters(): { entries: number; open_files: number } {
    let open = 0;
    for (const s of this.slots.values()) if (s.kfile !== null) open++;
    return { entries: this.slots.size, open_files: open };
  }

  /** Retires every entry; files close as their last response finishes. */
  async close(): Promise<void> {
    this.closed = true;
    this.checkAwaiting();
    const closing: Promise<void>[] = [];
    for (const slot of this.slots.values()) {
      slot.retired = true;
      if (slot.users === 0) closing.push(this.closeSlot(slot));
    }
    this.slots.clear();
    await Promise.all(closing);
  }

  /**
   * fstat(2) of the held descriptor: the same file, not written since the entry was made. It is
   * also the after-send check of the entry's bodies sent whole before it.
   */
  unchanged(slot: Slot): boolean {
    let same: boolean;
    try {
      same = sameStat(fstatSync(slot.checked.fh.fd, { bigint: true }), slot.checked.st);
    } catch {
      same = false;
    }
    if (slot.afterSend.length > 0) this.settleAfterSend(slot, same);
    return same;
  }

  private settleAfterSend(slot: Slot, same: boolean): void {
    const waiting = slot.afterSend.splice(0);
    this.awaitingCheck.delete(slot);
    if (!same) for (const onChanged of waiting) onChanged();
    slot.users -= waiting.length;
    if (slot.retired && slot.users === 0) void this.closeSlot(slot);
  }

  /** The after-send checks no request's lookup made this turn. */
  private checkAwaiting(): void {
    this.checkTimer?.cancel();
    this.checkTimer = null;
    for (const slot of [...this.awaitingCheck]) this.unchanged(slot);
  }

  /**
   * The kernel's open(2) of the checked file, through its descriptor (never the path), and a
   * check that the kernel has that inode open. Pages the kernel cached from an older version of
   * the file are dropped: its own check (size and mtime, trusted for revalidateMs) can miss a
   * same-size rewrite.
   */
  private async openKernelFile(slot: Slot): Promise<KFile> {
    const kernel = this.config.kernel;
    const st = slot.checked.st;
    const file = await kernel.open(reopenPath(slot.checked));
    try {
      const kst = await kernel.fstat(file);
      if (BigInt(kst.ino) !== st.ino || BigInt(kst.dev) !== st.dev)
        throw new StaleEntryError(`${slot.entry.relative} is not the file that was checked`);
      const key = fileKey(st);
      const known = this.seen.get(key);
      if (known === undefined ? this.seenForgotten : known !== version(st)) await kernel.invalidate(file);
      this.remember(key, version(st));
    } catch (err) {
      await kernel.close(file).catch(() => {});
      throw err;
    }
    return file;
  }

  private remember(key: string, v: string): void {
    this.seen.delete(key);
    this.seen.set(key, v);
    if (this.seen.size > SEEN_FILES_MAX) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
      this.seenForgotten = true;
    }
  }

  private validate(relative: string): Promise<Slot> {
    let p = this.pending.get(relative);
    if (!p) {
      p = this.openEntry(relative).finally(() => this.pending.delete(relative));
      this.pending.set(relative, p);
    }
    return p;
  }

  private async openEntry(relative: string): Promise<Slot> {
    if (this.closed) throw new SysError('EAGAIN', 'the server is closing');
    const root = this.config.realRoot;
    const checked = await openChecked(root, relative === '' ? root : `${root}${sep}${relative}`);
    const old = this.slots.get(relative);
    const nowMs = this.config.clock.nowMs();
    if (old && sameStat(old.checked.st, checked.st) && old.checked.realPath === checked.realPath) {
      old.validatedAtMs = nowMs;
      await checked.fh.close();
      return old;
    }
    if (old) this.retire(relative, old);
    const slot: Slot = {
      entry: makeEntry(relative, checked),
      checked,
      validatedAtMs: nowMs,
      kfile: null,
      kfileOpen: null,
      users: 0,
      retired: false,
      afterSend: [],
    };
    this.slotOf.set(slot.entry, slot);
    if (this.closed) {
      slot.retired = true;
      await this.closeSlot(slot);
      throw new SysError('EAGAIN', 'the server is closing');
    }
    this.slots.set(relative, slot);
    this.evict();
    return slot;
  }

  private evict(): void {
    for (const [key, slot] of this.slots) {
      if (this.slots.size <= this.config.capacity) break;
      this.retire(key, slot);
    }
  }

  private retire(key: string, slot: Slot): void {
    if (this.slots.get(key) === slot) this.slots.delete(key);
    if (slot.retired) return;
    slot.retired = true;
    if (slot.users === 0) void this.closeSlot(slot);
  }

  private async closeSlot(slot: Slot): Promise<void> {
    const kfile = slot.kfile;
    slot.kfile = null;
    slot.kfileOpen = null;
    if (kfile !== null) {
      try {
        await this.config.kernel.close(await kfile);
      } catch {
        // The open failed (its error went to that request) or the kernel is already gone.
      }
    }
    await slot.checked.fh.close().catch(() => {});
  }
}

function makeEntry(relative: string, checked: CheckedFile): FileEntry {
  const st = checked.st;
  const ino = Number(st.ino);
  const sizeBytes = Number(st.size);
  const mtimeMs = Number(st.mtimeMs);
  const etag = makeEtag(st.ino, st.size, st.mtimeNs);
  const lastModifiedSec = Math.floor(mtimeMs / 1000);
  const lastModified = new Date(lastModifiedSec * 1000).toUTCString();
  const name = relative.slice(relative.lastIndexOf('/') + 1);
  const contentType = mime.contentType(name) || 'application/octet-stream';
  return {
    relative,
    realPath: checked.realPath,
    isDirectory: st.isDirectory(),
    isRegular: st.isFile(),
    ino,
    sizeBytes,
    mtimeMs,
    etag,
    lastModifiedSec,
    lastModified,
    contentType,
    baseHeaders: ['Accept-Ranges', 'bytes', 'Last-Modified', lastModified, 'ETag', etag],
  };
}

/** A response's hold on a slot; one object per response, its methods shared. */
class Lease implements FileLease {
  private released = false;

  constructor(
    private readonly cache: FileCache,
    private readonly slot: Slot,
  ) {}

  kernelFile(): Promise<KFile> {
    return this.cache.kernelFileOf(this.slot);
  }

  kernelFileNow(): KFile | null {
    return this.slot.kfileOpen;
  }

  openStream(): Promise<FileHandle> {
    return reopenChecked(this.slot.checked);
  }

  changed(): boolean {
    return !this.cache.unchanged(this.slot);
  }

  checkAfterSend(onChanged: () => void): void {
    this.cache.checkAfterSendOf(this.slot, onChanged);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.cache.unuse(this.slot);
  }
}
