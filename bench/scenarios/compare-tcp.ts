// Raw TCP section: one sender in this process, one receiver in a child process that
// drains and counts. Each run opens a loopback connection, sends a hot file again and again for
// a fixed time, half-closes, and stops the clock when the receiver answers with its byte count.
// Systems: sendfile in each mapping mode, the copy path (read + write through the kernel),
// fs.createReadStream().pipe(socket), and socket.write() of one Buffer held in memory.
import { once } from 'node:events';
import { createReadStream, readFileSync } from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { Kernel, KernelStats, KFile, KSocket } from '../../src/index.js';
import { formatBytes } from '../../src/kern/index.js';
import { ChildHandle, median, megabytesPerSecond, ratio } from '../../src/load/index.js';
import { counterDelta, kernelCopiesPerByte } from '../lib/counters.js';
import type { BenchFile } from '../lib/files.js';
import { benchKernel, type Mapping, sbDrain } from '../lib/zcsim.js';

export const TCP_SYSTEMS = [
  'sendfile-dmap',
  'sendfile-kva',
  'sendfile-extpg',
  'copy',
  'node-pipe',
  'node-write',
] as const;
export type TcpSystem = (typeof TCP_SYSTEMS)[number];

export interface TcpRun {
  system: TcpSystem;
  sizeBytes: number;
  rep: number;
  bytes: number;
  seconds: number;
  megabytesPerSecond: number;
  senderCpuSecondsPerGB: number;
  copiesPerByte: number;
}
export interface TcpCell {
  system: TcpSystem;
  sizeBytes: number;
  megabytesPerSecond: number; // median of the reps
  runs: number[];
  vsUpperBound: number; // / node-write
  vsCopy: number; // / copy
  senderCpuSecondsPerGB: number;
  copiesPerByte: number;
}
export interface TcpResult {
  systems: TcpSystem[];
  skipped: Record<string, string>;
  cells: TcpCell[];
  runs: TcpRun[];
}

/** Sends the file once on the socket; resolves when the bytes are queued (not yet received). */
type SendOnce = (socket: net.Socket) => Promise<void>;

interface Sender {
  prepare(socket: net.Socket): void;
  sendOnce: SendOnce;
  finish(socket: net.Socket): Promise<void>;
  /** The kernel's counters (null: a sender without the simulated kernel). */
  stats(): KernelStats | null;
}

function nodeWriteSender(file: BenchFile): Sender {
  const buffer = readFileSync(file.path);
  return {
    prepare: () => undefined,
    sendOnce: async (socket) => {
      if (!socket.write(buffer)) await once(socket, 'drain');
    },
    finish: async () => undefined,
    stats: () => null,
  };
}

function nodePipeSender(file: BenchFile): Sender {
  return {
    prepare: () => undefined,
    sendOnce: async (socket) => {
      const stream = createReadStream(file.path, { highWaterMark: 64 * 1024 });
      stream.pipe(socket, { end: false });
      await once(stream, 'end');
    },
    finish: async () => undefined,
    stats: () => null,
  };
}

function kernelSender(kernel: Kernel, kfile: KFile, file: BenchFile, copy: boolean): Sender {
  let so: KSocket | null = null;
  return {
    prepare: (socket) => {
      so = kernel.socket(socket);
    },
    sendOnce: async () => {
      if (!so) throw new Error('kernel socket not prepared');
      if (copy) await kernel.copyfile(kfile, so, 0, file.sizeBytes);
      else await kernel.sendfile(kfile, so, 0, file.sizeBytes);
    },
    finish: async () => {
      if (!so) return;
      await sbDrain(kernel, so, 30_000);
      kernel.soclose(so);
      so = null;
    },
    stats: () => kernel.stats(),
  };
}

interface RunLimits {
  durationMs: number;
  iterationsMax: number;
}

/** One measured run: connect, send for the duration, half-close, wait for the receiver's count. */
async function measure(port: number, sender: Sender, sizeBytes: number, limits: RunLimits) {
  const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
  await once(socket, 'connect');
  let reply = '';
  socket.setEncoding('utf8');
  socket.on('data', (text: string) => {
    reply += text;
  });
  const closed = once(socket, 'end');
  sender.prepare(socket);
  const statsBefore = sender.stats();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let iterations = 0;
  while (iterations < limits.iterationsMax && performance.now() - started < limits.durationMs) {
    await sender.sendOnce(socket);
    iterations++;
  }
  await sender.finish(socket);
  socket.end();
  await closed;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  socket.destroy();
  const bytes = Number(reply.trim());
  if (bytes !== iterations * sizeBytes)
    throw new Error(`receiver counted ${bytes} bytes, sent ${iterations * sizeBytes}`);
  const statsAfter = sender.stats();
  const delta = statsBefore && statsAfter ? counterDelta(statsBefore, statsAfter) : {};
  return {
    bytes,
    seconds,
    senderCpuSecondsPerGB: (cpu.user + cpu.system) / 1e6 / (bytes / 1e9),
    copiesPerByte: kernelCopiesPerByte(delta, bytes),
  };
}

