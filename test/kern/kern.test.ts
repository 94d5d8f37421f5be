// Goal: the leaf room's pieces behave as the rooms above rely on.
// Method: direct calls; the PRNG is checked for replay from its seed, the wait queue for FIFO
// order and EINTR on abort, errors for their errno numbers and partial byte counts.
import { constants } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  createPrng,
  ERRNO_MEANING,
  KernelAssertionError,
  kassert,
  ManualClock,
  parseSizeBytes,
  SysError,
  WaitQueue,
} from '../../src/kern/index.js';

describe('kern', () => {
  it('SysError carries the errno name, number and partial bytes', () => {
    const e = new SysError('EAGAIN', 'socket buffer full', 8192);
    expect(e.code).toBe('EAGAIN');
    expect(e.errno).toBe(constants.errno.EAGAIN);
    expect(e.sbytes).toBe(8192);
    expect(e.withSbytes(10).sbytes).toBe(10);
    expect(e.withSbytes(10).message).toBe(e.message);
  });

  it('every errno in the catalogue has a number in os.constants.errno', () => {
    for (const code of Object.keys(ERRNO_MEANING)) {
      expect(typeof (constants.errno as Record<string, number>)[code]).toBe('number');
    }
    expect(Object.keys(ERRNO_MEANING)).toHaveLength(15);
  });

  it('kassert throws a KernelAssertionError naming the rule', () => {
    expect(() => kassert(false, 'f: x 1 != 2')).toThrow(KernelAssertionError);
    expect(() => kassert(true, 'never')).not.toThrow();
  });

  it('parses sizes with binary suffixes and refuses nonsense', () => {
    expect(parseSizeBytes('64M')).toBe(64 * 1024 * 1024);
    expect(parseSizeBytes('512k')).toBe(512 * 1024);
    expect(parseSizeBytes('4096')).toBe(4096);
    expect(parseSizeBytes('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseSizeBytes('-1')).toBeNull();
    expect(parseSizeBytes('lots')).toBeNull();
  });

  it('the PRNG replays from its seed', () => {
    const a = createPrng(42);
    const b = createPrng(42);
    const c = createPrng(43);
    const xs = Array.from({ length: 8 }, () => a.nextU32());
    expect(Array.from({ length: 8 }, () => b.nextU32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.nextU32())).not.toEqual(xs);
    for (let i = 0; i < 1000; i++) {
      const n = a.intInclusive(3, 5);
      expect(n >= 3 && n <= 5).toBe(true);
    }
  });

  it('the wait queue wakes in FIFO order and rejects an aborted sleeper with EINTR', async () => {
    const q = new WaitQueue('test');
    const order: number[] = [];
    const ac = new AbortController();
    const p1 = q.sleep().then(() => order.push(1));
    const p2 = q.sleep(ac.signal).catch((e: SysError) => order.push(e.code === 'EINTR' ? -2 : 99));
    const p3 = q.sleep().then(() => order.push(3));
    ac.abort();
    await p2;
    expect(q.length).toBe(2);
    q.wakeOne();
    q.wakeOne();
    await Promise.all([p1, p3]);
    expect(order).toEqual([-2, 1, 3]);
    expect(q.wakeOne()).toBe(false);
    const p4 = q.sleep();
    q.wakeAll(new SysError('EPIPE', 'closed'));
    await expect(p4).rejects.toMatchObject({ code: 'EPIPE' });
  });

  it('the manual clock runs timers in order as time advances', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.setTimer(20, () => fired.push('b'));
    clock.setTimer(10, () => fired.push('a'));
    const t = clock.setTimer(15, () => fired.push('x'));
    t.cancel();
    clock.advance(12);
    expect(fired).toEqual(['a']);
    clock.advance(10);
    expect(fired).toEqual(['a', 'b']);
    expect(clock.nowMs()).toBe(22);
  });
});
