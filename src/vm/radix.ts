// Mirrors sys/vm/vm_radix.c: an object's resident pages indexed by page index. The kernel's is a
// path-compressed radix trie; ours is two levels, leaves of VM_RADIX_LEAF_PAGES slots (one
// reservation's worth, VM_LEVEL_0_NPAGES on amd64), so that a lookup is two array reads and the
// consecutive pages of a run sit in one leaf.
//
// Ownership: the tree holds references only; the Vm inserts a page when it gives it to the
// object and removes it when the page leaves. A leaf is dropped when its last page goes. The tree
// is generic in what it holds, so that page.ts (whose objects own one) and it do not import each other.

/** Slots per leaf: 512 pages, a 2 MiB reservation. */
export const VM_RADIX_LEAF_PAGES = 512;
const VM_RADIX_LEAF_SHIFT = 9;
const VM_RADIX_LEAF_MASK = VM_RADIX_LEAF_PAGES - 1;
const INT32_MAX = 0x7fffffff;

type Leaf<T> = (T | null)[];

export class VmRadix<T extends object> {
  private readonly leaves: (Leaf<T> | undefined)[] = [];
  /** Pages in each leaf, so an emptied leaf can be dropped. */
  private readonly leafCounts: number[] = [];
  /** resident_page_count. */
  size = 0;

  /** vm_radix_lookup: the page at `pindex`, or undefined. */
  get(pindex: number): T | undefined {
    if (pindex > INT32_MAX) return this.getFar(pindex);
    const leaf = this.leaves[pindex >> VM_RADIX_LEAF_SHIFT];
    if (leaf === undefined) return undefined;
    return leaf[pindex & VM_RADIX_LEAF_MASK] ?? undefined;
  }

  /** get() for page indexes past 2^31 (files beyond 8 TiB), where the shifts do not reach. */
  private getFar(pindex: number): T | undefined {
    const hi = Math.floor(pindex / VM_RADIX_LEAF_PAGES);
    return this.leaves[hi]?.[pindex - hi * VM_RADIX_LEAF_PAGES] ?? undefined;
  }

  /** The leaf holding `pindex` (slot `pindex % VM_RADIX_LEAF_PAGES`), or undefined: for walks over a run. */
  leafOf(pindex: number): readonly (T | null)[] | undefined {
    return this.leaves[Math.floor(pindex / VM_RADIX_LEAF_PAGES)];
  }

  has(pindex: number): boolean {
    return this.get(pindex) !== undefined;
  }

  /** vm_radix_insert (replaces a page already there). */
  set(pindex: number, m: T): void {
    const hi = Math.floor(pindex / VM_RADIX_LEAF_PAGES);
    let leaf = this.leaves[hi];
    if (leaf === undefined) {
      leaf = new Array<T | null>(VM_RADIX_LEAF_PAGES).fill(null);
      this.leaves[hi] = leaf;
      this.leafCounts[hi] = 0;
    }
    const lo = pindex - hi * VM_RADIX_LEAF_PAGES;
    if (leaf[lo] === null) {
      this.size++;
      this.leafCounts[hi] = (this.leafCounts[hi] ?? 0) + 1;
    }
    leaf[lo] = m;
  }

  /** vm_radix_remove: true when a page was there. */
  delete(pindex: number): boolean {
    const hi = Math.floor(pindex / VM_RADIX_LEAF_PAGES);
    const leaf = this.leaves[hi];
    const lo = pindex - hi * VM_RADIX_LEAF_PAGES;
    if (leaf === undefined || leaf[lo] === null || leaf[lo] === undefined) return false;
    leaf[lo] = null;
    this.size--;
    const left = (this.leafCounts[hi] ?? 1) - 1;
    this.leafCounts[hi] = left;
    if (left === 0) this.leaves[hi] = undefined;
    return true;
  }

  /** The resident pages in page-index order. */
  *values(): IterableIterator<T> {
    for (const [, m] of this) yield m;
  }

  /** [pindex, page] in page-index order. */
  *[Symbol.iterator](): IterableIterator<[number, T]> {
    for (let hi = 0; hi < this.leaves.length; hi++) {
      const leaf = this.leaves[hi];
      if (leaf === undefined) continue;
      for (let lo = 0; lo < VM_RADIX_LEAF_PAGES; lo++) {
        const m = leaf[lo];
        if (m !== null && m !== undefined) yield [hi * VM_RADIX_LEAF_PAGES + lo, m];
      }
    }
  }
}
