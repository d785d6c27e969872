/**
 * @module What the registry stores of a change's details (the audit entry's `before` and `after`, the answer kept
 * for a retried write): as given, up to a bound, and past it a summary. Deployed, one SQLite string or row holds at
 * most 2 MB, and the diff of one `PUT /gateway/config` can be larger than the configuration sent (1,000 services
 * replaced by 1,000 others: a 102 KB body, a 1.72 MB audit entry). A row past the limit fails the transaction: the
 * apply would be answered 500 and nothing stored. Locally SQLite takes rows of several MB, so only this bound
 * shows it.
 */

/** Bytes of JSON one stored detail may take; two of them and the rest of a row stay well under 2 MB. */
export const MAX_STORED_DETAIL_BYTES = 512 * 1024;

/** Changes a summary names (`op path`), of however many there were. */
const SUMMARY_PATHS = 1_000;

export interface DetailSummary {
  truncated: true;
  /** Size of the whole detail as JSON, in bytes. */
  bytes: number;
  /** For a list of changes (`{ op, path, … }`), how many there were and the first ones' `op path`. */
  changes?: number;
  paths?: string[];
}

/** `value` as JSON text to store, or its summary's when the text is larger than `maxBytes`. */
export function storedDetail(value: unknown, maxBytes = MAX_STORED_DETAIL_BYTES): string {
  const text = JSON.stringify(value);
  // UTF-8 takes at most three bytes per UTF-16 unit: most details are far below the bound and need no encoding.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = new TextEncoder().encode(text).length;
  if (bytes <= maxBytes) return text;
  return JSON.stringify(summaryOf(value, bytes));
}

function summaryOf(value: unknown, bytes: number): DetailSummary {
  if (!Array.isArray(value)) return { truncated: true, bytes };
  const paths = value.slice(0, SUMMARY_PATHS).map((entry: { op?: unknown; path?: unknown }) => `${String(entry?.op ?? '')} ${String(entry?.path ?? '')}`.trim());
  return { truncated: true, bytes, changes: value.length, paths };
}
