// What `zcsim serve` prints once it listens: the settings the kernel runs with (as /stats reports
// them, every default filled in), every endpoint, then each file on each route; a long list is
// cut with a count of the rest, and names are printed with control characters escaped so that a
// file name cannot move the cursor or clear the terminal.
import { formatBytes, PAGE_SIZE } from '../kern/index.js';
import { osslBinding, osslWhy } from '../ktls/index.js';

/** The settings as /stats reports them under server.kernel (the resolved KernelConfig). */
export interface BannerSettings {
  readonly mapping: string;
  readonly physmemBytes: number;
  readonly nsfbufs: number;
  readonly sndbufBytes: number;
  readonly cpuCount: number;
}

export interface BannerFile {
  readonly name: string;
  readonly sizeBytes: number;
}

/** Files listed with their URLs before the rest are summed up in one line. */
export const BANNER_MAX_FILES = 12;

const MAPPING_TEXT: Readonly<Record<string, string>> = {
  dmap: 'dmap (direct map: every page already has a kernel address)',
  kva: 'kva (sf_bufs map pages into a pool of kernel addresses)',
  extpg: 'extpg (unmapped M_EXTPG mbufs carry the pages)',
};

/** Which driver seals kernel TLS records, and where it came from or why it is absent. */
function ktlsCryptoText(): string {
  return osslBinding() !== null
    ? 'ossl (native/ossl.c: one OpenSSL context per session, sealing into the record pages)'
    : `node:crypto, a cipher per record (${osslWhy()})`;
}

const KTLS_TEXT = {
  sw: 'kernel TLS in software (a kernel worker encrypts)',
  ifnet: 'kernel TLS on the NIC (ifnet: the card encrypts)',
} as const;

/** Control characters, and the bidirectional ones that reorder what a terminal shows. */
const UNSAFE_FOR_TERMINAL = /[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/**
 * C0 and C1 control characters and DEL as \xNN (\n, \r, \t by name), as ls -b shows them, and
 * bidirectional controls (a right-to-left override can make a name read as another) as \u{NNNN}.
 */
export function escapeControls(name: string): string {
  return name.replace(UNSAFE_FOR_TERMINAL, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    const code = c.charCodeAt(0);
    if (code > 0xff) return `\\u{${code.toString(16)}}`;
    return `\\x${code.toString(16).padStart(2, '0')}`;
  });
}

function settingsLines(s: BannerSettings, root: string, fileCount: number): string[] {
  const sfbufs =
    s.mapping === 'kva'
      ? `${s.nsfbufs} in the pool (kern.ipc.nsfbufs), ${s.cpuCount} CPUs`
      : `no pool: ${s.mapping === 'dmap' ? 'the direct map gives every page an address' : 'pages go unmapped'}`;
  return [
    `  mapping       ${MAPPING_TEXT[s.mapping] ?? s.mapping}`,
    `  physmem       ${formatBytes(s.physmemBytes)} (${s.physmemBytes / PAGE_SIZE} pages of ${formatBytes(PAGE_SIZE)})`,
    `  sf_bufs       ${sfbufs}`,
    `  send buffer   ${formatBytes(s.sndbufBytes)} per socket (SO_SNDBUF)`,
    `  root          ${escapeControls(root)} (${fileCount} ${fileCount === 1 ? 'file' : 'files'})`,
  ];
}

function endpointLines(origin: string): string[] {
  const rows: [string, string][] = [
    ['/', 'the dashboard'],
    ['/stats', 'every counter as JSON (zcsim stat prints it as netstat -m)'],
    ['/metrics', 'the counters for Prometheus'],
    ['/events', 'server-sent events: a snapshot per interval (the dashboard reads it)'],
    ['/files', 'the files served, as JSON'],
    ['/compare', 'POST {"file": name}: loads each route in turn, one run at a time'],
    ['/trace', "?route=zerocopy&file=NAME: one request's journey through the kernel (zcsim trace URL)"],
    [
      '/capture.pcapng',
      '?route=zerocopy&file=NAME: the same request on the wire, for Wireshark (zcsim capture URL)',
    ],
  ];
  return rows.map(([path, what]) => `  ${`${origin}${path}`.padEnd(origin.length + 16)} ${what}`);
}

function fileLines(origin: string, files: readonly BannerFile[]): string[] {
  const lines: string[] = [];
  for (const f of files.slice(0, BANNER_MAX_FILES)) {
    const url = encodeURIComponent(f.name);
    lines.push(`  ${escapeControls(f.name)} (${formatBytes(f.sizeBytes)})`);
    for (const route of ['zerocopy', 'copy', 'stream'])
      lines.push(`    ${`/${route}/`.padEnd(11)} ${origin}/${route}/${url}`);
  }
  const more = files.length - BANNER_MAX_FILES;
  if (more > 0) lines.push(`  … ${more} more (${origin}/files lists them all)`);
  return lines;
}

/** The whole banner, one line per element. */
export function bannerLines(
  origin: string,
  settings: BannerSettings,
  root: string,
  files: readonly BannerFile[],
  ktls: 'sw' | 'ifnet' | null = null,
): string[] {
  return [
    `zcsim listening on ${origin}`,
    ...settingsLines(settings, root, files.length),
    ...(ktls === null
      ? []
      : [
          `  tls           TLS 1.3, ALPN http/1.1; /zerocopy with ${KTLS_TEXT[ktls]}`,
          `  tls crypto    ${ktlsCryptoText()}`,
        ]),
    '',
    'endpoints:',
    ...endpointLines(origin),
    '',
    'files, each on three routes with the same bytes:',
    ...fileLines(origin, files),
  ];
}
