// Goal: `zcsim capture URL -o FILE` writes one request on the model's wire as pcapng: a Section
// Header, the Interface Description, over HTTPS the key log in a Decryption Secrets Block right
// after it, then the packets (three for the handshake first, the FIN exchange last), with --tso
// the bursts flagged; `zcsim stat` prints netstat -s -p tcp; `serve --capture` and `--mtu` parse.
// Method: servers in this process (plain, and HTTPS with kernel TLS), the built command
// (dist/src/cli/main.js), and the file's blocks read back by a small pcapng walker.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServeArgs } from '../../src/cli/serve.js';
import { formatStat } from '../../src/cli/stat.js';
import type { StatsSnapshot } from '../../src/http/index.js';
import { patternBytes } from '../../src/load/index.js';
import { type Running, startServer } from '../http/helpers.js';
import { CERT_PEM, KEY_PEM } from '../ktls/helpers.js';
import { tempDir } from '../support/tmp.js';

const MAIN = resolve(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');
const FILE_BYTES = 200_000;
const SHB = 0x0a0d0d0a;
const IDB = 1;
const EPB = 6;
const DSB = 10;
const EPB_FLAG_TSO = 1 << 11;
let base: string;
let plain: Running;
let secure: Running;

interface Block {
  readonly type: number;
  readonly body: Buffer;
}

/** The blocks of a little-endian pcapng file, each checked against its trailing length. */
function blocks(file: Buffer): Block[] {
  const out: Block[] = [];
  for (let pos = 0; pos < file.length; ) {
    const type = file.readUInt32LE(pos);
    const len = file.readUInt32LE(pos + 4);
    expect(len % 4).toBe(0);
    expect(file.readUInt32LE(pos + len - 4)).toBe(len);
    out.push({ type, body: file.subarray(pos + 8, pos + len - 4) });
    pos += len;
  }
  return out;
}

/** An EPB's frame and its epb_flags option. */
function epbOf(b: Block): { frame: Buffer; flags: number } {
  const caplen = b.body.readUInt32LE(12);
  const frame = b.body.subarray(20, 20 + caplen);
  let flags = 0;
  for (let pos = 20 + ((caplen + 3) & ~3); pos + 4 <= b.body.length; ) {
    const code = b.body.readUInt16LE(pos);
    const len = b.body.readUInt16LE(pos + 2);
    if (code === 0) break;
    if (code === 2) flags = b.body.readUInt32LE(pos + 4);
    pos += 4 + ((len + 3) & ~3);
  }
  return { frame, flags };
}

/** TCP flags byte of a raw IPv4 frame. */
const tcpFlags = (frame: Buffer): number => frame[20 + 13] as number;

async function zcsim(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [MAIN, ...args]);
  return stdout;
}

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: npm run build (npm test does it)`);
  base = tempDir('zcsim-capture');
  writeFileSync(join(base, 'f.bin'), patternBytes(FILE_BYTES, 9));
  plain = await startServer({ root: base });
  secure = await startServer({ root: base, tls: { cert: CERT_PEM, key: KEY_PEM, ktlsMode: 'sw' } });
});

afterAll(async () => {
  await plain?.server.close();
  await secure?.server.close();
  rmSync(base, { recursive: true, force: true });
});

describe('zcsim capture', () => {
  it('writes the request on the wire: header, interface, handshake, data, FIN exchange', async () => {
    const out = join(base, 'plain.pcapng');
    const said = await zcsim('capture', `${plain.origin}/zerocopy/f.bin`, '-o', out);
    expect(said).toContain(out);
    const file = readFileSync(out);
    const bs = blocks(file);
    expect(bs.slice(0, 2).map((b) => b.type)).toEqual([SHB, IDB]);
    expect(bs[0]!.body.toString('latin1')).toContain('A model of the wire, not a capture of loopback');
    const packets = bs.filter((b) => b.type === EPB).map(epbOf);
    expect(packets.length).toBe(bs.length - 2);
    // SYN, SYN-ACK, ACK; the last three: FIN, FIN, ACK.
    expect(packets.slice(0, 3).map((p) => tcpFlags(p.frame))).toEqual([0x02, 0x12, 0x10]);
    expect(packets.slice(-3).map((p) => tcpFlags(p.frame) & 0x01)).toEqual([1, 1, 0]);
    expect(file.includes(Buffer.from('GET /zerocopy/f.bin HTTP/1.1'))).toBe(true);
    expect(file.includes(Buffer.from('HTTP/1.1 200 OK'))).toBe(true);
    // Segments of one MSS at most on a 1500-byte MTU, and no TSO flag.
    expect(Math.max(...packets.map((p) => p.frame.length))).toBe(1500);
    expect(packets.every((p) => (p.flags & EPB_FLAG_TSO) === 0)).toBe(true);
  });

  it('--tso: the bursts as one frame each, flagged', async () => {
    const out = join(base, 'tso.pcapng');
    await zcsim('capture', `${plain.origin}/zerocopy/f.bin`, '--tso', '-o', out);
    const packets = blocks(readFileSync(out))
      .filter((b) => b.type === EPB)
      .map(epbOf);
    const tso = packets.filter((p) => (p.flags & EPB_FLAG_TSO) !== 0);
    expect(tso.length).toBeGreaterThan(0);
    expect(tso.every((p) => p.frame.length > 1500)).toBe(true);
  });

  it('over HTTPS: the key log in a Decryption Secrets Block right after the interface', async () => {
    const out = join(base, 'tls.pcapng');
    await zcsim('capture', `${secure.origin.replace('http:', 'https:')}/zerocopy/f.bin`, '-k', '-o', out);
    const bs = blocks(readFileSync(out));
    expect(bs.slice(0, 3).map((b) => b.type)).toEqual([SHB, IDB, DSB]);
    const dsb = bs[2]!.body;
    expect(dsb.readUInt32LE(0)).toBe(0x544c534b);
    const keylog = dsb.subarray(8, 8 + dsb.readUInt32LE(4)).toString('latin1');
    for (const label of [
      'SERVER_HANDSHAKE_TRAFFIC_SECRET',
      'CLIENT_TRAFFIC_SECRET_0',
      'SERVER_TRAFFIC_SECRET_0',
    ])
      expect(keylog).toContain(label);
    expect(readFileSync(out).includes(Buffer.from('HTTP/1.1 200 OK'))).toBe(false);
  });

  it("a name that is not a file is refused with the server's reason", async () => {
    await expect(
      zcsim('capture', `${plain.origin}/zerocopy/nope.bin`, '-o', join(base, 'x.pcapng')),
    ).rejects.toThrow(/zcsim capture: /);
  });
});

describe('zcsim stat and serve', () => {
  it("stat prints netstat -s -p tcp: packets sent, data packets with their bytes, the model's segments", async () => {
    const snap = (await plain.server.inject({ method: 'GET', url: '/stats' })).json() as StatsSnapshot;
    const text = formatStat(snap);
    expect(text).toMatch(/^tcp:$/m);
    expect(text).toMatch(/^\t\d+ packets sent$/m);
    expect(text).toMatch(
      new RegExp(
        `^\\t\\t${snap.kernel.tcp.tcps_sndpack} data packets \\(${snap.kernel.sockets.tcps_sndbyte} bytes\\)$`,
        'm',
      ),
    );
    expect(text).toMatch(/^\t\(model\) \d+ segments on the wire from \d+ TSO bursts/m);
  });

  it('serve --capture FILE --capture-max SIZE --mtu BYTES', () => {
    const c = parseServeArgs(['--capture', 'all.pcapng', '--capture-max', '2M', '--mtu', '9000'], {});
    if (c === 'help') throw new Error('help');
    expect(c.capture).toEqual({ path: 'all.pcapng', maxBytes: 2 * 1024 * 1024 });
    expect(c.kernel.mtuBytes).toBe(9000);
    const off = parseServeArgs([], {});
    if (off === 'help') throw new Error('help');
    expect(off.capture).toBeNull();
    expect(() => parseServeArgs(['--mtu', '100'], {})).toThrow(/--mtu/);
  });
});
