// What a kernel says of itself: stats() grouped by room in the kernel's spelling, the peaks of
// its gauges, the at-rest check every end-to-end test ends with, and the kernel-wide invariants
// (each room's own check, then what holds across rooms). Each room exports its own counters and
// peaks; this file only gathers them.
import { kassert, type MemoryTraffic, memoryTraffic } from '../kern/index.js';
import type { KtlsLayer } from '../ktls/index.js';
import { chainHolding, type MbufAllocator, type MbufCounters, NO_HOLDING } from '../mbuf/index.js';
import type { KSocket, SocketCounters, SocketLayer, TcpStat } from '../net/index.js';
import type { CopyStat, SendfileLayer, SfStat } from '../sendfile/index.js';
import type { SfBufCounters, SfBufMap } from '../sfbuf/index.js';
import type { Vm, VmStats } from '../vm/index.js';

/**
 * stats(): one JSON-friendly snapshot, grouped by room, keys in the kernel's spelling:
 * vm (v_*_count, pageins, ...), sfbuf (nsfbufs, nsfbufsused, nsfbufspeak, sf_allocwait, ...),
 * mbuf (the netstat -m zones), sendfile (struct sfstat), copy (copy_bytes_out/in of the copy
 * path), sockets (the socket layer's counters).
 */
export interface KernelStats {
  readonly vm: VmStats;
  readonly sfbuf: SfBufCounters;
  readonly mbuf: MbufCounters;
  readonly sendfile: Readonly<SfStat>;
  readonly copy: Readonly<CopyStat>;
  readonly sockets: SocketCounters;
  /** netstat -s -p tcp: the send side of struct tcpstat, and the segments the card put on the wire. */
  readonly tcp: Readonly<TcpStat>;
  /** kern.ipc.tls.* by sysctl name, and the KTLS work counters. */
  readonly ktls: Readonly<Record<string, number>>;
  /** Bytes moved through memory by the CPU and the NIC (src/kern/memtraffic.ts). */
  readonly memory: MemoryTraffic;
  /** The gauges' highest values since the previous stats() (between two samples). */
  readonly peaks: KernelPeaks;
}

/**
 * High-water marks of the gauges, reset by each read: a sampler that runs between event-loop
 * turns sees the gauges at their low point, the peaks say how high they went in between.
 */
export interface KernelPeaks {
  readonly nsfbufsused: number;
  readonly mbufs: number;
  readonly clusters: number;
  readonly v_wire_count: number;
}

export interface KernelAtRest {
  readonly atRest: boolean;
  /** What is not at rest, one line each (sf_bufs, mbufs, wired pages, sleepers, queued bytes). */
  readonly leaks: string[];
}

/** The rooms of one kernel, as stats and invariants read them. */
export interface KernelRooms {
  readonly vm: Vm;
  readonly sfbufs: SfBufMap;
  readonly mbufs: MbufAllocator;
  readonly sockets: SocketLayer;
  readonly sendfileLayer: SendfileLayer;
  readonly ktls: KtlsLayer;
}

/** The memory traffic model over a kernel's counters (copies, encryption, output). */
export function kernelMemoryTraffic(k: KernelRooms): MemoryTraffic {
  const copy = k.sendfileLayer.copyCounters();
  const enc = k.ktls.encryptedBytes();
  return memoryTraffic({
    copyOutBytes: copy.copy_bytes_out,
    copyInBytes: copy.copy_bytes_in,
    swEncryptBytes: enc.sw,
    nicEncryptBytes: enc.ifnet,
    wireBytes: k.sockets.counters().tcps_sndbyte,
  });
}

/** One snapshot of every room; reading it resets the peaks. */
export function kernelStats(k: KernelRooms): KernelStats {
  const mbufPeaks = k.mbufs.takePeaks();
  return {
    vm: k.vm.stats,
    sfbuf: k.sfbufs.counters(),
    mbuf: k.mbufs.counters(),
    sendfile: k.sendfileLayer.counters(),
    copy: k.sendfileLayer.copyCounters(),
    sockets: k.sockets.counters(),
    tcp: k.sockets.tcpstat(),
    ktls: k.ktls.counters(),
    memory: kernelMemoryTraffic(k),
    peaks: {
      nsfbufsused: k.sfbufs.takeUsedPeak(),
      mbufs: mbufPeaks.mbufs,
      clusters: mbufPeaks.clusters,
      v_wire_count: k.vm.takeWirePeak(),
    },
  };
}

/**
 * Every room's at-rest check: no sf_buf, mbuf or cluster in use, no wired page, no sleeper, no
 * queued byte. `except` is a socket whose send buffer does not count (the one asking for stats).
 */
export function kernelAtRest(k: KernelRooms, except: KSocket | null = null): KernelAtRest {
  const leaks = [
    ...k.vm.atRest(),
    ...k.sfbufs.atRest(),
    ...k.mbufs.atRest(except === null ? NO_HOLDING : chainHolding(except.so_snd.sb_mb)),
    ...k.sockets.atRest(except),
    ...k.sendfileLayer.atRest(),
    ...k.ktls.atRest(),
  ];
  return { atRest: leaks.length === 0, leaks };
}

/** Every room's O(n) invariant check, then what holds across rooms (the debug mode's check). */
export function checkKernelInvariants(k: KernelRooms): void {
  k.vm.checkInvariants();
  k.sfbufs.checkInvariants();
  k.mbufs.checkInvariants();
  k.sockets.checkInvariants();
  k.ktls.checkInvariants();
  // Across rooms: a held sf_buf maps a wired page (sf_buf_alloc's precondition holds until
  // sf_buf_free, which the free routine calls before it unwires), one buffer per page.
  const used = k.sfbufs.counters().nsfbufsused;
  const wired = k.vm.stats.v_wire_count;
  kassert(used <= wired, () => `kernel invariants: ${used} sf_bufs held but ${wired} pages wired`);
  // KTLS's ciphertext and header pages are wired anonymous pages, never mapped by an sf_buf.
  const anon = k.ktls.anonPagesHeld();
  kassert(
    used + anon <= wired,
    () => `kernel invariants: ${used} sf_bufs and ${anon} KTLS pages, ${wired} wired`,
  );
}

/**
 * The one invariants hook every room is given: a free callback runs inside the mbuf and socket
 * code, whose structures may be half updated, so the check is queued to the end of the current job.
 */
export function queuedInvariantsHook(check: () => void): () => void {
  let queued = false;
  return () => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      check();
    });
  };
}
