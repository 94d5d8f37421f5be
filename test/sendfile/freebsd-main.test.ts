// Goal: three behaviours as FreeBSD main's vn_sendfile has them. With no file data to send
// (offset at EOF) the headers are not sent, the trailers are (a 0-byte file with a 4-byte header
// and a 4-byte trailer gives sbytes 4); sendfile raises sb_lowat only on a socket with
// SB_AUTOLOWAT (cleared by SO_SNDLOWAT).
// Method: MemoryTransport sockets that drain by themselves; the bytes received are compared.
import { describe, expect, it } from 'vitest';
import { createKernel } from '../../src/index.js';
import { MemoryTransport, SB_AUTOLOWAT } from '../../src/net/index.js';
import { testFile } from '../e2e/helpers.js';

const enc = new TextEncoder();

describe('sendfile as FreeBSD main', () => {
  it('a 0-byte file with a header and a trailer sends only the trailer (sbytes 4)', async () => {
    const k = createKernel({ physmemBytes: 1 << 20 });
    const file = await k.open(await testFile(0, 91));
    const t = new MemoryTransport({ autoDrain: true });
    const so = k.socket(t);
    const n = await k.sendfile(file, so, 0, 0, {
      headers: [enc.encode('HEAD')],
      trailers: [enc.encode('TAIL')],
    });
    expect(n).toBe(4);
    await k.sodrain(so);
    expect(new TextDecoder().decode(t.received())).toBe('TAIL');
    await k.destroy();
    expect(k.atRest().leaks).toEqual([]);
  });

  it('an offset at EOF of a non-empty file sends no header either', async () => {
    const k = createKernel({ physmemBytes: 1 << 20 });
    const file = await k.open(await testFile(5000, 92));
    const so = k.socket(new MemoryTransport({ autoDrain: true }));
    expect(await k.sendfile(file, so, 5000, 0, { headers: [enc.encode('HEAD')] })).toBe(0);
    await k.destroy();
  });

  it('raises sb_lowat only with SB_AUTOLOWAT', async () => {
    const k = createKernel({ physmemBytes: 1 << 20 });
    const file = await k.open(await testFile(20_000, 93));
    const auto = k.socket(new MemoryTransport({ autoDrain: true }), { sndbufBytes: 64 * 1024 });
    const fixed = k.socket(new MemoryTransport({ autoDrain: true }), { sndbufBytes: 64 * 1024 });
    expect(auto.so_snd.sb_flags & SB_AUTOLOWAT).toBe(SB_AUTOLOWAT);
    k.sockets.sbsetoptSndlowat(fixed, 100);
    expect(fixed.so_snd.sb_flags & SB_AUTOLOWAT).toBe(0);
    await k.sendfile(file, auto, 0, 0);
    await k.sendfile(file, fixed, 0, 0);
    expect(auto.so_snd.sb_lowat).toBe(32 * 1024);
    expect(fixed.so_snd.sb_lowat).toBe(100);
    await k.sodrain(auto);
    await k.sodrain(fixed);
    await k.destroy();
    expect(k.atRest().leaks).toEqual([]);
  });
});
