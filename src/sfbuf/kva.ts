// Kernel virtual addresses as the sf_buf code hands them out: amd64's direct map
// (PHYS_TO_DMAP, sys/amd64/include/vmparam.h) and the i386 KVA area the pool is carved from
// (kva_alloc(nsfbufs * PAGE_SIZE) in sf_buf_init, sys/kern/subr_sfbuf.c).
import { PAGE_SIZE } from '../kern/index.js';

/**
 * amd64 DMAP_MIN_ADDRESS 0xfffff80000000000, kept as its low 48 bits (0xf80000000000).
 * XXX(sim): a JavaScript number holds integers below 2^53 exactly, so a direct-map kva is the
 * 48-bit virtual address before sign extension; formatKva restores the canonical form (the top
 * 16 bits copy bit 47) with a BigInt, so traces print 0xfffff800xxxxxxxx as the kernel does.
 */
export const DMAP_MIN_ADDRESS_48 = 0xf800_0000_0000;
const CANONICAL_BIT = 2 ** 47;
const SIGN_EXTENSION = 0xffff_0000_0000_0000n;

/**
 * Where the simulated pool's KVA starts: a page-aligned address in the top gigabyte, where the
 * classic i386 kernel map lives (KERNBASE 0xc0000000). XXX(sim): the kernel takes this range
 * from kva_alloc at boot; we fix it so that addresses repeat from run to run.
 */
export const SFBUF_KVA_BASE = 0xc800_0000;

/** PHYS_TO_DMAP(pa), as a 48-bit number. */
export function physToDmap(physAddr: number): number {
  return DMAP_MIN_ADDRESS_48 + physAddr;
}

/** The fixed kva of pool slot `slot`. */
export function poolSlotKva(slot: number): number {
  return SFBUF_KVA_BASE + slot * PAGE_SIZE;
}

/** 0x-hex shaped like the kernel's pointer: 16 digits for amd64 addresses, 8 for i386 ones. */
export function formatKva(kva: number): string {
  if (kva >= CANONICAL_BIT) return `0x${(BigInt(kva) | SIGN_EXTENSION).toString(16)}`;
  return `0x${kva.toString(16).padStart(8, '0')}`;
}
