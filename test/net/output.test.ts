// Goal: output hands the ready head of so_snd to the transport as one corked writev of views of
// the mbufs' own memory, frees those mbufs only when the batch's write callback runs, and wakes
// senders; a dropped connection frees everything, leaves not-ready mbufs to their owner, and
// wakes every waiter with the error.
// Method: a SocketLayer over a MemoryTransport whose callbacks fire only when the test drains it,
// so every step is deterministic; the debug-mode invariants run after every operation.
import diagnosticsChannel from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { isSysError, PAGE_SIZE, SysError, TRACE_CHANNELS, type TraceEvent } from '../../src/kern/index.js';
import { M_NOTREADY } from '../../src/mbuf/index.js';
import {
  MemoryTransport,
  PRUS_NOTREADY,
  SB_AUTOSIZE,
  SB_UPCALL,
  SBS_CANTSENDMORE,
} from '../../src/net/index.js';
import { makeRig, settle } from './helpers.js';

describe('output over a MemoryTransport', () => {
  it('one cork per batch, adjacent pages joined into one view of physical memory', () => {
    const rig = makeRig();
    const t = new MemoryTransport();
    const so = rig.net.soCreate(t);
    expect(rig.net.prSend(so, 0, rig.pageChain(3, 4))).toBeNull();
    expect(t.corks).toBe(1);
    expect(t.batches).toBe(1);
    expect(t.writes).toHaveLength(1);
    const w = t.writes[0];
    expect(w?.chunk.buffer).toBe(rig.physmem);
    expect(w?.chunk.byteOffset).toBe(3 * PAGE_SIZE);
    expect(w?.chunk.length).toBe(4 * PAGE_SIZE);
    expect(w?.hasCallback).toBe(true);
    // Not freed before the write callback.
    expect(rig.freed.slice(3, 7)).toEqual([0, 0, 0, 0]);
    expect(so.so_snd.sb_ccc).toBe(4 * PAGE_SIZE);
    expect(so.so_snd.sb_sndptroff).toBe(4 * PAGE_SIZE);
    expect(rig.net.atRest()).not.toEqual([]);
    t.drain();
    expect(rig.freed.slice(3, 7)).toEqual([1, 1, 1, 1]);
    expect(so.so_snd.sb_ccc).toBe(0);
    expect(rig.net.atRest()).toEqual([]);
    expect(rig.mbufs.atRest()).toEqual([]);
    const c = rig.net.counters();
    expect([c.tcps_sndbyte, c.snd_batches, c.snd_views, c.sb_dropped_bytes]).toEqual([
      4 * PAGE_SIZE,
      1,
      1,
      4 * PAGE_SIZE,
    ]);
    expect(new Uint8Array(rig.physmem, 3 * PAGE_SIZE, 4 * PAGE_SIZE)).toEqual(t.received());
  });

  it('several batches in flight; each callback frees only its own batch', () => {
    const rig = makeRig();
    const t = new MemoryTransport();
    const so = rig.net.soCreate(t);
    rig.net.prSend(so, 0, rig.pageMbuf(0, 1000));
    rig.net.prSend(so, 0, rig.pageChain(8, 2));
    expect(t.batches).toBe(2);
    expect(so.so_pcb.batches.map((b) => b.bytes)).toEqual([1000, 2 * PAGE_SIZE]);
    t.drain(1);
    expect(rig.freed[0]).toBe(1);
    expect(rig.freed.slice(8, 10)).toEqual([0, 0]);
    expect(so.so_snd.sb_ccc).toBe(2 * PAGE_SIZE);
    t.drain();
    expect(rig.freed.slice(8, 10)).toEqual([1, 1]);
    expect(rig.net.atRest()).toEqual([]);
  });

  it('soupcall_set: the upcall runs at each acknowledgement, after its bytes were dropped; soclose clears it', () => {
    const rig = makeRig();
    const t = new MemoryTransport();
    const so = rig.net.soCreate(t);
    const seen: number[] = [];
    rig.net.soupcallSet(so, () => seen.push(so.so_snd.sb_ccc));
    expect(so.so_snd.sb_flags & SB_UPCALL).toBe(SB_UPCALL);
    rig.net.prSend(so, 0, rig.pageMbuf(0, 1000));
    rig.net.prSend(so, 0, rig.pageChain(8, 2));
    expect(seen).toEqual([]);
    t.drain(1);
    expect(seen).toEqual([2 * PAGE_SIZE]);
    t.drain();
    expect(seen).toEqual([2 * PAGE_SIZE, 0]);
    rig.net.soclose(so);
    expect(so.so_snd.sb_flags & SB_UPCALL).toBe(0);
    expect(so.so_snd.sb_upcall).toBeNull();
  });

  it('not-ready data is not written until prReady makes it available, in order', () => {
    const rig = makeRig();
    const t = new MemoryTransport();
    const so = rig.net.soCreate(t);
    const nr = rig.pageChain(0, 2, true);
    expect(rig.net.prSend(so, PRUS_NOTREADY, nr)).toBeNull();
    rig.net.prSend(so, 0, rig.pageMbuf(2));
    expect(t.writes).toHaveLength(0);
    expect(rig.net.prReady(so, nr, 2)).toBeNull();
    expect(t.writes).toHaveLength(1);
    expect(t.writes[0]?.chunk.length).toBe(3 * PAGE_SIZE);
    t.drain();
    expect(rig.mbufs.atRest()).toEqual([]);
  });

  it('sbwait sleeps until a write callback frees space', async () => {
    const rig = makeRig({ sndbufBytes: 4 * PAGE_SIZE });
    const t = new MemoryTransport();
    const so = rig.net.soCreate(t);
    rig.net.prSend(so, 0, rig.pageChain(0, 4));
    expect(rig.net.sbspace(so.so_snd)).toBe(0);
    let woke = false;
    const p = rig.net.sbwait(so).then(() => {
      woke = true;
    });
    await settle();
    expect(woke).toBe(false);
    expect(rig.net.atRest()).toContain('socket 0: 1 sleeping in sbwait');
    t.drain();
    await p;
    expect(woke).toBe(true);
    expect(rig.net.counters().sbwait_sleeps).toBe(1);
  });

  it('an aborted signal ends sbwait with EINTR', async () => {
    const rig = makeRig();
    const so = rig.net.soCreate(new MemoryTransport());
    const ac = new AbortController();
    const p = rig.net.sbwait(so, ac.signal);
    ac.abort();
    await expect(p).rejects.toMatchObject({ code: 'EINTR' });
  });

  it('a peer reset frees everything, keeps not-ready mbufs for their owner, and wakes waiters', async () => {
    const rig = makeRig({ sndbufBytes: 6 * PAGE_SIZE });
    const t = new MemoryTransport();
    const so = rig.net.soCreate(t);
    rig.net.prSend(so, 0, rig.pageChain(0, 2));
    const nr = rig.pageChain(2, 2, true);
    rig.net.prSend(so, PRUS_NOTREADY, nr);
    rig.net.prSend(so, 0, rig.pageChain(4, 2));
    const waiter = rig.net.sbwait(so).catch((e: unknown) => e);
    t.fail('ECONNRESET');
    const err = await waiter;
    expect(isSysError(err) && err.code).toBe('ECONNRESET');
    expect(so.so_error).toBe('ECONNRESET');
    expect(so.so_snd.sb_state & SBS_CANTSENDMORE).toBe(SBS_CANTSENDMORE);
    expect(rig.freed.slice(0, 6)).toEqual([1, 1, 0, 0, 1, 1]);
    expect(nr.m_flags & M_NOTREADY).toBe(M_NOTREADY);
    const late = rig.net.prReady(so, nr, 2);
    expect(late).toBeInstanceOf(SysError);
    expect(late?.code).toBe('ECONNRESET');
    expect(rig.freed.slice(0, 6)).toEqual([1, 1, 1, 1, 1, 1]);
    expect(rig.net.prSend(so, 0, rig.pageMbuf(7))?.code).toBe('ECONNRESET');
    expect(rig.freed[7]).toBe(1);
    expect(rig.mbufs.atRest()).toEqual([]);
    expect(rig.net.atRest()).toEqual([]);
    expect(rig.net.counters().aborts).toEqual({ ECONNRESET: 1 });
    await expect(rig.net.sosend(so, new Uint8Array(10))).rejects.toMatchObject({ code: 'EPIPE' });
    rig.net.soclose(so);
    rig.net.soclose(so);
    expect(rig.net.counters().so_open).toBe(0);
  });

  it('prAbort(EIO) destroys the transport; late write callbacks are ignored', async () => {
    const rig = makeRig();
    const t = new MemoryTransport();
    const so = rig.net.soCreate(t);
    rig.net.prSend(so, 0, rig.pageChain(0, 2));
    rig.net.prAbort(so, 'EIO');
    expect(t.destroyed).toBe(true);
    expect(so.so_error).toBe('EIO');
    expect(rig.freed.slice(0, 2)).toEqual([1, 1]);
    await settle();
    expect(rig.mbufs.atRest()).toEqual([]);
    expect(rig.net.counters().aborts).toEqual({ EIO: 1 });
  });

  it('soclose of an idle socket detaches every listener and leaves the transport alone', () => {
    const rig = makeRig();
    const t = new MemoryTransport();
    const so = rig.net.soCreate(t);
    expect(t.listenerCount('error') + t.listenerCount('close')).toBe(2);
    rig.net.soclose(so);
    expect(t.listenerCount('error') + t.listenerCount('close')).toBe(0);
    expect(t.destroyed).toBe(false);
    expect(rig.net.counters().so_open).toBe(0);
  });

  it('soclose with data in flight destroys the transport and frees the data', () => {
    const rig = makeRig();
    const t = new MemoryTransport();
    const so = rig.net.soCreate(t);
    rig.net.prSend(so, 0, rig.pageChain(0, 2));
    rig.net.soclose(so);
    expect(t.destroyed).toBe(true);
    expect(rig.freed.slice(0, 2)).toEqual([1, 1]);
    expect(rig.mbufs.atRest()).toEqual([]);
  });

  it('SB_AUTOSIZE grows sb_hiwat by sendbuf_inc while the buffer keeps filling', () => {
    const rig = makeRig({ sndbufBytes: 4 * PAGE_SIZE, autosize: true });
    const t = new MemoryTransport();
    const so = rig.net.soCreate(t);
    expect(so.so_snd.sb_flags & SB_AUTOSIZE).toBe(SB_AUTOSIZE);
    for (let round = 0; round < 3; round++) {
      const pages = Math.floor(so.so_snd.sb_hiwat / PAGE_SIZE);
      rig.net.prSend(so, 0, rig.pageChain(0, Math.min(pages, 16)));
      t.drain();
    }
    expect(so.so_snd.sb_hiwat).toBeGreaterThan(4 * PAGE_SIZE);
    expect(rig.net.counters().sb_autosize_grows).toBeGreaterThan(0);
    expect(rig.mbufs.atRest()).toEqual([]);
  });

  it('publishes socreate, sbappend, output, ack, sbdrop and drop events on the net trace channel', () => {
    const rig = makeRig();
    const events: string[] = [];
    const listener = (e: unknown): void => {
      const ev = e as TraceEvent;
      if (ev.kernelId === 1) events.push(`${ev.event}:${String(ev.bytes ?? ev.code)}`);
    };
    diagnosticsChannel.subscribe(TRACE_CHANNELS.net, listener);
    try {
      const t = new MemoryTransport();
      const so = rig.net.soCreate(t);
      rig.net.prSend(so, 0, rig.pageMbuf(0, 100));
      t.drain();
      rig.net.prAbort(so, 'EPIPE');
    } finally {
      diagnosticsChannel.unsubscribe(TRACE_CHANNELS.net, listener);
    }
    expect(events).toEqual([
      'socreate:undefined',
      'sbappend:100',
      'output:100',
      'ack:100',
      'sbdrop:100',
      'drop:EPIPE',
    ]);
  });

  it('SO_SNDBUF: settable up to sb_max_adj (ENOBUFS beyond), turning autosizing off', () => {
    const rig = makeRig({ autosize: true, maxsockbufBytes: 2 * 1024 * 1024 });
    const so = rig.net.soCreate(new MemoryTransport());
    expect(so.so_snd.sb_flags & SB_AUTOSIZE).toBe(SB_AUTOSIZE);
    rig.net.sbsetoptSndbuf(so, 1024 * 1024);
    expect(so.so_snd.sb_hiwat).toBe(1024 * 1024);
    expect(so.so_snd.sb_mbmax).toBe(2 * 1024 * 1024);
    expect(so.so_snd.sb_flags & SB_AUTOSIZE).toBe(0);
    expect(() => rig.net.sbsetoptSndbuf(so, 2 * 1024 * 1024)).toThrow(/ENOBUFS/);
    expect(so.so_snd.sb_hiwat).toBe(1024 * 1024);
    expect(() => rig.net.soCreate(new MemoryTransport(), { sndbufBytes: 2 * 1024 * 1024 })).toThrow(
      /ENOBUFS/,
    );
  });

  it('MemoryTransport: writes outside a cork are a batch each; destroy fails pending callbacks', async () => {
    const t = new MemoryTransport();
    const results: string[] = [];
    t.write(new Uint8Array(3), (e) => results.push(e ? 'err' : 'ok'));
    t.write(new Uint8Array(4), (e) => results.push(e ? 'err' : 'ok'));
    expect(t.batches).toBe(2);
    expect(t.pendingBytes).toBe(7);
    expect(t.drain(1)).toBe(3);
    expect(results).toEqual(['ok']);
    t.on('close', () => results.push('close'));
    t.destroy();
    await settle();
    expect(results).toEqual(['ok', 'err', 'close']);
    expect(t.write(new Uint8Array(1))).toBe(false);
  });
});
