// `npm run bench -- --scenario ktls`: what the simulated kernel alone costs per megabyte to send a
// file with sendfile(2), plain and over kernel TLS (software and ifnet), with no socket and no
// HTTP: one kernel, a transport that takes every write at once, the same file sent again and
// again. CPU ms per MB from process.cpuUsage, the median of the interleaved reps. It separates the
// kernel's record work from what the HTTP section measures with it (requests, real socket writes).
// Beside them, the AEAD alone through Node's cipher API in 16 KiB records, interleaved with the
// rest: software KTLS less that column is what the simulated kernel adds to the encryption.
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createKernel, type Kernel } from '../../src/index.js';
import { formatBytes, MiB } from '../../src/kern/index.js';
import {
  TCP_TLS_MODE_IFNET,
  TCP_TLS_MODE_SW,
  TLS_MAJOR_VER_ONE,
  TLS_MINOR_VER_THREE,
} from '../../src/ktls/index.js';
import { median } from '../../src/load/index.js';
import type { Transport } from '../../src/net/index.js';
import { machineInfo, machineLine } from '../lib/machine.js';
import type { KtlsOptions } from '../lib/options.js';
import { nicEncryptSecondsPerGB } from '../lib/tls-report.js';

const MODES = ['plain', 'sw', 'ifnet'] as const;
type Mode = (typeof MODES)[number] | 'aead';
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

/** CPU ms per MB of sendfile(2) of the file at `file` (`sizeBytes`) in `mode`. */
async function measure(kernel: Kernel, filePath: string, sizeBytes: number, mode: Mode): Promise<number> {
  const file = await kernel.open(filePath);
  const so = kernel.socket(new SinkTransport(), { sndbufBytes: MiB });
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
          const kernel = createKernel({ physmemBytes: 256 * MiB, invariants: false });
          const msPerMB = await measure(kernel, filePath, sizeBytes, mode);
          await kernel.destroy();
          const key = `${sizeBytes} ${mode}`;
          results.set(key, [...(results.get(key) ?? []), msPerMB]);
        }
        // s/GB and ms/MB are the same ratio.
        const aead = `${sizeBytes} aead`;
        results.set(aead, [...(results.get(aead) ?? []), nicEncryptSecondsPerGB()]);
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
    '| file | plain | KTLS sw | KTLS ifnet | the AEAD alone (Node cipher per record) |',
    '| --- | --- | --- | --- | --- |',
    ...options.sizesBytes.map(
      (s) =>
        `| ${formatBytes(s)} | ${cell(s, 'plain')} | ${cell(s, 'sw')} | ${cell(s, 'ifnet')} | ${cell(s, 'aead')} |`,
    ),
    '',
    'KTLS sw less the AEAD alone: what the simulated kernel adds to the encryption (sendfile, framing,',
    'anonymous pages, the copy of the cipher output into them, the socket buffer).',
    '',
  ].join('\n');
  writeFileSync(path.join(dir, 'ktls.md'), md);
  return md;
}
