// The certificate `zcsim serve --tls` uses when none is given: self-signed, for localhost and
// 127.0.0.1, made on first run into a cache folder ($ZCSIM_TLS_DIR, else
// $XDG_CACHE_HOME/zcsim/tls, else ~/.cache/zcsim/tls) and reused until it is about to expire.
// Node has no API to make an X.509 certificate; the `selfsigned` package does it in JavaScript.
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import selfsigned from 'selfsigned';
import { realClock, wallMs } from '../kern/index.js';

export interface CertPair {
  readonly cert: string;
  readonly key: string;
  /** Made by this call (false: read from the cache). */
  readonly created: boolean;
  readonly certPath: string;
  readonly keyPath: string;
}

const VALID_DAYS = 365;
/** A cached certificate with less than this left is replaced. */
const RENEW_BEFORE_MS = 7 * 24 * 3600 * 1000;

export function tlsCertDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ZCSIM_TLS_DIR) return env.ZCSIM_TLS_DIR;
  const cache = env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'zcsim', 'tls');
}

/** The cached self-signed pair, made first if missing, unreadable or near its end. */
export async function selfSignedCert(
  dir: string = tlsCertDir(),
  nowMs: number = wallMs(realClock()),
): Promise<CertPair> {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  try {
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    const x509 = new X509Certificate(cert);
    if (Date.parse(x509.validTo) - nowMs > RENEW_BEFORE_MS && x509.checkPrivateKey(createPrivateKey(key))) {
      return { cert, key, created: false, certPath, keyPath };
    }
  } catch {
    // Missing or unreadable: make a new pair below.
  }
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], {
    keyType: 'ec',
    curve: 'P-256',
    notBeforeDate: new Date(nowMs),
    notAfterDate: new Date(nowMs + VALID_DAYS * 24 * 3600 * 1000),
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  // Written under temporary names, then renamed: a concurrent start never reads half a file.
  const tmp = `.${process.pid}.tmp`;
  await writeFile(keyPath + tmp, pems.private, { mode: 0o600 });
  await writeFile(certPath + tmp, pems.cert);
  await rename(keyPath + tmp, keyPath);
  await rename(certPath + tmp, certPath);
  await chmod(keyPath, 0o600);
  return { cert: pems.cert, key: pems.private, created: true, certPath, keyPath };
}
