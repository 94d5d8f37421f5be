// What a result was measured on: Node version, CPU model and cores, memory, kernel, and when.
// Every results file carries it, so two results can be compared only when they should be.
import os from 'node:os';

export interface MachineInfo {
  nodeVersion: string;
  v8Version: string;
  platform: string;
  kernelRelease: string;
  cpuModel: string;
  cpuCount: number;
  totalMemoryBytes: number;
  hostname: string;
  startedAt: string;
  /** 1, 5 and 15 minute load averages when the run started: other work on the machine skews results. */
  loadAverage: number[];
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    nodeVersion: process.version,
    v8Version: process.versions.v8,
    platform: `${os.platform()} ${os.arch()}`,
    kernelRelease: os.release(),
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cpuCount: cpus.length,
    totalMemoryBytes: os.totalmem(),
    hostname: os.hostname(),
    startedAt: new Date().toISOString(),
    loadAverage: os.loadavg(),
  };
}

/** One line for the head of a report. */
export function machineLine(info: MachineInfo): string {
  const memoryGiB = (info.totalMemoryBytes / 2 ** 30).toFixed(1);
  return `Node ${info.nodeVersion} (V8 ${info.v8Version}), ${info.platform} ${info.kernelRelease}, ${info.cpuModel} × ${info.cpuCount} cores, ${memoryGiB} GiB, started ${info.startedAt}, load average ${info.loadAverage.map((l) => l.toFixed(2)).join(' ')}`;
}
