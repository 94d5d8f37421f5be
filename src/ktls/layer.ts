// The ktls room's instance (one per kernel), the global state of sys/kern/uipc_ktls.c: the
// sysctls (kern.ipc.tls.*), the per-CPU work queues, setsockopt(TCP_TXTLS_ENABLE) (which gives
// the socket its sosend hook) and the session's end with its socket, and the at-rest check.
import { kassert, SysError, type Tracer, tracer } from '../kern/index.js';
import {
  M_NOTREADY,
  type Mbuf,
  type MbufAllocator,
  mFreem,
  mUiotombuf,
  type Uio,
  type UioPageSource,
} from '../mbuf/index.js';
import { type KSocket, PRUS_NOTREADY, type SocketLayer } from '../net/index.js';
import { type Vm, type VmPage, vmPageFreeNoobj } from '../vm/index.js';
import { ktlsAnonPages, ktlsFreeAnon } from './anon.js';
import {
  type KtlsMode,
  TCP_TLS_MODE_IFNET,
  TCP_TLS_MODE_SW,
  TLS_MAJOR_VER_ONE,
  TLS_MAX_MSG_SIZE_V10_2,
  TLS_MINOR_VER_THREE,
  TLS_RLTYPE_APP,
} from './constants.js';
import { type KtlsCounterCells, type KtlsEnv, ktlsCellsZero } from './env.js';
import { ktlsFrame, ktlsSeq } from './frame.js';
import { KtlsNic, type KtlsRexmit } from './nic.js';
import type { KtlsCryptoDriver } from './ocf.js';
import { KtlsSession, type TlsEnable } from './session.js';
import { KtlsWq } from './wq.js';

export interface KtlsConfig {
  readonly vm: Vm;
  readonly mbufs: MbufAllocator;
  readonly sockets: SocketLayer;
  readonly cpuCount: number;
  readonly invariants: boolean;
  readonly kernelId: number;
  /** kern.ipc.tls.maxlen (16 KiB); XXX(sim): a multiple of PAGE_SIZE, so a record is whole pages. */
  readonly maxlenBytes?: number;
  /** kern.ipc.tls.enable (default on here; off by default in FreeBSD 13). */
  readonly enable?: boolean;
  /**
   * kern.ipc.mb_use_ext_pgs: unmapped mbufs, which need a direct map (false for the i386-like
   * 'kva' mapping). KTLS needs them: without, TCP_TXTLS_ENABLE fails.
   */
  readonly useExtPgs: boolean;
  /** The crypto driver sessions seal with (default: ossl when built, else node-crypto). */
  readonly crypto?: KtlsCryptoDriver;
  /** Every room's checkInvariants, queued to the end of the current job (debug mode). */
  readonly checkAll: () => void;
}

/** Options of TCP_TXTLS_MODE and of the simulated NIC. */
export interface KtlsEnableOptions {
  /** TCP_TLS_MODE_SW (default) or TCP_TLS_MODE_IFNET. */
  readonly mode?: KtlsMode;
  /** A simulated lost segment (see nic.ts). */
  readonly rexmit?: KtlsRexmit;
}

export class KtlsLayer implements KtlsEnv {
  readonly vm: Vm;
  readonly mbufs: MbufAllocator;
  readonly sockets: SocketLayer;
  readonly cells: KtlsCounterCells = ktlsCellsZero();
  readonly trace: Tracer;
  readonly invariants: boolean;
  readonly maxlenBytes: number;
  readonly enable: boolean;
  readonly useExtPgs: boolean;
  readonly crypto: KtlsCryptoDriver | undefined;
  readonly freeAnon = (m: Mbuf): void => ktlsFreeAnon(this, m);
  /** m_uiotombuf's pages on a TLS socket: records of at most max_frame_len. */
  private readonly anonPages: UioPageSource;
  private readonly wqs: KtlsWq[];
  private readonly sessions = new Set<KtlsSession>();
  private readonly checkQueued: () => void;

