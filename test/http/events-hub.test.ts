// Goal: the event hub's bounds on their own, with time in the test's hands: a listener whose
// backlog does not drain within EVENT_STALL_MS is dropped, one that keeps up stays, and a full hub
// makes room for a new listener by dropping the one furthest behind.
// Method: a ManualClock and stand-in responses that record what is written and whether they
// were destroyed; their backlog (writableLength) is set by the test.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { EVENT_CLIENTS_MAX, EVENT_STALL_MS, EventHub, type EventSink } from '../../src/http/panel/index.js';
import { ManualClock } from '../../src/kern/index.js';

class FakeResponse extends EventEmitter implements EventSink {
  writableLength = 0;
  destroyed = false;
  frames = 0;
  writeHead(): this {
    return this;
  }
  write(): boolean {
    this.frames++;
    return true;
  }
  end(): void {
    this.emit('close');
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

function listener(hub: EventHub): FakeResponse {
  const res = new FakeResponse();
  expect(hub.attach(res)).toBe(true);
  return res;
}

describe('EventHub', () => {
  it('drops a listener whose backlog has not drained within EVENT_STALL_MS, keeps one that reads', () => {
    const clock = new ManualClock();
    const hub = new EventHub(clock, 100, () => '{}');
    const stalled = listener(hub);
    const reading = listener(hub);
    stalled.writableLength = 4096;
    clock.advance(EVENT_STALL_MS - 100);
    expect(stalled.destroyed).toBe(false);
    clock.advance(300);
    expect(stalled.destroyed).toBe(true);
    expect(reading.destroyed).toBe(false);
    expect(hub.clientCount).toBe(1);
    const before = reading.frames;
    clock.advance(1000);
    expect(reading.frames).toBe(before + 10);
    hub.closeAll();
  });

  it('a full hub makes room for a new listener: the one furthest behind goes', () => {
    const clock = new ManualClock();
    const hub = new EventHub(clock, 100, () => '{}');
    const all: FakeResponse[] = [];
    for (let i = 0; i < EVENT_CLIENTS_MAX; i++) all.push(listener(hub));
    all[7]!.writableLength = 10;
    all[20]!.writableLength = 5000;
    const fresh = listener(hub);
    expect(all[20]!.destroyed).toBe(true);
    expect(all.filter((r) => r.destroyed).length).toBe(1);
    expect(hub.clientCount).toBe(EVENT_CLIENTS_MAX);
    // None behind: the oldest makes room.
    all[7]!.writableLength = 0;
    listener(hub);
    expect(all[0]!.destroyed).toBe(true);
    expect(fresh.destroyed).toBe(false);
    hub.closeAll();
  });
});
