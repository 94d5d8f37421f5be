// zcsim stat [url]: a running server's counters in the layout of `netstat -m` (the kernel's own
// text from /stats), followed by the demo's per-route lines; --watch repeats every second.
import { setTimeout as sleep } from 'node:timers/promises';
import { ROUTES, type StatsSnapshot } from '../http/index.js';
import { formatBytes } from '../kern/index.js';
import { helpText, intOption, type OptionTable, parseWith, UsageError } from './options.js';

export const STAT_OPTIONS: OptionTable = {
  watch: { type: 'boolean', short: 'w', default: 'off', help: 'print again every interval until Ctrl-C' },
  interval: { type: 'string', default: '1000', value: 'MS', help: 'interval of --watch' },
  count: { type: 'string', default: 'unlimited', value: 'N', help: 'with --watch: stop after N prints' },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};
export const STAT_USAGE = 'zcsim stat [url] [options]';
const STAT_SUMMARY =
  "Prints a running zcsim server's counters as netstat -m does (url default: http://127.0.0.1:8080).";

/** The text of one print: netstat -m, then a line per route, then the at-rest verdict. */
export function formatStat(snap: StatsSnapshot): string {
  const lines = [snap.netstat.trimEnd(), ''];
  for (const route of ROUTES) {
    const c = snap.http.routes[route];
    const statuses = Object.entries(c.responses)
      .map(([s, n]) => `${s}:${n}`)
      .join(' ');
    lines.push(
      `${`/${route}`.padEnd(10)} ${c.requests} requests, ${formatBytes(c.body_bytes)} body, ${c.inflight} in flight, ${c.aborted} aborted, ${c.file_changed} file changed [${statuses}]`,
    );
  }
  lines.push(snap.atRest ? 'at rest' : `not at rest: ${snap.leaks.join('; ')}`);
  return `${lines.join('\n')}\n`;
}

async function fetchStats(url: string): Promise<StatsSnapshot> {
  const r = await fetch(`${url.replace(/\/$/, '')}/stats`);
  if (!r.ok) throw new Error(`${url}/stats answered ${r.status}`);
  return (await r.json()) as StatsSnapshot;
}

export async function stat(args: readonly string[]): Promise<number> {
  const { values: v, positionals } = parseWith(STAT_OPTIONS, args, 1);
  if (v.help) {
    process.stdout.write(helpText(STAT_USAGE, STAT_SUMMARY, STAT_OPTIONS));
    return 0;
  }
  const url = positionals[0] ?? 'http://127.0.0.1:8080';
  if (!/^https?:\/\//.test(url))
    throw new UsageError(`url must start with http:// or https://, not '${url}'`);
  const intervalMs = intOption('interval', (v.interval as string | undefined) ?? '1000', 100, 3_600_000);
  const count =
    v.count === undefined ? Number.POSITIVE_INFINITY : intOption('count', v.count as string, 1, 1_000_000);
  for (let i = 0; ; ) {
    try {
      const text = formatStat(await fetchStats(url));
      process.stdout.write(v.watch && process.stdout.isTTY ? `\x1b[H\x1b[2J${text}` : text);
    } catch (err) {
      process.stderr.write(`zcsim stat: ${(err as Error).message}\n`);
      if (!v.watch) return 1;
    }
    i++;
    if (!v.watch || i >= count) return 0;
    process.stdout.write(v.watch && !process.stdout.isTTY ? '\n' : '');
    await sleep(intervalMs);
  }
}
