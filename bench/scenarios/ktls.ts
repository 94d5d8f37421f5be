// `npm run bench -- --scenario ktls`: what the simulated kernel alone costs per megabyte to send a
// file with sendfile(2), plain and over kernel TLS (software and ifnet), with no socket and no
// HTTP: one kernel, a transport that takes every write at once, the same file sent again and
// again. CPU ms per MB from process.cpuUsage, the median of the interleaved reps. It separates the
// kernel's record work from what the HTTP section measures with it (requests, real socket writes).
// Beside them, the record sealing alone (tls13Seal: Node's cipher per 16 KiB record, its output
// copied into other memory, as software mode does), batched and drained as the sends are and
// interleaved with them: software KTLS less that column is what the rest of the kernel adds.
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createKernel, type Kernel } from '../../src/index.js';
import { formatBytes, MiB } from '../../src/kern/index.js';
import {
  TCP_TLS_MODE_IFNET,
  TCP_TLS_MODE_SW,
  TLS_HEADER_BYTES,
  TLS_MAJOR_VER_ONE,
  TLS_MINOR_VER_THREE,
  TLS_RLTYPE_APP,
  tls13Nonce,
  tls13Seal,
  tlsRecordHeader,
} from '../../src/ktls/index.js';
import { median } from '../../src/load/index.js';
import type { Transport } from '../../src/net/index.js';
import { machineInfo, machineLine } from '../lib/machine.js';
import type { KtlsOptions } from '../lib/options.js';

const MODES = ['plain', 'sw', 'ifnet', 'seal'] as const;
type Mode = (typeof MODES)[number];
/** TLS 1.3 records of at most 16 KiB of payload (kern.ipc.tls.maxlen). */
const RECORD_BYTES = 16 * 1024;
/** Bytes sent per measurement (after as much again to warm up), whatever the file size. */
const MEASURED_BYTES = 128 * MiB;

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

function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** CPU ms per MB of the sealing alone: the file's bytes in 16 KiB records, drained as sent. */
async function measureSeal(sizeBytes: number): Promise<number> {
  const key = new Uint8Array(32).fill(1);
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
        tls13Seal('aes-256-gcm', key, tls13Nonce(iv, seq++), hdr, src, dst, TLS_RLTYPE_APP, trail);
        // A drain per send buffer's worth, as the kernel's sends wait for theirs.
        if (end % SNDBUF_BYTES === 0 && end < sizeBytes) await nextTurn();
      }
      await nextTurn();
    }
  };
  await send(MEASURED_BYTES);
  const start = process.cpuUsage();
  await send(MEASURED_BYTES);
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000 / (MEASURED_BYTES / 1e6);
}

/** CPU ms per MB of sendfile(2) of the file at `file` (`sizeBytes`) in `mode`. */
async function measure(kernel: Kernel, filePath: string, sizeBytes: number, mode: Mode): Promise<number> {
  const file = await kernel.open(filePath);
  const so = kernel.socket(new SinkTransport(), { sndbufBytes: SNDBUF_BYTES });
  if (mode !== 'plain') {
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
      { mode: mode === 'sw' ? TCP_TLS_MODE_SW : TCP_TLS_MODE_IFNET },
    );
  }
  const send = async (bytes: number): Promise<void> => {
    for (let sent = 0; sent < bytes; sent += sizeBytes) {
      await kernel.sendfile(file, so, 0, sizeBytes);
      await kernel.sodrain(so);
    }
  };
  await send(MEASURED_BYTES);
  const start = process.cpuUsage();
  await send(MEASURED_BYTES);
  const used = process.cpuUsage(start);
  kernel.soclose(so);
  await kernel.close(file);
  return (used.user + used.system) / 1000 / (MEASURED_BYTES / 1e6);
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
        for (const mode of MODES) {
          if (mode === 'seal') {
            const key = `${sizeBytes} seal`;
            results.set(key, [...(results.get(key) ?? []), await measureSeal(sizeBytes)]);
            continue;
          }
          const kernel = createKernel({ physmemBytes: 256 * MiB, invariants: false });
          const msPerMB = await measure(kernel, filePath, sizeBytes, mode);
          await kernel.destroy();
          const key = `${sizeBytes} ${mode}`;
          results.set(key, [...(results.get(key) ?? []), msPerMB]);
        }
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const cell = (sizeBytes: number, mode: Mode): string =>
    median(results.get(`${sizeBytes} ${mode}`) ?? []).toFixed(3);
  const md = [
    '# zcsim: the simulated kernel alone, sendfile(2) plain and over KTLS',
    '',
    `Machine: ${machineLine(machineInfo())}`,
    '',
    `CPU ms per MB sent (median of ${options.reps}; AES-256-GCM, 16 KiB records; no socket, no HTTP)`,
    '',
    '| file | plain | KTLS sw | KTLS ifnet | the sealing alone (tls13Seal) |',
    '| --- | --- | --- | --- | --- |',
    ...options.sizesBytes.map(
      (s) =>
        `| ${formatBytes(s)} | ${cell(s, 'plain')} | ${cell(s, 'sw')} | ${cell(s, 'ifnet')} | ${cell(s, 'seal')} |`,
    ),
    '',
    "The sealing alone: Node's cipher per 16 KiB record (a cipher object, the AEAD calls, the output",
    'copied into other memory), batched and drained as the sends are. KTLS sw less it: what the rest of',
    'the simulated kernel adds (sendfile, framing, anonymous pages, the socket buffer).',
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'ktls.md'), md);
  return md;
}
