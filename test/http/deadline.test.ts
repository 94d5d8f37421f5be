// Goal: a connection's response deadline aborts exactly `ms` after the response that holds it
// began, never for a response that ended it, and at once after the connection closed; one timer
// serves the responses in turn. Method: Deadline alone on a ManualClock, counting its timers.
import { describe, expect, it } from 'vitest';
import { Deadline } from '../../src/http/conn/index.js';
import { ManualClock } from '../../src/kern/index.js';

describe('Deadline', () => {
  it('aborts its signal ms after the response began', () => {
    const clock = new ManualClock();
    const d = new Deadline(clock, new AbortController().signal);
    const signal = d.start(500);
    clock.advance(499);
    expect(signal.aborted).toBe(false);
    clock.advance(1);
    expect(signal.aborted).toBe(true);
  });

  it('never aborts for a response that ended its wait, and the next one gets the whole wait', () => {
    const clock = new ManualClock();
    const d = new Deadline(clock, new AbortController().signal);
    const first = d.start(500);
    clock.advance(300);
    d.end();
    const second = d.start(500);
    expect(second).toBe(first);
    // The first response's timer fires at 500 and sleeps again until 800.
    clock.advance(200);
    expect(second.aborted).toBe(false);
    expect(clock.pendingCount()).toBe(1);
    clock.advance(299);
    expect(second.aborted).toBe(false);
    clock.advance(1);
    expect(second.aborted).toBe(true);
  });

  it('serves many responses with one timer, and a new signal once one fired', () => {
    const clock = new ManualClock();
    const d = new Deadline(clock, new AbortController().signal);
    for (let i = 0; i < 100; i++) {
      d.start(500);
      clock.advance(1);
      d.end();
    }
    expect(clock.pendingCount()).toBe(1);
    clock.advance(1000);
    expect(clock.pendingCount()).toBe(0);
    const fired = d.start(500);
    clock.advance(500);
    expect(fired.aborted).toBe(true);
    const next = d.start(500);
    expect(next).not.toBe(fired);
    expect(next.aborted).toBe(false);
  });

  it('a shorter wait than the running timer is not served late', () => {
    const clock = new ManualClock();
    const d = new Deadline(clock, new AbortController().signal);
    d.start(1000);
    d.end();
    const signal = d.start(100);
    clock.advance(100);
    expect(signal.aborted).toBe(true);
  });

  it('aborts with the connection, and is aborted from the start after it closed', () => {
    const clock = new ManualClock();
    const conn = new AbortController();
    const d = new Deadline(clock, conn.signal);
    const signal = d.start(500);
    conn.abort(new Error('closed'));
    d.abort(conn.signal.reason);
    expect(signal.aborted).toBe(true);
    expect(clock.pendingCount()).toBe(0);
    expect(d.start(500).aborted).toBe(true);
    expect(clock.pendingCount()).toBe(0);
  });
});
