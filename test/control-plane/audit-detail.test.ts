import { describe, expect, it } from 'vitest';
import { storedDetail } from '../../src/control-plane/audit-detail.ts';

describe('storedDetail', () => {
  it('stores a detail within the bound as it is', () => {
    const detail = [{ op: 'add', path: 'services[a]', after: { name: 'a' } }];
    expect(storedDetail(detail, 1024)).toBe(JSON.stringify(detail));
  });

  it('stores a summary of a list of changes past the bound: how many, and the first ones\' op and path', () => {
    const changes = Array.from({ length: 1_500 }, (_, i) => ({ op: 'add', path: `services[s${i}]`, after: { name: `s${i}`, padding: 'x'.repeat(100) } }));
    const text = storedDetail(changes, 64 * 1024);
    const summary = JSON.parse(text);
    expect(summary).toMatchObject({ truncated: true, bytes: JSON.stringify(changes).length, changes: 1_500 });
    expect(summary.paths).toHaveLength(1_000);
    expect(summary.paths[0]).toBe('add services[s0]');
    expect(text.length).toBeLessThan(64 * 1024);
  });

  it('counts bytes, not characters: three-byte characters fill the bound three times as fast', () => {
    const wide = { note: '\u0939'.repeat(500) };
    expect(JSON.parse(storedDetail(wide, 1_000))).toEqual({ truncated: true, bytes: new TextEncoder().encode(JSON.stringify(wide)).length });
    expect(JSON.parse(storedDetail(wide, 2_000))).toEqual(wide);
  });
});
