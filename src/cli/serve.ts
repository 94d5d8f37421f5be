// zcsim serve [root]: the demo server. Without a root it serves the built-in sample set. Prints
// its settings, every endpoint and each file's URLs (banner.ts); SIGINT/SIGTERM close it cleanly
// and report whether the kernel was at rest.
import { statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, isIP } from 'node:net';
import { totalmem } from 'node:os';
import {
  buildServer,
  PCAP_USERAPPL,
  ROUTES,
  type StatsSnapshot,
  type TlsOptions,
  type ZcsimServer,
} from '../http/index.js';
import { type KernelConfig, PHYSMEM_MAX_BYTES } from '../index.js';
import { formatBytes, MiB, PAGE_SIZE, parseSizeBytes, wallMs } from '../kern/index.js';
import { IP_MAXPACKET, MTU_MIN_BYTES, PcapRingFile } from '../net/index.js';
import { selfSignedCert } from '../tls/index.js';
import { type BannerFile, type BannerSettings, bannerLines } from './banner.js';
import { helpText, intOption, type OptionTable, parseWith, UsageError } from './options.js';
import { ensureSamples, SAMPLES_ALL, SAMPLES_SMALL, samplesDir } from './samples.js';

export const SERVE_OPTIONS: OptionTable = {
  port: {
    type: 'string',
    short: 'p',
    default: '8080',
    value: 'PORT',
    help: 'TCP port ($PORT also works; 0 = any free port)',
  },
  host: {
    type: 'string',
    default: '127.0.0.1',
    value: 'HOST',
    help: 'address to listen on ($HOST also works)',
  },
  physmem: { type: 'string', default: '64M', value: 'SIZE', help: 'simulated physical memory' },
  mapping: {
    type: 'string',
    default: 'dmap',
    value: 'dmap|kva|extpg',
    help: 'how sendfile maps pages: direct map, sf_buf KVA pool, unmapped M_EXTPG mbufs',
  },
  nsfbufs: {
    type: 'string',
    default: 'from physmem',
    value: 'N',
    help: 'sf_buf pool size in kva mode (kern.ipc.nsfbufs)',
  },
  cpus: { type: 'string', default: '2', value: 'N', help: 'simulated CPUs' },
  sndbuf: {
    type: 'string',
    default: '1M; kva: a 32nd of the pool',
    value: 'SIZE',
    help: 'socket send buffer of each connection (SO_SNDBUF; the kernel default is 32K)',
  },
  'send-timeout': {
    type: 'string',
    default: '60',
    value: 'SECONDS',
    help: "close a connection that took no byte for this long (nginx's send_timeout)",
  },
  'disk-latency': {
    type: 'string',
    default: '0',
    value: 'MS',
    help: 'simulated disk latency per pager read',
  },
  list: { type: 'boolean', default: 'off', help: 'list directories (an HTML index) instead of 403' },
  tls: {
    type: 'boolean',
    default: 'off',
    help: 'HTTPS (TLS 1.3, ALPN http/1.1): /zerocopy sends with kernel TLS, /copy and /stream with OpenSSL',
  },
  ktls: {
    type: 'string',
    default: 'sw',
    value: 'sw|ifnet',
    help: 'where kernel TLS encrypts with --tls: a kernel worker (sw) or the NIC (ifnet)',
  },
  cert: {
    type: 'string',
    default: 'self-signed, made into the cache folder',
    value: 'FILE',
    help: 'PEM certificate chain for --tls (with --key)',
  },
  key: { type: 'string', default: 'with --cert', value: 'FILE', help: 'PEM private key for --tls' },
  capture: {
    type: 'string',
    default: 'off',
    value: 'FILE',
    help: "record every connection on the model's wire into FILE (pcapng; a ring bounded by --capture-max)",
  },
  'capture-max': { type: 'string', default: '64M', value: 'SIZE', help: 'the bound of the --capture file' },
  mtu: {
    type: 'string',
    default: '1500',
    value: 'BYTES',
    help: "the MTU of the model's wire (1500 Ethernet; lo0's is 16384): the MSS and TSO segments follow",
  },
  samples: {
    type: 'string',
    default: 'all',
    value: 'all|small',
    help: 'sample set when no root is given (small: up to 1 MiB)',
  },
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};

