// What the ktls room's routines need from the kernel they run in (one KtlsLayer per kernel), and
// its counters, keyed by their sysctl names.
import type { Tracer } from '../kern/index.js';
import type { Mbuf, MbufAllocator } from '../mbuf/index.js';
import type { SocketLayer } from '../net/index.js';
import type { Vm, VmPage } from '../vm/index.js';

/** kern.ipc.tls.* counters, and the simulator's own (memory traffic, NIC work). */
export interface KtlsCounterCells {
  /** kern.ipc.tls.stats.enable_calls: setsockopt(TCP_TXTLS_ENABLE) calls. */
  enable_calls: number;
  /** kern.ipc.tls.stats.offload_total: sessions set up. */
  offload_total: number;
  /** kern.ipc.tls.stats.active: sessions alive now. */
  active: number;
  /** kern.ipc.tls.stats.sw_tx_inqueue: chains queued to the workers and not yet done. */
  sw_tx_inqueue: number;
  /** kern.ipc.tls.stats.failed_crypto. */
  failed_crypto: number;
  /** kern.ipc.tls.tasks_active: encryptions running now. */
  tasks_active: number;
  /** kern.ipc.tls.sw.gcm / chacha20, kern.ipc.tls.ifnet.gcm / chacha20: active sessions by cipher. */
  sw_gcm: number;
  sw_chacha20: number;
  ifnet_gcm: number;
  ifnet_chacha20: number;
  /** kern.ipc.tls.stats.ocf.*: software encryptions by cipher, in place or into other pages. */
  ocf_tls13_gcm_encrypts: number;
  ocf_tls13_chacha20_encrypts: number;
  ocf_inplace: number;
  ocf_separate_output: number;
  /** XXX(sim): records framed, records the CPU encrypted, records the NIC encrypted. */
  records_framed: number;
  records_sw: number;
  records_ifnet: number;
  /** XXX(sim): payload bytes the CPU encrypted (read plaintext, wrote ciphertext). */
  sw_encrypt_bytes: number;
  /** XXX(sim): payload bytes the NIC encrypted on the way out (the card's work, not the CPU's). */
  ifnet_encrypt_bytes: number;
  /** XXX(sim): bytes copied into anonymous pages by write(2) and sendfile headers on a KTLS socket. */
  copyin_bytes: number;
  /** XXX(sim): anonymous pages allocated for ciphertext and headers, and those now held. */
  anon_pages_allocated: number;
  anon_pages_held: number;
  /** XXX(sim): segments the simulated NIC sent twice (a retransmission re-reads the mbuf). */
  rexmit_segments: number;
}

export function ktlsCellsZero(): KtlsCounterCells {
  return {
    enable_calls: 0,
    offload_total: 0,
    active: 0,
    sw_tx_inqueue: 0,
    failed_crypto: 0,
    tasks_active: 0,
    sw_gcm: 0,
    sw_chacha20: 0,
    ifnet_gcm: 0,
    ifnet_chacha20: 0,
    ocf_tls13_gcm_encrypts: 0,
    ocf_tls13_chacha20_encrypts: 0,
    ocf_inplace: 0,
    ocf_separate_output: 0,
    records_framed: 0,
    records_sw: 0,
    records_ifnet: 0,
    sw_encrypt_bytes: 0,
    ifnet_encrypt_bytes: 0,
    copyin_bytes: 0,
    anon_pages_allocated: 0,
    anon_pages_held: 0,
    rexmit_segments: 0,
  };
}

export interface KtlsEnv {
  readonly vm: Vm;
  readonly mbufs: MbufAllocator;
  readonly sockets: SocketLayer;
  readonly cells: KtlsCounterCells;
  readonly trace: Tracer;
  readonly invariants: boolean;
  /** The free routine of M_EXTPG storage made of anonymous pages (mb_free_mext_pgs). */
  readonly freeAnon: (m: Mbuf) => void;
  /** Frees one anonymous page that never joined an mbuf. */
  freeAnonPage(pg: VmPage): void;
  checkAll(): void;
}
