// The HTTPS part of the report: server CPU per GB of each TLS system beside plain sendfile, and
// how to read ifnet mode. In zcsim the "NIC" of ifnet mode encrypts with the session's crypto
// driver in the server process, so its work lands in the server's CPU time; a real card does it off the host.
// The report therefore also gives the ifnet figure less the NIC's share, estimated from the cost
// of the same encryption measured in that server's process after its runs (AES-256-GCM, the
// suite wrk and curl pick first, in 16 KiB records).
import { randomBytes } from 'node:crypto';
import { formatBytes } from '../../src/kern/index.js';
import {
  AES_GMAC_HASH_LEN,
  ktlsOcfSessionNew,
  TLS_HEADER_BYTES,
  TLS_RLTYPE_APP,
  tls13Nonce,
  tlsRecordHeader,
} from '../../src/ktls/index.js';
import { median } from '../../src/load/index.js';
import type { HttpCell } from './summary.js';

/** The systems of the HTTPS table, in order; plain sendfile first as the reference. */
const TLS_ROWS = [
  'zerocopy-dmap',
  'https-zerocopy-sw',
  'https-zerocopy-ifnet',
  'https-copy',
  'https-node-memory',
  'nginx-ssl',
  'nginx-sendfile-on',
] as const;

const RECORD_BYTES = 16 * 1024;
/** Bytes encrypted per sample of the NIC's cost, and the samples (after one more to warm up). */
const SAMPLE_BYTES = 16 * 1024 * 1024;
const SAMPLES = 5;

/**
 * CPU seconds per GB that AES-256-GCM in 16 KiB records costs in this process, sealed as the
 * "NIC" seals them (the session's sealRuns: header as additional data, payload, inner type, tag). The
 * median of a few samples after a warm-up: the first thousands of records cost several times more
 * (the allocator's fresh memory), which would overstate the card's share.
 */
export function nicEncryptSecondsPerGB(): number {
  const session = ktlsOcfSessionNew('aes-256-gcm', randomBytes(32));
  const record = randomBytes(RECORD_BYTES);
  const iv = randomBytes(12);
  const hdr = new Uint8Array(TLS_HEADER_BYTES);
  tlsRecordHeader(hdr, RECORD_BYTES + 1 + AES_GMAC_HASH_LEN);
  const trail = new Uint8Array(1 + AES_GMAC_HASH_LEN);
  const out: Uint8Array[] = [];
  let seq = 0;
  const sample = (): number => {
    const start = process.cpuUsage();
    for (let off = 0; off < SAMPLE_BYTES; off += RECORD_BYTES, seq++) {
      out.length = 0;
      session.sealRuns(tls13Nonce(iv, seq), hdr, [record], TLS_RLTYPE_APP, trail, out);
    }
    const used = process.cpuUsage(start);
    return (used.user + used.system) / 1e6 / (SAMPLE_BYTES / 1e9);
  };
  sample();
  return median(Array.from({ length: SAMPLES }, sample));
}

