// GET a URL of a running zcsim server, and say in one line why it failed: nothing listening, a
// certificate the client does not trust (curl's words), TLS against a plain server or plain HTTP
// against a TLS one. With `insecure`, an https server's certificate is not checked (curl's
// --insecure): `zcsim serve --tls` makes a self-signed one. The server read by default is the
// one `zcsim serve` would start, from the same PORT and HOST.
import { Agent, fetch } from 'undici';
import { CommandError } from './errors.js';
import type { OptionSpec } from './options.js';

let insecureAgent: Agent | null = null;

/** -k, --insecure, as curl's: the option of every command that reads a server. */
export const INSECURE_OPTION: OptionSpec = {
  type: 'boolean',
  short: 'k',
  default: 'off',
  help: "https: do not check the server's certificate (zcsim serve --tls makes a self-signed one)",
};

/** The port and host `zcsim serve` listens on without options. */
export const SERVE_PORT_DEFAULT = '8080';
export const SERVE_HOST_DEFAULT = '127.0.0.1';

/** The origin `zcsim serve` would listen on with this environment (PORT, HOST). */
export function defaultOrigin(env: NodeJS.ProcessEnv): string {
  const host = env.HOST || SERVE_HOST_DEFAULT;
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return `http://${shown}:${env.PORT || SERVE_PORT_DEFAULT}`;
}

export type FetchResponse = Awaited<ReturnType<typeof fetch>>;

export function fetchUrl(url: string, insecure: boolean): Promise<FetchResponse> {
  if (!insecure || !url.startsWith('https:')) return fetch(url);
  insecureAgent ??= new Agent({ connect: { rejectUnauthorized: false } });
  return fetch(url, { dispatcher: insecureAgent });
}

/** Certificate errors of OpenSSL, in curl's words. */
const CERT_REASONS: Readonly<Record<string, string>> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in certificate chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to get local issuer certificate',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'unable to get local issuer certificate',
  CERT_HAS_EXPIRED: 'certificate has expired',
  ERR_TLS_CERT_ALTNAME_INVALID: 'certificate does not name this host',
};

/** Why a fetch of `origin` threw, as one line. */
export function whyNoAnswer(err: unknown, origin: string): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? cause.code : '';
  const cert = CERT_REASONS[code];
  if (cert !== undefined) return `cannot read ${origin}: ${cert}; use -k (--insecure) to read it anyway`;
  if (code === 'ECONNREFUSED')
    return `cannot connect to ${origin}: nothing listens there; is the server running?`;
  if (
    code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    code === 'EPROTO' ||
    /wrong version number/.test(String(cause?.message))
  )
    return `cannot read ${origin}: the server does not speak TLS; try http://`;
  if (code === 'UND_ERR_SOCKET' || code === 'ECONNRESET')
    return `${origin} closed the connection without an answer: is it a zcsim server (https:// for zcsim serve --tls)?`;
  return `cannot connect to ${origin}${code !== '' ? ` (${code})` : ''}: is the server running?`;
}

/** GETs `url`; a CommandError with the reason when nothing answers or plain HTTP hit a TLS port. */
export async function readServer(url: string, insecure: boolean): Promise<FetchResponse> {
  const origin = new URL(url).origin;
  let r: FetchResponse;
  try {
    r = await fetchUrl(url, insecure);
  } catch (err) {
    throw new CommandError(whyNoAnswer(err, origin));
  }
  if (r.status === 400 && url.startsWith('http:')) {
    const text = await r.text().catch(() => '');
    if (/plain HTTP request was sent to HTTPS port/i.test(text))
      throw new CommandError(
        `${origin} is an HTTPS server: use https://${origin.slice('http://'.length)} (and -k for a self-signed certificate)`,
      );
    throw new CommandError(`${url} answered 400: is this a zcsim server?`);
  }
  return r;
}
