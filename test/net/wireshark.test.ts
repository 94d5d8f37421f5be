// Goal: a capture of the model's wire is a file Wireshark opens without complaint and reads as the
// transfer it was: the file's exact bytes by TCP reassembly (plain) or by decryption with the key
// log in the file (HTTPS, kernel TLS in software and on the NIC), the HTTP status and length, the
// KTLS records as TLS application data, as many segments as tcp_output's model counted (each TSO
// burst cut by tso_segsz); without its secrets block the same HTTPS file shows no HTTP; and a ring
// file of 1,000 connections stays within its bound and still opens.
// Method: the demo server on 127.0.0.1 with a tap on the client's port, real Node clients, and
// Wireshark 4.4 compiled to WebAssembly (wiregasm), loaded once for the file.
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { Wiregasm } from '@goodtools/wiregasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKernel } from '../../src/index.js';
import { patternBytes } from '../../src/load/index.js';
import {
  MemoryTransport,
  PCAP_RING_QUEUE_MAX_BYTES,
  PcapBuffer,
  PcapRingFile,
  type TcpStat,
} from '../../src/net/index.js';
import { type Running, startServer } from '../http/helpers.js';
import { CERT_PEM, KEY_PEM } from '../ktls/helpers.js';
import { tempDir } from '../support/tmp.js';
import {
  fieldNumber,
  followSide,
  frameNumbers,
  loadWireshark,
  matched,
  openCapture,
  PI_NOTE,
} from './wireshark.js';

const FILE_BYTES = 1024 * 1024;
const BODY = patternBytes(FILE_BYTES, 20);
const RANGE = { first: 100_000, last: 399_999 };
let WORK = '';

let w: Wiregasm;
beforeAll(async () => {
  WORK = tempDir('wireshark');
  writeFileSync(join(WORK, 'm.bin'), BODY);
  w = await loadWireshark();
}, 120_000);
afterAll(() => {
  w?.destroy();
  rmSync(WORK, { recursive: true, force: true });
});

interface Captured {
  readonly status: number;
  readonly body: Buffer;
  readonly serverPort: number;
  readonly pcap: PcapBuffer;
  /** The model's counters for this connection alone (one connection at a time). */
  readonly delta: TcpStat;
}

function statDelta(a: Readonly<TcpStat>, b: Readonly<TcpStat>): TcpStat {
  const out = { ...b };
  for (const k of Object.keys(out) as (keyof TcpStat)[]) out[k] = b[k] - a[k];
  return out;
}

/** One GET on a fresh connection, its capture taken by a tap on the client's port. */
async function captureGet(
  run: Running,
  tls: boolean,
  frames: 'wire' | 'tso',
  headers: Record<string, string>,
): Promise<Captured> {
  const sockets = run.server.kernel.sockets;
  const pcap = new PcapBuffer(sockets.inet.ifp, 'zcsim test', 64 * 1024 * 1024);
  let client: Socket | null = null;
  const stop = sockets.pcapTap({
    frames,
    epochOffsetMs: Date.now() - performance.now(),
    match: (peerPort) => (client !== null && peerPort === client.localPort ? pcap : null),
  });
  const before = sockets.tcpstat();
  const opts = {
    host: '127.0.0.1',
    port: run.port,
    path: '/zerocopy/m.bin',
    agent: false,
    headers: { ...headers, Connection: 'close' },
  };
  const got = await new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    const onResponse = (res: http.IncomingMessage): void => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
      res.on('error', reject);
    };
    const req = tls
      ? https.get({ ...opts, ca: CERT_PEM, servername: 'localhost' }, onResponse)
      : http.get(opts, onResponse);
    req.on('socket', (s: Socket) => {
      client = s;
    });
    req.on('error', reject);
  });
  await pcap.whenClosed();
  stop();
  return { ...got, serverPort: run.port, pcap, delta: statDelta(before, sockets.tcpstat()) };
}

