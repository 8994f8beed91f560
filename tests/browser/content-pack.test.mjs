// The bundled content pack: generated from the seed by the build script,
// committed, and shaped the way the reader and docs/content-pack.md promise.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildPack, serializePack, splitRuns } from '../../extension/tools/build-content-pack.mjs';
import { kExtensionDir } from './lib/launch.mjs';

const packPath = join(kExtensionDir, 'content', 'analysis-pack.json');
const sourcePath = join(kExtensionDir, 'content', 'source', 'trade-analysis.txt');
const committed = readFileSync(packPath, 'utf8');
const pack = JSON.parse(committed);

const allText = (p) => JSON.stringify(p.parts);
const findItem = (prefix) => {
  for (const part of pack.parts) {
    for (const block of part.blocks) {
      if (block.type !== 'list') continue;
      for (const item of block.items) {
        if (item.runs.map((r) => r.text).join('').startsWith(prefix)) return item;
      }
    }
  }
  return null;
};
const itemText = (item) => item.runs.map((r) => r.text).join('');

test('the committed pack is exactly what the build script produces from the seed copy', () => {
  // Property: nobody hand-edits the pack; regenerate with `npm run build:content`.
  const rebuilt = serializePack(buildPack(readFileSync(sourcePath, 'utf8')));
  assert.equal(committed, rebuilt);
});

test('the seed copy in the repository matches the shared seed when it is present', (t) => {
  // Property: the repo is self-contained but does not drift from the seed.
  let shared;
  try {
    shared = readFileSync(join(kExtensionDir, '..', '..', 'shared', 'seed', 'trade-analysis.txt'), 'utf8');
  } catch {
    t.skip('shared seed not present next to the checkout');
    return;
  }
  assert.equal(readFileSync(sourcePath, 'utf8'), shared);
});

test('the pack has the four parts with their titles, in order', () => {
  // Property: all of the analysis is there, nothing else.
  assert.equal(pack.schema, 1);
  assert.equal(pack.packId, 'japan-us-trade');
  assert.ok(Number.isInteger(pack.version) && pack.version >= 1);
  assert.ok(!Number.isNaN(Date.parse(pack.published)));
  assert.ok(pack.changes.length > 0);
  assert.deepEqual(pack.parts.map((p) => p.title), [
    'The Article in Brief',
    'Japan as a Test Case for US-Asia Trade and Diplomacy',
    'How Japan and Asia Can Adapt to Trump’s Trade Policies',
    'Japan as the Ultimate Test Case for Trump’s Asia Strategy',
  ]);
});

test('the flattened list nesting is restored', () => {
  // Property: bullets ending in ":" own the items the seed flattened under them.
  const strong = findItem('The article positions Japan as being in a relatively strong negotiating position');
  assert.deepEqual(strong.children.map(itemText), [
    'Its status as a key security ally',
    'Being the largest holder of US Treasuries',
    'Japan’s evolution from a protectionist nation to a champion of free trade',
  ]);
  const misconceptions = findItem('The author highlights historical misconceptions');
  assert.equal(misconceptions.children.length, 2);
  assert.match(itemText(misconceptions.children[1]), /Obama/);
  const compromise = findItem('Areas for potential compromise');
  assert.equal(compromise.children.length, 5);
  assert.equal(itemText(compromise.children[4]), 'Importing US rice to help with domestic price pressures');
  // The items after a nested group are top-level again.
  assert.ok(findItem('Prime Minister Ishiba has framed these talks'));
  assert.equal(findItem('Prime Minister Ishiba has framed these talks').children, undefined);
});

test('headings become sections inside their part', () => {
  // Property: bare lines are headings with stable, unique ids.
  const headings = pack.parts.flatMap((p) => p.blocks.filter((b) => b.type === 'heading'));
  assert.equal(headings.length, 6 + 8 + 6);
  const ids = headings.map((h) => h.id);
  assert.equal(new Set(ids).size, ids.length);
  const adapt = pack.parts[2].blocks.filter((b) => b.type === 'heading').map((h) => h.text);
  assert.ok(adapt.includes('Consider Strategic Treasury Holdings'));
  assert.ok(adapt.includes('Wait Out Short-Term Pressures'));
});

test('quotations are marked as quotations', () => {
  // Property: every “…” span is a quote run; a line that is only a quotation is a quote block.
  const text = allText(pack);
  assert.match(text, /"text":"“the canary in the tariff coal mine”","quote":true/);
  const quoteBlocks = pack.parts.flatMap((p) => p.blocks.filter((b) => b.type === 'quote'));
  assert.equal(quoteBlocks.length, 1);
  assert.match(quoteBlocks[0].runs[0].text, /^“If even Tokyo can’t secure a positive deal/);
  for (const part of pack.parts) {
    const walk = (runs) => {
      for (const run of runs) {
        if (run.text.includes('“')) assert.equal(run.quote, true, run.text);
      }
    };
    for (const block of part.blocks) {
      if (block.runs) walk(block.runs);
      for (const item of block.items ?? []) {
        walk(item.runs);
        for (const child of item.children ?? []) walk(child.runs);
      }
    }
  }
});

test('the vendor statement and the chat preamble are not content', () => {
  // Property: only the analysis reaches readers.
  const text = allText(pack);
  assert.doesNotMatch(text, /Maxthon/);
  assert.doesNotMatch(text, /I’ll analyse the article/);
  assert.match(text, /The answers to these questions will reveal/);
});

test('splitRuns refuses an unbalanced quotation', () => {
  // Property: a malformed seed fails the build instead of rendering oddly.
  assert.throws(() => splitRuns('He said “never'), /unbalanced/);
  assert.deepEqual(splitRuns('a “b” c'), [{ text: 'a ' }, { text: '“b”', quote: true }, { text: ' c' }]);
});

test('the build refuses a seed whose nesting it cannot explain', () => {
  // Property: a new bullet ending in ":" without a nesting rule fails loudly.
  const seed = readFileSync(sourcePath, 'utf8').replace(
    '- Britain',
    '- Several countries are next, namely:\n- Britain',
  );
  assert.throws(() => buildPack(seed), /no nesting rule/);
});

test('the build refuses a seed without the vendor section marker', () => {
  // Property: the exclusion is explicit; if the marker moves the build says so.
  const seed = readFileSync(sourcePath, 'utf8').replace('\nMaxthon\n', '\nMaxthon Statement\n');
  assert.throws(() => buildPack(seed), /vendor section/);
});

test('options produce a newer pack for the publisher', () => {
  // Property: the publisher can cut version N+1 with its own change notes.
  const next = buildPack(readFileSync(sourcePath, 'utf8'), {
    version: 2,
    published: '2026-12-01T00:00:00Z',
    changes: ['Second edition.'],
  });
  assert.equal(next.version, 2);
  assert.deepEqual(next.changes, ['Second edition.']);
  assert.deepEqual(next.parts, pack.parts);
});
