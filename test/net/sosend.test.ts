// Goal: sosend behaves like write(2) on a FreeBSD stream socket: it copies the user's bytes into
// mbuf clusters (a real copy, never a view of the user buffer), waits for space or fails with
// EAGAIN carrying the partial count, reports EPIPE / so_error (once) / ENOTCONN / EINTR, and
// serialises concurrent senders on one socket in FIFO order.
// Method: a SocketLayer over a MemoryTransport; the test drains it by hand or lets it drain itself
// (autoDrain); every loop is bounded.
import { describe, expect, it } from 'vitest';
import { isSysError, KiB } from '../../src/kern/index.js';
import { MemoryTransport, SS_ISCONNECTED } from '../../src/net/index.js';
import { makeRig, pattern, settle } from './helpers.js';

/** Drains `t` until `p` settles (bounded). */
async function pump(t: MemoryTransport, p: Promise<unknown>, rounds = 10_000): Promise<void> {
  let done = false;
  void p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  for (let i = 0; i < rounds && !done; i++) {
    t.drain();
    await settle(5);
  }
  expect(done).toBe(true);
}

describe('sosend (the copy path)', () => {
  it('copies into clusters and the bytes arrive intact', async () => {
    const rig = makeRig();
    const t = new MemoryTransport({ autoDrain: true });
    const so = rig.net.soCreate(t);
    const buf = pattern(100 * KiB + 77, 1);
    await expect(rig.net.sosend(so, buf)).resolves.toBe(buf.length);
    await settle();
    expect(t.received()).toEqual(buf);
    for (const w of t.writes) expect(w.chunk.buffer).not.toBe(buf.buffer);
    const c = rig.net.counters();
    expect(c.copy_bytes_in).toBe(buf.length);
    expect(c.tcps_sndbyte).toBe(buf.length);
    // Neighbouring clusters of one slab are joined: far fewer views than clusters.
    expect(c.snd_views).toBeLessThan(buf.length / 2048);
    expect(rig.net.atRest()).toEqual([]);
    expect(rig.mbufs.atRest()).toEqual([]);
  });

  it('sleeps in sbwait when the buffer is full and finishes as writes complete', async () => {
    const rig = makeRig();
    const t = new MemoryTransport();
    const so = rig.net.soCreate(t);
    const buf = pattern(80 * KiB, 2);
    const p = rig.net.sosend(so, buf);
    await pump(t, p);
    await expect(p).resolves.toBe(buf.length);
    t.drain();
    expect(t.received()).toEqual(buf);
    expect(rig.net.counters().sbwait_sleeps).toBeGreaterThan(0);
    expect(rig.mbufs.atRest()).toEqual([]);
  });

  it('a non-blocking socket fails with EAGAIN carrying the bytes queued', async () => {
    const rig = makeRig();
    const t = new MemoryTransport();
    const so = rig.net.soCreate(t, { nonblocking: true });
    const err = await rig.net.sosend(so, pattern(64 * KiB, 3)).catch((e: unknown) => e);
    expect(isSysError(err) && err.code).toBe('EAGAIN');
    expect(isSysError(err) && err.sbytes).toBe(32 * KiB);
    expect(rig.net.counters().sbwait_sleeps).toBe(0);
    expect(rig.net.atRest()).toEqual([
      `socket 0: ${32 * KiB} bytes queued (${32 * KiB} ready)`,
      'socket 0: 1 batches in flight',
    ]);
    t.drain();
    expect(rig.mbufs.atRest()).toEqual([]);
  });

  it('senders on one socket are serialised FIFO: their bytes never interleave', async () => {
    const rig = makeRig();
    const t = new MemoryTransport();
    const so = rig.net.soCreate(t);
    const a = pattern(70 * KiB, 4);
    const b = pattern(50 * KiB, 5);
    const pa = rig.net.sosend(so, a);
    const pb = rig.net.sosend(so, b);
    await pump(t, Promise.all([pa, pb]));
    t.drain();
    const got = t.received();
    expect(got.subarray(0, a.length)).toEqual(a);
    expect(got.subarray(a.length)).toEqual(b);
    expect(rig.net.counters().sblock_sleeps).toBe(1);
    expect(rig.net.atRest()).toEqual([]);
  });

  it('EPIPE after a reset, with the bytes queued before it', async () => {
    const rig = makeRig();
    const t = new MemoryTransport();
    const so = rig.net.soCreate(t);
    const p = rig.net.sosend(so, pattern(200 * KiB, 6)).catch((e: unknown) => e);
    t.drain();
    await settle();
    t.fail('ECONNRESET');
    const err = await p;
    expect(isSysError(err) && err.code).toBe('EPIPE');
    expect(isSysError(err) && err.sbytes).toBeGreaterThanOrEqual(32 * KiB);
    expect(so.so_error).toBe('ECONNRESET');
    await settle();
    expect(rig.net.atRest()).toEqual([]);
    expect(rig.mbufs.atRest()).toEqual([]);
  });

  it('so_error is returned once; ENOTCONN when not connected; EINTR when the signal aborts', async () => {
    const rig = makeRig();
    const t = new MemoryTransport({ autoDrain: true });
    const so = rig.net.soCreate(t);
    so.so_error = 'EIO';
    await expect(rig.net.sosend(so, pattern(10, 7))).rejects.toMatchObject({ code: 'EIO', sbytes: 0 });
    await expect(rig.net.sosend(so, pattern(10, 7))).resolves.toBe(10);
    so.so_state &= ~SS_ISCONNECTED;
    await expect(rig.net.sosend(so, pattern(10, 7))).rejects.toMatchObject({ code: 'ENOTCONN' });
    so.so_state |= SS_ISCONNECTED;
    const blocked = new MemoryTransport();
    const so2 = rig.net.soCreate(blocked);
    const ac = new AbortController();
    const p = rig.net.sosend(so2, pattern(40 * KiB, 8), ac.signal).catch((e: unknown) => e);
    await settle();
    ac.abort();
    const err = await p;
    expect(isSysError(err) && err.code).toBe('EINTR');
    expect(isSysError(err) && err.sbytes).toBe(32 * KiB);
    blocked.drain();
    await settle();
    expect(rig.net.atRest()).toEqual([]);
    expect(rig.mbufs.atRest()).toEqual([]);
  });
});
