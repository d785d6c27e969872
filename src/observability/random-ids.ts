/** @module Random ids (request, trace, span) from a pooled CSPRNG buffer. */

// Each call into the runtime's CSPRNG has a fixed cost that, per request, showed up as ~10% of the gateway's
// throughput in `npm run bench`. One call fills a buffer that serves about a hundred requests; the bytes are
// just as random.
const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let offset = POOL_BYTES;

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

function take(bytes: number): number {
  if (offset + bytes > POOL_BYTES) {
    // Filled lazily: the runtime allows no random values at module scope.
    crypto.getRandomValues(pool);
    offset = 0;
  }
  const start = offset;
  offset += bytes;
  return start;
}

/** `bytes` random bytes as lower-case hex; never all zeros (W3C Trace Context forbids all-zero ids). */
export function randomHex(bytes: number): string {
  for (;;) {
    const start = take(bytes);
    let hex = '';
    let nonZero = false;
    for (let i = start; i < start + bytes; i++) {
      hex += HEX[pool[i]!];
      nonZero ||= pool[i] !== 0;
    }
    if (nonZero) return hex;
  }
}

/** A random (version 4) UUID, RFC 9562 §5.4. */
export function randomUuid(): string {
  const start = take(16);
  const b = (i: number) => HEX[pool[start + i]!]!;
  const version = HEX[(pool[start + 6]! & 0x0f) | 0x40]!;
  const variant = HEX[(pool[start + 8]! & 0x3f) | 0x80]!;
  return `${b(0)}${b(1)}${b(2)}${b(3)}-${b(4)}${b(5)}-${version}${b(7)}-${variant}${b(9)}-${b(10)}${b(11)}${b(12)}${b(13)}${b(14)}${b(15)}`;
}