/** The HTTPS table; `n` formats a number for a cell (report.ts's, passed in: no import cycle). */
export function tlsLines(
  cells: readonly HttpCell[],
  generator: string,
  nicSecondsPerGB: number,
  n: (value: number, digits?: number) => string,
): string[] {
  const present = TLS_ROWS.filter((s) => cells.some((c) => c.system === s && c.generator === generator));
  if (!present.includes('https-zerocopy-sw') && !present.includes('https-zerocopy-ifnet')) return [];
  const sizes = [...new Set(cells.filter((c) => c.generator === generator).map((c) => c.sizeBytes))].sort(
    (a, b) => a - b,
  );
  const cell = (system: string, size: number) =>
    cells.find((c) => c.system === system && c.sizeBytes === size && c.generator === generator);
  const out = [
    '### HTTPS: server CPU seconds per GB of payload (median), and memory traffic per body byte',
    '',
    `| file | ${present.join(' | ')} | ifnet less the NIC's encryption |`,
    `| --- | ${present.map(() => '---').join(' | ')} | --- |`,
  ];
  for (const size of sizes) {
    const row = present.map((s) => {
      const c = cell(s, size);
      if (!c) return '–';
      const mem = Number.isFinite(c.memoryPerByte) ? ` (mem ${n(c.memoryPerByte, 2)})` : '';
      return `${n(c.serverCpuSecondsPerGB, 2)}${mem}`;
    });
    const ifnet = cell('https-zerocopy-ifnet', size);
    const left = ifnet ? ifnet.serverCpuSecondsPerGB - nicSecondsPerGB : Number.NaN;
    // Below zero: the estimate is above what was measured; the NIC's work is nearly all of it.
    const less = left < 0 ? `≈ 0 (${n(left, 2)})` : n(left, 2);
    out.push(`| ${formatBytes(size)} | ${row.join(' | ')} | ${less} |`);
  }
  out.push(...tlsRatioLines(sizes, cell, nicSecondsPerGB, n));
  out.push(
    '',
    `How to read it: "mem" is the CPU's memory reads per body byte (as many writes) from the route's`,
    'counters; nginx and Node count none. In zcsim the "NIC" of ifnet mode encrypts with the',
    "session's crypto driver inside the server process, so the ifnet column includes the card's work; a real",
    `card does it off the host. Encrypting here costs ${n(nicSecondsPerGB, 2)} CPU s/GB (AES-256-GCM, 16 KiB`,
    "records, measured in the ifnet server's process), and the last column takes that out: compare it with",
    'zerocopy-dmap (plain sendfile); a negative difference means the estimate exceeds the measured total,',
    "the card's work being nearly all of it. The figures come from short runs on a shared machine: noisy.",
  );
  return out;
}

/** Kernel TLS against its references, per size: software mode over Node's https, ifnet less the
 * NIC's encryption over plain sendfile. Targets: sw at most 1.5× Node at 1 MiB and above, 2× below;
 * ifnet at most plain sendfile's cost once the card's work is taken out. */
function tlsRatioLines(
  sizes: readonly number[],
  cell: (system: string, size: number) => HttpCell | undefined,
  nicSecondsPerGB: number,
  n: (value: number, digits?: number) => string,
): string[] {
  const rows: string[] = [];
  for (const size of sizes) {
    const sw = cell('https-zerocopy-sw', size);
    const node = cell('https-node-memory', size);
    const want = size >= 1024 * 1024 ? 1.5 : 2;
    // A reference that finished no response in its windows has no CPU per GB to compare with.
    if (sw && node && !(node.requestsPerSecond > 0)) {
      rows.push(
        `| KTLS sw / node https | ${formatBytes(size)} | – | ≤ ${want} | n/a: node https finished no response |`,
      );
    } else if (sw && node) {
      const ratio = sw.serverCpuSecondsPerGB / node.serverCpuSecondsPerGB;
      rows.push(
        `| KTLS sw / node https | ${formatBytes(size)} | ${n(ratio, 2)} | ≤ ${want} | ${ratio <= want ? 'met' : 'missed'} |`,
      );
    }
    const ifnet = cell('https-zerocopy-ifnet', size);
    const plain = cell('zerocopy-dmap', size);
    if (ifnet && plain && Number.isFinite(nicSecondsPerGB)) {
      const ratio = (ifnet.serverCpuSecondsPerGB - nicSecondsPerGB) / plain.serverCpuSecondsPerGB;
      rows.push(
        `| KTLS ifnet less the NIC / plain sendfile | ${formatBytes(size)} | ${n(ratio, 2)} | ≤ 1 | ${ratio <= 1 ? 'met' : 'missed'} |`,
      );
    }
  }
  if (rows.length === 0) return [];
  return [
    '',
    'Server CPU per GB, ratios of medians:',
    '',
    '| ratio | file | measured × | target × | result |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ];
}
