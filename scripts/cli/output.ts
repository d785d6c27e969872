/**
 * @module Output and exit codes shared by the operator CLI's commands (scripts/gateway-cli.ts): a table for people,
 * the raw answer for `--json`, and the exit codes scripts can rely on.
 */

/** Exit codes of `npm run gateway`, documented in docs/cli.md. Scripts may branch on them; never renumber. */
export const EXIT = {
  /** The command did what it was asked. */
  ok: 0,
  /** The gateway answered with an error (4xx other than 401/403/404, or 5xx): the problem's title and detail are printed. */
  failed: 1,
  /** Bad usage: unknown command, missing argument, unreadable input file. Nothing was sent. */
  usage: 2,
  /** The gateway could not be reached, timed out, or answered with something that is not the admin API. */
  unreachable: 3,
  /** 401 or 403: no admin token, or the wrong one. */
  unauthorised: 4,
  /** 404: the service, instance, route, alert, rule or channel named does not exist. */
  notFound: 5,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error that ends the CLI with `code` and `message` on stderr (no stack trace). */
export class CliError extends Error {
  readonly code: ExitCode;

  constructor(message: string, code: ExitCode) {
    super(message);
    this.code = code;
  }
}

/** What a command hands back: the raw answer (printed by `--json`) and how to show it to a person. */
export interface CommandOutput {
  raw: unknown;
  human: () => string;
}

export type Cell = string | number | boolean | null | undefined;

/**
 * A plain-text table: upper-case headers, columns padded to their widest cell, two spaces apart, no borders (so it
 * stays greppable and `cut`-able). An empty table says so in `empty`.
 *
 * @example renderTable(['service', 'state'], [['samples', 'closed']]) → "SERVICE  STATE\nsamples  closed"
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly Cell[])[], empty = '(none)'): string {
  if (rows.length === 0) return empty;
  const text = (cell: Cell) => (cell === null || cell === undefined ? '-' : String(cell));
  const cells = [headers.map((header) => header.toUpperCase()), ...rows.map((row) => row.map(text))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? '').length)));
  return cells.map((row) => row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')).join('\n');
}

/** `key  value` lines with the keys aligned, for one object's fields (status, a single record). */
export function renderFields(fields: readonly (readonly [string, Cell])[]): string {
  const width = Math.max(...fields.map(([key]) => key.length));
  return fields.map(([key, value]) => `${key.padEnd(width)}  ${value === null || value === undefined ? '-' : String(value)}`).join('\n');
}

/** Prints a command's output: the raw answer as indented JSON with `--json`, else its human form. */
export function emit(output: CommandOutput, json: boolean): void {
  const text = json ? JSON.stringify(output.raw, null, 2) : output.human();
  if (text) console.log(text);
}
