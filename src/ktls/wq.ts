// Mirrors the KTLS work queues of sys/kern/uipc_ktls.c: one queue and one worker per CPU
// (kern.ipc.tls.bind_threads), ktls_enqueue hands a not-ready chain of records to the
// connection's queue, and the worker runs ktls_encrypt on each in order.
// XXX(sim): a worker is an async loop started with setImmediate, not a kernel thread.
import { kassert } from '../kern/index.js';
import { M_EXTPG, M_NOTREADY, type Mbuf } from '../mbuf/index.js';
import type { KSocket } from '../net/index.js';
import { TCP_TLS_MODE_SW } from './constants.js';
import { ktlsEncrypt } from './encrypt.js';
import type { KtlsEnv } from './env.js';
import type { KtlsSession } from './session.js';

interface KtlsWork {
  readonly m: Mbuf;
  readonly so: KSocket;
  readonly pageCount: number;
}

/** struct ktls_wq. */
export class KtlsWq {
  private readonly items: KtlsWork[] = [];
  running = false;

  constructor(
    private readonly env: KtlsEnv,
    readonly cpu: number,
  ) {}

  get length(): number {
    return this.items.length;
  }

  /** ktls_enqueue: queues the chain from `m` (`pageCount` pages to encrypt) for this CPU's worker. */
  enqueue(m: Mbuf, so: KSocket, pageCount: number): void {
    const epg = m.m_epg;
    kassert(
      (m.m_flags & (M_EXTPG | M_NOTREADY)) === (M_EXTPG | M_NOTREADY) && epg !== null,
      'ktls_enqueue: not unready M_EXTPG',
    );
    kassert(pageCount > 0, 'ktls_enqueue: zero page count');
    kassert((epg.m_epg_tls as KtlsSession).mode === TCP_TLS_MODE_SW, 'ktls_enqueue: not a software session');
    epg.m_epg_enc_cnt = pageCount;
    this.items.push({ m, so, pageCount });
    this.env.cells.sw_tx_inqueue++;
    if (this.env.trace.on)
      this.env.trace.emit('enqueue', () => ({ so: so.so_id, cpu: this.cpu, pages: pageCount }));
    if (!this.running) {
      this.running = true;
      setImmediate(() => void this.work());
    }
  }

  /** ktls_work_thread: encrypts queued chains in order until the queue is empty. */
  private async work(): Promise<void> {
    for (let w = this.items.shift(); w !== undefined; w = this.items.shift()) {
      await ktlsEncrypt(this.env, w.m, w.so, w.pageCount);
      this.env.cells.sw_tx_inqueue--;
      if (this.env.trace.on)
        this.env.trace.emit('encrypted', () => ({ so: w.so.so_id, cpu: this.cpu, pages: w.pageCount }));
    }
    this.running = false;
  }
}
