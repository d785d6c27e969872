/** @module What the request line and Host must look like before any URL, route or policy is derived from them. */
import { HTTP_METHODS } from '../config/schema.ts';

// RFC 9110 §7.2 / RFC 3986 §3.2.2: Host = uri-host [ ":" port ]. Accepted hosts: a DNS-style name or IPv4 address,
// or a bracketed IPv6 literal. The port is 1 to 5 digits, at most 65535. Nothing else: no path, no user info, no
// second value (two Host headers arrive joined by ", "), no spaces.
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::(\d{1,5}))?$/;

/**
 * Whether `host` (the Host header as received) is a plain `host[:port]`. A value such as `example.com/gateway` would
 * otherwise become part of the URL the runtime builds, and change the path the gateway routes on.
 *
 * @example isValidHost('api.example.com:8443') // true
 * @example isValidHost('127.0.0.1:8787/gateway') // false
 */
export function isValidHost(host: string): boolean {
  const match = HOST.exec(host);
  if (!match) return false;
  return match[1] === undefined || Number(match[1]) <= 65_535;
}

const KNOWN_METHODS: ReadonlySet<string> = new Set(HTTP_METHODS);

/** Methods the gateway forwards (those a route may list); CONNECT, TRACE and extension methods are not among them. */
export function isSupportedMethod(method: string): boolean {
  return KNOWN_METHODS.has(method);
}
