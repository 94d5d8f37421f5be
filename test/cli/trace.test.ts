// Goal: `zcsim trace URL` shows one request's journey through the kernel, event by event, and
// only that request's. Method: a server in this process (direct map, a fresh kernel) with a
// 3-page file made hot by a first request; the built command (dist/src/cli/main.js) traces a
// second request. Its events are known exactly: three page lookups and wirings, three direct-map
// sf_bufs, one chunk of three EXT_SFBUF mbufs behind the head, one output batch whose page views
// merged (the pages are contiguous) and which went out as one TSO burst, one write completion, sbdrop, and per page the free
// callback, sf_buf_free and the unwiring. Other traffic at the same time is left out.
import { execFile } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JourneyReport } from '../../src/http/index.js';
import { atRestSoon, type Running, startServer } from '../http/helpers.js';
import { tempDir } from '../support/tmp.js';

const MAIN = resolve(import.meta.dirname, '..', '..', 'dist', 'src', 'cli', 'main.js');
const PAGE = 4096;
const BIG_BYTES = 4 * 1024 * 1024;
let base: string;
let running: Running;

/** One GET on a connection of its own (no keep-alive), read to the end. */
function fetchOnce(url: string): Promise<number> {
  return new Promise((done, fail) => {
    get(url, { agent: false }, (res) => {
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
      });
      res.on('end', () => done(n));
    }).on('error', fail);
  });
}

