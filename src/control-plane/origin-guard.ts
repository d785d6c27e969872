/**
 * @module The guard on origin URLs that come in through the admin API: the gateway fetches them, so an admin
 * request must not be able to point it at the cloud metadata service, the local network or arbitrary hosts.
 */

export interface OriginGuardSettings {
  /** Host patterns (exact, or "*.example.com") registered origins must match; empty allows any public host. */
  allowedHosts: readonly string[];
  /** Whether loopback, private, link-local and other non-public addresses are allowed (local development). */
  allowPrivateAddresses: boolean;
}

/** Why a URL was refused, in words an operator can act on; undefined when it is allowed. */
export function originUrlProblem(value: string, settings: OriginGuardSettings): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'expected an absolute http(s) URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `expected http or https, got "${url.protocol.slice(0, -1)}"`;
  if (url.username || url.password) return 'credentials are not allowed in the URL';
  if (url.search || url.hash) return 'query and fragment are not allowed in the URL';
  // The WHATWG parser has already turned 2130706433, 0x7f.1 and 127.1 into 127.0.0.1, and lower-cased the host.
  const host = bareHost(url);
  if (settings.allowedHosts.length > 0 && !settings.allowedHosts.some((pattern) => hostMatches(pattern, host))) {
    return `host "${host}" is not in the allowed origin hosts`;
  }
  if (!settings.allowPrivateAddresses && isNonPublicHost(host)) {
    return `host "${host}" is a loopback, private, link-local or otherwise non-public address`;
  }
  return undefined;
}

/**
 * Whether `value` names the gateway itself, as reached at `gatewayUrl` (the URL an admin request came to): an
 * instance there would forward every request back into the gateway, which forwards it again, until the timeouts
 * end it (one request became about a thousand within a 5 s timeout under `wrangler dev`). The same host counts on
 * any port (Cloudflare answers a zone on several ports); on a loopback host only the same port does, since local
 * origins share the host and differ by port. A name that merely resolves to the gateway cannot be seen here.
 */
export function pointsAtGateway(value: string, gatewayUrl: string): boolean {
  let url: URL;
  let gateway: URL;
  try {
    url = new URL(value);
    gateway = new URL(gatewayUrl);
  } catch {
    return false;
  }
  const host = bareHost(url);
  const gatewayHost = bareHost(gateway);
  if (isLoopbackHost(host) && isLoopbackHost(gatewayHost)) return effectivePort(url) === effectivePort(gateway);
  return host === gatewayHost;
}

function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
}

function effectivePort(url: URL): string {
  return url.port || (url.protocol === 'https:' ? '443' : '80');
}

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function hostMatches(pattern: string, host: string): boolean {
  return pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1 : host === pattern;
}

/**
 * Literal addresses in non-public ranges, and names that always mean this machine or a cloud's metadata service.
 * (A public name that resolves to a private address cannot be caught here: Workers have no DNS API. Use
 * `allowedHosts` to pin registrations to names you control.)
 */
export function isNonPublicHost(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost') || host === 'metadata.google.internal' || host.endsWith('.internal')) {
    return true;
  }
  const v4 = parseIPv4(host);
  if (v4) return isNonPublicIPv4(v4);
  if (host.includes(':')) return isNonPublicIPv6(host);
  return false;
}

function parseIPv4(host: string): number[] | undefined {
  const parts = host.split('.');
  if (parts.length !== 4 || !parts.every((part) => /^\d{1,3}$/.test(part) && Number(part) <= 255)) return undefined;
  return parts.map(Number);
}

function isNonPublicIPv4([a, b]: number[]): boolean {
  return (
    a === 0 || // "this network"
    a === 10 ||
    a === 127 ||
    (a === 100 && b! >= 64 && b! <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b! >= 16 && b! <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) || // IETF protocol assignments and TEST-NET-1
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    a! >= 224 // multicast, reserved, broadcast
  );
}

function isNonPublicIPv6(host: string): boolean {
  const address = host.toLowerCase();
  if (address === '::' || address === '::1') return true;
  // IPv4-mapped (::ffff:a.b.c.d or ::ffff:xxxx:xxxx) inherits the IPv4 address's status.
  const mapped = /^::ffff:(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/.exec(address);
  if (mapped) {
    if (mapped[1]) return isNonPublicHost(mapped[1]);
    const high = parseInt(mapped[2]!, 16);
    const low = parseInt(mapped[3]!, 16);
    return isNonPublicIPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
  }
  const first = parseInt(address.split(':')[0] || '0', 16);
  return (
    (first & 0xfe00) === 0xfc00 || // unique local fc00::/7
    (first & 0xffc0) === 0xfe80 || // link-local fe80::/10
    (first & 0xff00) === 0xff00 || // multicast
    address.startsWith('64:ff9b:') || // NAT64: the IPv4 address inside could be anything
    address.startsWith('2001:db8:') // documentation
  );
}
