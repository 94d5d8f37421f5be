// A long transfer repeats the same kernel steps per page and per chunk: fold each run of a
// repeated cycle of events (the same routines in the same order) into one step with a count,
// keeping the first and the last cycle. Two levels: events into per-page steps, then runs of
// steps (a whole chunk: pages, sbappend, output, write done, frees) into one step, so that the
// timeline of a large file stays short and bounded.
import type { JourneyEvent } from './recorder.js';
import { journeyEventKey, journeyEventText } from './text.js';

/** Longest cycle of events that folds (a page's lookup, wire, sf_buf, ... is about 4). */
const CYCLE_EVENTS_MAX = 8;
/** Longest cycle of steps that folds (a chunk is about 10). */
const CYCLE_STEPS_MAX = 16;
/** Steps in a timeline at most; the rest is one closing step that counts them. */
export const JOURNEY_STEPS_MAX = 300;

export interface JourneyStep {
  /** Time of the step's first event, ms since the journey started. */
  readonly tMs: number;
  /** Time of its last event (equal to tMs for a single event). */
  readonly untilMs: number;
  /** How many times the cycle ran in a row (1: not folded). */
  readonly repeat: number;
  /** The cycle's events as text (the first time it ran). */
  readonly lines: readonly string[];
  /** The last time it ran, when folded (page numbers and addresses move on). */
  readonly lastLines: readonly string[] | null;
}

interface Run {
  readonly at: number;
  readonly length: number;
  readonly repeat: number;
}

function sameCycle(keys: readonly string[], a: number, b: number, length: number): boolean {
  for (let k = 0; k < length; k++) if (keys[a + k] !== keys[b + k]) return false;
  return true;
}

/** Splits `keys` into runs: each the cycle (up to `cycleMax` long) that covers the most from its start. */
function runsOf(keys: readonly string[], cycleMax: number): Run[] {
  const runs: Run[] = [];
  for (let at = 0; at < keys.length; ) {
    let best = { length: 1, repeat: 1 };
    for (let length = 1; length <= cycleMax && at + 2 * length <= keys.length; length++) {
      let repeat = 1;
      while (at + (repeat + 1) * length <= keys.length && sameCycle(keys, at, at + repeat * length, length))
        repeat++;
      if (repeat >= 2 && repeat * length > best.repeat * best.length) best = { length, repeat };
    }
    runs.push({ at, ...best });
    at += best.length * best.repeat;
  }
  return runs;
}

/** A step's lines as one line, for a step folded into a larger cycle. */
function oneLine(step: JourneyStep): string {
  return step.repeat === 1 ? step.lines.join(' | ') : `x${step.repeat} [${step.lines.join(' | ')}]`;
}

function foldSteps(steps: readonly JourneyStep[], keys: readonly string[]): JourneyStep[] {
  const out: JourneyStep[] = [];
  for (const run of runsOf(keys, CYCLE_STEPS_MAX)) {
    const first = steps.slice(run.at, run.at + run.length);
    if (run.repeat === 1 && run.length === 1) {
      out.push(first[0]!);
      continue;
    }
    const lastAt = run.at + (run.repeat - 1) * run.length;
    out.push({
      tMs: first[0]!.tMs,
      untilMs: steps[run.at + run.repeat * run.length - 1]!.untilMs,
      repeat: run.repeat,
      lines: first.map(oneLine),
      lastLines: steps.slice(lastAt, lastAt + run.length).map(oneLine),
    });
  }
  return out;
}

/** Folds the events into at most JOURNEY_STEPS_MAX steps. */
export function foldJourney(events: readonly JourneyEvent[]): JourneyStep[] {
  const keys = events.map(journeyEventKey);
  const steps: JourneyStep[] = [];
  const stepKeys: string[] = [];
  for (const run of runsOf(keys, CYCLE_EVENTS_MAX)) {
    const end = run.at + run.length * run.repeat - 1;
    const lastAt = run.at + (run.repeat - 1) * run.length;
    steps.push({
      tMs: events[run.at]!.tMs,
      untilMs: events[end]!.tMs,
      repeat: run.repeat,
      lines: events.slice(run.at, run.at + run.length).map(journeyEventText),
      lastLines: run.repeat > 1 ? events.slice(lastAt, lastAt + run.length).map(journeyEventText) : null,
    });
    // Page-level repeat counts differ between chunks (a short last chunk): the key leaves them out.
    stepKeys.push(keys.slice(run.at, run.at + run.length).join(' ') + (run.repeat > 1 ? ' *' : ''));
  }
  const folded = foldSteps(steps, stepKeys);
  if (folded.length <= JOURNEY_STEPS_MAX) return folded;
  const kept = folded.slice(0, JOURNEY_STEPS_MAX - 1);
  const rest = folded.slice(JOURNEY_STEPS_MAX - 1);
  kept.push({
    tMs: rest[0]!.tMs,
    untilMs: rest[rest.length - 1]!.untilMs,
    repeat: 1,
    lines: [`... ${rest.length} more steps`],
    lastLines: null,
  });
  return kept;
}