  constructor(config: KtlsConfig) {
    this.vm = config.vm;
    this.mbufs = config.mbufs;
    this.sockets = config.sockets;
    this.invariants = config.invariants;
    this.maxlenBytes = config.maxlenBytes ?? TLS_MAX_MSG_SIZE_V10_2;
    this.enable = config.enable ?? true;
    this.useExtPgs = config.useExtPgs;
    this.crypto = config.crypto;
    this.checkQueued = config.checkAll;
    this.trace = tracer('ktls', config.kernelId);
    kassert(
      this.maxlenBytes % 4096 === 0 && this.maxlenBytes >= 4096 && this.maxlenBytes <= TLS_MAX_MSG_SIZE_V10_2,
      () => `ktls: maxlen ${this.maxlenBytes} passed the config's check`,
    );
    this.wqs = Array.from({ length: config.cpuCount }, (_, cpu) => new KtlsWq(this, cpu));
    this.anonPages = ktlsAnonPages(this, Math.min(TLS_MAX_MSG_SIZE_V10_2, this.maxlenBytes));
  }

  freeAnonPage(pg: VmPage): void {
    vmPageFreeNoobj(this.vm, pg);
    this.cells.anon_pages_held--;
  }

  /** Every room's invariant check, queued to the end of the current job (the kernel's). */
  checkAll(): void {
    this.checkQueued();
  }

  /**
   * setsockopt(TCP_TXTLS_ENABLE) then TCP_TXTLS_MODE (ktls_enable_tx): the socket's send side
   * becomes a KTLS session starting at record `en.rec_seq`. EINVAL when KTLS is off, the socket
   * has a session already (ktls(4): no rekeying), or the parameters are not TLS 1.3 AEAD.
   */
  ktlsEnableTx(so: KSocket, en: TlsEnable, opts: KtlsEnableOptions = {}): KtlsSession {
    this.cells.enable_calls++;
    if (!this.enable) throw new SysError('EINVAL', 'TCP_TXTLS_ENABLE: kern.ipc.tls.enable is 0');
    // XXX(sim): the kernel says ENOTSUP, EALREADY and ENXIO below; zcsim's errno list has EINVAL.
    if (!this.useExtPgs)
      throw new SysError('EINVAL', 'TCP_TXTLS_ENABLE: no unmapped mbufs (kern.ipc.mb_use_ext_pgs 0)');
    if (so.dropped) throw new SysError('ENOTCONN', `TCP_TXTLS_ENABLE: socket ${so.so_id} is not connected`);
    if (so.so_snd.sb_tls_info !== null) {
      throw new SysError('EINVAL', 'TCP_TXTLS_ENABLE: the socket has a session already (no rekeying)');
    }
    if (en.tls_vmajor !== TLS_MAJOR_VER_ONE || en.tls_vminor !== TLS_MINOR_VER_THREE) {
      throw new SysError('EINVAL', 'TCP_TXTLS_ENABLE: TLS 1.3 only');
    }
    if (en.iv.length !== 12 || !Number.isSafeInteger(en.rec_seq) || en.rec_seq < 0) {
      throw new SysError('EINVAL', 'TCP_TXTLS_ENABLE: bad IV or sequence number');
    }
    const mode = opts.mode ?? TCP_TLS_MODE_SW;
    if (mode !== TCP_TLS_MODE_SW && mode !== TCP_TLS_MODE_IFNET)
      throw new SysError('EINVAL', 'TCP_TXTLS_MODE: bad mode');
    // A socket has sent nothing under the session yet; what is queued was written before it.
    const tls = new KtlsSession(en, mode, this.maxlenBytes, so.cpu % this.wqs.length, this.crypto);
    so.so_snd.sb_tls_info = tls;
    so.so_snd.sb_tls_seqno = en.rec_seq;
    so.so_snd.sb_tls_tx = {
      pages: this.anonPages,
      send: (m, lengthBytes, recordType) => {
        this.cells.copyin_bytes += lengthBytes;
        return this.send(so, m, this.frame(m, tls, recordType ?? TLS_RLTYPE_APP));
      },
    };
    if (mode === TCP_TLS_MODE_IFNET || opts.rexmit !== undefined) {
      so.so_pcb.snd_tag = new KtlsNic(this, opts.rexmit ?? null);
    }
    this.sessions.add(tls);
    this.cells.offload_total++;
    this.cells.active++;
    this.countCipher(tls, 1);
    if (this.trace.on)
      this.trace.emit('enable', () => ({ so: so.so_id, session: tls.id, mode, seq: en.rec_seq }));
    return tls;
  }

