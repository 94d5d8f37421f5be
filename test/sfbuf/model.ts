// A reference model of the sf_buf pool for the model test: what subr_sfbuf.c and the i386
// sf_buf_shootdown promise, written with plain arrays, a Map and Sets, and no concern for speed.
// Slots are numbered 0..nsfbufs-1 (slot i has kva base + i pages); pages are physical indexes.

export interface ModelSlot {
  page: number | null;
  ref: number;
  cpus: Set<number>;
}

export interface ModelWaiter {
  readonly id: number;
  readonly page: number;
  readonly privateMap: boolean;
  readonly cpu: number;
  readonly catchSignal: boolean;
  aborted: boolean;
}

/** The outcome of an alloc: a slot now, null now, or a sleeper (waiter id). */
export type ModelAlloc = { slot: number } | { nothing: true } | { sleeper: number };

export class SfBufModel {
  readonly slots: ModelSlot[];
  readonly hash = new Map<number, number>();
  /** Free slots, least recently freed first. */
  readonly free: number[];
  readonly waiters: ModelWaiter[] = [];
  /** Waiter id -> slot it was given, filled by frees. */
  readonly granted = new Map<number, number>();
  readonly c = {
    nsfbufsused: 0,
    nsfbufspeak: 0,
    sf_allocwait: 0,
    shootdowns: 0,
    ipis: 0,
    invlpg_local: 0,
    mapping_reuses: 0,
    alloc_calls: 0,
  };
  private nextId = 0;

  constructor(
    nsfbufs: number,
    readonly cpuCount: number,
    readonly unmapOnFree: boolean,
  ) {
    this.slots = Array.from({ length: nsfbufs }, () => ({ page: null, ref: 0, cpus: new Set<number>() }));
    this.free = this.slots.map((_, i) => i);
  }

  alloc(
    page: number,
    flags: { nowait: boolean; catchSignal: boolean; privateMap: boolean; preAborted: boolean },
    cpu: number,
  ): ModelAlloc {
    this.c.alloc_calls++;
    const hit = this.hash.get(page);
    if (hit !== undefined) {
      this.take(hit, flags.privateMap, cpu);
      return { slot: hit };
    }
    const head = this.free[0];
    if (head !== undefined) {
      this.map(head, page, flags.privateMap, cpu);
      return { slot: head };
    }
    if (flags.nowait) return { nothing: true };
    this.c.sf_allocwait++;
    if (flags.catchSignal && flags.preAborted) return { nothing: true };
    const id = this.nextId++;
    this.waiters.push({
      id,
      page,
      privateMap: flags.privateMap,
      cpu,
      catchSignal: flags.catchSignal,
      aborted: false,
    });
    return { sleeper: id };
  }

  ref(slot: number): void {
    this.slots[slot]!.ref++;
  }

  free1(slot: number): void {
    const s = this.slots[slot]!;
    if (--s.ref > 0) return;
    this.c.nsfbufsused--;
    if (this.unmapOnFree) this.forget(slot);
    // Hand the slot to the sleepers in order: those whose page is mapped share it; the first that
    // needs a new mapping takes this slot; the next such sleeper waits for another free.
    let placed = false;
    for (let w = this.live(); w !== null; w = this.live()) {
      const hit = this.hash.get(w.page);
      if (hit === undefined && placed) break;
      this.waiters.shift();
      if (hit !== undefined) this.take(hit, w.privateMap, w.cpu);
      else this.map(slot, w.page, w.privateMap, w.cpu);
      if (hit === undefined || hit === slot) placed = true;
      this.granted.set(w.id, hit ?? slot);
    }
    if (!placed) this.free.push(slot);
  }

  /** An abort of a sleeper: only an SFB_CATCH sleep notices. Returns whether it gave up. */
  abort(id: number): boolean {
    const w = this.waiters.find((x) => x.id === id);
    if (w === undefined || !w.catchSignal) return false;
    w.aborted = true;
    return true;
  }

  sleepers(): number {
    return this.waiters.filter((w) => !w.aborted).length;
  }

  mask(slot: number): number {
    let m = 0;
    for (const cpu of this.slots[slot]!.cpus) m |= 1 << cpu;
    return m;
  }

  private live(): ModelWaiter | null {
    while (this.waiters[0]?.aborted === true) this.waiters.shift();
    return this.waiters[0] ?? null;
  }

  private take(slot: number, privateMap: boolean, cpu: number): void {
    const s = this.slots[slot]!;
    if (s.ref++ === 0) {
      const i = this.free.indexOf(slot);
      if (i >= 0) this.free.splice(i, 1);
      this.used();
      this.c.mapping_reuses++;
    }
    this.shootdown(s, privateMap, cpu);
  }

  private map(slot: number, page: number, privateMap: boolean, cpu: number): void {
    const i = this.free.indexOf(slot);
    if (i >= 0) this.free.splice(i, 1);
    this.forget(slot);
    const s = this.slots[slot]!;
    s.page = page;
    this.hash.set(page, slot);
    s.ref = 1;
    this.used();
    this.shootdown(s, privateMap, cpu);
  }

  private forget(slot: number): void {
    const s = this.slots[slot]!;
    if (s.page !== null) this.hash.delete(s.page);
    s.page = null;
    s.cpus.clear();
  }

  private used(): void {
    this.c.nsfbufsused++;
    this.c.nsfbufspeak = Math.max(this.c.nsfbufspeak, this.c.nsfbufsused);
  }

  private shootdown(s: ModelSlot, privateMap: boolean, cpu: number): void {
    if (!s.cpus.has(cpu)) {
      s.cpus.add(cpu);
      this.c.invlpg_local++;
    }
    if (privateMap) return;
    let others = 0;
    for (let c = 0; c < this.cpuCount; c++) {
      if (!s.cpus.has(c)) {
        s.cpus.add(c);
        others++;
      }
    }
    if (others > 0) {
      this.c.shootdowns++;
      this.c.ipis += others;
    }
  }
}
