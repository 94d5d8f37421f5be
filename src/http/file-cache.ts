// An open-file cache in the manner of nginx's open_file_cache: one entry per request path holds
// the real path (symlinks resolved and checked against the root), the fstat result, the
// validators and header strings derived from it, and the kernel file opened once. An entry is
// trusted for `revalidateMs`; after that the next request re-stats it, and a changed file
// (ino, size or mtime) gets a new entry. So a busy server does no fs.stat per request.
//
// Ownership: an entry's kernel file is opened on first use and closed when the entry is retired
// (replaced, evicted or the cache closed) and no response still uses it (`users` reaches 0).
import { stat } from 'node:fs/promises';
import mime from 'mime-types';
import type { Kernel, KFile } from '../index.js';
import type { Clock } from '../kern/index.js';
import { resolveInsideRoot } from './path.js';
import { makeEtag, type Validators } from './semantics.js';

export interface FileEntry extends Validators {
  readonly relative: string;
  readonly realPath: string;
  readonly isDirectory: boolean;
  /** A regular file (not a directory, FIFO, socket or device). */
  readonly isRegular: boolean;
  readonly ino: number;
  readonly mtimeMs: number;
  readonly lastModified: string;
  readonly contentType: string;
  /** Headers shared by every 200/206 of this entry (flat name, value list for writeHead). */
  readonly baseHeaders: readonly string[];
}

/** The file at an entry's path is no longer the one its stat described. */
export class StaleEntryError extends Error {
  override readonly name = 'StaleEntryError';
  readonly code = 'ESTALE';
}

/** Whether `st` (fstat of an open file) is the file an entry describes. */
export function isSameFile(entry: FileEntry, st: { ino: number; size: number; mtimeMs: number }): boolean {
  return st.ino === entry.ino && st.size === entry.sizeBytes && st.mtimeMs === entry.mtimeMs;
}

/** A response's hold on an entry's kernel file. */
export interface FileLease {
  readonly file: Promise<KFile>;
  release(): void;
}

interface Slot {
  entry: FileEntry;
  validatedAtMs: number;
  kfile: Promise<KFile> | null;
  users: number;
  retired: boolean;
}

export interface FileCacheConfig {
  readonly realRoot: string;
  readonly revalidateMs: number;
  readonly capacity: number;
  readonly clock: Clock;
  readonly kernel: Kernel;
}

export class FileCache {
  private readonly slots = new Map<string, Slot>();
  private readonly pending = new Map<string, Promise<Slot>>();
  private closed = false;

  constructor(private readonly config: FileCacheConfig) {}

  /** The entry of `relative`, from the cache while it is fresh; rejects with the errno of stat. */
  async lookup(relative: string): Promise<FileEntry> {
    const slot = this.slots.get(relative);
    if (slot && this.config.clock.nowMs() - slot.validatedAtMs < this.config.revalidateMs) {
      return slot.entry;
    }
    return (await this.validate(relative)).entry;
  }

  /**
   * The kernel file of `entry`, opened once per entry; call release() when the response is done.
   * An entry replaced meanwhile (the file changed) gets a file of its own, closed on release.
   */
  acquire(entry: FileEntry): FileLease {
    const slot = this.slots.get(entry.relative);
    if (!slot || slot.entry !== entry || this.closed) return this.oneOff(entry);
    if (slot.kfile === null) {
      const opening = this.openVerified(entry);
      slot.kfile = opening;
      // A failed open must not stay cached: the next request tries again.
      opening.catch(() => {
        if (slot.kfile === opening) slot.kfile = null;
      });
    }
    slot.users++;
    let released = false;
    return {
      file: slot.kfile,
      release: () => {
        if (released) return;
        released = true;
        slot.users--;
        if (slot.retired && slot.users === 0) void this.closeSlot(slot);
      },
    };
  }

  /** Drops the entry of `relative` (its file changed between stat and open): the next lookup stats again. */
  forget(relative: string): void {
    const slot = this.slots.get(relative);
    if (slot) this.retire(relative, slot);
  }

