/**
 * @module Failed authentications per client address, counted in this isolate: an address that keeps presenting
 * bad API keys is refused before any lookup, so guessing keys costs the key store nothing after the first few.
 */
import { ExpiringLru } from './expiring-lru.ts';

/** Addresses tracked at once; the least recently seen are forgotten first. */
const MAX_ADDRESSES = 10_000;

interface Window {
  failures: number;
  /** Epoch ms when the window (and its count) ends. */
  endsAt: number;
}

/**
 * A fixed window per address that starts at its first failure. Per isolate, not global: an attacker spread over
 * many isolates gets `maxFailures` tries in each, still a small multiple, and no Durable Object call is spent to
 * count them.
 */
export class FailedAuthLimiter {
  readonly #windows = new ExpiringLru<Window>(MAX_ADDRESSES);
  readonly #maxFailures: number;
  readonly #windowMs: number;

  constructor(options: { maxFailures: number; windowSeconds: number }) {
    this.#maxFailures = options.maxFailures;
    this.#windowMs = options.windowSeconds * 1000;
  }

  /** Seconds until `address` may try again, or 0 when it may try now. */
  retryAfterSeconds(address: string, now: number): number {
    const window = this.#windows.get(clientKey(address), now);
    if (window === undefined || window.failures < this.#maxFailures) return 0;
    return Math.max(1, Math.ceil((window.endsAt - now) / 1000));
  }

  /** Counts one failed authentication from `address` at `now`. */
  recordFailure(address: string, now: number): void {
    const key = clientKey(address);
    const window = this.#windows.get(key, now);
    if (window) window.failures += 1;
    else this.#windows.set(key, { failures: 1, endsAt: now + this.#windowMs }, now + this.#windowMs, now);
  }
}

const HEXTET = /^[0-9a-f]{1,4}$/;

/**
 * What failures are counted under: an IPv4 address itself, an IPv6 address by its /64 prefix (an IPv4-mapped one as
 * the IPv4 address). A subscriber is given at least a whole /64 (RFC 6177), so counting single IPv6 addresses would
 * let one client start afresh with each of its 2^64 addresses. Any spelling of the same prefix (`::` compression,
 * leading zeros, case) gives the same key; a text that is not an IPv6 address is its own key.
 *
 * @example clientKey('2001:db8:0:0:1::7') // '2001:db8:0:0::/64'
 */
export function clientKey(address: string): string {
  if (!address.includes(':')) return address;
  const text = address.toLowerCase();
  const halves = text.split('::');
  if (halves.length > 2) return address;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const last = (halves.length === 2 ? tail : head).at(-1) ?? '';
  const embeddedIpv4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(last) ? last : undefined;
  if (embeddedIpv4) (halves.length === 2 ? tail : head).pop();
  const width = embeddedIpv4 ? 6 : 8; // hextets before the embedded IPv4 address, if any
  const elided = width - head.length - tail.length; // "::" stands for at least one zero hextet
  if (halves.length === 2 ? elided < 1 : elided !== 0) return address;
  const groups = [...head, ...Array<string>(halves.length === 2 ? elided : 0).fill('0'), ...tail];
  if (!groups.every((group) => HEXTET.test(group))) return address;
  const hextets = groups.map((group) => parseInt(group, 16));
  if (embeddedIpv4 && hextets.slice(0, 5).every((value) => value === 0) && hextets[5] === 0xffff) return embeddedIpv4;
  return `${hextets.slice(0, 4).map((value) => value.toString(16)).join(':')}::/64`;
}
