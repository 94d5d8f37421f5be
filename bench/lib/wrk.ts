// wrk as the throughput generator when it is installed (Debian package `wrk`). A small Lua
// `done` hook prints one machine-readable line (requests, bytes, duration, errors and the
// latency percentiles wrk keeps in µs), so nothing depends on wrk's human output.
import { execFile } from 'node:child_process';
import { accessSync, constants, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface WrkResult {
  requests: number;
  bytes: number; // every byte read, headers and partial bodies included
  seconds: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyMs: { p50: number; p97_5: number; p99: number; max: number };
}

const DONE_SCRIPT = `done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("ZCSIM_WRK %d %d %d %d %d %d %d %d %.1f %.1f %.1f %.1f\\n",
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(97.5), latency:percentile(99), latency.max))
end
`;

/** Path of an executable on PATH, else null. */
export function findExecutable(name: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return null;
}

/** Requests written back to back on each connection by the pipelined run (wrk's pipeline.lua). */
export const PIPELINE_DEPTH = 16;

const PIPELINE_SCRIPT = `init = function(args)
  local r = {}
  for i = 1, ${PIPELINE_DEPTH} do r[i] = wrk.format() end
  req = table.concat(r)
end
request = function() return req end
`;

/** Writes the Lua script: the result line, and with `pipelined` the depth-16 request batches. */
export function writeWrkScript(dir: string, pipelined = false): string {
  const scriptPath = path.join(dir, pipelined ? 'zcsim-pipelined.lua' : 'zcsim-done.lua');
  writeFileSync(scriptPath, pipelined ? `${PIPELINE_SCRIPT}${DONE_SCRIPT}` : DONE_SCRIPT);
  return scriptPath;
}

export function parseWrkLine(stdout: string): WrkResult {
  const line = stdout.split('\n').find((l) => l.startsWith('ZCSIM_WRK '));
  if (!line) throw new Error(`wrk printed no result line:\n${stdout.slice(0, 2000)}`);
  const f = line.split(' ').slice(1).map(Number);
  const at = (i: number) => f[i] ?? Number.NaN;
  // wrk's percentile answers 0 when its coordinated-omission correction has put samples below the
  // minimum it walks from (seen with pipelining): no answer, not 0 ms, once the median is above 0.
  const percentileMs = (i: number) => (at(i) === 0 && at(8) > 0 ? Number.NaN : at(i) / 1000);
  return {
    requests: at(0),
    bytes: at(1),
    seconds: at(2) / 1e6,
    errors: { connect: at(3), read: at(4), write: at(5), status: at(6), timeout: at(7) },
    latencyMs: { p50: at(8) / 1000, p97_5: percentileMs(9), p99: percentileMs(10), max: at(11) / 1000 },
  };
}

export interface WrkRun {
  wrkPath: string;
  scriptPath: string;
  url: string;
  connections: number;
  threads: number;
  durationSeconds: number;
}

/** Runs wrk once (its own process); bounded by its -d plus a grace. */
export function runWrk(run: WrkRun): Promise<WrkResult> {
  const args = [
    `-t${Math.min(run.threads, run.connections)}`,
    `-c${run.connections}`,
    `-d${Math.max(1, Math.round(run.durationSeconds))}s`,
    '--timeout',
    '30s',
    '-s',
    run.scriptPath,
    run.url,
  ];
  return new Promise((resolve, reject) => {
    execFile(
      run.wrkPath,
      args,
      { timeout: (run.durationSeconds + 40) * 1000, maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`wrk failed: ${error.message} ${stderr}`));
        else {
          try {
            resolve(parseWrkLine(stdout));
          } catch (e) {
            reject(e);
          }
        }
      },
    );
  });
}