  /**
   * open(2) by path, then fstat(2) of what was opened: the path may have been renamed over or
   * rewritten since the entry's stat, and the headers must describe the bytes sent.
   */
  private async openVerified(entry: FileEntry): Promise<KFile> {
    const kernel = this.config.kernel;
    const file = await kernel.open(entry.realPath);
    const st = await kernel.fstat(file).catch(async (err: unknown) => {
      await kernel.close(file).catch(() => {});
      throw err;
    });
    if (!isSameFile(entry, { ino: st.ino, size: st.sizeBytes, mtimeMs: st.mtimeMs })) {
      await kernel.close(file).catch(() => {});
      throw new StaleEntryError(`${entry.relative} changed between stat and open`);
    }
    return file;
  }

  private oneOff(entry: FileEntry): FileLease {
    const file = this.openVerified(entry);
    let released = false;
    return {
      file,
      release: () => {
        if (released) return;
        released = true;
        file.then((f) => this.config.kernel.close(f)).catch(() => {});
      },
    };
  }

  /** Number of entries and of open kernel files (for /stats). */
  counters(): { entries: number; open_files: number } {
    let open = 0;
    for (const s of this.slots.values()) if (s.kfile !== null) open++;
    return { entries: this.slots.size, open_files: open };
  }

  /** Retires every entry; kernel files close as their last response finishes. */
  async close(): Promise<void> {
    this.closed = true;
    const closing: Promise<void>[] = [];
    for (const slot of this.slots.values()) {
      slot.retired = true;
      if (slot.users === 0) closing.push(this.closeSlot(slot));
    }
    this.slots.clear();
    await Promise.all(closing);
  }

  private validate(relative: string): Promise<Slot> {
    let p = this.pending.get(relative);
    if (!p) {
      p = this.statEntry(relative).finally(() => this.pending.delete(relative));
      this.pending.set(relative, p);
    }
    return p;
  }

  private async statEntry(relative: string): Promise<Slot> {
    const realPath = await resolveInsideRoot(this.config.realRoot, relative);
    const st = await stat(realPath);
    const old = this.slots.get(relative);
    const nowMs = this.config.clock.nowMs();
    if (old && old.entry.realPath === realPath && isSameFile(old.entry, st)) {
      old.validatedAtMs = nowMs;
      return old;
    }
    if (old) this.retire(relative, old);
    const slot: Slot = {
      entry: makeEntry(relative, realPath, st),
      validatedAtMs: nowMs,
      kfile: null,
      users: 0,
      retired: false,
    };
    if (!this.closed) {
      this.slots.set(relative, slot);
      this.evict();
    }
    return slot;
  }

  private evict(): void {
    for (const [key, slot] of this.slots) {
      if (this.slots.size <= this.config.capacity) break;
      this.retire(key, slot);
    }
  }

  private retire(key: string, slot: Slot): void {
    this.slots.delete(key);
    slot.retired = true;
    if (slot.users === 0) void this.closeSlot(slot);
  }

  private async closeSlot(slot: Slot): Promise<void> {
    const kfile = slot.kfile;
    slot.kfile = null;
    if (kfile === null) return;
    try {
      await this.config.kernel.close(await kfile);
    } catch {
      // The open failed (its error went to that request) or the kernel is already gone.
    }
  }
}

interface StatLike {
  ino: number;
  size: number;
  mtimeMs: number;
  isDirectory(): boolean;
  isFile(): boolean;
}

function makeEntry(relative: string, realPath: string, st: StatLike): FileEntry {
  const etag = makeEtag(st.ino, st.size, st.mtimeMs);
  const lastModifiedSec = Math.floor(st.mtimeMs / 1000);
  const lastModified = new Date(lastModifiedSec * 1000).toUTCString();
  const contentType =
    mime.contentType(realPath.slice(realPath.lastIndexOf('/') + 1)) || 'application/octet-stream';
  return {
    relative,
    realPath,
    isDirectory: st.isDirectory(),
    isRegular: st.isFile(),
    ino: st.ino,
    sizeBytes: st.size,
    mtimeMs: st.mtimeMs,
    etag,
    lastModifiedSec,
    lastModified,
    contentType,
    baseHeaders: ['Accept-Ranges', 'bytes', 'Last-Modified', lastModified, 'ETag', etag],
  };
}
