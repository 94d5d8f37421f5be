// zcsim capture URL -o FILE: one request on the model's wire, as a pcapng file Wireshark opens
// (and decrypts, over HTTPS). The server makes the request itself on a fresh connection and
// records it (GET /capture.pcapng); this writes the answer to FILE.
import { writeFile } from 'node:fs/promises';
import { ROUTES } from '../http/index.js';
import { formatBytes } from '../kern/index.js';
import { type FetchResponse, fetchUrl, INSECURE_OPTION } from './fetch-url.js';
import { helpText, type OptionTable, parseWith, UsageError } from './options.js';
import { parseTraceUrl } from './trace.js';

export const CAPTURE_OPTIONS: OptionTable = {
  output: {
    type: 'string',
    short: 'o',
    value: 'FILE',
    default: 'capture.pcapng',
    help: 'the pcapng file written',
  },
  tso: {
    type: 'boolean',
    default: 'off',
    help: 'one frame per TSO burst (flagged as such) instead of the segments the card cuts',
  },
  insecure: INSECURE_OPTION,
  help: { type: 'boolean', short: 'h', help: 'show this help' },
};
export const CAPTURE_USAGE = 'zcsim capture URL -o FILE';
const CAPTURE_SUMMARY = `Records one request to a running zcsim server as the model's wire would carry it: both
directions, TSO bursts cut into segments, and over HTTPS the TLS key log inside the file, so
that Wireshark shows the HTTP with no extra step. URL is a file route, e.g.
http://127.0.0.1:8080/zerocopy/1m.bin (routes: ${ROUTES.join(', ')}).`;

export async function capture(args: readonly string[]): Promise<number> {
  const { values: v, positionals } = parseWith(CAPTURE_OPTIONS, args, 1);
  if (v.help) {
    process.stdout.write(helpText(CAPTURE_USAGE, CAPTURE_SUMMARY, CAPTURE_OPTIONS));
    return 0;
  }
  const text = positionals[0];
  if (text === undefined) throw new UsageError('a URL is required');
  const { origin, route, file } = parseTraceUrl(text);
  const output = typeof v.output === 'string' ? v.output : 'capture.pcapng';
  const query = new URLSearchParams({ route, file, ...(v.tso === true ? { frames: 'tso' } : {}) });
  let r: FetchResponse;
  try {
    r = await fetchUrl(`${origin}/capture.pcapng?${query}`, v.insecure === true);
  } catch {
    process.stderr.write(`zcsim capture: cannot connect to ${origin}: is the server running?\n`);
    return 1;
  }
  if (!r.ok) {
    const body = (await r.json().catch(() => ({}))) as { error?: unknown };
    const why = typeof body.error === 'string' ? body.error : `${origin}/capture.pcapng answered ${r.status}`;
    process.stderr.write(`zcsim capture: ${why}\n`);
    return 1;
  }
  const bytes = new Uint8Array(await r.arrayBuffer());
  await writeFile(output, bytes);
  process.stdout.write(`${output}: ${formatBytes(bytes.length)} of pcapng for GET /${route}/${file}\n`);
  return 0;
}