async function zcsim(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [MAIN, ...args]);
  return stdout;
}

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: npm run build (npm test does it)`);
  base = tempDir('zcsim-trace');
  const three = Buffer.alloc(3 * PAGE);
  for (let i = 0; i < three.length; i++) three[i] = i & 0xff;
  writeFileSync(join(base, 'three.bin'), three);
  writeFileSync(join(base, 'other.bin'), Buffer.alloc(256 * 1024, 7));
  writeFileSync(join(base, 'big.bin'), Buffer.alloc(BIG_BYTES, 9));
  running = await startServer({ root: base, kernel: { physmemBytes: 32 * 1024 * 1024, mapping: 'dmap' } });
});

afterAll(async () => {
  await running?.server.close();
  rmSync(base, { recursive: true, force: true });
});

describe('zcsim trace', () => {
  it('records exactly the kernel events of a 3-page hot file on /zerocopy (direct map)', async () => {
    expect(await fetchOnce(`${running.origin}/zerocopy/three.bin`)).toBe(3 * PAGE);
    expect((await atRestSoon(running.server)).atRest).toBe(true);

    const r = JSON.parse(
      await zcsim('trace', `${running.origin}/zerocopy/three.bin`, '--json'),
    ) as JourneyReport;
    expect(r).toMatchObject({ status: 200, bodyBytes: 3 * PAGE, complete: true, eventsDropped: 0 });
    const so = r.so;
    const obj = r.object;
    const append = r.events.find((e) => e.event === 'sbappend');
    const sent = append?.fields.bytes as number;
    const headBytes = sent - 3 * PAGE;
    expect(headBytes).toBeGreaterThan(100);
    expect(headBytes).toBeLessThan(1000);
    const peer = r.events[0]?.fields.peerPort;
    const kva = (p: number): string => `0x${(0xfffff80000000000n + BigInt(p * PAGE)).toString(16)}`;

    expect(r.events.map((e) => `${e.room}:${e.event}`)).toEqual([
      'net:socreate',
      'sendfile:sendfile',
      ...['vm:lookup', 'vm:wire', 'vm:lookup', 'vm:wire', 'vm:lookup', 'vm:wire'],
      ...['sfbuf:alloc', 'sfbuf:alloc', 'sfbuf:alloc'],
      'sendfile:chunk',
      'net:sbappend',
      'net:output',
      'sendfile:sendfile-done',
      'net:sbwait',
      'net:ack',
      'net:sbdrop',
      ...['sendfile:free_mext', 'sfbuf:free', 'vm:unwire'],
      ...['sendfile:free_mext', 'sfbuf:free', 'vm:unwire'],
      ...['sendfile:free_mext', 'sfbuf:free', 'vm:unwire'],
      'net:drop',
    ]);
    const steps = r.steps.map((s) => ({ repeat: s.repeat, lines: s.lines, last: s.lastLines }));
    const one = (line: string) => ({ repeat: 1, lines: [line], last: null });
    const space = r.events.find((e) => e.event === 'sbwait')?.fields.space;
    // Sockets take the CPUs in turn: the connection's socket id says which one it runs on.
    const cpu = Number(so) % 2;
    expect(steps).toEqual([
      one(`socreate so ${so} (peer port ${peer})`),
      one(`sendfile(fd 3, so ${so}, offset 0, nbytes ${3 * PAGE}) obj ${obj}, readahead 0`),
      {
        repeat: 3,
        lines: [
          `vm_page_lookup(obj ${obj} pindex 0) -> page 0 valid`,
          `vm_page_wire page 0 (obj ${obj} pindex 0) wire_count 1`,
        ],
        last: [
          `vm_page_lookup(obj ${obj} pindex 2) -> page 2 valid`,
          `vm_page_wire page 2 (obj ${obj} pindex 2) wire_count 1`,
        ],
      },
      {
        repeat: 3,
        lines: [`sf_buf_alloc page 0 -> direct map kva ${kva(0)} (cpu ${cpu})`],
        last: [`sf_buf_alloc page 2 -> direct map kva ${kva(2)} (cpu ${cpu})`],
      },
      one(
        `chunk at 0: ${3 * PAGE} bytes, 3 pages, 0 reads; mbufs: ` +
          [0, 1, 2].map((p) => `EXT_SFBUF kva ${kva(p)} page ${p} ${PAGE} B`).join('; '),
      ),
      one(`sbappend so ${so}: ${sent} bytes in 4 mbufs (1 EXT_CLUSTER, 3 EXT_SFBUF)`),
      // One TSO burst (the batch empties the buffer), cut by the card at tso_segsz 1448.
      one(
        `tcp_output so ${so}: ${sent} bytes, 4 mbufs as 2 views, 2 merged (contiguous); 1 burst on the wire: TSO ${sent} bytes = ${Math.ceil(sent / 1448)} segments`,
      ),
      one(`sendfile returns sbytes ${sent}`),
      one(`sbwait so ${so} (space ${space})`),
      one(`write done so ${so}: ${sent} bytes`),
      one(`sbdrop so ${so}: ${sent} bytes`),
      {
        repeat: 3,
        lines: [
          `sendfile_free_mext kva ${kva(0)} page 0`,
          `sf_buf_free kva ${kva(0)} page 0 (direct map: nothing to release)`,
          `vm_page_unwire page 0 (obj ${obj} pindex 0) wire_count 0`,
        ],
        last: [
          `sendfile_free_mext kva ${kva(2)} page 2`,
          `sf_buf_free kva ${kva(2)} page 2 (direct map: nothing to release)`,
          `vm_page_unwire page 2 (obj ${obj} pindex 2) wire_count 0`,
        ],
      },
      one(`soclose so ${so}`),
    ]);
    expect((await atRestSoon(running.server)).atRest).toBe(true);
  });

  it('prints the timeline, leaves out other requests, and folds a long /copy transfer', async () => {
    // Another file downloading at the same time on another connection: none of its events
    // (its socket, its vm object) may appear.
    const other = Promise.all([1, 2, 3].map(() => fetchOnce(`${running.origin}/zerocopy/big.bin`)));
    const text = await zcsim('trace', `${running.origin}/copy/other.bin`);
    expect(await other).toEqual([BIG_BYTES, BIG_BYTES, BIG_BYTES]);
    const [server, ...lines] = text.trimEnd().split('\n');
    expect(server).toBe(`zcsim server at ${running.origin}`);
    expect(lines[0]).toMatch(
      /^GET \/copy\/other\.bin: 200, 262144 body bytes, socket \d+, vm object \d+, \d+ kernel events in/,
    );
    const so = /socket (\d+)/.exec(lines[0]!)?.[1];
    const obj = /vm object (\d+)/.exec(lines[0]!)?.[1];
    for (const l of lines) {
      for (const m of l.matchAll(/\bso (\d+)/g)) expect(m[1], l).toBe(so);
      for (const m of l.matchAll(/\bobj (\d+)/g)) expect(m[1], l).toBe(obj);
    }
    expect(text).toMatch(/read\+write loop \(fd \d+, so \d+, offset 0, nbytes 262144\)/);
    expect(text).toMatch(/read\(2\): copy out \d+ bytes at 0/);
    expect(text).toMatch(/write\(2\): copy in \d+ bytes/);
    expect(text).toMatch(/EXT_CLUSTER/);
    // 64 pages of copying fold into counted steps.
    expect(text).toMatch(/ x\d+ /);
    expect(lines.length).toBeLessThan(120);
    expect(lines[lines.length - 1]).toMatch(/soclose so \d+$/);
    expect((await atRestSoon(running.server)).atRest).toBe(true);
  });

  it('refuses what is not a file route, on the command line and at /trace', async () => {
    await expect(zcsim('trace', `${running.origin}/stats`)).rejects.toMatchObject({ code: 2 });
    const bad = await fetch(`${running.origin}/trace?route=nope&file=three.bin`);
    expect(bad.status).toBe(400);
    const missing = await fetch(`${running.origin}/trace?route=zerocopy&file=missing.bin`);
    expect(missing.status).toBe(404);
    const outside = await fetch(`${running.origin}/trace?route=zerocopy&file=..%2F..%2Fetc%2Fpasswd`);
    expect(outside.status).toBeGreaterThanOrEqual(400);
  });
});
