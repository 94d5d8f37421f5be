// zcsim stat [url]: a running server's counters in the layout of `netstat -m` (the kernel's own
// text from /stats), followed by the demo's per-route lines. --watch (or --count) prints one line
// per interval instead, as vmstat does.
import { ROUTES, type StatsSnapshot } from '../http/index.js';
import type { KernelStats } from '../index.js';
import { formatBytes, realClock, wallMs } from '../kern/index.js';
import { netstatTcpLines } from '../net/index.js';
import { CommandError } from './errors.js';
import { defaultOrigin, INSECURE_OPTION, readServer } from './fetch-url.js';
import { helpText, intOption, type OptionTable, parseWith, UsageError } from './options.js';
import { HEADER_EVERY, sampleOf, type WatchSample, watchHeader, watchRow } from './stat-watch.js';

/** A line per interval is real time, as vmstat's: the host's clock. */
const clock = realClock();

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(ms, resolve));
}

export const STAT_OPTIONS: OptionTable = {
  watch: {
    type: 'boolean',
    short: 'w',
    default: 'off',
    help: 'a line per interval (rates, changes, pools in use) until Ctrl-C, as vmstat',
  },
  interval: { type: 'string', default: '1000', value: 'MS', help: 'interval of --watch' },
  count: { type: 'string', default: 'unlimited', value: 'N', help: 'stop after N lines (implies --watch)' },
  insecure: INSECURE_OPTION,
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};
export const STAT_USAGE = 'zcsim stat [url] [options]';
const STAT_SUMMARY =
  "Prints a running zcsim server's counters as netstat -m does (url default: http://$HOST:$PORT, as\n" +
  'zcsim serve listens: http://127.0.0.1:8080). The first line names the server read.\n' +
  'With --watch: the time, then per second over each interval requests, body MB/s per route, sendfile\n' +
  'calls, pages paged in and MB copied by the CPU; aborts (and sf_buf waits) in the interval; mbufs,\n' +
  'clusters, wired pages (and sf_bufs) in use at its end, and responses in flight. The first line\n' +
  'averages over the time since the server started.';

/**
 * `sysctl kern.ipc.tls` once a socket has had a TLS session (nothing before: a server without TLS
 * prints netstat -m alone), then the memory traffic the kernel counted.
 */
export function formatKtls(kernel: Pick<KernelStats, 'ktls' | 'memory'>): string[] {
  const lines: string[] = [];
  if ((kernel.ktls['kern.ipc.tls.stats.offload_total'] ?? 0) > 0) {
    for (const [name, v] of Object.entries(kernel.ktls))
      if (name.startsWith('kern.ipc.tls.')) lines.push(`${name}: ${v}`);
    lines.push('');
  }
  const m = kernel.memory;
  lines.push(
    `memory traffic: ${formatBytes(m.cpu_read_bytes)} read and ${formatBytes(m.cpu_write_bytes)} written by the CPU, ` +
      `${formatBytes(m.dma_read_bytes)} read by the NIC, ${formatBytes(m.nic_encrypt_bytes)} encrypted by the NIC`,
  );
  return lines;
}

/** The first line of every print: which server was read. */
export function readingLine(url: string): string {
  return `zcsim server at ${statsUrl(url)}`;
}

/** netstat -s -p tcp, when the server counts it. */
function formatTcp(kernel: Partial<Pick<KernelStats, 'tcp' | 'sockets'>>): string[] {
  if (kernel.tcp === undefined || kernel.sockets === undefined) return [];
  return [...netstatTcpLines(kernel.tcp, kernel.sockets.tcps_sndbyte), ''];
}

/** The text of one print: netstat -m, KTLS and memory traffic, a line per route, the at-rest verdict. */
export function formatStat(snap: StatsSnapshot): string {
  const lines = [snap.netstat.trimEnd(), '', ...formatTcp(snap.kernel), ...formatKtls(snap.kernel), ''];
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

/** Whether a /stats answer has the shape of a zcsim server's. */
function isZcsimStats(body: unknown): body is StatsSnapshot {
  const b = body as Partial<StatsSnapshot> | null;
  return (
    typeof b === 'object' &&
    b !== null &&
    typeof b.netstat === 'string' &&
    typeof b.kernel === 'object' &&
    typeof b.http?.routes === 'object' &&
    typeof b.atRest === 'boolean'
  );
}

/** GET /stats of the server at `url`; a CommandError naming the URL when it is not a zcsim server. */
export async function fetchStats(url: string, insecure: boolean): Promise<StatsSnapshot> {
  const target = statsUrl(url);
  const r = await readServer(target, insecure);
  if (!r.ok) throw new CommandError(`${target} answered ${r.status}: not a zcsim server`);
  const body: unknown = await r.json().catch(() => null);
  if (!isZcsimStats(body))
    throw new CommandError(`${target} did not answer zcsim's /stats: not a zcsim server`);
  return body;
}

function statsUrl(url: string): string {
  return `${url.replace(/\/$/, '')}/stats`;
}

export async function stat(args: readonly string[]): Promise<number> {
  const { values: v, positionals } = parseWith(STAT_OPTIONS, args, 1);
  if (v.help) {
    process.stdout.write(helpText(STAT_USAGE, STAT_SUMMARY, STAT_OPTIONS));
    return 0;
  }
  const url = positionals[0] ?? defaultOrigin(process.env);
  if (!/^https?:\/\//.test(url))
    throw new UsageError(`url must start with http:// or https://, not '${url}'`);
  const intervalMs = intOption('interval', (v.interval as string | undefined) ?? '1000', 100, 3_600_000);
  const count =
    v.count === undefined ? Number.POSITIVE_INFINITY : intOption('count', v.count as string, 1, 1_000_000);
  if (!v.watch && v.count === undefined) {
    const snap = await fetchStats(url, v.insecure === true);
    process.stdout.write(`${readingLine(url)}\n${formatStat(snap)}`);
    return 0;
  }
  return watch(url, intervalMs, count, v.insecure === true);
}

/**
 * A line per interval. If the server does not answer the first fetch, that is the error; later,
 * a failed fetch is said on stderr and the next interval tries again (a restarting server).
 */
async function watch(url: string, intervalMs: number, count: number, insecure: boolean): Promise<number> {
  let prev: WatchSample | null = null;
  let sinceHeader = HEADER_EVERY;
  let kva: boolean | null = null;
  for (let printed = 0; printed < count; ) {
    let cur: WatchSample;
    try {
      cur = sampleOf(await fetchStats(url, insecure));
    } catch (err) {
      if (printed === 0) throw err;
      process.stderr.write(`zcsim stat: ${(err as Error).message}\n`);
      prev = null;
      await sleep(intervalMs);
      continue;
    }
    // The watch's stdout is a table (a header, a row per interval); which server it reads goes
    // to stderr, once it answered.
    if (printed === 0) process.stderr.write(`${readingLine(url)}\n`);
    const isKva = cur.nsfbufs > 0;
    if (sinceHeader >= HEADER_EVERY || kva !== isKva) {
      process.stdout.write(`${watchHeader(isKva)}\n`);
      sinceHeader = 0;
      kva = isKva;
    }
    process.stdout.write(`${watchRow(prev, cur, new Date(wallMs(clock)))}\n`);
    sinceHeader++;
    printed++;
    prev = cur;
    if (printed < count) await sleep(intervalMs);
  }
  return 0;
}