  /** The socket's session, or null. */
  sessionOf(so: KSocket): KtlsSession | null {
    const tls = so.so_snd.sb_tls_info;
    return tls instanceof KtlsSession ? tls : null;
  }

  /** ktls_cleanup with the socket's end (sbdestroy): the session is no longer active. */
  ktlsCleanup(so: KSocket): void {
    const tls = this.sessionOf(so);
    if (tls === null || tls.destroyed) return;
    tls.destroyed = true;
    this.sessions.delete(tls);
    this.cells.active--;
    this.countCipher(tls, -1);
  }

  private countCipher(tls: KtlsSession, delta: number): void {
    const gcm = tls.params.cipher_algorithm === 'CRYPTO_AES_NIST_GCM_16';
    if (tls.mode === TCP_TLS_MODE_SW) {
      if (gcm) this.cells.sw_gcm += delta;
      else this.cells.sw_chacha20 += delta;
    } else if (gcm) this.cells.ifnet_gcm += delta;
    else this.cells.ifnet_chacha20 += delta;
  }

  /**
   * m_uiotombuf(..., M_EXTPG) for sendfile's headers on a TLS socket: records of at most
   * max_frame_len (every session of this kernel has the same).
   */
  uiotombuf(uio: Uio, maxBytes: number, signal?: AbortSignal): Mbuf | Promise<Mbuf> {
    const before = uio.uio_resid;
    const m = mUiotombuf(this.mbufs, uio, maxBytes, signal, this.anonPages);
    if (m instanceof Promise)
      return m.then((chain) => {
        this.cells.copyin_bytes += before - uio.uio_resid;
        return chain;
      });
    this.cells.copyin_bytes += before - uio.uio_resid;
    return m;
  }

  /** ktls_frame: returns the pages to encrypt (software mode), 0 in ifnet mode. */
  frame(top: Mbuf, tls: KtlsSession, recordType: number = TLS_RLTYPE_APP): number {
    return ktlsFrame(this.cells, top, tls, recordType);
  }

  /** ktls_seq on the socket's send buffer (called right before pr_send, under the send lock). */
  seq(so: KSocket, m: Mbuf): void {
    ktlsSeq(so.so_snd, m);
  }

  /** ktls_enqueue to the session's worker. */
  enqueue(m: Mbuf, so: KSocket, pageCount: number): void {
    const tls = m.m_epg?.m_epg_tls as KtlsSession | undefined;
    kassert(tls !== undefined, 'ktls_enqueue: mbuf without a session');
    (this.wqs[tls.wq_index] as KtlsWq).enqueue(m, so, pageCount);
  }

  /**
   * Queues framed records: numbered, appended (not ready in software mode, then queued to the
   * worker), as sosend and sendfile do on a KTLS socket. A refused pr_send frees the chain.
   */
  send(so: KSocket, m: Mbuf, enqCnt: number): SysError | null {
    const tls = this.sessionOf(so);
    kassert(tls !== null, 'ktls send: socket without a session');
    this.seq(so, m);
    if (tls.mode === TCP_TLS_MODE_SW) {
      const err = this.sockets.prSend(so, PRUS_NOTREADY, m);
      if (err !== null) {
        mFreem(this.mbufs, m);
        return err;
      }
      this.enqueue(m, so, enqCnt);
      return null;
    }
    kassert((m.m_flags & M_NOTREADY) === 0, 'ktls send: ifnet record not ready');
    return this.sockets.prSend(so, 0, m);
  }

