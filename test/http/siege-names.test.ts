// Goal: every name the server lists (/files, the directory index, hence the serve banner) answers
// on the file routes, so names with a backslash or bytes that are not UTF-8 are not listed; and
// what the CLI prints of a name cannot reorder or recolour the terminal (control and
// bidirectional characters escaped). Method: such names in a served root; /files and a listing
// read back; each listed name fetched; escapeControls on a right-to-left override.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeControls } from '../../src/cli/banner.js';
import { type Fixture, makeFixture } from './fixture.js';
import { type Running, startServer } from './helpers.js';

let fx: Fixture;
let srv: Running;
const RTL = 'invoice\u202etxt.exe';

beforeAll(async () => {
  fx = makeFixture();
  writeFileSync(join(fx.root, 'back\\slash.txt'), 'x');
  writeFileSync(
    Buffer.concat([Buffer.from(`${fx.root}/bad`), Buffer.from([0xff, 0xfe]), Buffer.from('.txt')]),
    'x',
  );
  writeFileSync(join(fx.root, RTL), 'x');
  srv = await startServer({ root: fx.root, list: true });
});
afterAll(async () => {
  await srv.server.close();
  fx.cleanup();
});

describe('names the routes cannot serve', () => {
  it('are not in /files, and every name there answers 200', async () => {
    const r = await request(`${srv.origin}/files`);
    const { files } = (await r.body.json()) as { files: { name: string }[] };
    const names = files.map((f) => f.name);
    expect(names).toContain(RTL);
    expect(names.filter((n) => n.includes('\\') || n.includes('\ufffd'))).toEqual([]);
    for (const n of names) {
      const g = await request(`${srv.origin}/zerocopy/${encodeURIComponent(n)}`);
      await g.body.dump();
      expect(g.statusCode, n).toBe(200);
    }
  });

  it('are not in a directory index', async () => {
    const r = await request(`${srv.origin}/zerocopy/`);
    const html = await r.body.text();
    expect(html).toContain('hello.txt');
    expect(html).not.toContain('slash.txt');
    expect(html).not.toContain('bad');
  });
});

describe('terminal output', () => {
  it('escapes control and bidirectional characters', () => {
    const shown = escapeControls(`${RTL}\x1b[2J\u2066`);
    expect(shown).toBe('invoice\\u{202e}txt.exe\\x1b[2J\\u{2066}');
    for (const c of ['\u202e', '\u2066', '\x1b']) expect(shown.includes(c)).toBe(false);
  });
});
