// Mirrors the INVARIANTS checks of sys/vm (vm_page_assert_*, the queue length checks) as one O(n)
// walk over every page, queue and object, run after each state change in debug mode; and the
// snapshots of what the vm holds (counters, and what is not at rest).
import { KernelAssertionError } from '../kern/index.js';
import { PQ_ACTIVE, PQ_FREE, PQ_INACTIVE, PQ_NONE, type VmPage } from './page.js';
import type { VmInternals, VmStats } from './vmtypes.js';

/** Throws KernelAssertionError naming every broken rule (up to a few). */
export function checkVmInvariants(vm: VmInternals): void {
  const problems: string[] = [];
  vm.phys.check(problems);
  vm.inactive.check(problems);
  vm.active.check(problems);
  let wired = 0;
  let wiredQueued = 0;
  let busyUnqueued = 0;
  for (const m of vm.pages) {
    if (m.wireCount > 0) {
      wired++;
      if (m.queue === PQ_ACTIVE || m.queue === PQ_INACTIVE) wiredQueued++;
    } else if (m.queue === PQ_NONE) busyUnqueued++;
    if (vm.phys.isFree(m.physIndex) !== (m.queue === PQ_FREE)) {
      problems.push(`page ${m.physIndex}: free bit disagrees with queue ${m.queue}`);
    }
    checkPage(m, problems);
  }
  if (wired !== vm.cnt.v_wire_count) problems.push(`v_wire_count ${vm.cnt.v_wire_count} but ${wired} wired`);
  if (wiredQueued !== vm.wiredQueuedPages) {
    problems.push(`${vm.wiredQueuedPages} wired pages counted on queues but ${wiredQueued} found`);
  }
  const sum = vm.phys.free.count + vm.active.count + vm.inactive.count + wired - wiredQueued + busyUnqueued;
  if (sum !== vm.pageCount) {
    problems.push(`free+active+inactive+wired-wiredqueued+busy ${sum} != v_page_count ${vm.pageCount}`);
  }
  checkObjects(vm, problems);
  if (problems.length > 0) {
    throw new KernelAssertionError(`vm invariants: ${problems.slice(0, 8).join('; ')}`);
  }
}

/** The O(1) part: the rules of one page and the queue totals (between full sweeps). */
export function checkVmPage(vm: VmInternals, m: VmPage): void {
  const rule = pageRuleBroken(m);
  const queued =
    vm.phys.free.count + vm.active.count + vm.inactive.count + vm.cnt.v_wire_count - vm.wiredQueuedPages;
  if (rule === null && queued <= vm.pageCount) return;
  const problems: string[] = [];
  checkPage(m, problems);
  if (queued > vm.pageCount)
    problems.push(`free+active+inactive+wired-wiredqueued ${queued} > ${vm.pageCount}`);
  throw new KernelAssertionError(`vm invariants: ${problems.join('; ')}`);
}

function checkObjects(vm: VmInternals, problems: string[]): void {
  for (const [key, obj] of vm.objects) {
    if (obj.key !== key) problems.push(`object ${obj.id} registered under ${key}`);
    if (obj.ref_count < 0 || obj.paging_in_progress < 0) problems.push(`object ${obj.id} counts negative`);
    if (obj.ref_count > 0 && obj.fh === null) {
      problems.push(`object ${obj.id} open (ref_count ${obj.ref_count}) without a file`);
    }
    for (const [pindex, m] of obj.pages) {
      if (m.object !== obj || m.pindex !== pindex) {
        problems.push(`object ${obj.id} page ${pindex} is page ${m.physIndex} owned by ${m.object?.id}`);
      }
    }
  }
}

function checkPage(m: VmPage, problems: string[]): void {
  const rule = pageRuleBroken(m);
  if (rule !== null) problems.push(`page ${m.physIndex} (wire ${m.wireCount}, queue ${m.queue}): ${rule}`);
}

/** The first rule page `m` breaks, or null. Builds no string unless one is broken. */
function pageRuleBroken(m: VmPage): string | null {
  if (m.wireCount < 0) return 'negative wire count';
  if (m.queue === PQ_FREE) {
    return m.object !== null || m.wireCount !== 0 || m.busy || m.valid ? 'free but in use' : null;
  }
  if (m.queue === PQ_NONE && m.wireCount === 0 && !m.busy) return 'unwired, not busy, on no queue';
  if (m.queue !== PQ_NONE && m.queue !== PQ_ACTIVE && m.queue !== PQ_INACTIVE) return 'unknown queue';
  if (m.object === null) return m.wireCount === 0 && !m.busy ? 'no object, not free' : null;
  if (m.object.pages.get(m.pindex) !== m) return `object ${m.object.id} has no page ${m.pindex} for it`;
  return null;
}

/** What is not at rest: wired and busy pages, sleepers, reads in flight. */
export function vmAtRest(vm: VmInternals): string[] {
  const out: string[] = [];
  const wired: number[] = [];
  const busy: number[] = [];
  for (const m of vm.pages) {
    if (m.wireCount > 0) wired.push(m.physIndex);
    if (m.busy) busy.push(m.physIndex);
  }
  if (wired.length > 0) out.push(`vm: ${wired.length} page(s) wired: ${listPages(vm, wired)}`);
  if (busy.length > 0) out.push(`vm: ${busy.length} page(s) busy: ${listPages(vm, busy)}`);
  if (vm.vmwait.length > 0) out.push(`vm: ${vm.vmwait.length} sleeper(s) in vmwait`);
  let busySleepers = 0;
  for (const q of vm.busyWaits.values()) busySleepers += q.length;
  if (busySleepers > 0) out.push(`vm: ${busySleepers} sleeper(s) on busy pages`);
  for (const obj of vm.objects.values()) {
    if (obj.paging_in_progress > 0) {
      out.push(`vm: object ${obj.id} (${obj.path}) has ${obj.paging_in_progress} read(s) in flight`);
    }
  }
  return out;
}

function listPages(vm: VmInternals, indexes: number[]): string {
  const shown = indexes.slice(0, 6).map((i) => {
    const m = vm.pages[i] as VmPage;
    const where = m.object ? `obj ${m.object.id}[${m.pindex}]` : 'detached';
    return `#${i} ${where} wire ${m.wireCount}`;
  });
  return shown.join(', ') + (indexes.length > 6 ? ', …' : '');
}

/**
 * The counters as a frozen snapshot. As in FreeBSD 12 and later, v_active_count and
 * v_inactive_count are the queues' lengths (pq_cnt), which include wired pages not yet dequeued;
 * busy-unqueued pages are what free, the queues and the wired pages off them leave over.
 */
export function vmStats(vm: VmInternals): VmStats {
  const c = vm.cnt;
  const free = vm.phys.free.count;
  return Object.freeze({
    v_page_count: vm.pageCount,
    v_free_count: free,
    v_active_count: vm.active.count,
    v_inactive_count: vm.inactive.count,
    v_wire_count: c.v_wire_count,
    v_busy_unqueued_count:
      vm.pageCount - free - vm.active.count - vm.inactive.count - c.v_wire_count + vm.wiredQueuedPages,
    pageins: c.pageins,
    pages_paged_in: c.pages_paged_in,
    readahead_pages: c.readahead_pages,
    reactivations: c.reactivations,
    evictions: c.evictions,
    invalidations: c.invalidations,
    vm_waits: vm.vmwait.sleepsTotal,
  });
}
