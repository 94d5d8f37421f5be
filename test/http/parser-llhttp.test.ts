// Goal: the request parser gives llhttp's verdict (Node's own HTTP server) on every crafted head
// that could frame a request differently behind a lenient front end: control bytes, lone CR or
// LF anywhere in the head, what is trimmed from a value, Expect; and nginx's on Host, which
// llhttp does not check. Method: each case's bytes go to a plain http.createServer on 127.0.0.1
// (its verdict: refused with 400, or answered with the body length it framed) and to the parser.
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ParseStep, RequestParser } from '../../src/http/conn/index.js';

type Verdict = number | { readonly bodyBytes: number };

const CASES: readonly (readonly [string, string])[] = [
  ['vertical tab before a Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\x0b5\r\n\r\nhello'],
  ['form feed after a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: b\x0c\r\n\r\n'],
  ['bare LF ending a field line', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\n\r\n\r\nhello'],
  ['bare LF ending the request line', 'GET / HTTP/1.1\nHost: x\r\n\r\n'],
  ['lone CR inside a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n'],
  ['lone CR ending a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\r\n\r\n'],
  ['NUL in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n'],
  ['DEL in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n'],
  ['ESC in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: \x1b[31m\r\n\r\n'],
  ['NBSP after a Content-Length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\xa0\r\n\r\nhello'],
  [
    'HTAB and SP around a Content-Length',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \t5 \t\r\n\r\nhello',
  ],
  ['SP and HTAB trimmed from a value', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\t5  \r\n\r\nhello'],
  ['obs-text in a value', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: caf\xe9\r\n\r\n'],
  ['obs-fold', 'GET / HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n'],
  ['space before the colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n'],
  ['control byte in a field name', 'GET / HTTP/1.1\r\nHost: x\r\nX\x01A: b\r\n\r\n'],
  ['control byte in the target', 'GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n'],
  [
    'two Content-Lengths',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello',
  ],
  [
    'Content-Length with Transfer-Encoding',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
  ],
  ['empty lines before the request line', '\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['a plain request with a body', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello'],
  [
    'an unknown expectation',
    'POST / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 5\r\n\r\nhello',
  ],
  [
    '100-continue, body sent at once',
    'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello',
  ],
];

/** Verdicts where llhttp checks nothing: nginx's (it refuses an empty or malformed Host). */
const NGINX_HOST: readonly (readonly [string, string, Verdict])[] = [
  ['an empty Host', 'GET / HTTP/1.1\r\nHost: \r\n\r\n', 400],
  ['a Host with a space', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', 400],
  ['a Host with a slash', 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n', 400],
  ['a Host with a bad port', 'GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n', 400],
  ['no Host on HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n', 400],
  ['a name and port', 'GET / HTTP/1.1\r\nHost: example.org:8080\r\n\r\n', { bodyBytes: 0 }],
  ['an IPv6 literal', 'GET / HTTP/1.1\r\nHost: [::1]:80\r\n\r\n', { bodyBytes: 0 }],
  ['no Host on HTTP/1.0', 'GET / HTTP/1.0\r\n\r\n', { bodyBytes: 0 }],
];

function ours(raw: string): Verdict {
  const p = new RequestParser();
  p.push(Buffer.from(raw, 'latin1'));
  for (let i = 0; i < 4; i++) {
    const s: ParseStep = p.next();
    if (s.kind === 'error') return s.error.status;
    if (s.kind === 'request') return { bodyBytes: s.request.body?.length ?? 0 };
    if (s.kind === 'more') return -1;
  }
  return -2;
}

let server: Server;
let port = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let n = 0;
    req.on('data', (c: Buffer) => {
      n += c.length;
    });
    req.on('end', () => res.end(JSON.stringify({ bodyBytes: n })));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const a = server.address();
  port = typeof a === 'object' && a !== null ? a.port : 0;
});

afterAll(async () => {
  server.close();
});

/** llhttp's verdict: the final status (100 Continue skipped) and, on 200, the body it framed. */
async function llhttp(raw: string): Promise<Verdict> {
  const s = connect(port, '127.0.0.1');
  s.end(Buffer.from(raw, 'latin1'));
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  await Promise.race([once(s, 'close'), once(s, 'error')]);
  const text = Buffer.concat(chunks)
    .toString('latin1')
    .replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  if (status !== 200) return status;
  const body = text.slice(text.indexOf('\r\n\r\n') + 4);
  return JSON.parse(body) as { bodyBytes: number };
}

describe('the parser against llhttp', () => {
  it.each(CASES)('%s', async (_name, raw) => {
    expect(ours(raw)).toEqual(await llhttp(raw));
  });
});

describe('the parser against nginx on Host', () => {
  it.each(NGINX_HOST)('%s', (_name, raw, verdict) => {
    expect(ours(raw)).toEqual(verdict);
  });
});
