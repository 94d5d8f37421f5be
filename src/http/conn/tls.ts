// HTTPS on the server's connections: one secure context for the server (TLS 1.3 only, the suites
// kernel TLS can take over), and the accept that puts Node's TLSSocket over the record tap.
import tls from 'node:tls';
import { TCP_TLS_MODE_IFNET, TCP_TLS_MODE_SW } from '../../ktls/index.js';
import { ktlsAccept } from '../../tls/index.js';
import type { TlsOptions } from '../options.js';
import type { ConnectionTls } from './connection.js';

/** The TLS 1.3 suites kernel TLS can take over (ktls(4): AES-GCM and ChaCha20-Poly1305). */
export const TLS13_CIPHERSUITES =
  'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';

export function connectionTls(opts: TlsOptions): ConnectionTls {
  const mode = opts.ktlsMode ?? 'sw';
  const secureContext = tls.createSecureContext({
    cert: opts.cert,
    key: opts.key,
    minVersion: 'TLSv1.3',
    ciphers: TLS13_CIPHERSUITES,
  });
  return {
    mode,
    accept: (kernel, so, raw) =>
      ktlsAccept(kernel, so, raw, {
        secureContext,
        mode: mode === 'ifnet' ? TCP_TLS_MODE_IFNET : TCP_TLS_MODE_SW,
        ALPNProtocols: ['http/1.1'],
      }),
  };
}
