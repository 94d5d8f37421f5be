// Goal: the turns of bodies under way serve the body that has sent least first, preempt the calls
// beyond their limit (most sent first), pause the rest until their turn, and end only when no pool
// is dry. Method: BodyTurns alone on a ManualClock, with takers that count preemptions;
// every wait is a promise whose settling is observed after the microtasks run.
import { describe, expect, it } from 'vitest';
import { BODY_YIELD_MS, BodyTurns, type TurnTaker } from '../../src/http/conn/index.js';
import { ManualClock } from '../../src/kern/index.js';

function taker(): TurnTaker & { preempted: number; ac: AbortController } {
  const t = { preempted: 0, ac: new AbortController(), preempt: () => t.preempted++ };
  return t;
}

/** Whether `p` has settled once pending microtasks ran. */
async function settled(p: Promise<void>): Promise<'resolved' | 'rejected' | 'pending'> {
  let state: 'resolved' | 'rejected' | 'pending' = 'pending';
  p.then(
    () => {
      state = 'resolved';
    },
    () => {
      state = 'rejected';
    },
  );
  for (let i = 0; i < 5; i++) await Promise.resolve();
  return state;
}

describe('BodyTurns', () => {
  it('outside the turns every call goes at once', () => {
    const turns = new BodyTurns(new ManualClock(), 2, () => false);
    for (let i = 0; i < 10; i++) expect(turns.take(taker(), i, new AbortController().signal)).toBeNull();
    expect(turns.active).toBe(10);
  });

  it('preempts the calls beyond the limit, those of the bodies that sent most first', () => {
    const turns = new BodyTurns(new ManualClock(), 1, () => false);
    const [a, b, c] = [taker(), taker(), taker()];
    turns.take(a, 10, a.ac.signal);
    turns.take(b, 40, b.ac.signal);
    turns.take(c, 30, c.ac.signal);
    turns.yieldToNew();
    expect([a.preempted, b.preempted, c.preempted]).toEqual([0, 1, 1]);
  });

  it('while yielding, pauses past the limit and grants the least sent first', async () => {
    const turns = new BodyTurns(new ManualClock(), 1, () => false);
    const running = taker();
    turns.take(running, 0, running.ac.signal);
    turns.yieldToNew();
    const [big, small] = [taker(), taker()];
    const pBig = turns.take(big, 500, big.ac.signal)!;
    const pSmall = turns.take(small, 5, small.ac.signal)!;
    expect(await settled(pBig)).toBe('pending');
    expect(await settled(pSmall)).toBe('pending');
    turns.done(running);
    expect(await settled(pSmall)).toBe('resolved');
    expect(await settled(pBig)).toBe('pending');
    turns.done(small);
    expect(await settled(pBig)).toBe('resolved');
    turns.done(big);
    expect(turns.active).toBe(0);
  });

  it('a body that has sent less, first in line, preempts the call of the body that sent most', async () => {
    const turns = new BodyTurns(new ManualClock(), 1, () => false);
    const old = taker();
    turns.take(old, 1 << 20, old.ac.signal);
    turns.yieldToNew();
    expect(old.preempted).toBe(0);
    const fresh = taker();
    const p = turns.take(fresh, 64 * 1024, fresh.ac.signal)!;
    expect(old.preempted).toBe(1);
    turns.done(old);
    expect(await settled(p)).toBe('resolved');
  });

  it('a pause ends with its signal; the turns last while a pool is dry, then everyone goes on', async () => {
    const clock = new ManualClock();
    let dry = true;
    const turns = new BodyTurns(clock, 1, () => dry);
    const holder = taker();
    turns.take(holder, 0, holder.ac.signal);
    turns.yieldToNew();
    const [gone, waiting] = [taker(), taker()];
    const pGone = turns.take(gone, 1, gone.ac.signal)!;
    const pWaiting = turns.take(waiting, 2, waiting.ac.signal)!;
    gone.ac.abort();
    expect(await settled(pGone)).toBe('rejected');
    expect(turns.waiting).toBe(1);
    clock.advance(BODY_YIELD_MS * 3);
    expect(turns.yielding()).toBe(true);
    expect(await settled(pWaiting)).toBe('pending');
    dry = false;
    clock.advance(BODY_YIELD_MS * 2);
    expect(turns.yielding()).toBe(false);
    expect(await settled(pWaiting)).toBe('resolved');
  });
});
