// Goal: the connection's request parser is incremental and strict: requests split anywhere across
// chunks parse the same, pipelined requests come out one at a time in order (the caller decides
// how many it holds), and what Node's strict parser refuses is refused with the same status.
// Method: feed byte strings in every split; check each step.
import { describe, expect, it } from 'vitest';
import { MAX_HEAD_BYTES, type ParseStep, RequestParser } from '../../src/http/conn/index.js';

function steps(raw: string, chunkBytes: number): ParseStep[] {
  const p = new RequestParser();
  const out: ParseStep[] = [];
  const bytes = Buffer.from(raw, 'latin1');
  for (let at = 0; at < bytes.length; at += chunkBytes) {
    p.push(bytes.subarray(at, at + chunkBytes));
    for (let s = p.next(); s.kind !== 'more'; s = p.next()) out.push(s);
  }
  return out;
}

const TWO =
  'GET /a HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\n\r\n' +
  'POST /compare HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd';

describe('the request parser', () => {
  it('parses pipelined requests the same whatever the chunking', () => {
    for (const chunk of [1, 2, 7, 64, 4096]) {
      const s = steps(TWO, chunk);
      expect(s.map((x) => x.kind)).toEqual(['request', 'request']);
      const [a, b] = s.map((x) => (x.kind === 'request' ? x.request : null));
      expect(a).toMatchObject({ method: 'GET', target: '/a', minor: 1, keepAlive: true, body: null });
      expect(a?.headers.range).toBe('bytes=0-1');
      expect(b).toMatchObject({ method: 'POST', target: '/compare', keepAlive: false });
      expect(b?.body?.toString()).toBe('abcd');
    }
  });

  it('HTTP/1.0 keeps the connection only when asked', () => {
    const [a] = steps('GET / HTTP/1.0\r\n\r\n', 100);
    const [b] = steps('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n', 100);
    expect(a?.kind === 'request' && a.request.keepAlive).toBe(false);
    expect(b?.kind === 'request' && b.request.keepAlive).toBe(true);
  });

  it('refuses what a strict parser refuses, and parses nothing after', () => {
    const cases: [string, number][] = [
      ['GET / HTTP/1.1\nHost: x\n\n', 400],
      ['GET / HTTP/1.1\r\nHost : x\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n', 400],
      ['GET / HTTP/2.0\r\nHost: x\r\n\r\n', 400],
      ['BREW / HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n', 400],
      ['GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n', 411],
      ['POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n', 413],
      [`GET /${'a'.repeat(MAX_HEAD_BYTES)} HTTP/1.1\r\nHost: x\r\n\r\n`, 431],
    ];
    for (const [raw, status] of cases) {
      const s = steps(`${raw}GET / HTTP/1.1\r\nHost: x\r\n\r\n`, 1000);
      expect(s.length, JSON.stringify(raw.slice(0, 40))).toBe(1);
      expect(s[0]?.kind === 'error' && s[0].error.status, JSON.stringify(raw.slice(0, 40))).toBe(status);
    }
  });
});
