// `npm run bench -- --scenario ktls`: what the simulated kernel alone costs per megabyte to send a
// file with sendfile(2), plain and over kernel TLS (software and ifnet), with no socket and no
// HTTP: one kernel, a transport that takes every write at once, the same file sent again and
// again. CPU ms per MB from process.cpuUsage, the median of the interleaved reps. It separates the
// kernel's record work from what the HTTP section measures with it (requests, real socket writes).
// Beside them, the record sealing alone (a KTLS crypto session sealing 16 KiB records into other
// memory, as software mode does), batched and drained as the sends are and interleaved with them:
// software KTLS less that column is what the rest of the kernel adds. With the ossl driver built,
// software KTLS and the sealing are measured again on node:crypto, the driver it replaces.
// Plain sendfile is measured a second time on a transport that copies every write, as the host's
// send does into its socket buffer, beside those copies alone: the copies leave the caches as a
// real server's kernel finds them, and plain less the copies is the kernel's cost there.
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createKernel, type Kernel } from '../../src/index.js';
import { formatBytes, MiB } from '../../src/kern/index.js';
import {
  type KtlsCryptoDriver,
  ktlsOcfSessionNew,
  osslBinding,
  osslWhy,
  TCP_TLS_MODE_IFNET,
  TCP_TLS_MODE_SW,
  TLS_HEADER_BYTES,
  TLS_MAJOR_VER_ONE,
  TLS_MINOR_VER_THREE,
  TLS_RLTYPE_APP,
  tls13Nonce,
  tlsRecordHeader,
} from '../../src/ktls/index.js';
import { median } from '../../src/load/index.js';
import type { Transport } from '../../src/net/index.js';
import { machineInfo, machineLine } from '../lib/machine.js';
import type { KtlsOptions } from '../lib/options.js';

const MODES = [
  'plain',
  'plain-copy',
  'copy',
  'sw',
  'ifnet',
  'seal',
  'sw-node-crypto',
  'seal-node-crypto',
] as const;
type Mode = (typeof MODES)[number];
/** The modes measured: the node:crypto ones only when another driver is the default. */
const measured = (): readonly Mode[] =>
  osslBinding() === null ? MODES.filter((m) => !m.endsWith('node-crypto')) : MODES;
/** The crypto driver of a mode (undefined: the kernel's default). */
const driverOf = (mode: Mode): KtlsCryptoDriver | undefined =>
  mode.endsWith('node-crypto') ? 'node-crypto' : undefined;
/** TLS 1.3 records of at most 16 KiB of payload (kern.ipc.tls.maxlen). */
const RECORD_BYTES = 16 * 1024;
/** Bytes sent per measurement (after as much again to warm up), whatever the file size. */
const MEASURED_BYTES = 512 * MiB;

