// Wireshark itself, compiled to WebAssembly (@goodtools/wiregasm, a test-only devDependency):
// loaded once per test file (it takes about a second and 250 MB), with the TCP and IP checksums
// checked, and the few questions the capture tests ask of a file.
import { createRequire } from 'node:module';
import pkg, { type Wiregasm } from '@goodtools/wiregasm';
import loader from '@goodtools/wiregasm/dist/wiregasm.js';

const require = createRequire(import.meta.url);

/** Expert info severities (epan/proto.h): PI_NOTE, and anything above it is a warning or error. */
export const PI_NOTE = 0x00400000;

export async function loadWireshark(): Promise<Wiregasm> {
  // The package's ESM build has no named export: the default export is the module object.
  const w = new pkg.Wiregasm();
  await w.init(loader, {
    locateFile: (f: string) => require.resolve(`@goodtools/wiregasm/dist/${f}`),
    print() {},
    printErr() {},
    handleStatus() {},
  });
  w.set_pref('tcp', 'check_checksum', 'TRUE');
  w.set_pref('ip', 'check_checksum', 'TRUE');
  w.apply_prefs();
  return w;
}

/** Loads `bytes` as a file (secrets do not carry over between loads); throws on a load error. */
export function openCapture(w: Wiregasm, name: string, bytes: Uint8Array): number {
  const r = w.load(name, bytes);
  if (r.code !== 0) throw new Error(`wiregasm: ${name}: ${r.error}`);
  return r.summary.packet_count;
}

export function matched(w: Wiregasm, filter: string): number {
  const ok = w.test_filter(filter);
  if (!ok.ok) throw new Error(`wiregasm: bad filter ${filter}: ${ok.error}`);
  return w.frames(filter, 0, 0).matched;
}

/** Frame numbers that match `filter`. */
export function frameNumbers(w: Wiregasm, filter: string): number[] {
  const got = w.frames(filter, 0, 0);
  const out: number[] = [];
  for (let i = 0; i < got.frames.size(); i++) out.push(got.frames.get(i).number);
  return out;
}

/** The first value of a numeric field in a frame's tree ("tcp.len"), or null. */
export function fieldNumber(w: Wiregasm, frame: number, field: string): number | null {
  const prefix = `${field} == `;
  const stack = [w.frame(frame).tree];
  while (stack.length > 0) {
    const v = stack.pop()!;
    for (let i = 0; i < v.size(); i++) {
      const n = v.get(i);
      if (n.filter.startsWith(prefix)) return Number(n.filter.slice(prefix.length));
      stack.push(n.tree);
    }
  }
  return null;
}

/**
 * The bytes one side sent, as Wireshark follows the stream ('TCP', or 'TLS' decrypted): the side
 * whose first payload starts with `startsWith`.
 */
export function followSide(w: Wiregasm, proto: 'TCP' | 'TLS', startsWith: string): Buffer {
  const f = w.follow(proto, 'tcp.stream eq 0');
  const parts: { server: number; data: Buffer }[] = [];
  for (let i = 0; i < f.payloads.size(); i++) {
    const p = f.payloads.get(i);
    parts.push({ server: p.server, data: Buffer.from(p.data, 'base64') });
  }
  const first = parts.find((p) => p.data.toString('latin1').startsWith(startsWith));
  if (first === undefined) return Buffer.alloc(0);
  return Buffer.concat(parts.filter((p) => p.server === first.server).map((p) => p.data));
}
