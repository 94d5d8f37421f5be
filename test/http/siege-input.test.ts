// Goal: what a client sends costs the server bounded memory: bodies of GET on the file routes are
// dropped as they arrive (a body larger than any kept body is no reason to refuse a GET, as
// nginx answers it), pipelined bodies behind a download that is never read stop being read at the
// input budget, a panel POST has a small body limit, and Expect: 100-continue is answered so
// that the client sends its body. Method: raw HTTP/1.1 over loopback; the server's counters; the
// kernel at rest after each.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LINGER_READ_MAX_BYTES } from '../../src/http/conn/index.js';
import { type Fixture, makeFixture } from './fixture.js';
import { atRestSoon, type Running, startServer, until } from './helpers.js';

const MiB = 1024 * 1024;
let fx: Fixture;
let srv: Running;

beforeAll(async () => {
  fx = makeFixture();
  srv = await startServer({ root: fx.root, kernel: { physmemBytes: 32 * MiB, invariants: false } });
});
afterAll(async () => {
  await srv.server.close();
  fx.cleanup();
});

function open(): Promise<Socket> {
  const s = connect(srv.port, '127.0.0.1');
  s.on('error', () => {});
  return once(s, 'connect').then(() => s);
}

/** Collects what the server sends until `done(text)` holds or the socket closes (bounded). */
function collect(s: Socket, done: (text: string) => boolean, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => resolve(text), timeoutMs);
    const finish = (): void => {
      clearTimeout(timer);
      resolve(text);
    };
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
      if (done(text)) finish();
    });
    s.on('close', finish);
  });
}

describe('bodies a file route does not want', () => {
  it('a GET is answered before its body arrived; the body is dropped, the next request answered', async () => {
    const s = await open();
    const first = collect(s, (t) => t.includes('hello, zero-copy world'));
    s.write(`GET /copy/hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: ${900 * 1024}\r\n\r\n`);
    s.write(Buffer.alloc(100 * 1024, 0x61));
    // Answered with 800 KiB of its body still to come.
    expect((await first).slice(0, 12)).toBe('HTTP/1.1 200');
    s.removeAllListeners('data');
    const second = collect(s, (t) => t.includes('hello, zero-copy world'));
    s.write(Buffer.alloc(800 * 1024, 0x61));
    s.write('GET /zerocopy/hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const text = await second;
    s.destroy();
    expect(text.slice(0, 12)).toBe('HTTP/1.1 200');
  });

  it('pipelined 1 MiB bodies behind a download never read: reading stops at the input budget', async () => {
    const pausesBefore = srv.server.zcsim.connections.input_budget_pauses;
    const s = await open();
    s.pause();
    s.write('GET /zerocopy/big.bin HTTP/1.1\r\nHost: x\r\n\r\n');
    const body = Buffer.alloc(MiB, 0x62);
    for (let i = 0; i < 32; i++) {
      s.write(`GET /copy/hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: ${MiB}\r\n\r\n`);
      s.write(body);
    }
    const paused = await until(() => srv.server.zcsim.connections.input_budget_pauses > pausesBefore, 10_000);
    // The client's bytes back up in its own socket: the server is not reading them.
    const backedUp = await until(() => s.writableLength > 8 * MiB, 10_000);
    s.destroy();
    expect(paused).toBe(true);
    expect(backedUp).toBe(true);
    expect((await atRestSoon(srv.server, 5000)).leaks).toEqual([]);
  });
});

describe('panel bodies', () => {
  it('a POST /compare body above the panel limit gets 413 before it is read', async () => {
    const s = await open();
    const got = collect(s, (t) => t.includes('\r\n\r\n'));
    s.write(
      'POST /compare HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200000\r\n\r\n',
    );
    const text = await got;
    s.destroy();
    expect(text.slice(0, 12)).toBe('HTTP/1.1 413');
  });

  it('Expect: 100-continue gets 100 Continue, then the body is read and answered', async () => {
    const s = await open();
    const payload = JSON.stringify({ file: 'no-such-file' });
    const interim = collect(s, (t) => t.includes('\r\n\r\n'));
    s.write(
      `POST /compare HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: ${payload.length}\r\nConnection: close\r\n\r\n`,
    );
    const first = await interim;
    expect(first.slice(0, 12)).toBe('HTTP/1.1 100');
    s.removeAllListeners('data');
    const rest = collect(s, (t) => /^HTTP\/1\.1 \d{3}[\s\S]*\r\n\r\n/.test(t));
    s.write(payload);
    const text = await rest;
    s.destroy();
    expect(text.slice(0, 12)).toBe('HTTP/1.1 404');
  });

  it('an expectation other than 100-continue gets 417', async () => {
    const s = await open();
    const got = collect(s, (t) => t.includes('\r\n\r\n'));
    s.write('POST /compare HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\n{}');
    const text = await got;
    s.destroy();
    expect(text.slice(0, 12)).toBe('HTTP/1.1 417');
  });
});

describe('a client refused, still sending', () => {
  it('is read for at most LINGER_READ_MAX_BYTES more, then not read until the linger ends', async () => {
    let serverSide: Socket | null = null;
    srv.server.server.once('connection', (sock: Socket) => {
      serverSide = sock;
    });
    const s = await open();
    const answer = collect(s, (t) => t.includes('\r\n\r\n'));
    // Empty lines without end: refused with 400 after a few, as a flood of them is.
    const flood = Buffer.alloc(MiB, '\r\n');
    s.write(flood);
    expect(await answer).toMatch(/^HTTP\/1\.1 400 /);
    // The flood goes on; the server drops a bounded amount and then stops reading.
    let written = MiB;
    const sent = MiB * 32;
    while (written < sent && s.write(flood)) written += MiB;
    const readAtAnswer = (serverSide as Socket | null)?.bytesRead ?? 0;
    // What the host buffers for a socket not read is bounded; the server's reads must stop too.
    await until(() => (serverSide as Socket | null)?.isPaused() === true, 5_000);
    const read = (serverSide as Socket | null)?.bytesRead ?? 0;
    expect(serverSide, 'the server saw the connection').not.toBeNull();
    expect((serverSide as Socket | null)?.isPaused()).toBe(true);
    expect(read - readAtAnswer).toBeLessThanOrEqual(LINGER_READ_MAX_BYTES + 2 * 64 * 1024);
    s.destroy();
    expect((await atRestSoon(srv.server)).leaks).toEqual([]);
  });
});