export const SERVE_USAGE = 'zcsim serve [root] [options]';
const SERVE_SUMMARY =
  'Serves the files under root (default: the built-in sample files) on three routes that send the\n' +
  'same bytes: /zerocopy/ (sendfile through the simulated kernel), /copy/ (read+write through it) and\n' +
  '/stream/ (Node fs streams, no simulator), with a live dashboard at /.';

export interface ServeConfig {
  readonly root: string | null;
  /** Said on stderr before the server starts (an option that has no effect, for example). */
  readonly notes: readonly string[];
  readonly port: number;
  readonly host: string;
  readonly list: boolean;
  readonly samples: 'all' | 'small';
  readonly kernel: KernelConfig;
  readonly sendTimeoutMs: number;
  /** --capture: every connection into a pcapng ring file of at most maxBytes; null: off. */
  readonly capture: { readonly path: string; readonly maxBytes: number } | null;
  /** HTTPS: null for plain HTTP; cert/key paths null for the cached self-signed pair. */
  readonly tls: {
    readonly ktlsMode: 'sw' | 'ifnet';
    readonly certPath: string | null;
    readonly keyPath: string | null;
  } | null;
}

function sizeOption(name: string, text: string): number {
  const n = parseSizeBytes(text);
  if (n === null || n === 0)
    throw new UsageError(`--${name} must be a size such as 64M, 512K or 4096, not '${text}'`);
  return n;
}

/** Simulated memory: whole pages, enough for the demo, and no more than this machine has. */
function physmemOption(text: string): number {
  const n = sizeOption('physmem', text);
  if (n % PAGE_SIZE !== 0)
    throw new UsageError(`--physmem must be a whole number of ${PAGE_SIZE}-byte pages, not '${text}'`);
  if (n < MiB) throw new UsageError(`--physmem must be at least 1M, not '${text}'`);
  if (n > totalmem())
    throw new UsageError(`--physmem ${text} is more than this machine's memory (${formatBytes(totalmem())})`);
  if (n > PHYSMEM_MAX_BYTES)
    throw new UsageError(
      `--physmem must be at most ${formatBytes(PHYSMEM_MAX_BYTES)} (what one ArrayBuffer holds), not '${text}'`,
    );
  return n;
}

/** The root must be a directory that exists; the message says which of the two it is not. */
function rootOption(root: string): void {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(root);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ENOENT') throw new UsageError(`root '${root}' does not exist`);
    if (code === 'EACCES') throw new UsageError(`root '${root}' cannot be read (permission denied)`);
    throw new UsageError(`root '${root}' cannot be used (${String(code)})`);
  }
  if (!st.isDirectory()) throw new UsageError(`root '${root}' is not a directory`);
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** An IPv4 or IPv6 address or a host name; whether it is this machine's is known at listen. */
function hostOption(text: string): string {
  if (isIP(text) === 0 && !HOSTNAME.test(text))
    throw new UsageError(`--host must be an IP address or a host name, not '${text}'`);
  return text;
}