/** What every capture must be: no malformed frame, no expert info above a note, good checksums. */
function expectClean(name: string, bytes: Uint8Array, packets: number): void {
  expect(openCapture(w, name, bytes)).toBe(packets);
  expect(matched(w, '_ws.malformed')).toBe(0);
  expect(matched(w, `_ws.expert.severity > ${PI_NOTE}`)).toBe(0);
  expect(matched(w, 'tcp.checksum.status == 1')).toBe(packets);
  expect(matched(w, 'ip.checksum.status == 1')).toBe(packets);
  expect(matched(w, 'tcp.flags.syn == 1')).toBe(2);
  expect(matched(w, 'tcp.flags.fin == 1')).toBe(2);
}

/** The body after the response head. */
function bodyOf(response: Buffer): Buffer {
  const end = response.indexOf('\r\n\r\n');
  return end < 0 ? Buffer.alloc(0) : response.subarray(end + 4);
}

const MODES = [
  { title: 'plain HTTP', ktls: null },
  { title: 'HTTPS, kernel TLS in software', ktls: 'sw' },
  { title: 'HTTPS, kernel TLS on the NIC (ifnet)', ktls: 'ifnet' },
] as const;

for (const mode of MODES) {
  describe(`a capture of ${mode.title}`, () => {
    let run: Running;
    const tls = mode.ktls !== null;
    beforeAll(async () => {
      run = await startServer({
        root: WORK,
        ...(mode.ktls !== null ? { tls: { cert: CERT_PEM, key: KEY_PEM, ktlsMode: mode.ktls } } : {}),
      });
    });
    afterAll(async () => {
      await run?.server.close();
    });

    it("a 1 MiB transfer: clean, the exact bytes, HTTP 200 with its length, the model's segments", async () => {
      const c = await captureGet(run, tls, 'wire', {});
      expect(c.status).toBe(200);
      expect(c.body.equals(BODY)).toBe(true);
      const file = c.pcap.bytes();
      expectClean(`${mode.title}.pcapng`, file, c.pcap.packets);
      expect(matched(w, 'http.response.code == 200')).toBe(1);
      expect(matched(w, `http.content_length == ${FILE_BYTES}`)).toBe(1);
      const response = followSide(w, tls ? 'TLS' : 'TCP', 'HTTP/1.1 ');
      expect(bodyOf(response).equals(BODY)).toBe(true);
      // The server's frames of the response are named after the request (over TLS too).
      const named = `tcp.srcport == ${c.serverPort} && tcp.len > 0 && frame.comment contains "GET /zerocopy/m.bin"`;
      expect(matched(w, named)).toBeGreaterThanOrEqual(Math.ceil(FILE_BYTES / 1448));
      // Every segment the model counted is a server frame with payload, and no other is.
      expect(matched(w, `tcp.srcport == ${c.serverPort} && tcp.len > 0`)).toBe(c.delta.wire_segments);
      expect(c.delta.wire_segments).toBeGreaterThanOrEqual(Math.ceil(FILE_BYTES / 1448));
      if (tls) {
        // Kernel TLS frames records of at most 16 KiB: the body alone is 64 of them.
        expect(matched(w, `tcp.srcport == ${c.serverPort} && tls.record.content_type == 23`)).toBeGreaterThan(
          0,
        );
        const records = w.frames(`tcp.srcport == ${c.serverPort} && tls.app_data`, 0, 0).matched;
        expect(records).toBeGreaterThan(0);
        // The same file without its keys: TLS, but no HTTP.
        openCapture(w, 'no-secrets.pcapng', c.pcap.bytes(false));
        expect(matched(w, 'tls')).toBeGreaterThan(0);
        expect(matched(w, 'http')).toBe(0);
      }
    });

    it('TSO bursts as one frame each: each burst is ceil(len / tso_segsz) segments of the model', async () => {
      const c = await captureGet(run, tls, 'tso', {});
      expect(c.body.equals(BODY)).toBe(true);
      const file = c.pcap.bytes();
      expectClean(`${mode.title}-tso.pcapng`, file, c.pcap.packets);
      const segsz = run.server.kernel.sockets.inet.tsoSegBytes;
      let segments = 0;
      let bursts = 0;
      for (const n of frameNumbers(w, `tcp.srcport == ${c.serverPort} && tcp.len > 0`)) {
        const len = fieldNumber(w, n, 'tcp.len');
        expect(len).not.toBeNull();
        segments += Math.ceil((len as number) / segsz);
        if ((len as number) > segsz) bursts++;
      }
      expect(segments).toBe(c.delta.wire_segments);
      expect(bursts).toBe(c.delta.tso_bursts);
      expect(c.delta.tcps_sndpack).toBe(
        frameNumbers(w, `tcp.srcport == ${c.serverPort} && tcp.len > 0`).length,
      );
    });

    it("a Range request: clean, 206 with the range's length, the exact slice", async () => {
      const c = await captureGet(run, tls, 'wire', { Range: `bytes=${RANGE.first}-${RANGE.last}` });
      const slice = BODY.subarray(RANGE.first, RANGE.last + 1);
      expect(c.status).toBe(206);
      expect(c.body.equals(slice)).toBe(true);
      expectClean(`${mode.title}-range.pcapng`, c.pcap.bytes(), c.pcap.packets);
      expect(matched(w, 'http.response.code == 206')).toBe(1);
      expect(matched(w, `http.content_length == ${slice.length}`)).toBe(1);
      expect(bodyOf(followSide(w, tls ? 'TLS' : 'TCP', 'HTTP/1.1 ')).equals(slice)).toBe(true);
      expect(matched(w, `tcp.srcport == ${c.serverPort} && tcp.len > 0`)).toBe(c.delta.wire_segments);
    });
  });
}

