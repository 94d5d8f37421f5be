// GET a URL of a running zcsim server. With `insecure`, an https server's certificate is not
// checked (curl's --insecure): `zcsim serve --tls` makes a self-signed one.
import { Agent, fetch } from 'undici';
import type { OptionSpec } from './options.js';

let insecureAgent: Agent | null = null;

/** -k, --insecure, as curl's: the option of every command that reads a server. */
export const INSECURE_OPTION: OptionSpec = {
  type: 'boolean',
  short: 'k',
  default: 'off',
  help: "https: do not check the server's certificate (zcsim serve --tls makes a self-signed one)",
};

export type FetchResponse = Awaited<ReturnType<typeof fetch>>;

export function fetchUrl(url: string, insecure: boolean): Promise<FetchResponse> {
  if (!insecure || !url.startsWith('https:')) return fetch(url);
  insecureAgent ??= new Agent({ connect: { rejectUnauthorized: false } });
  return fetch(url, { dispatcher: insecureAgent });
}
