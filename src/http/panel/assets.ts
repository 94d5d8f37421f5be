// The dashboard's files: our own page (src/http/panel/public) and uPlot from node_modules, read once
// at start and served from memory, so the page needs no network at run time.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
}

const PUBLIC_FILES: Readonly<Record<string, string>> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/** src/http/panel/public, whether we run from src (tests) or from dist/src/http/panel (the build). */
export function publicDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [
    join(here, 'public'),
    resolve(here, '..', '..', '..', '..', 'src', 'http', 'panel', 'public'),
  ];
  const found = candidates.find((d) => existsSync(join(d, 'index.html')));
  if (!found) throw new Error(`dashboard files not found in ${candidates.join(' or ')}`);
  return found;
}

/** Every asset by URL path: /, /assets/<file>, /favicon.ico, /vendor/uPlot.{js,css}. */
export function loadAssets(): Map<string, Asset> {
  const dir = publicDir();
  const assets = new Map<string, Asset>();
  for (const [name, contentType] of Object.entries(PUBLIC_FILES)) {
    const body = readFileSync(join(dir, name));
    assets.set(name === 'index.html' ? '/' : `/assets/${name}`, { body, contentType });
  }
  // Browsers ask for /favicon.ico whatever the page says; the SVG answers it (they sniff the type).
  const icon = assets.get('/assets/favicon.svg');
  if (icon !== undefined) assets.set('/favicon.ico', icon);
  const uplotDist = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  assets.set('/vendor/uPlot.js', {
    body: readFileSync(join(uplotDist, 'uPlot.iife.min.js')),
    contentType: 'text/javascript; charset=utf-8',
  });
  assets.set('/vendor/uPlot.css', {
    body: readFileSync(join(uplotDist, 'uPlot.min.css')),
    contentType: 'text/css; charset=utf-8',
  });
  return assets;
}