describe('a ring file of every connection', () => {
  it('1,000 connections stay within its bound; the file wraps, says so, and still opens clean', async () => {
    const kernel = createKernel({ physmemBytes: 16 * 1024 * 1024 });
    const path = join(WORK, 'ring.pcapng');
    const boundBytes = 512 * 1024;
    const lines: string[] = [];
    const ring = new PcapRingFile(path, kernel.sockets.inet.ifp, 'zcsim test', boundBytes, (l) =>
      lines.push(l),
    );
    const stop = kernel.sockets.pcapTap({ frames: 'wire', epochOffsetMs: 0, match: () => ring });
    const payload = patternBytes(6000, 3);
    for (let i = 0; i < 1000; i++) {
      const t = new MemoryTransport({ autoDrain: true });
      const so = kernel.socket(t);
      t.emit('data', Buffer.from(`GET /conn/${i} HTTP/1.1\r\nHost: x\r\n\r\n`));
      await kernel.write(so, payload);
      await kernel.sodrain(so);
      kernel.soclose(so);
    }
    stop();
    await ring.close();
    const s = ring.stats();
    expect(s.connections).toBe(1000);
    expect(s.wraps).toBeGreaterThan(0);
    expect(lines.length).toBe(s.wraps);
    expect(lines[0]).toContain('starts again');
    // Memory stays bounded: the writes waiting for the disk never passed the queue's bound.
    expect(s.queuedPeakBytes).toBeGreaterThan(0);
    expect(s.queuedPeakBytes).toBeLessThanOrEqual(PCAP_RING_QUEUE_MAX_BYTES);
    const size = statSync(path).size;
    expect(size).toBe(s.fileBytes);
    expect(size).toBeLessThanOrEqual(boundBytes);
    const packets = openCapture(w, 'ring.pcapng', readFileSync(path));
    expect(packets).toBeGreaterThan(0);
    expect(matched(w, '_ws.malformed')).toBe(0);
    expect(matched(w, 'tcp.checksum.status == 2')).toBe(0);
    await kernel.destroy();
  });
});
