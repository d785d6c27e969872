import { describe, expect, it } from 'vitest';
import { InvalidPathError, normalizePath, pathHasPrefix } from '../../src/routing/normalize-path.ts';

describe('normalizePath', () => {
  it.each([
    ['/', '/'],
    ['/samples/42', '/samples/42'],
    ['//samples//42', '/samples/42'],
    ['/samples/./42', '/samples/42'],
    ['/samples/x/../42', '/samples/42'],
    ['/samples/%2e%2e/auth', '/auth'],
    ['/samples/%2E/42', '/samples/42'],
    ['/samples/.%2e/.%2E/auth', '/auth'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['/%73amples/4%32', '/samples/42'],
    ['/samples/%7euser', '/samples/~user'],
    ['/samples/', '/samples/'],
    ['/samples/x/..', '/samples/'],
    ['/samples/.', '/samples/'],
    ['/samples\\..\\auth', '/auth'],
  ])('normalises %s to %s', (input, expected) => {
    expect(normalizePath(input)).toBe(expected);
  });

  it.each([
    ['/samples%2F..%2Fauth', '/samples%2F..%2Fauth'],
    ['/samples/%2f..%2fauth', '/samples/%2F..%2Fauth'],
    ['/samples%5C..%5Cauth', '/samples%5C..%5Cauth'],
    ['/samples/a%20b', '/samples/a%20b'],
    ['/samples/%c3%a9', '/samples/%C3%A9'],
    ['/samples;jsessionid=1/../auth', '/auth'],
    ['/samples/;x', '/samples/;x'],
  ])('keeps %s as %s: encoded separators never split segments', (input, expected) => {
    expect(normalizePath(input)).toBe(expected);
  });

  it.each(['/samples/%', '/samples/%2', '/samples/%zz', '/samples/%00', '/samples/a%00b'])(
    'refuses %s',
    (input) => {
      expect(() => normalizePath(input)).toThrow(InvalidPathError);
    },
  );

  it('is idempotent', () => {
    for (const input of ['//a/./b/../c/', '/a/%2e%2E/%41%2F', '/x/%7e/..%2F']) {
      const once = normalizePath(input);
      expect(normalizePath(once)).toBe(once);
    }
  });
});

describe('pathHasPrefix', () => {
  it('matches on segment boundaries only', () => {
    expect(pathHasPrefix('/samples', '/samples')).toBe(true);
    expect(pathHasPrefix('/samples/', '/samples')).toBe(true);
    expect(pathHasPrefix('/samples/1', '/samples')).toBe(true);
    expect(pathHasPrefix('/samplesX', '/samples')).toBe(false);
    expect(pathHasPrefix('/sample', '/samples')).toBe(false);
    expect(pathHasPrefix('/anything', '/')).toBe(true);
  });
});