/** Turns arguments and environment into a ServeConfig; UsageError on any mistake. */
export function parseServeArgs(args: readonly string[], env: NodeJS.ProcessEnv): ServeConfig | 'help' {
  const { values: v, positionals } = parseWith(SERVE_OPTIONS, args, 1);
  if (v.help) return 'help';
  const str = (name: string): string | undefined => v[name] as string | undefined;
  const mapping = str('mapping') ?? 'dmap';
  if (mapping !== 'dmap' && mapping !== 'kva' && mapping !== 'extpg') {
    throw new UsageError(`--mapping must be dmap, kva or extpg, not '${mapping}'`);
  }
  const samples = str('samples') ?? 'all';
  if (samples !== 'all' && samples !== 'small')
    throw new UsageError(`--samples must be all or small, not '${samples}'`);
  const notes: string[] = [];
  if (str('nsfbufs') !== undefined && mapping !== 'kva') {
    notes.push(`--nsfbufs has no effect with --mapping ${mapping}: only kva has an sf_buf pool`);
  }
  const kernel: KernelConfig = {
    physmemBytes: physmemOption(str('physmem') ?? '64M'),
    mapping,
    // A CPU mask is one 32-bit word (sf_buf's cpumask), as on i386.
    cpuCount: intOption('cpus', str('cpus') ?? '2', 1, 32),
    ...(str('sndbuf') !== undefined ? { sndbufBytes: sizeOption('sndbuf', str('sndbuf')!) } : {}),
    diskLatencyMs: intOption('disk-latency', str('disk-latency') ?? '0', 0, 10_000),
    ...(str('nsfbufs') !== undefined ? { nsfbufs: intOption('nsfbufs', str('nsfbufs')!, 1, 1 << 20) } : {}),
    ...(str('mtu') !== undefined
      ? { mtuBytes: intOption('mtu', str('mtu')!, MTU_MIN_BYTES, IP_MAXPACKET) }
      : {}),
  };
  const capturePath = str('capture');
  if (capturePath === undefined && str('capture-max') !== undefined)
    notes.push('--capture-max has no effect without --capture');
  const capture =
    capturePath === undefined
      ? null
      : { path: capturePath, maxBytes: sizeOption('capture-max', str('capture-max') ?? '64M') };
  const tls = tlsOption(v.tls === true, str('ktls'), str('cert'), str('key'));
  const sendTimeoutMs = intOption('send-timeout', str('send-timeout') ?? '60', 1, 86_400) * 1000;
  const root = positionals[0] ?? null;
  if (root !== null) rootOption(root);
  return {
    root,
    notes,
    port: intOption('port', str('port') ?? env.PORT ?? '8080', 0, 65535),
    host: hostOption(str('host') ?? env.HOST ?? '127.0.0.1'),
    list: v.list === true,
    samples,
    kernel,
    sendTimeoutMs,
    capture,
    tls,
  };
}

function tlsOption(
  on: boolean,
  ktls: string | undefined,
  cert: string | undefined,
  key: string | undefined,
): ServeConfig['tls'] {
  if (!on) {
    const stray =
      ktls !== undefined ? '--ktls' : cert !== undefined ? '--cert' : key !== undefined ? '--key' : null;
    if (stray !== null) throw new UsageError(`${stray} needs --tls`);
    return null;
  }
  const ktlsMode = ktls ?? 'sw';
  if (ktlsMode !== 'sw' && ktlsMode !== 'ifnet')
    throw new UsageError(`--ktls must be sw or ifnet, not '${ktlsMode}'`);
  if ((cert === undefined) !== (key === undefined)) throw new UsageError('--cert and --key go together');
  return { ktlsMode, certPath: cert ?? null, keyPath: key ?? null };
}

/** The certificate and key for --tls: the files given, or the cached self-signed pair. */
async function loadTls(tls: NonNullable<ServeConfig['tls']>): Promise<TlsOptions> {
  if (tls.certPath !== null && tls.keyPath !== null) {
    try {
      const [cert, key] = await Promise.all([readFile(tls.certPath), readFile(tls.keyPath)]);
      return { cert, key, ktlsMode: tls.ktlsMode };
    } catch (err) {
      throw new UsageError(`cannot read --cert/--key: ${(err as Error).message}`);
    }
  }
  const pair = await selfSignedCert();
  if (pair.created) process.stderr.write(`zcsim: made a self-signed certificate in ${pair.certPath}\n`);
  return { cert: pair.cert, key: pair.key, ktlsMode: tls.ktlsMode };
}

/** How long a response in flight may go on after Ctrl-C before its connection is cut. */
const CLOSE_GRACE_MS = 2000;

/** Binds and lets go of `host:port` (port 0 needs no check); the listen error if it is taken. */
async function checkPortFree(port: number, host: string): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', reject);
    probe.listen({ port, host, exclusive: true }, () => resolve());
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}

/** What a closing server waits for, in words: responses in flight per route. */
async function inFlight(server: ZcsimServer): Promise<string[]> {
  const snap = (await server.inject({ method: 'GET', url: '/stats' })).json() as StatsSnapshot;
  const out: string[] = [];
  for (const route of ROUTES) {
    const n = snap.http.routes[route].inflight;
    if (n > 0) out.push(`${n} download${n === 1 ? '' : 's'} on /${route}`);
  }
  return out;
}

