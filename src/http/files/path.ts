// Request target -> path under the served root, the way nginx's ngx_http_map_uri_to_path does
// it: take the path of the target (origin or absolute form), decode once, refuse what could climb
// out. Whether the file found is inside the root is checked on the opened descriptor
// (open-checked.ts).
import { PathError } from '../errors.js';

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
    // A segment without '%' decodes to itself.
    let seg = raw;
    if (raw.includes('%')) {
      try {
        seg = decodeURIComponent(raw);
      } catch {
        throw new PathError(400, 'malformed percent-encoding');
      }
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
 * A directory entry's name as the routes can serve it, or null: a name that is not valid UTF-8
 * (its URL would name another file) or that holds a backslash or NUL (decodeRequestPath refuses
 * them) is never listed, so that nothing listed answers 400 or 404.
 */
export function servableName(raw: Buffer): string | null {
  const name = raw.toString('utf8');
  if (!Buffer.from(name, 'utf8').equals(raw)) return null;
  if (name.includes('\\') || name.includes('\0') || name === '.' || name === '..') return null;
  return name;
}

/** scheme "://" authority, the part of an absolute-form target before its path (RFC 9112 3.2.2). */
const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

/**
 * The origin-form path (and query) of a request target: an absolute-form target
 * (`http://host/zerocopy/a.bin`, which a server must accept, RFC 9112 3.2.2) loses its scheme
 * and authority; anything else that does not start with '/' (authority or asterisk form) is 400.
 */
export function originForm(target: string): string {
  if (target.startsWith('/')) return target;
  const m = ABSOLUTE_FORM.exec(target);
  if (m === null) throw new PathError(400, 'request target is not a path');
  const rest = target.slice(m[0].length);
  return rest === '' || rest.startsWith('?') ? `/${rest}` : rest;
}

/**
 * The part of a file route's request target after `/<route>` (origin or absolute form), to be
 * decoded by decodeRequestPath; 400 when the target is not on that route.
 */
export function routeRelativeTarget(target: string, route: string): string {
  const path = originForm(target);
  const prefix = `/${route}`;
  if (path !== prefix && !path.startsWith(`${prefix}/`) && !path.startsWith(`${prefix}?`))
    throw new PathError(400, 'request target is not on this route');
  return path.slice(prefix.length);
}
