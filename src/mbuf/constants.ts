// Mirrors the constants of sys/sys/mbuf.h (amd64, LP64), the socket-buffer aliases of
// sys/sys/sockbuf.h, and the limits computed by tunable_mbinit in sys/kern/kern_mbuf.c.
// Every number is the kernel's own; names we invent carry their unit last.
import { MiB, PAGE_SIZE } from '../kern/index.js';

/** Size of one mbuf (sys/sys/param.h). */
export const MSIZE = 256;
/** Data bytes in a plain mbuf: MSIZE minus the 32-byte struct m_hdr. */
export const MLEN = 224;
/** Data bytes in a packet-header mbuf: MLEN minus the 64-byte struct pkthdr. */
export const MHLEN = 160;
/** Smallest amount of data worth a cluster. */
export const MINCLSIZE = MHLEN + 1;
/** Size of a standard cluster (MCLSHIFT 11). */
export const MCLBYTES = 2048;
export const MJUMPAGESIZE = PAGE_SIZE;
export const MJUM9BYTES = 9216;
export const MJUM16BYTES = 16384;
/** Pages one M_EXTPG mbuf can carry: 40 bytes of vm_paddr_t on LP64. */
export const MBUF_PEXT_MAX_PGS = 5;
/** Bytes of the inline KTLS record header and trailer of an M_EXTPG mbuf (sys/sys/mbuf.h). */
export const MBUF_PEXT_HDR_LEN = 23;
export const MBUF_PEXT_TRAIL_LEN = 64;

/** m_copym's "to the end of the chain". */
export const M_COPYALL = 1000000000;

// m_flags.
export const M_EXT = 0x1;
export const M_PKTHDR = 0x2;
export const M_EOR = 0x4;
export const M_RDONLY = 0x8;
export const M_BCAST = 0x10;
export const M_MCAST = 0x20;
export const M_PROMISC = 0x40;
export const M_VLANTAG = 0x80;
export const M_EXTPG = 0x100;
export const M_NOFREE = 0x200;
export const M_TSTMP = 0x400;
export const M_TSTMP_HPREC = 0x800;
export const M_TSTMP_LRO = 0x1000;
export const M_PROTO1 = 0x2000;
export const M_PROTO2 = 0x4000;
export const M_PROTO3 = 0x8000;
export const M_PROTO4 = 0x10000;
export const M_PROTO5 = 0x20000;
export const M_PROTO6 = 0x40000;
export const M_PROTO7 = 0x80000;
export const M_PROTO8 = 0x100000;
export const M_PROTO9 = 0x200000;
export const M_PROTO10 = 0x400000;
export const M_PROTO11 = 0x800000;
/** sys/sys/sockbuf.h: the socket buffer's private uses of the protocol flags. */
export const M_NOTREADY = M_PROTO1;
export const M_BLOCKED = M_PROTO2;
export const M_NOTAVAIL = M_NOTREADY | M_BLOCKED;

// ext_type.
export const EXT_CLUSTER = 1;
export const EXT_SFBUF = 2;
export const EXT_JUMBOP = 3;
export const EXT_JUMBO9 = 4;
export const EXT_JUMBO16 = 5;
export const EXT_PACKET = 6;
export const EXT_MBUF = 7;
export const EXT_RXRING = 8;
export const EXT_VENDOR1 = 224;
export const EXT_VENDOR2 = 225;
export const EXT_VENDOR3 = 226;
export const EXT_VENDOR4 = 227;
export const EXT_EXP1 = 244;
export const EXT_EXP2 = 245;
export const EXT_EXP3 = 246;
export const EXT_EXP4 = 247;
export const EXT_NET_DRV = 252;
export const EXT_MOD_TYPE = 253;
export const EXT_DISPOSABLE = 254;
export const EXT_EXTREF = 255;

// ext_flags.
export const EXT_FLAG_EMBREF = 0x000001;
export const EXT_FLAG_EXTREF = 0x000002;
export const EXT_FLAG_NOFREE = 0x000010;
export const EXT_FLAG_VENDOR1 = 0x010000;
export const EXT_FLAG_VENDOR2 = 0x020000;
export const EXT_FLAG_VENDOR3 = 0x040000;
export const EXT_FLAG_VENDOR4 = 0x080000;
export const EXT_FLAG_EXP1 = 0x100000;
export const EXT_FLAG_EXP2 = 0x200000;
export const EXT_FLAG_EXP3 = 0x400000;
export const EXT_FLAG_EXP4 = 0x800000;
/** kern_sendfile.c maps its private flags onto the vendor bits. */
export const EXT_FLAG_SYNC = EXT_FLAG_VENDOR1;
export const EXT_FLAG_NOCACHE = EXT_FLAG_VENDOR2;
export const EXT_FLAG_CACHE_LAST = EXT_FLAG_VENDOR3;

/** m_epg_flags. */
export const EPG_FLAG_ANON = 0x1;
export const EPG_FLAG_2FREE = 0x2;

/** malloc(9) wait flags as the mbuf allocators take them. */
export const M_NOWAIT = 0x0001;
export const M_WAITOK = 0x0002;
export type MbufHow = typeof M_NOWAIT | typeof M_WAITOK;

/** m_type. */
export const MT_NOTMBUF = 0;
export const MT_DATA = 1;
export const MT_HEADER = MT_DATA;

/** Zone limits, as the kern.ipc tunables name them. */
export interface MbufLimits {
  readonly nmbufs: number;
  readonly nmbclusters: number;
  readonly nmbjumbop: number;
  readonly nmbjumbo9: number;
  readonly nmbjumbo16: number;
}

/**
 * tunable_mbinit: the default limits derived from kern.ipc.maxmbufmem (a quarter of it for 2K and
 * page clusters, a sixth for 9K and 16K, a fifth for mbufs but at least one per cluster).
 */
export function tunableMbinit(maxmbufmemBytes: number): MbufLimits {
  const nmbclusters = Math.floor(maxmbufmemBytes / MCLBYTES / 4);
  const nmbjumbop = Math.floor(maxmbufmemBytes / MJUMPAGESIZE / 4);
  const nmbjumbo9 = Math.floor(maxmbufmemBytes / MJUM9BYTES / 6);
  const nmbjumbo16 = Math.floor(maxmbufmemBytes / MJUM16BYTES / 6);
  const nmbufs = Math.max(
    Math.floor(maxmbufmemBytes / MSIZE / 5),
    nmbclusters + nmbjumbop + nmbjumbo9 + nmbjumbo16,
  );
  return { nmbufs, nmbclusters, nmbjumbop, nmbjumbo9, nmbjumbo16 };
}

/** XXX(sim): kern.ipc.maxmbufmem for the default 64 MiB machine (half of its memory). */
export const MAXMBUFMEM_DEFAULT_BYTES = 32 * MiB;
/** Defaults for createKernel: nmbufs 26214, nmbclusters 4096 (slabs are carved lazily). */
export const MBUF_LIMITS_DEFAULT: MbufLimits = tunableMbinit(MAXMBUFMEM_DEFAULT_BYTES);