/**
 * --capture: a tap on every new connection into a ring file; says where, says each wrap, and
 * returns the function that closes the file (after the server closed) and sums it up.
 */
function startCapture(
  server: ZcsimServer,
  capture: NonNullable<ServeConfig['capture']>,
): () => Promise<void> {
  const sockets = server.kernel.sockets;
  const ring = new PcapRingFile(capture.path, sockets.inet.ifp, PCAP_USERAPPL, capture.maxBytes, (line) =>
    process.stderr.write(`zcsim: ${line}\n`),
  );
  const stop = sockets.pcapTap({
    frames: 'wire',
    epochOffsetMs: wallMs(server.kernel.clock) - server.kernel.clock.nowMs(),
    match: () => ring,
  });
  process.stdout.write(
    `capture: every connection into ${capture.path} (pcapng, a ring of at most ${formatBytes(capture.maxBytes)})\n`,
  );
  return async () => {
    stop();
    await ring.close();
    const s = ring.stats();
    const dropped =
      s.droppedPackets > 0 ? `, ${s.droppedPackets} packets dropped (the disk fell behind)` : '';
    process.stdout.write(
      `capture: ${capture.path}: ${formatBytes(s.fileBytes)}, ${s.packets} packets of ${s.connections} connections, wrapped ${s.wraps} times${dropped}\n`,
    );
  };
}

/** Runs the server until SIGINT or SIGTERM; resolves to the process exit code. */
export async function serve(args: readonly string[]): Promise<number> {
  const config = parseServeArgs(args, process.env);
  if (config === 'help') {
    process.stdout.write(helpText(SERVE_USAGE, SERVE_SUMMARY, SERVE_OPTIONS));
    return 0;
  }
  for (const note of config.notes) process.stderr.write(`zcsim: ${note}\n`);
  // As nginx binds before it works: a taken port is said before any sample file is written.
  await checkPortFree(config.port, config.host);
  let root = config.root;
  if (root === null) {
    root = samplesDir();
    await ensureSamples(root, config.samples === 'small' ? SAMPLES_SMALL : SAMPLES_ALL, process.stderr);
  }
  const server = await buildServer({
    root,
    list: config.list,
    kernel: config.kernel,
    sendTimeoutMs: config.sendTimeoutMs,
    closeGraceMs: CLOSE_GRACE_MS,
    ...(config.tls !== null ? { tls: await loadTls(config.tls) } : {}),
  });
  await server.listen({ port: config.port, host: config.host });
  const address = server.server.address();
  const port = address !== null && typeof address === 'object' ? address.port : config.port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  const scheme = config.tls !== null ? 'https' : 'http';
  const origin = `${scheme}://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`;
  const { files } = (await server.inject({ method: 'GET', url: '/files' })).json() as {
    files: BannerFile[];
  };
  // The settings as the kernel resolved them (defaults filled in), from the /stats document.
  const settings = (await server.inject({ method: 'GET', url: '/stats' })).json().server
    .kernel as BannerSettings;
  // The banner tells whoever waits for it that a signal now closes the server cleanly: the
  // handlers are in place before it is written, or a signal sent on reading it ends the process.
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  process.stdout.write(
    `${bannerLines(origin, settings, root, files, config.tls?.ktlsMode ?? null).join('\n')}\n`,
  );
  const capture = config.capture === null ? null : startCapture(server, config.capture);
  const signal = await signalled;
  process.stdout.write(`\n${signal}: closing\n`);
  const busy = await inFlight(server);
  if (busy.length > 0)
    process.stdout.write(
      `waiting up to ${CLOSE_GRACE_MS / 1000} s for ${busy.join(', ')} to finish; then they are cut (Ctrl-C again to quit now)\n`,
    );
  process.once('SIGINT', () => process.exit(130));
  // buildServer cuts connections still busy after its grace period, so close always finishes.
  await server.close();
  if (capture !== null) await capture();
  const report = server.zcsim.closeReport;
  if (report?.atRest) {
    process.stdout.write('kernel at rest: no sf_buf, mbuf or cluster in use, no page wired\n');
    return 0;
  }
  process.stdout.write(`kernel NOT at rest:\n  ${(report?.leaks ?? ['no report']).join('\n  ')}\n`);
  return 1;
}
