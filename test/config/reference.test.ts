import { describe, expect, it } from 'vitest';
import checkedIn from '../../docs/configuration.md?raw';
import { configReferenceMarkdown } from '../../src/config/reference.ts';

describe('docs/configuration.md', () => {
  it('is the reference generated from the zod schema, up to date (run `npm run schema` after changing it)', () => {
    expect(checkedIn).toBe(configReferenceMarkdown());
  });

  it('documents every field with its default, down to nested policies', () => {
    const reference = configReferenceMarkdown();
    expect(reference).toContain('## `services[].policies.rateLimit`');
    expect(reference).toMatch(/\| `windowSeconds` \| integer \| `60` \|/);
    expect(reference).toMatch(/\| `services` \| array of object \| \*\*required\*\* \|/);
  });
});
