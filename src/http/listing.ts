// A directory index for --list, as nginx's autoindex: names (escaped), sizes, and links that stay
// on the route they were asked through. Dotfiles are left out unless they are served.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Upper bound on entries listed: a listing is a page for people, not an API. */
const LISTING_ENTRIES_MAX = 1000;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The HTML index of `dirPath`, whose URL is `urlPath` (without the trailing slash). */
export async function directoryListing(dirPath: string, urlPath: string, dotfiles: boolean): Promise<Buffer> {
  const names = (await readdir(dirPath)).filter((n) => dotfiles || !n.startsWith('.')).sort();
  const rows: string[] = [];
  for (const name of names.slice(0, LISTING_ENTRIES_MAX)) {
    let suffix = '';
    let size = '';
    try {
      const st = await stat(join(dirPath, name));
      if (st.isDirectory()) suffix = '/';
      else size = String(st.size);
    } catch {
      continue; // a dangling symlink or a file gone meanwhile
    }
    const href = encodeURIComponent(name) + suffix;
    rows.push(`<tr><td><a href="${href}">${escapeHtml(name + suffix)}</a></td><td>${size}</td></tr>`);
  }
  const title = escapeHtml(`Index of ${urlPath.replace(/\/$/, '')}/`);
  const html =
    `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
    `<body><h1>${title}</h1><table><tr><th>name</th><th>bytes</th></tr>` +
    `<tr><td><a href="../">../</a></td><td></td></tr>${rows.join('')}</table></body></html>\n`;
  return Buffer.from(html, 'utf8');
}
