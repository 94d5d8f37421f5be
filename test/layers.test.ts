// Goal: the direction of imports drawn in DESIGN.md holds, and there are no import cycles.
// Method: read every file under src/, resolve its relative imports, and check each edge against
// the floor of its room; then search the file graph for a cycle. Inside src/http the same holds
// for its subrooms, and a subroom is entered only through its header (index.ts).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = resolve(import.meta.dirname, '..', 'src');
/** Lower floor = lower room; a file may import only its own floor or below. */
const FLOOR: Record<string, number> = {
  kern: 0,
  load: 0.5,
  vm: 1,
  sfbuf: 2,
  mbuf: 2,
  net: 3,
  ktls: 3.5,
  sendfile: 4,
  kernel: 5,
  'index.ts': 5,
  tls: 5.5,
  http: 6,
  cli: 7,
};
/** Rooms on one floor that must not know each other. */
const STRANGERS: [string, string][] = [['sfbuf', 'mbuf']];
/** mbuf imports no other subsystem (DESIGN.md: external storage is opaque to it). */
const ONLY_KERN = new Set(['mbuf', 'vm', 'load']);

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return listFiles(p);
    return /\.ts$/.test(name) && !name.endsWith('.d.ts') ? [p] : [];
  });
}

const roomOf = (file: string): string => relative(src, file).split(/[\\/]/)[0] ?? '';
const importRe =
  /(?:^|\n)\s*(?:import|export)[^'"`;]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function edges(): { from: string; to: string }[] {
  const out: { from: string; to: string }[] = [];
  for (const file of listFiles(src)) {
    for (const m of readFileSync(file, 'utf8').matchAll(importRe)) {
      const spec = m[1] ?? m[2] ?? '';
      if (!spec.startsWith('.')) continue;
      out.push({ from: file, to: resolve(dirname(file), spec).replace(/\.js$/, '.ts') });
    }
  }
  return out;
}

describe('imports follow DESIGN.md', () => {
  it('every room is known and no lower room imports a higher one', () => {
    const broken: string[] = [];
    for (const { from, to } of edges()) {
      const a = roomOf(from);
      const b = roomOf(to);
      expect(FLOOR[a], `unknown room ${a}`).toBeDefined();
      if (a === b) continue;
      const fa = FLOOR[a] ?? -1;
      const fb = FLOOR[b] ?? 99;
      const stranger = STRANGERS.some(([x, y]) => (x === a && y === b) || (x === b && y === a));
      if (fb > fa || stranger || (ONLY_KERN.has(a) && b !== 'kern')) {
        broken.push(`${relative(src, from)} -> ${relative(src, to)}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('the file graph has no cycle', () => {
    const graph = new Map<string, string[]>();
    for (const { from, to } of edges()) graph.set(from, [...(graph.get(from) ?? []), to]);
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (node: string, path: string[]): void => {
      if (state.get(node) === 'done') return;
      if (state.get(node) === 'open') {
        cycles.push([...path.slice(path.indexOf(node)), node].map((p) => relative(src, p)).join(' -> '));
        return;
      }
      state.set(node, 'open');
      for (const next of graph.get(node) ?? []) visit(next, [...path, node]);
      state.set(node, 'done');
    };
    for (const node of graph.keys()) visit(node, []);
    expect(cycles).toEqual([]);
  });

  it('src/http: subrooms follow their floors and are entered through their headers', () => {
    const http = join(src, 'http');
    const subroomOf = (file: string): string | null => {
      const r = relative(http, file);
      if (r.startsWith('..')) return null;
      const parts = r.split(/[\\/]/);
      return parts.length > 1 ? (parts[0] ?? '') : (parts[0] ?? '').replace(/\.ts$/, '');
    };
    const broken: string[] = [];
    for (const { from, to } of edges()) {
      const a = subroomOf(from);
      const b = subroomOf(to);
      if (b === null || a === b) continue;
      if (a !== null) {
        const fa = HTTP_FLOOR[a];
        const fb = HTTP_FLOOR[b];
        expect(fa, `unknown subroom ${a}`).toBeDefined();
        expect(fb, `unknown subroom ${b}`).toBeDefined();
        if ((fb ?? 99) >= (fa ?? -1) && a !== 'index')
          broken.push(`${relative(src, from)} -> ${relative(src, to)}`);
      }
      const header = relative(http, to).split(/[\\/]/).length === 1 || to.endsWith(`${b}/index.ts`);
      if (!header) broken.push(`${relative(src, from)} -> ${relative(src, to)} (not through the header)`);
    }
    expect(broken).toEqual([]);
  });
});

/** src/http's subrooms: a file may import only lower floors (errors < conn < files < panel, journey < server). */
const HTTP_FLOOR: Record<string, number> = {
  errors: 0,
  conn: 1,
  files: 2,
  panel: 3,
  journey: 3,
  options: 0,
  'kernel-plugin': 3,
  server: 4,
  index: 5,
};
