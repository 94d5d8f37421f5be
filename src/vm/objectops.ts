// Mirrors the object life cycle of sys/vm/vm_object.c and sys/vm/vnode_pager.c: finding a file's
// object at open (vnode_create_vobject), noticing that the file changed (vnode_pager_setsize and
// the mtime check a network file system does), and dropping the reference at close.
//
// Invalidation: when fstat reports a new size or mtime, every cached page of the object leaves
// it. A page nobody holds is freed; a wired or busy page is detached (object = null) and keeps
// serving its holder the old bytes until its last unwire (or the end of its read) frees it.
// `generation` is bumped so a caller holding pages can tell the cache moved on.
import { panic } from '../kern/index.js';
import { fstatObject, objectKey, openRegular, VmObject, type VmObjectStat } from './object.js';
import type { VmInternals } from './vmtypes.js';

/** open(2)+fstat(2): the file's vm object (shared by every open of the same dev+ino). */
export async function vmObjectOpen(vm: VmInternals, path: string): Promise<VmObject> {
  const { fh, st } = await openRegular(path);
  const key = objectKey(st.dev, st.ino);
  let obj = vm.objects.get(key);
  let spare = null;
  if (obj) {
    obj.ref_count++;
    if (obj.fh) spare = fh;
    else obj.fh = fh;
    applyStat(vm, obj, st);
    obj.validatedAtMs = vm.config.clock.nowMs();
  } else {
    obj = new VmObject(vm.nextObjectId++, path, st);
    obj.ref_count = 1;
    obj.fh = fh;
    obj.validatedAtMs = vm.config.clock.nowMs();
    vm.objects.set(key, obj);
  }
  if (vm.config.invariants) vm.checkInvariants();
  vm.trace.emit('object-open', () => ({ object: obj.id, path, sizeBytes: st.sizeBytes }));
  if (spare) await spare.close();
  return obj;
}

/** fstat(2) again; a size or mtime change invalidates the object's pages. */
export async function vmObjectRevalidate(vm: VmInternals, obj: VmObject): Promise<void> {
  const st = await fstatObject(obj);
  applyStat(vm, obj, st);
  obj.validatedAtMs = vm.config.clock.nowMs();
  if (vm.config.invariants) vm.checkInvariants();
}

/**
 * Revalidates only when the last fstat is at least `maxAgeMs` old (0: always), as an NFS client
 * trusts its attribute cache for a while. Synchronous fast path: null when the stat is fresh.
 */
export function vmObjectRevalidateStale(
  vm: VmInternals,
  obj: VmObject,
  maxAgeMs: number,
): Promise<void> | null {
  if (maxAgeMs > 0 && vm.config.clock.nowMs() - obj.validatedAtMs < maxAgeMs) return null;
  return vmObjectRevalidate(vm, obj);
}

/** vm_object_reference: one more holder (a call in flight), so a close cannot pull the file away. */
export function vmObjectReference(obj: VmObject): void {
  if (!(obj.ref_count > 0)) panic(`vm_object_reference: object ${obj.id} is not open`);
  obj.ref_count++;
}

/**
 * vm_object_deallocate: drops one reference. At the last, the file is closed once the reads in
 * flight are done (unless the object was opened again meanwhile); the returned Promise settles
 * then. Null when other references remain. The pages stay cached for the next open.
 */
export function objectDeallocate(vm: VmInternals, obj: VmObject): Promise<void> | null {
  if (!(obj.ref_count > 0)) panic(`vm_object_deallocate: object ${obj.id} is not open`);
  if (--obj.ref_count > 0) return null;
  return objectCloseLast(vm, obj);
}

/** Drops one reference; the file is closed at the last (its pages stay cached). */
export async function vmObjectClose(vm: VmInternals, obj: VmObject): Promise<void> {
  await objectDeallocate(vm, obj);
}

/**
 * vm_object_deallocate for a call's own reference: synchronous; when it was the last, the file
 * closes in the background once its reads are done (a failure to close is only traced).
 */
export function vmObjectDeallocate(vm: VmInternals, obj: VmObject): void {
  const last = objectDeallocate(vm, obj);
  if (last !== null)
    last.catch((e: unknown) =>
      vm.trace.emit('object-close-error', () => ({ object: obj.id, error: String(e) })),
    );
}

async function objectCloseLast(vm: VmInternals, obj: VmObject): Promise<void> {
  while (obj.paging_in_progress > 0) await obj.pipWait.sleep();
  if (obj.ref_count > 0 || !obj.fh) return;
  const fh = obj.fh;
  obj.fh = null;
  vm.reapObject(obj);
  if (vm.config.invariants) vm.checkInvariants();
  await fh.close();
}

/** Takes a fresh fstat: a changed size or mtime invalidates the cached pages. */
function applyStat(vm: VmInternals, obj: VmObject, st: VmObjectStat): void {
  if (st.sizeBytes === obj.sizeBytes && st.mtimeMs === obj.mtimeMs) return;
  vm.trace.emit('object-invalidate', () => ({
    object: obj.id,
    oldSizeBytes: obj.sizeBytes,
    sizeBytes: st.sizeBytes,
    pages: obj.pages.size,
  }));
  obj.sizeBytes = st.sizeBytes;
  obj.mtimeMs = st.mtimeMs;
  objectInvalidate(vm, obj);
}

/** vm_object_page_remove over the whole object: every page leaves it (see the file comment). */
export function objectInvalidate(vm: VmInternals, obj: VmObject): void {
  const pages = [...obj.pages.values()];
  for (const m of pages) {
    if (m.wireCount === 0 && !m.busy) {
      vm.vmPageFree(m);
    } else {
      obj.pages.delete(m.pindex);
      m.object = null;
    }
    vm.cnt.invalidations++;
  }
  obj.generation++;
  vm.reapObject(obj);
}
