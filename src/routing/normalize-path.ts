/** @module Canonical form of a request path: the one form routing, authorization and forwarding all use. */

/** Thrown for a path that has no canonical form (bad percent-encoding, an encoded NUL). */
export class InvalidPathError extends Error {
  override readonly name = 'InvalidPathError';
}

// RFC 3986 §2.3: unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~". Decoding these never changes meaning.
const UNRESERVED = /[A-Za-z0-9\-._~]/;
const PERCENT_TRIPLET = /%([0-9A-Fa-f]{2})/g;

/**
 * Normalises a URL path the way an origin would interpret it, so that every decision is taken on the path the
 * origin will see:
 * - percent-encoded unreserved characters are decoded (`%2e` → `.`, `%41` → `A`), other triplets upper-cased;
 * - encoded `/` (`%2F`) and `\` (`%5C`) stay encoded, so they can never act as segment separators;
 * - empty segments (`//`) are merged and dot segments resolved (RFC 3986 §5.2.4), never above the root;
 * - a trailing slash is kept, since origins may distinguish `/items/` from `/items`.
 *
 * @example normalizePath('/samples//a/%2e%2e/42') // '/samples/42'
 * @throws InvalidPathError on a malformed `%` escape or an encoded NUL.
 */
export function normalizePath(rawPath: string): string {
  if (!rawPath.startsWith('/')) throw new InvalidPathError('path must start with "/"');
  // Fast path: nothing to decode, no empty or dot segments. Most API paths take it.
  if (!/%|\/\/|\/\.|\\/.test(rawPath)) return rawPath;

  if (/%(?![0-9A-Fa-f]{2})/.test(rawPath)) throw new InvalidPathError('malformed percent-encoding');
  const decoded = rawPath.replace(PERCENT_TRIPLET, (_, hex: string) => {
    const char = String.fromCharCode(parseInt(hex, 16));
    if (char === '\0') throw new InvalidPathError('encoded NUL');
    return UNRESERVED.test(char) ? char : `%${hex.toUpperCase()}`;
  });
  // A literal backslash is a separator for WHATWG URL parsers (and some origins): treat it as one.
  const segments = decoded.replaceAll('\\', '/').split('/');
  const trailingSlash = segments.at(-1) === '' || segments.at(-1) === '.' || segments.at(-1) === '..';
  const output: string[] = [];
  for (const segment of segments) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') output.pop();
    else output.push(segment);
  }
  if (output.length === 0) return '/';
  return `/${output.join('/')}${trailingSlash ? '/' : ''}`;
}

/**
 * True when `path` equals `prefix` or continues it at a segment boundary:
 * `/samples` covers `/samples`, `/samples/` and `/samples/1`, not `/samplesX`.
 * Both arguments must already be normalised.
 */
export function pathHasPrefix(path: string, prefix: string): boolean {
  if (prefix === '/') return true;
  if (!path.startsWith(prefix)) return false;
  return path.length === prefix.length || path.charCodeAt(prefix.length) === 47 /* '/' */;
}
