// nginx as a peer (when `nginx` is on PATH; `apt-get install nginx`): one process
// (master_process off, so its CPU time is one /proc/<pid>/stat, like Node's one thread), a temp
// prefix under os.tmpdir() holding the generated nginx.conf, logs and temp paths, listening on
// 127.0.0.1 only, serving the benchmark files with sendfile on or off, or over TLS 1.3 (`ssl`;
// Debian's nginx and OpenSSL on Linux without the kernel's tls module: OpenSSL encrypts in user
// space, as zcsim's /copy over TLS).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface NginxServer {
  port: number;
  pid: number;
  prefix: string;
  stop(): Promise<void>;
}

/** PEM files nginx reads for `ssl`. */
export interface NginxTls {
  readonly certPath: string;
  readonly keyPath: string;
}

export function nginxConf(
  prefix: string,
  root: string,
  port: number,
  sendfile: boolean,
  tls: NginxTls | null = null,
): string {
  const ssl = tls
    ? ` ssl;\n    ssl_certificate ${tls.certPath};\n    ssl_certificate_key ${tls.keyPath};\n    ssl_protocols TLSv1.3`
    : '';
  const temp = (name: string) => `${name}_temp_path ${path.join(prefix, `${name}_temp`)};`;
  return `daemon off;
master_process off;
worker_processes 1;
pid ${path.join(prefix, 'nginx.pid')};
error_log ${path.join(prefix, 'error.log')} warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile ${sendfile ? 'on' : 'off'};
  tcp_nopush on;
  keepalive_timeout 75s;
  keepalive_requests 10000000;
  default_type application/octet-stream;
  ${temp('client_body')} ${temp('proxy')} ${temp('fastcgi')} ${temp('uwsgi')} ${temp('scgi')}
  server {
    listen 127.0.0.1:${port}${ssl};
    root ${root};
    location / { }
  }
}
`;
}

/** A free port on 127.0.0.1 (bind 0, read, close; nginx binds it right after). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`nginx did not listen on ${port} within ${timeoutMs} ms`);
}

export async function startNginx(
  nginxPath: string,
  root: string,
  sendfile: boolean,
  tls: NginxTls | null = null,
): Promise<NginxServer> {
  const prefix = mkdtempSync(path.join(os.tmpdir(), `zcsim-nginx-${tls ? 'ssl' : sendfile ? 'on' : 'off'}-`));
  const port = await freePort();
  const confPath = path.join(prefix, 'nginx.conf');
  writeFileSync(confPath, nginxConf(prefix, root, port, sendfile, tls));
  const child = spawn(nginxPath, ['-p', prefix, '-c', confPath, '-e', path.join(prefix, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  try {
    await waitForPort(port, child, 5000);
  } catch (error) {
    child.kill('SIGKILL');
    const log = (() => {
      try {
        return readFileSync(path.join(prefix, 'error.log'), 'utf8');
      } catch {
        return '';
      }
    })();
    throw new Error(`${(error as Error).message}: ${stderr} ${log}`.trim());
  }
  return {
    port,
    pid: child.pid ?? -1,
    prefix,
    stop: async () => {
      if (child.exitCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGQUIT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(prefix, { recursive: true, force: true });
    },
  };
}

let clockTicksPerSecond = 0;

/** CPU seconds (user + system) of a process from /proc/<pid>/stat. */
export function procCpuSeconds(pid: number): number {
  if (clockTicksPerSecond === 0) {
    try {
      clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      clockTicksPerSecond = 100;
    }
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After "pid (comm) ", field 3 (state) is index 0: utime is field 14, stime field 15.
  return (Number(fields[11]) + Number(fields[12])) / clockTicksPerSecond;
}

/** Resident set size of a process from /proc/<pid>/statm, in bytes. */
export function procRssBytes(pid: number): number {
  const statm = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
  return Number(statm[1]) * 4096;
}
