// The systems of the HTTP comparison and how each one is started, each in its own process:
// the zcsim routes (one server process per system), fastify + @fastify/static, node:http from
// memory (in one write, or paced as zcsim's send buffer paces its writes), and nginx with sendfile
// on and off; over HTTPS the zcsim routes with kernel TLS
// (software and ifnet) and OpenSSL (/copy), node:https from memory and nginx with ssl. A
// LiveServer gives the URL of a file, the server's CPU seconds and RSS (IPC for Node, /proc for
// nginx) and, for zcsim, GET /stats.
import http from 'node:http';
import https from 'node:https';
import { fileURLToPath } from 'node:url';
import { SERVE_NODE_FLAGS, type StatsSnapshot } from '../../src/http/index.js';
import { ChildHandle } from '../../src/load/index.js';
import type { ServerKind, ServerStart } from '../children/http-server.js';
import { procCpuSeconds, procRssBytes, startNginx } from './nginx.js';
import { benchSndbufBytes, type Mapping } from './zcsim.js';

export const HTTP_SYSTEMS = [
  'zerocopy-dmap',
  'zerocopy-kva',
  'zerocopy-extpg',
  'copy',
  'stream',
  'fastify-static',
  'node-memory',
  'node-memory-paced',
  'nginx-sendfile-on',
  'nginx-sendfile-off',
  'https-zerocopy-sw',
  'https-zerocopy-ifnet',
  'https-copy',
  'https-node-memory',
  'nginx-ssl',
] as const;
export type HttpSystem = (typeof HTTP_SYSTEMS)[number];

/** Systems whose bars the chart highlights. */
export const ZERO_COPY_SYSTEMS: readonly HttpSystem[] = ['zerocopy-dmap', 'zerocopy-kva', 'zerocopy-extpg'];
export const COPY_SYSTEM: HttpSystem = 'copy';
export const UPPER_BOUND_SYSTEM: HttpSystem = 'node-memory';

export interface WiredSample {
  wiredPages: number;
  /** The most wired pages, sf_bufs, mbufs and clusters in use at once since the previous sample. */
  wiredPagesPeak: number;
  sfbufsPeak: number;
  mbufsPeak: number;
  clustersPeak: number;
  /** Send buffers of the kernel sockets open at the moment. */
  sndbufBytesSum: number;
  /** One socket's send buffer. */
  sndbufBytes: number;
  rssBytes: number;
}

/** The systems that speak HTTPS (TLS 1.3, a self-signed certificate). */
export function isTlsSystem(system: HttpSystem): boolean {
  return system.startsWith('https-') || system === 'nginx-ssl';
}

export interface LiveServer {
  system: HttpSystem;
  /** http or https. */
  scheme: 'http' | 'https';
  port: number;
  pid: number;
  urlPath(fileName: string): string;
  cpuSeconds(): Promise<number>;
  rssBytes(): Promise<number>;
  /** GET /stats of a zcsim server (null: another system). */
  stats(): Promise<StatsSnapshot | null>;
  /** zcsim: wired pages, the open sockets' send buffers and RSS, read inside the server process. */
  wired(): Promise<WiredSample | null>;
  /** CPU s/GB of the ifnet NIC's AES-256-GCM sealing, measured in the server's process (null: not Node). */
  nicEncryptSecondsPerGB(): Promise<number | null>;
  stop(): Promise<void>;
}

export interface StartContext {
  root: string;
  fileNames: string[];
  physmemBytes: number;
  /** net.inet.tcp.sendspace of the zcsim servers (null: the kernel's default, 32 KiB). */
  sndbufBytes: number | null;
  /** kern.ipc.nsfbufs of a zcsim server in the kva mapping (absent: the kernel's default). */
  nsfbufs?: number;
  nginxPath: string | null;
  /** When set, each Node server runs under --cpu-prof and writes <system>.cpuprofile here. */
  profileDir?: string | null;
  /** The HTTPS systems' certificate and key (PEM text and files). */
  tls?: BenchTls | null;
}

export interface BenchTls {
  readonly cert: string;
  readonly key: string;
  readonly certPath: string;
  readonly keyPath: string;
}

interface Described {
  kind: ServerKind;
  mapping: Mapping;
  prefix: string;
  ktlsMode?: 'sw' | 'ifnet';
  /** node-memory: write the body a zcsim send buffer at a time, each on the last one's callback. */
  paced?: true;
}

