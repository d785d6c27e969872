/** @module A strict JSON scanner: RFC 8259 syntax, and no member name twice in one object (RFC 7515 §5.2 step 4). */

/** Why a JSON text was refused. */
export class StrictJsonError extends Error {
  override readonly name = 'StrictJsonError';
  /** Where in the text it happened: member names and array indexes from the top (filled in as it propagates). */
  readonly path: (string | number)[] = [];
  /** Whether the text is valid JSON except that an object repeats a member name (the last name of `path`). */
  readonly duplicate: boolean;

  constructor(message: string, duplicate = false) {
    super(message);
    this.duplicate = duplicate;
  }
}

const MAX_DEPTH = 16;

/**
 * Checks that `text` is one JSON value whose objects never repeat a member name, then parses it.
 *
 * `JSON.parse` keeps the last of two members with the same name, so `{"alg":"HS256","alg":"none"}` would be read
 * differently by different parsers; RFC 7515 §5.2 says to reject such a header, and jose does not. Names are
 * compared after unescaping, so `"alg"` and `"\u0061lg"` are the same name.
 *
 * @example parseStrictJson('{"a":1}') // { a: 1 }
 * @throws StrictJsonError on a syntax error, a repeated name or nesting deeper than `maxDepth` (16) levels.
 */
export function parseStrictJson(text: string, maxDepth = MAX_DEPTH): unknown {
  const scanner = new Scanner(text, maxDepth);
  scanner.whitespace();
  scanner.value(0);
  scanner.whitespace();
  if (scanner.position !== text.length) throw new StrictJsonError('trailing characters');
  // The text is now known to be plain JSON without repeated names, so the native parser reads it the same way.
  return JSON.parse(text);
}

class Scanner {
  position = 0;
  readonly #text: string;
  readonly #maxDepth: number;

  constructor(text: string, maxDepth: number) {
    this.#text = text;
    this.#maxDepth = maxDepth;
  }

  whitespace(): void {
    const text = this.#text;
    while (this.position < text.length) {
      const code = text.charCodeAt(this.position);
      if (code !== 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) return;
      this.position++;
    }
  }

  value(depth: number): void {
    if (depth > this.#maxDepth) throw new StrictJsonError('nested too deeply');
    const char = this.#text[this.position];
    if (char === '{') this.#object(depth);
    else if (char === '[') this.#array(depth);
    else if (char === '"') this.string();
    else if (char === 't') this.#literal('true');
    else if (char === 'f') this.#literal('false');
    else if (char === 'n') this.#literal('null');
    else this.#number();
  }

  #object(depth: number): void {
    this.position++; // {
    const names = new Set<string>();
    this.whitespace();
    if (this.#text[this.position] === '}') {
      this.position++;
      return;
    }
    for (;;) {
      this.whitespace();
      if (this.#text[this.position] !== '"') throw new StrictJsonError('expected a member name');
      const name = this.string();
      if (names.has(name)) {
        const error = new StrictJsonError(`member "${name}" appears twice`, true);
        error.path.push(name);
        throw error;
      }
      names.add(name);
      this.whitespace();
      if (this.#text[this.position] !== ':') throw new StrictJsonError('expected ":"');
      this.position++;
      this.whitespace();
      try {
        this.value(depth + 1);
      } catch (error) {
        if (error instanceof StrictJsonError) error.path.unshift(name);
        throw error;
      }
      this.whitespace();
      const next = this.#text[this.position++];
      if (next === '}') return;
      if (next !== ',') throw new StrictJsonError('expected "," or "}"');
    }
  }

  #array(depth: number): void {
    this.position++; // [
    this.whitespace();
    if (this.#text[this.position] === ']') {
      this.position++;
      return;
    }
    for (let index = 0; ; index++) {
      this.whitespace();
      try {
        this.value(depth + 1);
      } catch (error) {
        if (error instanceof StrictJsonError) error.path.unshift(index);
        throw error;
      }
      this.whitespace();
      const next = this.#text[this.position++];
      if (next === ']') return;
      if (next !== ',') throw new StrictJsonError('expected "," or "]"');
    }
  }

  /** Reads a string at the current position and returns its unescaped value. */
  string(): string {
    const text = this.#text;
    this.position++; // opening quote
    let value = '';
    let runStart = this.position;
    for (;;) {
      if (this.position >= text.length) throw new StrictJsonError('unterminated string');
      const code = text.charCodeAt(this.position);
      if (code === 0x22 /* " */) {
        value += text.slice(runStart, this.position);
        this.position++;
        return value;
      }
      if (code < 0x20) throw new StrictJsonError('control character in string');
      if (code === 0x5c /* \ */) {
        value += text.slice(runStart, this.position);
        const escape = text[this.position + 1];
        const simple = escape === undefined ? undefined : SIMPLE_ESCAPES[escape];
        if (simple !== undefined) {
          value += simple;
          this.position += 2;
        } else if (escape === 'u' && /^[0-9A-Fa-f]{4}$/.test(text.slice(this.position + 2, this.position + 6))) {
          value += String.fromCharCode(parseInt(text.slice(this.position + 2, this.position + 6), 16));
          this.position += 6;
        } else {
          throw new StrictJsonError('invalid escape');
        }
        runStart = this.position;
        continue;
      }
      this.position++;
    }
  }

  #literal(word: string): void {
    if (!this.#text.startsWith(word, this.position)) throw new StrictJsonError('invalid literal');
    this.position += word.length;
  }

  #number(): void {
    NUMBER.lastIndex = this.position;
    const match = NUMBER.exec(this.#text);
    if (!match) throw new StrictJsonError('invalid value');
    this.position += match[0].length;
  }
}

const SIMPLE_ESCAPES: Readonly<Record<string, string>> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

// RFC 8259 §6. Sticky, so it matches only at the scanner's position.
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
