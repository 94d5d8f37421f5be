// Shared fixtures of the mbuf tests: an allocator over a small simulated physical memory whose
// direct map is a view of one ArrayBuffer, as src/vm provides it.
import { PAGE_SIZE } from '../../src/kern/index.js';
import { type Mbuf, MbufAllocator, mCopydata, mLength } from '../../src/mbuf/index.js';

export interface Fixture {
  readonly a: MbufAllocator;
  readonly physmem: ArrayBuffer;
  /** The bytes of physical page `i`. */
  page(i: number): Uint8Array;
}

export function fixture(opts: { nmbufs?: number; nmbclusters?: number; pageCount?: number } = {}): Fixture {
  const physmem = new ArrayBuffer((opts.pageCount ?? 16) * PAGE_SIZE);
  const a = new MbufAllocator({
    nmbufs: opts.nmbufs ?? 1024,
    nmbclusters: opts.nmbclusters ?? 256,
    invariants: true,
    kernelId: 1,
    dmap: physmem,
  });
  return { a, physmem, page: (i) => new Uint8Array(physmem, i * PAGE_SIZE, PAGE_SIZE) };
}

/** Narrows a result that the test knows did not sleep or fail. */
export function now(r: Mbuf | null | Promise<Mbuf>): Mbuf {
  if (r === null || r instanceof Promise) throw new Error(`expected an mbuf at once, got ${String(r)}`);
  return r;
}

/** Narrows a result that the test knows had to sleep. */
export function slept(r: Mbuf | null | Promise<Mbuf>): Promise<Mbuf> {
  if (!(r instanceof Promise)) throw new Error(`expected a sleep, got ${String(r)}`);
  return r;
}

/** Bytes 0..n-1 shifted by `seed`, so that different buffers differ. */
export function pattern(n: number, seed = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

export function chainBytes(a: MbufAllocator, m: Mbuf): Uint8Array {
  const out = new Uint8Array(mLength(a, m));
  mCopydata(a, m, 0, out.length, out);
  return out;
}

export function concat(views: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(views.reduce((s, v) => s + v.length, 0));
  let at = 0;
  for (const v of views) {
    out.set(v, at);
    at += v.length;
  }
  return out;
}
