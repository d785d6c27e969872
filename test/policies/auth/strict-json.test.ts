import { describe, expect, it } from 'vitest';
import { parseStrictJson, StrictJsonError } from '../../../src/policies/auth/strict-json.ts';

describe('parseStrictJson', () => {
  it.each([
    ['{"a":1,"b":[true,false,null],"c":{"d":"e"}}', { a: 1, b: [true, false, null], c: { d: 'e' } }],
    [' { "a" : -1.5e+3 } ', { a: -1500 }],
    ['{"s":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9"}', { s: '"\\/\b\f\n\r\té' }],
    ['{"a":{"x":1},"b":{"x":2}}', { a: { x: 1 }, b: { x: 2 } }],
    ['[]', []],
    ['"x"', 'x'],
  ])('parses %s', (text, value) => {
    expect(parseStrictJson(text)).toEqual(value);
  });

  it.each([
    '{"a":1,"a":2}',
    '{"a":1,"\\u0061":2}',
    '{"x":{"a":1,"a":1}}',
    '[{"a":1,"a":1}]',
  ])('refuses a repeated member name: %s', (text) => {
    expect(() => parseStrictJson(text)).toThrow(/appears twice/);
  });

  it.each([
    '',
    '{',
    '{"a":1,}',
    '{"a" 1}',
    "{'a':1}",
    '{"a":01}',
    '{"a":.5}',
    '{"a":+1}',
    '{"a":NaN}',
    '{"a":Infinity}',
    '{"a":"\\x41"}',
    '{"a":"\\u00g1"}',
    '{"a":"line\nbreak"}',
    '{"a":1} x',
    '{"a":tru}',
    '\ufeff{"a":1}',
    `${'['.repeat(18)}${']'.repeat(18)}`,
  ])('refuses %j', (text) => {
    expect(() => parseStrictJson(text)).toThrow(StrictJsonError);
  });

  it('names where a repeated member is, and only a repeated member counts as one (the admin API reports the field)', () => {
    const caught = (text: string, maxDepth?: number) => {
      try {
        parseStrictJson(text, maxDepth);
      } catch (error) {
        return error as StrictJsonError;
      }
      throw new Error('not refused');
    };
    expect(caught('{"a":[{"b":1},{"c":{"d":1,"d":2}}]}')).toMatchObject({ duplicate: true, path: ['a', 1, 'c', 'd'] });
    expect(caught('{"a":[1,}')).toMatchObject({ duplicate: false, path: ['a', 1] });
    expect(parseStrictJson(`${'['.repeat(18)}${']'.repeat(18)}`, 32)).toBeInstanceOf(Array);
  });

  it('reads 1e400 as Infinity, as JSON.parse does: the claim checks refuse it afterwards', () => {
    expect(parseStrictJson('{"exp":1e400}')).toEqual({ exp: Infinity });
  });
});