/** A transport that takes every write and calls back on the next turn (no host socket). */
class SinkTransport extends EventEmitter implements Transport {
  write(_chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean {
    if (cb) setImmediate(cb);
    return true;
  }
  cork(): void {}
  uncork(): void {}
  destroy(): void {}
}

/** The send buffer of every measured socket. */
const SNDBUF_BYTES = MiB;

/**
 * A transport that copies every write into a buffer of its own, as the host's send copies into
 * its socket buffer, and calls back on the next turn.
 */
class CopyingSinkTransport extends SinkTransport {
  private readonly into = new Uint8Array(SNDBUF_BYTES);
  private at = 0;
  override write(chunk: Uint8Array, cb?: (err?: Error | null) => void): boolean {
    for (let off = 0; off < chunk.length; ) {
      if (this.at === this.into.length) this.at = 0;
      const n = Math.min(chunk.length - off, this.into.length - this.at);
      this.into.set(chunk.subarray(off, off + n), this.at);
      this.at += n;
      off += n;
    }
    return super.write(chunk, cb);
  }
}

function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** CPU ms per MB of `send`: MEASURED_BYTES sent to warm up, then as many measured. */
async function cpuMsPerMB(send: (bytes: number) => Promise<void>): Promise<number> {
  await send(MEASURED_BYTES);
  const start = process.cpuUsage();
  await send(MEASURED_BYTES);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / (MEASURED_BYTES / 1e6);
}

/** CPU ms per MB of the sealing alone: the file's bytes in 16 KiB records, drained as sent. */
async function measureSeal(sizeBytes: number, driver: KtlsCryptoDriver | undefined): Promise<number> {
  const session = ktlsOcfSessionNew('aes-256-gcm', new Uint8Array(32).fill(1), driver);
  const iv = new Uint8Array(12).fill(2);
  const plain = new Uint8Array(sizeBytes).fill(7);
  // The ciphertext's pages are taken again as the socket buffer drains: a send buffer's worth.
  const cipher = new Uint8Array(Math.min(sizeBytes, SNDBUF_BYTES));
  const hdr = new Uint8Array(TLS_HEADER_BYTES);
  const trail = new Uint8Array(1 + 16);
  let seq = 0;
  const send = async (bytes: number): Promise<void> => {
    for (let sent = 0; sent < bytes; sent += sizeBytes) {
      for (let off = 0; off < sizeBytes; off += RECORD_BYTES) {
        const end = Math.min(off + RECORD_BYTES, sizeBytes);
        tlsRecordHeader(hdr, end - off + trail.length);
        const src = [plain.subarray(off, end)];
        const dst = [cipher.subarray(off % cipher.length, (off % cipher.length) + end - off)];
        session.seal(tls13Nonce(iv, seq++), hdr, src, dst, TLS_RLTYPE_APP, trail);
        // A drain per send buffer's worth, as the kernel's sends wait for theirs.
        if (end % SNDBUF_BYTES === 0 && end < sizeBytes) await nextTurn();
      }
      await nextTurn();
    }
  };
  return cpuMsPerMB(send);
}

/**
 * CPU ms per MB of the host's copies alone: the file's bytes copied as CopyingSinkTransport copies
 * a send's writes, a send buffer's worth per turn, as the kernel's sends are drained.
 */
async function measureCopy(sizeBytes: number): Promise<number> {
  const from = new Uint8Array(sizeBytes).fill(7);
  const sink = new CopyingSinkTransport();
  const send = async (bytes: number): Promise<void> => {
    for (let sent = 0; sent < bytes; sent += sizeBytes) {
      for (let off = 0; off < sizeBytes; off += SNDBUF_BYTES) {
        sink.write(from.subarray(off, Math.min(off + SNDBUF_BYTES, sizeBytes)));
        await nextTurn();
      }
    }
  };
  return cpuMsPerMB(send);
}

/** CPU ms per MB of sendfile(2) of the file at `file` (`sizeBytes`) in `mode`. */
async function measure(kernel: Kernel, filePath: string, sizeBytes: number, mode: Mode): Promise<number> {
  const file = await kernel.open(filePath);
  const transport = mode === 'plain-copy' ? new CopyingSinkTransport() : new SinkTransport();
  const so = kernel.socket(transport, { sndbufBytes: SNDBUF_BYTES });
  if (mode === 'sw' || mode === 'ifnet' || mode === 'sw-node-crypto') {
    kernel.ktlsEnableTx(
      so,
      {
        cipher_algorithm: 'CRYPTO_AES_NIST_GCM_16',
        cipher_key: new Uint8Array(32).fill(1),
        iv: new Uint8Array(12).fill(2),
        tls_vmajor: TLS_MAJOR_VER_ONE,
        tls_vminor: TLS_MINOR_VER_THREE,
        rec_seq: 0,
      },
      { mode: mode === 'ifnet' ? TCP_TLS_MODE_IFNET : TCP_TLS_MODE_SW },
    );
  }
  const send = async (bytes: number): Promise<void> => {
    for (let sent = 0; sent < bytes; sent += sizeBytes) {
      await kernel.sendfile(file, so, 0, sizeBytes);
      await kernel.sodrain(so);
    }
  };
  const msPerMB = await cpuMsPerMB(send);
  kernel.soclose(so);
  await kernel.close(file);
  return msPerMB;
}

const HEADINGS: Record<Mode, string> = {
  plain: 'plain',
  'plain-copy': 'plain, host copy',
  copy: 'the host copy alone',
  sw: 'KTLS sw',
  ifnet: 'KTLS ifnet',
  seal: 'the sealing alone',
  'sw-node-crypto': 'KTLS sw, node:crypto',
  'seal-node-crypto': 'the sealing alone, node:crypto',
};

/** The driver sessions take by default, and where it comes from. */
function ktlsCryptoName(): string {
  return osslBinding() !== null ? 'ossl (native/ossl.c)' : `node:crypto (${osslWhy()})`;
}

function table(
  modes: readonly Mode[],
  sizes: readonly number[],
  cell: (sizeBytes: number, mode: Mode) => string,
): string[] {
  return [
    `| file | ${modes.map((m) => HEADINGS[m]).join(' | ')} |`,
    `| --- | ${modes.map(() => '---').join(' | ')} |`,
    ...sizes.map((s) => `| ${formatBytes(s)} | ${modes.map((m) => cell(s, m)).join(' | ')} |`),
  ];
}

/** CPU ms per MB of one mode: the copies or the sealing alone, or sendfile in a kernel of its own. */
async function measureMode(filePath: string, sizeBytes: number, mode: Mode): Promise<number> {
  if (mode === 'copy') return measureCopy(sizeBytes);
  if (mode.startsWith('seal')) return measureSeal(sizeBytes, driverOf(mode));
  const driver = driverOf(mode);
  const kernel = createKernel({
    physmemBytes: 256 * MiB,
    invariants: false,
    // As the HTTP server's kernel: the file is checked for changes once a second, not at every
    // call (an fstat through the thread pool would weigh on a 1 MiB send).
    revalidateMs: 1000,
    ...(driver !== undefined ? { ktlsCrypto: driver } : {}),
  });
  const msPerMB = await measure(kernel, filePath, sizeBytes, mode);
  await kernel.destroy();
  return msPerMB;
}

/** Runs the scenario; writes ktls.md in `dir` and returns it. */
export async function runKtlsCost(options: KtlsOptions, dir: string): Promise<string> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'zcsim-ktls-'));
  const results = new Map<string, number[]>();
  try {
    const files = options.sizesBytes.map((sizeBytes) => {
      const filePath = path.join(tmp, `f-${sizeBytes}.bin`);
      writeFileSync(filePath, new Uint8Array(sizeBytes).fill(7));
      return { sizeBytes, filePath };
    });
    for (let rep = 0; rep < options.reps; rep++) {
      for (const { sizeBytes, filePath } of files) {
        for (const mode of measured()) {
          const key = `${sizeBytes} ${mode}`;
          results.set(key, [...(results.get(key) ?? []), await measureMode(filePath, sizeBytes, mode)]);
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const cell = (sizeBytes: number, mode: Mode): string =>
    median(results.get(`${sizeBytes} ${mode}`) ?? []).toFixed(3);
  const modes = measured();
  const md = [
    '# zcsim: the simulated kernel alone, sendfile(2) plain and over KTLS',
    '',
    `Machine: ${machineLine(machineInfo())}`,
    '',
    `CPU ms per MB sent (median of ${options.reps}; AES-256-GCM, 16 KiB records; no socket, no HTTP)`,
    '',
    `Crypto driver: ${ktlsCryptoName()}`,
    '',
    ...table(modes, options.sizesBytes, cell),
    '',
    'The sealing alone: the crypto session sealing 16 KiB records into other memory, batched and',
    'drained as the sends are. KTLS sw less it: what the rest of the simulated kernel adds (sendfile,',
    'framing, anonymous pages, the socket buffer).',
    '',
    "Plain, host copy: plain sendfile to a transport that copies every write, as the host's send",
    'copies into its socket buffer; the host copy alone: those copies with no kernel. Plain, host copy',
    'less the copy is what the kernel costs when the copies have left the caches as a real server',
    'finds them; against plain, what cold page, mbuf and sf_buf records add.',
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'ktls.md'), md);
  return md;
}