  /** The counters under their sysctl names. */
  counters(): Readonly<Record<string, number>> {
    const c = this.cells;
    return Object.freeze({
      'kern.ipc.tls.enable': this.enable ? 1 : 0,
      'kern.ipc.tls.maxlen': this.maxlenBytes,
      'kern.ipc.tls.bind_threads': 1,
      'kern.ipc.tls.tasks_active': c.tasks_active,
      'kern.ipc.tls.stats.threads': this.wqs.length,
      'kern.ipc.tls.stats.enable_calls': c.enable_calls,
      'kern.ipc.tls.stats.offload_total': c.offload_total,
      'kern.ipc.tls.stats.active': c.active,
      'kern.ipc.tls.stats.sw_tx_inqueue': c.sw_tx_inqueue,
      'kern.ipc.tls.stats.failed_crypto': c.failed_crypto,
      'kern.ipc.tls.sw.gcm': c.sw_gcm,
      'kern.ipc.tls.sw.chacha20': c.sw_chacha20,
      'kern.ipc.tls.ifnet.gcm': c.ifnet_gcm,
      'kern.ipc.tls.ifnet.chacha20': c.ifnet_chacha20,
      'kern.ipc.tls.stats.ocf.tls13_gcm_encrypts': c.ocf_tls13_gcm_encrypts,
      'kern.ipc.tls.stats.ocf.tls13_chacha20_encrypts': c.ocf_tls13_chacha20_encrypts,
      'kern.ipc.tls.stats.ocf.inplace': c.ocf_inplace,
      'kern.ipc.tls.stats.ocf.separate_output': c.ocf_separate_output,
      records_framed: c.records_framed,
      records_sw: c.records_sw,
      records_ifnet: c.records_ifnet,
      sw_encrypt_bytes: c.sw_encrypt_bytes,
      ifnet_encrypt_bytes: c.ifnet_encrypt_bytes,
      copyin_bytes: c.copyin_bytes,
      anon_pages_allocated: c.anon_pages_allocated,
      anon_pages_held: c.anon_pages_held,
      rexmit_segments: c.rexmit_segments,
    });
  }

  /** Anonymous pages (ciphertext, headers) this layer holds wired. */
  anonPagesHeld(): number {
    return this.cells.anon_pages_held;
  }

  /** Bytes encrypted so far, by where: the kernel's workers (sw) and the NIC (ifnet). */
  encryptedBytes(): { readonly sw: number; readonly ifnet: number } {
    return { sw: this.cells.sw_encrypt_bytes, ifnet: this.cells.ifnet_encrypt_bytes };
  }

  /** The debug-mode check: counts never negative, one active count per live session. */
  checkInvariants(): void {
    const c = this.cells;
    for (const [name, v] of Object.entries(c)) kassert(v >= 0, () => `ktls invariants: ${name} is ${v}`);
    kassert(
      c.active === this.sessions.size,
      () => `ktls invariants: active ${c.active}, ${this.sessions.size} sessions`,
    );
    const queued = this.wqs.reduce((n, w) => n + w.length, 0);
    kassert(
      queued <= c.sw_tx_inqueue,
      () => `ktls invariants: ${queued} queued, sw_tx_inqueue ${c.sw_tx_inqueue}`,
    );
  }

  /** What is not at rest: queued or running encryptions, held anonymous pages, live sessions. */
  atRest(): string[] {
    const out: string[] = [];
    const c = this.cells;
    if (c.sw_tx_inqueue !== 0) out.push(`ktls: ${c.sw_tx_inqueue} chains queued for encryption`);
    if (c.tasks_active !== 0) out.push(`ktls: ${c.tasks_active} encryptions running`);
    if (c.anon_pages_held !== 0) out.push(`ktls: ${c.anon_pages_held} anonymous pages held`);
    if (c.active !== 0) out.push(`ktls: ${c.active} sessions active`);
    const busy = this.wqs.filter((w) => w.running || w.length > 0).length;
    if (busy !== 0) out.push(`ktls: ${busy} workers busy`);
    return out;
  }
}
