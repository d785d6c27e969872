/** @module Random ids (request, trace, span) from a pooled CSPRNG buffer. */

// Each call into the runtime's CSPRNG has a fixed cost that, per request, showed up as ~10% of the gateway's
// throughput in `npm run bench`. One call fills a buffer that serves about a hundred requests; the bytes are
// just as random.
const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let offset = POOL_BYTES;

/** ASCII codes of the hex digits. */
const HEX_CODES = Array.from('0123456789abcdef', (digit) => digit.charCodeAt(0));

// Ids are built as character codes in reused arrays and made into one flat string by String.fromCharCode: adding
// two-digit pieces one by one made a chain of intermediate strings per id (about 900 bytes of garbage per request
// for the three ids, the collector's work).
const codesOfLength = new Map<number, number[]>();

function codes(length: number): number[] {
  let array = codesOfLength.get(length);
  if (!array) codesOfLength.set(length, (array = new Array<number>(length).fill(0)));
  return array;
}

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
  const out = codes(bytes * 2);
  for (;;) {
    const start = take(bytes);
    let nonZero = false;
    for (let i = 0; i < bytes; i++) {
      const byte = pool[start + i]!;
      out[2 * i] = HEX_CODES[byte >> 4]!;
      out[2 * i + 1] = HEX_CODES[byte & 0x0f]!;
      nonZero ||= byte !== 0;
    }
    if (nonZero) return String.fromCharCode.apply(null, out);
  }
}

const DASH = '-'.charCodeAt(0);

/** A random (version 4) UUID, RFC 9562 §5.4. */
export function randomUuid(): string {
  const start = take(16);
  const out = codes(36);
  let at = 0;
  for (let i = 0; i < 16; i++) {
    let byte = pool[start + i]!;
    if (i === 6) byte = (byte & 0x0f) | 0x40;
    else if (i === 8) byte = (byte & 0x3f) | 0x80;
    if (i === 4 || i === 6 || i === 8 || i === 10) out[at++] = DASH;
    out[at++] = HEX_CODES[byte >> 4]!;
    out[at++] = HEX_CODES[byte & 0x0f]!;
  }
  return String.fromCharCode.apply(null, out);
}
