// Request path -> file under the served root, the way nginx's ngx_http_map_uri_to_path and
// open_file_cache's disable_symlinks checks do it: decode once, refuse what could climb out,
// then make sure the real path (symlinks resolved) is still inside the root.
import { realpath } from 'node:fs/promises';
import { sep } from 'node:path';
import { SysError } from '../kern/index.js';

/** Why a path was refused; `status` is the HTTP answer. */
export class PathError extends Error {
  override readonly name = 'PathError';
  constructor(
    readonly status: 400 | 403 | 404,
    message: string,
  ) {
    super(message);
  }
}

export interface DecodedPath {
  /** Path segments after decoding, never empty strings, '.' or '..'. */
  readonly segments: readonly string[];
  /** The decoded relative path joined with '/' ('' = the root itself). */
  readonly relative: string;
  /** True when the request ended in '/' (a directory listing was asked for). */
  readonly trailingSlash: boolean;
}

/**
 * Decodes the part of the URL after the route prefix exactly once. Refuses (400) malformed
 * percent-encoding, NUL bytes, encoded slashes or backslashes inside a segment, and any '..'
 * segment (literal or encoded); refuses dotfiles with 404 unless `dotfiles` is set.
 */
export function decodeRequestPath(rawPath: string, dotfiles: boolean): DecodedPath {
  const q = rawPath.indexOf('?');
  const path = q === -1 ? rawPath : rawPath.slice(0, q);
  const segments: string[] = [];
  const rawSegments = path.split('/');
  for (const raw of rawSegments) {
    if (raw === '') continue;
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      throw new PathError(400, 'malformed percent-encoding');
    }
    if (seg.includes('\0')) throw new PathError(400, 'NUL byte in path');
    if (seg.includes('/') || seg.includes('\\')) throw new PathError(400, 'encoded slash in path');
    if (seg === '.' || seg === '..') throw new PathError(400, 'dot segment in path');
    if (!dotfiles && seg.startsWith('.')) throw new PathError(404, 'dotfiles are not served');
    segments.push(seg);
  }
  return { segments, relative: segments.join('/'), trailingSlash: path.endsWith('/') };
}

/**
 * The real path of `relative` under `realRoot` (itself a real path); rejects with EACCES when
 * symlinks lead outside the root, ENOENT when it does not exist.
 */
export async function resolveInsideRoot(realRoot: string, relative: string): Promise<string> {
  const joined = relative === '' ? realRoot : `${realRoot}${sep}${relative}`;
  const real = await realpath(joined);
  if (real !== realRoot && !real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) {
    throw new SysError('EACCES', `${relative} leads outside the served root`);
  }
  return real;
}
