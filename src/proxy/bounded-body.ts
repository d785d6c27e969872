/** @module Reading an answer from another server (a key server, an auth service, a health endpoint) under a size bound. */

/** The answer is larger than the bound it was read under. */
export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge';
}

/**
 * The body of `response` as UTF-8 text, if it is at most `maxBytes` long. A larger declared `Content-Length` is
 * refused unread; a body without one (chunked) is cancelled as soon as it passes the bound. `response.text()` would
 * hold all of it in memory first, and an endless answer would be read until the caller's timeout.
 *
 * @throws BodyTooLarge when the body is larger than `maxBytes`; the read's own error when reading fails.
 */
export async function readBoundedText(response: Response, maxBytes: number): Promise<string> {
  if (Number(response.headers.get('content-length') ?? 0) > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new BodyTooLarge(`answer larger than ${maxBytes} bytes`);
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw new BodyTooLarge(`answer larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
