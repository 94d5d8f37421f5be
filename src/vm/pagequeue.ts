// Mirrors struct vm_pagequeue (sys/vm/vm_pagequeue.h): a TAILQ of pages threaded through the
// pages themselves (plinks.q), with its length (pq_cnt).
//
// Ownership: a page is on at most one queue at a time and `page.queue` names it; only the queue
// that holds a page touches its `qnext`/`qprev`. Insert and remove are O(1) and allocate nothing,
// so wiring and unwiring a page costs a few field writes (no Array.splice on the hot path).

import { panic } from '../kern/index.js';
import type { PageQueue, VmPage } from './page.js';
import * as page from './page.js';

// Module-local copies of the constants the per-page code tests: V8 reads an imported binding
// through its module cell at every use (a load and a check), a module-local const not at all.
const { PQ_NONE } = page;

export class VmPagequeue {
  head: VmPage | null = null;
  tail: VmPage | null = null;
  /** pq_cnt: pages on the queue. */
  count = 0;

  constructor(
    /** The `queue` value every page on this list carries (PQ_INACTIVE, PQ_ACTIVE, PQ_FREE). */
    readonly id: PageQueue,
    readonly name: string,
  ) {}

  /** TAILQ_INSERT_TAIL: the most recently used end (reclaimed last). */
  insertTail(m: VmPage): void {
    if (m.queue !== PQ_NONE) this.notHere(m, 'insert');
    m.queue = this.id;
    m.qnext = null;
    m.qprev = this.tail;
    if (this.tail) this.tail.qnext = m;
    else this.head = m;
    this.tail = m;
    this.count++;
  }

  /** TAILQ_INSERT_HEAD: the end the page daemon scans first (reclaimed soonest). */
  insertHead(m: VmPage): void {
    if (m.queue !== PQ_NONE) this.notHere(m, 'insert');
    m.queue = this.id;
    m.qprev = null;
    m.qnext = this.head;
    if (this.head) this.head.qprev = m;
    else this.tail = m;
    this.head = m;
    this.count++;
  }

  /** TAILQ_REMOVE: takes `m` off this queue; it is left on none (PQ_NONE). */
  remove(m: VmPage): void {
    if (m.queue !== this.id) this.notHere(m, 'remove');
    const { qnext, qprev } = m;
    if (qprev) qprev.qnext = qnext;
    else this.head = qnext;
    if (qnext) qnext.qprev = qprev;
    else this.tail = qprev;
    m.qnext = null;
    m.qprev = null;
    m.queue = PQ_NONE;
    this.count--;
  }

  /** Moves `m` (on this queue) to the tail: the LRU "requeue". */
  requeue(m: VmPage): void {
    if (m.queue !== this.id) this.notHere(m, 'requeue');
    const tail = this.tail;
    if (tail === m || tail === null) return;
    // Unlink (m is not the tail, so it has a next), then link after the old tail.
    const { qnext, qprev } = m;
    if (qprev) qprev.qnext = qnext;
    else this.head = qnext;
    (qnext as VmPage).qprev = qprev;
    m.qprev = tail;
    m.qnext = null;
    tail.qnext = m;
    this.tail = m;
  }

  /** A page on the wrong queue for `op` (remove, requeue: not on this one; insert: on some queue). */
  private notHere(m: VmPage, op: string): never {
    const where = op === 'insert' ? 'still on' : 'on';
    panic(`${this.name}: ${op} page ${m.physIndex} ${where} queue ${m.queue}`);
  }

  /** Walks the list, checking links and length (the O(n) invariant check). */
  check(problems: string[]): void {
    let n = 0;
    let prev: VmPage | null = null;
    for (let m = this.head; m; m = m.qnext) {
      if (m.queue !== this.id) problems.push(`${this.name}: page ${m.physIndex} has queue ${m.queue}`);
      if (m.qprev !== prev) problems.push(`${this.name}: page ${m.physIndex} qprev broken`);
      prev = m;
      if (++n > this.count) break;
    }
    if (prev !== this.tail) problems.push(`${this.name}: tail is not the last page`);
    if (n !== this.count) problems.push(`${this.name}: count ${this.count} but ${n} linked`);
  }
}
