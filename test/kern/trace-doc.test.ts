// Goal: docs/trace.md and the code say the same: the table names every trace channel and no
// other, and each room's events in the table are exactly those its code emits.
// Method: read the table's rows (a channel column, then backticked event names) and scan each
// room's source for its tracer's emits (`trace.emit('name'`, and `traceWire('name'`-style helpers
// that pass the name through); compare the two per channel.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TRACE_CHANNELS, type TraceRoom } from '../../src/kern/index.js';

const root = join(import.meta.dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return name.endsWith('.ts') ? [p] : [];
  });
}

/** Events per channel as docs/trace.md's table lists them. */
function documented(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  let channel = '';
  for (const line of readFileSync(join(root, 'docs', 'trace.md'), 'utf8').split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 4 || !line.startsWith('|') || cells[1] === 'channel' || cells[1]?.startsWith('---'))
      continue;
    if (cells[1] !== '') channel = cells[1]!.replace(/`/g, '');
    const events = [...(cells[2] ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    const set = out.get(channel) ?? new Set<string>();
    for (const e of events) set.add(e);
    out.set(channel, set);
  }
  return out;
}

/** Events per channel as the rooms' code emits them (a room's tracer publishes on its channel). */
function emitted(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const room of Object.keys(TRACE_CHANNELS) as TraceRoom[]) {
    const set = new Set<string>();
    for (const file of sourceFiles(join(root, 'src', room))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/trace\.emit\(\s*'([\w-]+)'|\btrace[A-Z]\w*\(\s*'([\w-]+)'/g))
        set.add(m[1] ?? m[2]!);
    }
    out.set(TRACE_CHANNELS[room], set);
  }
  return out;
}

describe('docs/trace.md', () => {
  it('names every channel, and no other', () => {
    expect([...documented().keys()].sort()).toEqual(Object.values(TRACE_CHANNELS).sort());
  });

  it("lists exactly each channel's emitted events", () => {
    const doc = documented();
    const code = emitted();
    for (const [channel, events] of code) {
      expect(events.size, `${channel} emits nothing`).toBeGreaterThan(0);
      expect([...(doc.get(channel) ?? [])].sort(), channel).toEqual([...events].sort());
    }
  });
});
