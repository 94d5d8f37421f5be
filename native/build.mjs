// Builds build/ossl.node, the ossl crypto driver of kernel TLS (native/ossl.c), with the system's C
// compiler against the headers Node installs beside itself (node_api.h and its OpenSSL). Run at
// install and by every build; up to date, it does nothing. Without a compiler or the headers it
// says so and exits 0: kernel TLS then seals with node:crypto.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const source = join(root, 'native', 'ossl.c');
const out = join(root, 'build', 'ossl.node');
const status = join(root, 'build', 'ossl.json');

/** Node's headers: <prefix>/include/node, the prefix being where the node binary is installed. */
function headerDir() {
  const prefixes = [resolve(dirname(process.execPath), '..'), process.config?.variables?.node_prefix];
  for (const prefix of prefixes) {
    if (typeof prefix !== 'string') continue;
    const dir = join(prefix, 'include', 'node');
    if (existsSync(join(dir, 'node_api.h')) && existsSync(join(dir, 'openssl', 'evp.h'))) return dir;
  }
  return null;
}

function record(built, why) {
  mkdirSync(dirname(status), { recursive: true });
  writeFileSync(status, `${JSON.stringify({ built, why, node: process.version }, null, 2)}\n`);
  console.log(built ? `ossl: ${why}` : `ossl: not built (${why}); kernel TLS will seal with node:crypto`);
}

function build() {
  if (existsSync(out) && statSync(out).mtimeMs >= statSync(source).mtimeMs) return;
  const include = headerDir();
  if (include === null) return record(false, "no node_api.h with OpenSSL's headers beside Node");
  // $CC may carry flags of its own ("gcc -m64"), as make's convention allows.
  const [cc = 'cc', ...ccFlags] = (process.env.CC ?? 'cc').trim().split(/\s+/);
  mkdirSync(dirname(out), { recursive: true });
  const args = [...ccFlags, '-O2', '-fPIC', '-shared', '-Wall', '-I', include, '-o', out, source];
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.error !== undefined) return record(false, `${cc}: ${r.error.message}`);
  if (r.status !== 0)
    return record(false, `${cc} failed: ${r.stderr.trim().split('\n').slice(-3).join(' ')}`);
  record(true, `built ${out} with ${cc} and ${include}`);
}

build();