function describe(system: HttpSystem): Described | null {
  switch (system) {
    case 'https-zerocopy-sw':
    case 'https-zerocopy-ifnet':
      return {
        kind: 'zcsim',
        mapping: 'dmap',
        prefix: '/zerocopy/',
        ktlsMode: system === 'https-zerocopy-sw' ? 'sw' : 'ifnet',
      };
    case 'https-copy':
      return { kind: 'zcsim', mapping: 'dmap', prefix: '/copy/', ktlsMode: 'sw' };
    case 'https-node-memory':
      return { kind: 'node-memory', mapping: 'dmap', prefix: '/', ktlsMode: 'sw' };
    case 'zerocopy-dmap':
    case 'zerocopy-kva':
    case 'zerocopy-extpg':
      return { kind: 'zcsim', mapping: system.slice('zerocopy-'.length) as Mapping, prefix: '/zerocopy/' };
    case 'copy':
      return { kind: 'zcsim', mapping: 'dmap', prefix: '/copy/' };
    case 'stream':
      return { kind: 'zcsim', mapping: 'dmap', prefix: '/stream/' };
    case 'fastify-static':
      return { kind: 'fastify-static', mapping: 'dmap', prefix: '/' };
    case 'node-memory':
      return { kind: 'node-memory', mapping: 'dmap', prefix: '/' };
    case 'node-memory-paced':
      return { kind: 'node-memory', mapping: 'dmap', prefix: '/', paced: true };
    default:
      return null;
  }
}

/** GET a JSON document from 127.0.0.1 (the /stats of a zcsim server), over TLS with `tls`. */
export function getJson(port: number, urlPath: string, timeoutMs = 5000, tls = false): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const get = tls ? https.get : http.get;
    const req = get(
      { host: '127.0.0.1', port, path: urlPath, agent: false, timeout: timeoutMs, rejectUnauthorized: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(parts).toString('utf8')));
          } catch (error) {
            reject(error);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
  });
}

async function startNodeChild(system: HttpSystem, context: StartContext): Promise<LiveServer> {
  const d = describe(system);
  if (!d) throw new Error(`not a Node system: ${system}`);
  // Every Node server runs with the V8 flags `zcsim serve` runs with, the reference servers too.
  const execArgv = [
    ...SERVE_NODE_FLAGS,
    ...(context.profileDir
      ? ['--cpu-prof', `--cpu-prof-dir=${context.profileDir}`, `--cpu-prof-name=${system}.cpuprofile`]
      : []),
  ];
  const child = new ChildHandle(fileURLToPath(new URL('../children/http-server.js', import.meta.url)), {
    execArgv,
  });
  const start: ServerStart = {
    kind: d.kind,
    root: context.root,
    fileNames: context.fileNames,
    mapping: d.mapping,
    physmemBytes: context.physmemBytes,
    sndbufBytes: context.sndbufBytes,
    nsfbufs: context.nsfbufs ?? null,
    pacedBytes: d.paced ? benchSndbufBytes(context.physmemBytes, context.sndbufBytes) : null,
    tls:
      d.ktlsMode !== undefined && context.tls
        ? { cert: context.tls.cert, key: context.tls.key, ktlsMode: d.ktlsMode }
        : null,
  };
  let port: number;
  try {
    ({ port } = await child.request<{ port: number }>('start', start, 60_000));
  } catch (error) {
    await child.stop();
    throw error;
  }
  // A server saturated by its own clients (user-space TLS of 64 MiB bodies) may answer late.
  const usage = () => child.request<{ cpu: NodeJS.CpuUsage; rssBytes: number }>('cpu', null, 60_000);
  const tls = start.tls !== null;
  return {
    system,
    scheme: tls ? 'https' : 'http',
    port,
    pid: child.pid,
    urlPath: (name) => `${d.prefix}${name}`,
    cpuSeconds: async () => {
      const { cpu } = await usage();
      return (cpu.user + cpu.system) / 1e6;
    },
    rssBytes: async () => (await usage()).rssBytes,
    stats: async () =>
      d.kind === 'zcsim' ? ((await getJson(port, '/stats', 5000, tls)) as StatsSnapshot) : null,
    wired: () => child.request<WiredSample | null>('wired', null, 30_000),
    nicEncryptSecondsPerGB: () => child.request<number>('nicCost', null, 60_000),
    stop: () => child.stop(),
  };
}

async function startNginxSystem(system: HttpSystem, context: StartContext): Promise<LiveServer> {
  if (!context.nginxPath) throw new Error('nginx is not on PATH (apt-get install nginx)');
  const tls = system === 'nginx-ssl' ? context.tls : null;
  if (system === 'nginx-ssl' && !tls) throw new Error('no certificate for nginx ssl');
  const nginx = await startNginx(context.nginxPath, context.root, system !== 'nginx-sendfile-off', tls);
  return {
    system,
    scheme: tls ? 'https' : 'http',
    port: nginx.port,
    pid: nginx.pid,
    urlPath: (name) => `/${name}`,
    cpuSeconds: async () => procCpuSeconds(nginx.pid),
    rssBytes: async () => procRssBytes(nginx.pid),
    stats: async () => null,
    wired: async () => null,
    nicEncryptSecondsPerGB: async () => null,
    stop: () => nginx.stop(),
  };
}

export function startSystem(system: HttpSystem, context: StartContext): Promise<LiveServer> {
  return system.startsWith('nginx-') ? startNginxSystem(system, context) : startNodeChild(system, context);
}
