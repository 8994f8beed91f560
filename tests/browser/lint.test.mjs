// ESLint over the extension, the browser tests and the run script
// (eslint.config.mjs: eqeqeq, no-undef with browser/webextension globals,
// no innerHTML).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ESLint } from 'eslint';
import { kRepoRoot } from './lib/launch.mjs';

test('the extension, browser tests and scripts pass ESLint', async () => {
  // Property: zero lint errors and zero warnings in every linted file.
  const eslint = new ESLint({ cwd: kRepoRoot });
  const results = await eslint.lintFiles(['extension', 'tests/browser', 'scripts/open-reader.mjs']);
  assert.ok(results.length >= 15, `expected the extension's files to be linted, got ${results.length}`);
  const problems = results.flatMap((r) =>
    r.messages.map((m) => `${r.filePath}:${m.line}:${m.column} ${m.ruleId ?? 'parse'}: ${m.message}`));
  assert.deepEqual(problems, []);
});
