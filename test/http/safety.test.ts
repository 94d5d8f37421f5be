// Goal: no request path reaches a file outside the served root, dotfiles stay hidden, and
// directories are listed only with --list. Method: raw HTTP/1.1 over a net socket (undici would
// normalise '..'), with literal, percent-encoded and double-encoded traversal, NUL bytes, encoded
// slashes, and symlinks leading out; the body must never be the outside file's.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, makeFixture } from './fixture.js';
import { atRestSoon, type Running, rawGet, startServer } from './helpers.js';

const ROUTES = ['zerocopy', 'copy', 'stream'] as const;
const OUTSIDE = 'outside the root';
let fx: Fixture;
let plain: Running;
let listing: Running;

beforeAll(async () => {
  fx = makeFixture();
  plain = await startServer({ root: fx.root });
  listing = await startServer({ root: fx.root, list: true });
});
afterAll(async () => {
  await plain.server.close();
  await listing.server.close();
  expect(plain.server.zcsim.closeReport?.atRest).toBe(true);
  fx.cleanup();
});
afterEach(async () => {
  expect((await atRestSoon(plain.server)).leaks).toEqual([]);
});

describe.each(ROUTES)('/%s', (route) => {
  it('traversal in every encoding: 400, never the outside file', async () => {
    const attempts = [
      '../outside/passwd',
      'sub/../../outside/passwd',
      '%2e%2e/outside/passwd',
      '%2E%2E/%2e%2e/outside/passwd',
      '..%2foutside%2fpasswd',
      'sub%2f..%2f..%2foutside%2fpasswd',
      '..%5coutside%5cpasswd',
      '.%2e/outside/passwd',
      'hello.txt%00.png',
      '%00',
      'bad%zzescape',
    ];
    for (const a of attempts) {
      const r = await rawGet(plain.port, `/${route}/${a}`);
      expect(r.status, a).toBe(400);
      expect(r.body.toString(), a).not.toContain(OUTSIDE);
    }
    // Decoded once: %252e%252e is the literal name "%2e%2e", which does not exist.
    const twice = await rawGet(plain.port, `/${route}/%252e%252e/outside/passwd`);
    expect(twice.status).toBe(404);
  });

  it('symlinks leading out: 403; inside: served', async () => {
    for (const a of ['link-out', 'dir-out/passwd']) {
      const r = await rawGet(plain.port, `/${route}/${a}`);
      expect(r.status, a).toBe(403);
      expect(r.body.toString()).not.toContain(OUTSIDE);
    }
    const inside = await rawGet(plain.port, `/${route}/link-in.txt`);
    expect(inside.status).toBe(200);
    expect(inside.body.toString()).toBe(fx.files['hello.txt']!.toString());
  });

  it('a query string is not part of the path', async () => {
    const r = await rawGet(plain.port, `/${route}/hello.txt?v=1&x=../../etc/passwd`);
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe(fx.files['hello.txt']!.toString());
  });

  it('dotfiles: 404, also encoded', async () => {
    for (const a of ['.secret', '%2esecret', 'sub/.hidden', '.git/config']) {
      expect((await rawGet(plain.port, `/${route}/${a}`)).status, a).toBe(404);
    }
  });

  it('directories: 403 without --list; an index with it, redirect to the slash form', async () => {
    expect((await rawGet(plain.port, `/${route}/sub/`)).status).toBe(403);
    expect((await rawGet(plain.port, `/${route}/`)).status).toBe(403);
    const redirect = await rawGet(listing.port, `/${route}/sub`);
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe(`/${route}/sub/`);
    const index = await rawGet(listing.port, `/${route}/`);
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toMatch(/^text\/html/);
    const html = index.body.toString();
    expect(html).toContain('href="hello.txt"');
    expect(html).toContain('href="with%20space.txt"');
    expect(html).toContain('href="sub/"');
    expect(html).not.toContain('.secret');
  });
});
