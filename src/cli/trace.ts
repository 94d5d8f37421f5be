// zcsim trace URL: the journey of one request through the kernel, as a timeline. The server
// makes the request itself on a fresh connection and records the kernel's events for it
// (GET /trace); this prints them, repeats folded into counts.
import type { JourneyReport, JourneyStep } from '../http/index.js';
import { ROUTES } from '../http/index.js';
import { escapeControls } from './banner.js';
import { CommandError } from './errors.js';
import { INSECURE_OPTION, readServer } from './fetch-url.js';
import { helpText, type OptionTable, parseWith, UsageError } from './options.js';

export const TRACE_OPTIONS: OptionTable = {
  json: { type: 'boolean', default: 'off', help: 'print the server answer as JSON' },
  insecure: INSECURE_OPTION,
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};
export const TRACE_USAGE = 'zcsim trace URL [options]';
const TRACE_SUMMARY = `Traces one request through the kernel of a running zcsim server and prints its timeline.
URL is a file route, e.g. http://127.0.0.1:8080/zerocopy/1m.bin (routes: ${ROUTES.join(', ')}).`;

/** The server, route and file of a file URL; a UsageError for anything else. */
export function parseTraceUrl(text: string): { origin: string; route: string; file: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`not a URL: '${text}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`url must start with http:// or https://, not '${text}'`);
  const m = /^\/([^/]+)\/(.+)$/.exec(url.pathname);
  const route = m?.[1];
  if (m === null || route === undefined || !(ROUTES as readonly string[]).includes(route))
    throw new UsageError(`url must name a file on a route (${ROUTES.map((r) => `/${r}/NAME`).join(', ')})`);
  return { origin: url.origin, route, file: decodeURIComponent(m[2] ?? '') };
}

function ms(v: number): string {
  return `${v.toFixed(3)} ms`.padStart(12);
}

function stepLines(step: JourneyStep): string[] {
  const pad = ' '.repeat(14);
  const count = step.repeat > 1 ? `x${step.repeat} ` : '';
  const out = [`${ms(step.tMs)}  ${count}${step.lines[0] ?? ''}`];
  for (const l of step.lines.slice(1)) out.push(`${pad}${' '.repeat(count.length)}${l}`);
  if (step.lastLines !== null) {
    out.push(`${pad}${' '.repeat(count.length)}... last, at ${step.untilMs.toFixed(3)} ms:`);
    for (const l of step.lastLines) out.push(`${pad}${' '.repeat(count.length)}${l}`);
  }
  return out;
}

/** The timeline as text: a summary line, then one block per step. */
export function formatTrace(r: JourneyReport): string {
  const head =
    r.so === null
      ? `${r.request}: ${r.status ?? 'no answer'}, ${r.bodyBytes} body bytes; the kernel was not used (/stream is Node's own path)`
      : `${r.request}: ${r.status ?? 'no answer'}, ${r.bodyBytes} body bytes, socket ${r.so}, vm object ${r.object}, ${r.eventsTotal} kernel events in ${r.durationMs.toFixed(1)} ms`;
  const lines = [head];
  if (!r.complete) lines.push('(incomplete: the request was cut or its socket did not close in time)');
  if (r.eventsDropped > 0) lines.push(`(${r.eventsDropped} events past the recorder's bound are not shown)`);
  for (const step of r.steps) lines.push(...stepLines(step));
  return `${lines.join('\n')}\n`;
}

export async function trace(args: readonly string[]): Promise<number> {
  const { values: v, positionals } = parseWith(TRACE_OPTIONS, args, 1);
  if (v.help) {
    process.stdout.write(helpText(TRACE_USAGE, TRACE_SUMMARY, TRACE_OPTIONS));
    return 0;
  }
  const text = positionals[0];
  if (text === undefined) throw new UsageError('a URL is required');
  const { origin, route, file } = parseTraceUrl(text);
  const query = new URLSearchParams({ route, file });
  const r = await readServer(`${origin}/trace?${query}`, v.insecure === true);
  const body: unknown = await r.json().catch(() => null);
  if (typeof body !== 'object' || body === null)
    throw new CommandError(`${origin}/trace answered ${r.status} without JSON: not a zcsim server`);
  if (!r.ok || 'error' in body) {
    const error = (body as { error?: unknown }).error;
    throw new CommandError(
      `${origin}: ${typeof error === 'string' ? escapeControls(error) : `answered ${r.status}`}`,
    );
  }
  if (!('steps' in body))
    throw new CommandError(`${origin}/trace answered without a trace: not a zcsim server`);
  const report = body as JourneyReport;
  if (!v.json) process.stdout.write(`zcsim server at ${origin}\n`);
  process.stdout.write(v.json ? `${JSON.stringify(report, null, 2)}\n` : formatTrace(report));
  return 0;
}
