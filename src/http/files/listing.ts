// A directory index for --list, as nginx's autoindex: names (escaped), sizes, and links that stay
// on the route they were asked through. Dotfiles are left out unless they are served. The
// directory is opened and checked (open-checked.ts) and read through its descriptor, and each
// entry is opened and checked the same way: one that leads out of the root (a symlink out, or a
// name swapped meanwhile) is neither shown nor sized.
import { readdir } from 'node:fs/promises';
import { sep } from 'node:path';
import { SysError } from '../../kern/index.js';
import { openChecked, reopenPath } from './open-checked.js';
import { servableName } from './path.js';

/** Upper bound on entries listed: a listing is a page for people, not an API. */
const LISTING_ENTRIES_MAX = 1000;

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The name, and size or '/' of one entry, when it is a file or directory inside the root. */
async function listedEntry(realRoot: string, dirPath: string, name: string): Promise<string | null> {
  let entry: Awaited<ReturnType<typeof openChecked>>;
  try {
    entry = await openChecked(realRoot, `${dirPath}/${name}`);
  } catch {
    return null; // out of the root, dangling, not a file, or gone meanwhile
  }
  await entry.fh.close().catch(() => {});
  const dir = entry.st.isDirectory();
  const href = encodeURIComponent(name) + (dir ? '/' : '');
  return `<tr><td><a href="${href}">${escapeHtml(name + (dir ? '/' : ''))}</a></td><td>${dir ? '' : String(entry.st.size)}</td></tr>`;
}

/**
 * The HTML index of the directory `relative` under `realRoot`, whose URL is `urlPath`; rejects
 * like an open (ENOENT, EACCES when it leads out of the root) or ENOTDIR-like EACCES.
 */
export async function directoryListing(
  realRoot: string,
  relative: string,
  urlPath: string,
  dotfiles: boolean,
): Promise<Buffer> {
  const dir = await openChecked(realRoot, relative === '' ? realRoot : `${realRoot}${sep}${relative}`);
  let rows: (string | null)[];
  try {
    if (!dir.st.isDirectory()) throw new SysError('EACCES', `${relative} is no longer a directory`);
    // Read through the descriptor: the directory opened and checked, whatever the path is now.
    const dirPath = reopenPath(dir);
    const names = (await readdir(dirPath, { encoding: 'buffer' }))
      .map(servableName)
      .filter((n): n is string => n !== null && (dotfiles || !n.startsWith('.')))
      .sort();
    rows = [];
    for (const name of names.slice(0, LISTING_ENTRIES_MAX))
      rows.push(await listedEntry(realRoot, dirPath, name));
  } finally {
    await dir.fh.close().catch(() => {});
  }
  const title = escapeHtml(`Index of ${urlPath.replace(/\/$/, '')}/`);
  const html =
    `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
    `<body><h1>${title}</h1><table><tr><th>name</th><th>bytes</th></tr>` +
    `<tr><td><a href="../">../</a></td><td></td></tr>${rows.filter((r) => r !== null).join('')}</table></body></html>\n`;
  return Buffer.from(html, 'utf8');
}
