// Goal: the request parser's work per byte received is bounded: a flood of empty lines is refused
// after a few, a head that arrives in many small chunks is joined once, and the work for 16 MiB
// is the work for 1 MiB times sixteen, not more. Method: count, never time: the bytes the parser
// copies (Buffer.concat, spied) and the bytes it holds, while feeding a stream chunk by chunk.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EMPTY_LINES_MAX, MAX_HEAD_BYTES, RequestParser } from '../../src/http/conn/index.js';

afterEach(() => {
  vi.restoreAllMocks();
});

interface Work {
  readonly fedBytes: number;
  readonly copiedBytes: number;
  readonly heldBytesMax: number;
  readonly requests: number;
  readonly errors: number[];
}

/** Feeds `total` bytes of `unit` repeated, `chunkBytes` at a time, draining the parser after each. */
function feed(unit: Buffer, total: number, chunkBytes: number): Work {
  let copiedBytes = 0;
  const concat = Buffer.concat;
  vi.spyOn(Buffer, 'concat').mockImplementation((list, n) => {
    const out = concat(list, n);
    copiedBytes += out.length;
    return out;
  });
  const p = new RequestParser();
  const stream = Buffer.alloc(unit.length * (Math.ceil(chunkBytes / unit.length) + 1));
  for (let i = 0; i < stream.length; i += unit.length) unit.copy(stream, i);
  let fedBytes = 0;
  let heldBytesMax = 0;
  let requests = 0;
  const errors: number[] = [];
  for (let at = 0; at < total && errors.length === 0; at += chunkBytes) {
    const off = at % unit.length;
    p.push(Buffer.from(stream.subarray(off, off + chunkBytes)));
    fedBytes += chunkBytes;
    heldBytesMax = Math.max(heldBytesMax, p.bufferedBytes);
    for (let s = p.next(); s.kind !== 'more'; s = p.next()) {
      if (s.kind === 'request') requests++;
      if (s.kind === 'error') {
        errors.push(s.error.status);
        break;
      }
    }
  }
  vi.restoreAllMocks();
  return { fedBytes, copiedBytes, heldBytesMax, requests, errors };
}

const MiB = 1024 * 1024;

describe('the parser under a flood', () => {
  it('refuses a flood of empty lines after a few, holding nothing', () => {
    const w = feed(Buffer.from('\r\n'), MiB, 4096);
    expect(w.errors).toEqual([400]);
    expect(w.fedBytes).toBe(4096);
    expect(EMPTY_LINES_MAX).toBeLessThan(4096 / 2);
    expect(w.heldBytesMax).toBeLessThanOrEqual(4096);
  });

  it('joins a head that came in small chunks once: copies stay below twice the bytes received', () => {
    // Each request's head is just under the limit, so it spans hundreds of 64-byte chunks.
    const field = `X-Pad: ${'p'.repeat(1000)}\r\n`;
    const head = `GET /zerocopy/a HTTP/1.1\r\nHost: x\r\n${field.repeat(14)}\r\n`;
    expect(head.length).toBeLessThan(MAX_HEAD_BYTES);
    const unit = Buffer.from(head, 'latin1');
    const small = feed(unit, MiB, 64);
    const large = feed(unit, 16 * MiB, 1024);
    for (const w of [small, large]) {
      expect(w.errors).toEqual([]);
      expect(w.requests).toBeGreaterThan(0);
      expect(w.copiedBytes).toBeLessThanOrEqual(2 * w.fedBytes);
      expect(w.heldBytesMax).toBeLessThanOrEqual(MAX_HEAD_BYTES + 1024);
    }
    // Linear: sixteen times the input costs at most sixteen times the copies (and a margin).
    expect(large.copiedBytes / small.copiedBytes).toBeLessThanOrEqual(16 * 1.1);
  });

  it('counts the bytes it examined: each byte once', () => {
    const unit = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n\r\n');
    const p = new RequestParser();
    let fed = 0;
    for (let i = 0; i < 2000; i++) {
      const b = unit.subarray(i % 3, (i % 3) + 10);
      p.push(Buffer.from(b));
      fed += b.length;
      for (let s = p.next(); s.kind !== 'more' && s.kind !== 'error'; s = p.next()) {}
    }
    expect(p.bytesExamined).toBeGreaterThan(0);
    expect(p.bytesExamined).toBeLessThanOrEqual(fed);
  });
});