export interface TcpSectionConfig {
  files: BenchFile[];
  systems: TcpSystem[];
  reps: number;
  durationSeconds: number;
  physmemBytes: number;
  sndbufBytes: number | null;
  onRunDone: (label: string) => void;
}

/** Number of runs the section will make (for the progress bar). */
export function tcpRunCount(config: Pick<TcpSectionConfig, 'files' | 'systems' | 'reps'>): number {
  return config.files.length * config.systems.length * config.reps;
}

async function makeSenders(config: TcpSectionConfig, file: BenchFile) {
  const senders = new Map<TcpSystem, Sender>();
  const kernels: { kernel: Kernel; kfile: KFile }[] = [];
  for (const system of config.systems) {
    if (system === 'node-write') senders.set(system, nodeWriteSender(file));
    else if (system === 'node-pipe') senders.set(system, nodePipeSender(file));
    else {
      const mapping: Mapping = system === 'copy' ? 'dmap' : (system.slice('sendfile-'.length) as Mapping);
      const kernel = benchKernel(mapping, config.physmemBytes, config.sndbufBytes);
      const kfile = await kernel.open(file.path);
      kernels.push({ kernel, kfile });
      senders.set(system, kernelSender(kernel, kfile, file, system === 'copy'));
    }
  }
  const release = async () => {
    for (const { kernel, kfile } of kernels) {
      await kernel.close(kfile);
      await kernel.destroy();
    }
  };
  return { senders, release };
}

export async function runTcpSection(config: TcpSectionConfig): Promise<TcpResult> {
  const receiver = new ChildHandle(fileURLToPath(new URL('../children/tcp-receiver.js', import.meta.url)));
  const runs: TcpRun[] = [];
  const skipped: Record<string, string> = {};
  try {
    const port = await receiver.request<number>('listen', null, 10_000);
    for (const file of config.files) {
      const { senders, release } = await makeSenders(config, file);
      try {
        const limits = { durationMs: config.durationSeconds * 1000, iterationsMax: 100_000 };
        // Warm-up: one short run each, so every page is resident and every JIT path hot.
        for (const sender of senders.values())
          await measure(port, sender, file.sizeBytes, { durationMs: 1, iterationsMax: 2 });
        for (let rep = 0; rep < config.reps; rep++) {
          for (const [system, sender] of senders) {
            const r = await measure(port, sender, file.sizeBytes, limits);
            runs.push({
              system,
              sizeBytes: file.sizeBytes,
              rep,
              ...r,
              megabytesPerSecond: megabytesPerSecond(r.bytes, r.seconds),
            });
            config.onRunDone(`tcp ${system} ${formatBytes(file.sizeBytes)}`);
          }
        }
      } finally {
        await release();
      }
    }
  } finally {
    await receiver.stop();
  }
  return summarise(config.systems, runs, skipped);
}

function summarise(systems: TcpSystem[], runs: TcpRun[], skipped: Record<string, string>): TcpResult {
  const sizes = [...new Set(runs.map((r) => r.sizeBytes))];
  const cells: TcpCell[] = [];
  for (const sizeBytes of sizes) {
    const med = (system: TcpSystem, pick: (r: TcpRun) => number) =>
      median(runs.filter((r) => r.system === system && r.sizeBytes === sizeBytes).map(pick));
    const upper = med('node-write', (r) => r.megabytesPerSecond);
    const copy = med('copy', (r) => r.megabytesPerSecond);
    for (const system of systems) {
      const mbps = med(system, (r) => r.megabytesPerSecond);
      if (Number.isNaN(mbps)) continue;
      cells.push({
        system,
        sizeBytes,
        megabytesPerSecond: mbps,
        runs: runs
          .filter((r) => r.system === system && r.sizeBytes === sizeBytes)
          .map((r) => r.megabytesPerSecond),
        vsUpperBound: ratio(mbps, upper),
        vsCopy: ratio(mbps, copy),
        senderCpuSecondsPerGB: med(system, (r) => r.senderCpuSecondsPerGB),
        copiesPerByte: med(system, (r) => r.copiesPerByte),
      });
    }
  }
  return { systems, skipped, cells, runs };
}
