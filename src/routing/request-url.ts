/** @module Parts of the request URL, sliced from the string the runtime has already parsed and normalised. */

/** The path of an absolute URL string as sent (not decoded), without query or fragment. */
export function rawPathOf(url: string): string {
  const start = url.indexOf('/', url.indexOf('://') + 3);
  if (start === -1) return '/';
  let end = url.length;
  for (let i = start; i < url.length; i++) {
    const code = url.charCodeAt(i);
    if (code === 63 /* ? */ || code === 35 /* # */) {
      end = i;
      break;
    }
  }
  return url.slice(start, end);
}

export interface RequestUrlParts {
  readonly protocol: string;
  readonly host: string;
  readonly hostname: string;
  readonly search: string;
}

/** The last URL's parts: routing, hygiene and forwarding each ask for the same request's. */
let last: { url: string; parts: RequestUrlParts } | undefined;

/**
 * Scheme, host and query of the request URL, which the runtime has already parsed and normalised, so plain string
 * slicing is enough (and spares a URL object per request). The parts of the last URL asked about are kept: the
 * steps of one request ask for them several times.
 */
export function requestUrlParts(url: string): RequestUrlParts {
  if (last?.url === url) return last.parts;
  const parts = parseRequestUrl(url);
  last = { url, parts };
  return parts;
}

function parseRequestUrl(url: string): RequestUrlParts {
  const schemeEnd = url.indexOf('://');
  const hostStart = schemeEnd + 3;
  let hostEnd = url.indexOf('/', hostStart);
  if (hostEnd === -1) hostEnd = url.length;
  const host = url.slice(hostStart, hostEnd);
  let end = url.indexOf('#', hostEnd);
  if (end === -1) end = url.length;
  const queryStart = url.indexOf('?', hostEnd);
  const search = queryStart === -1 || queryStart > end ? '' : url.slice(queryStart, end);
  // "[::1]:8787" → "[::1]"; "example.com:8787" → "example.com".
  const portColon = host.lastIndexOf(':');
  const hostname = portColon > host.lastIndexOf(']') ? host.slice(0, portColon) : host;
  return { protocol: url.slice(0, schemeEnd), host, hostname: hostname.toLowerCase(), search: search === '?' ? '' : search };
}
