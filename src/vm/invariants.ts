// Mirrors the INVARIANTS checks of sys/vm (vm_page_assert_*, the queue length checks) as one O(n)
// walk over every page, queue and object, run after each state change in debug mode.
import { KernelAssertionError } from '../kern/index.js';
import { PQ_ACTIVE, PQ_FREE, PQ_INACTIVE, PQ_NONE, type VmPage } from './page.js';
import type { VmInternals } from './vmtypes.js';

/** Throws KernelAssertionError naming every broken rule (up to a few). */
export function checkVmInvariants(vm: VmInternals): void {
  const problems: string[] = [];
  vm.phys.check(problems);
  vm.inactive.check(problems);
  vm.active.check(problems);
  let wired = 0;
  let busyUnqueued = 0;
  for (const m of vm.pages) {
    if (m.wireCount > 0) wired++;
    else if (m.queue === PQ_NONE) busyUnqueued++;
    checkPage(m, problems);
  }
  if (wired !== vm.cnt.v_wire_count) problems.push(`v_wire_count ${vm.cnt.v_wire_count} but ${wired} wired`);
  const sum = vm.phys.free.count + vm.active.count + vm.inactive.count + wired + busyUnqueued;
  if (sum !== vm.pageCount) {
    problems.push(`free+active+inactive+wired+busy ${sum} != v_page_count ${vm.pageCount}`);
  }
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
  if (problems.length > 0) {
    throw new KernelAssertionError(`vm invariants: ${problems.slice(0, 8).join('; ')}`);
  }
}

function checkPage(m: VmPage, problems: string[]): void {
  const id = `page ${m.physIndex}`;
  if (m.wireCount < 0) problems.push(`${id}: wireCount ${m.wireCount}`);
  if (m.wireCount > 0 && m.queue !== PQ_NONE) problems.push(`${id}: wired but on queue ${m.queue}`);
  if (m.queue === PQ_FREE) {
    if (m.object !== null || m.wireCount !== 0 || m.busy || m.valid) problems.push(`${id}: free but in use`);
    return;
  }
  if (m.queue === PQ_NONE && m.wireCount === 0 && !m.busy) problems.push(`${id}: unwired, idle, on no queue`);
  if (m.queue !== PQ_NONE && m.queue !== PQ_ACTIVE && m.queue !== PQ_INACTIVE) {
    problems.push(`${id}: unknown queue ${m.queue}`);
  }
  if (m.object === null && m.wireCount === 0 && !m.busy) problems.push(`${id}: no object, not free`);
  if (m.object !== null && m.object.pages.get(m.pindex) !== m) {
    problems.push(`${id}: object ${m.object.id} has no page ${m.pindex} for it`);
  }
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
