#!/usr/bin/env node
// Turns the seed analysis (plain text, headings as bare lines, list nesting
// flattened) into the versioned JSON content pack the reader renders.
//
// The seed's structure is implicit, so the rules below are paired with
// explicit checks: if the seed changes in a way the rules do not cover, the
// build fails with a message instead of producing a silently wrong pack.
//
// Usage:
//   node extension/tools/build-content-pack.mjs            write the pack
//   node extension/tools/build-content-pack.mjs --check    exit 1 if stale
//   ... --version N --published ISO --change "text" [--change ...] --out FILE
//       (the publisher uses these to cut a newer pack for a TUF release)
//
// The schema is documented in docs/content-pack.md.

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const kExtensionDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const kSourcePath = join(kExtensionDir, 'content', 'source', 'trade-analysis.txt');
const kDefaultOut = join(kExtensionDir, 'content', 'analysis-pack.json');

export const kSchema = 1;
export const kPackId = 'japan-us-trade';

// The bundled pack's identity. Bump kVersion (and describe the change) when
// the bundled text changes; updates delivered over TUF carry higher versions.
const kVersion = 1;
const kPublished = '2026-11-28T00:00:00Z';
const kTitle = 'Japan–US Trade: Japan as the Bellwether for Trump’s Asia Policy';
const kChanges = [
  'First edition: the article summary and three analyses of Japan’s tariff negotiations with the Trump administration.',
];

// The seed has four parts. The first has no title line of its own.
const kParts = [
  { id: 'in-brief', title: 'The Article in Brief', startsAt: null },
  { id: 'test-case', title: 'Japan as a Test Case for US-Asia Trade and Diplomacy' },
  { id: 'adapt', title: 'How Japan and Asia Can Adapt to Trump’s Trade Policies' },
  { id: 'ultimate-test', title: 'Japan as the Ultimate Test Case for Trump’s Asia Strategy' },
];

// The seed opens with a line addressed to whoever asked for the summary; it is
// not part of the analysis a reader should see.
const kPreamble = 'I’ll analyse the article about Japan-US trade negotiations.';

// Everything from this heading on is a browser vendor's statement, not analysis.
const kVendorHeading = 'Maxthon';

// Bullets that end with ":" introduce nested children. The seed flattened the
// nesting, so the number of children each one owns is stated here and checked.
// Keys are prefixes of the introducing bullet.
const kNestedChildren = new Map([
  ['The article positions Japan as being in a relatively strong negotiating position', 3],
  ['The author highlights historical misconceptions', 2],
  ['Areas for potential compromise', 5],
]);

class PackError extends Error {}

function fail(message) {
  throw new PackError(message);
}

function slugify(text) {
  return text
    .toLowerCase()
    .replace(/[’']/g, '')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

// Splits text into runs, marking quotations (“…”) with quote: true. The curly
// quotes stay in the text so copying a passage keeps them.
export function splitRuns(text) {
  const runs = [];
  let rest = text;
  for (;;) {
    const open = rest.indexOf('“');
    if (open < 0) break;
    const close = rest.indexOf('”', open + 1);
    if (close < 0) fail(`unbalanced quotation in: ${text}`);
    if (open > 0) runs.push({ text: rest.slice(0, open) });
    runs.push({ text: rest.slice(open, close + 1), quote: true });
    rest = rest.slice(close + 1);
  }
  if (rest.length > 0) runs.push({ text: rest });
  if (text.includes('”') && !runs.some((r) => r.quote)) fail(`stray closing quotation in: ${text}`);
  return runs;
}

// A bare line is a heading when it is short and does not read as a sentence.
function isHeading(line) {
  return line.length <= 80 && !/[.:;!?,”")]$/.test(line) && !line.startsWith('- ');
}

function childCountFor(itemText) {
  for (const [prefix, count] of kNestedChildren) {
    if (itemText.startsWith(prefix)) return count;
  }
  return null;
}

// Builds list items from consecutive bullet lines, restoring nesting.
function buildListItems(bullets) {
  const items = [];
  for (let i = 0; i < bullets.length; i++) {
    const text = bullets[i];
    const item = { runs: splitRuns(text) };
    if (text.endsWith(':')) {
      const count = childCountFor(text);
      if (count === null) fail(`bullet introduces children but has no nesting rule: ${text}`);
      const children = bullets.slice(i + 1, i + 1 + count);
      if (children.length !== count) fail(`expected ${count} children under: ${text}`);
      for (const child of children) {
        if (child.endsWith(':')) fail(`nested bullet cannot introduce children: ${child}`);
      }
      item.children = children.map((c) => ({ runs: splitRuns(c) }));
      i += count;
    }
    items.push(item);
  }
  return items;
}

function isWholeQuote(runs) {
  return runs.length === 1 && runs[0].quote === true;
}

export function buildPack(sourceText, options = {}) {
  const lines = sourceText.split(/\r?\n/).map((l) => l.trim());
  const parts = kParts.map((p) => ({ id: p.id, title: p.title, blocks: [] }));
  const headingIds = new Set(parts.map((p) => p.id));
  let partIndex = 0;
  let bullets = [];
  let sawVendor = false;
  let sawPreamble = false;

  const flushList = () => {
    if (bullets.length === 0) return;
    const items = buildListItems(bullets);
    const blocks = parts[partIndex].blocks;
    // A list whose only item is a quotation reads as a block quotation.
    if (items.length === 1 && !items[0].children && isWholeQuote(items[0].runs)) {
      blocks.push({ type: 'quote', runs: items[0].runs });
    } else {
      blocks.push({ type: 'list', items });
    }
    bullets = [];
  };

  for (const line of lines) {
    if (line === '') continue;
    if (line === kVendorHeading) {
      sawVendor = true;
      break;
    }
    if (!sawPreamble && line === kPreamble) {
      sawPreamble = true;
      continue;
    }
    if (line.startsWith('- ')) {
      bullets.push(line.slice(2).trim());
      continue;
    }
    flushList();
    const nextPart = kParts.findIndex((p, i) => i > 0 && p.title === line);
    if (nextPart >= 0) {
      if (nextPart !== partIndex + 1) fail(`part out of order: ${line}`);
      partIndex = nextPart;
      continue;
    }
    const blocks = parts[partIndex].blocks;
    if (isHeading(line)) {
      const id = `${parts[partIndex].id}--${slugify(line)}`;
      if (headingIds.has(id)) fail(`duplicate heading id: ${id}`);
      headingIds.add(id);
      blocks.push({ type: 'heading', id, text: line });
      continue;
    }
    const runs = splitRuns(line);
    blocks.push(isWholeQuote(runs) ? { type: 'quote', runs } : { type: 'paragraph', runs });
  }
  flushList();

  if (!sawPreamble) fail('the seed no longer opens with the expected preamble line');
  if (!sawVendor) fail(`the vendor section ("${kVendorHeading}") was not found; check the seed`);
  if (partIndex !== kParts.length - 1) fail(`found ${partIndex + 1} of ${kParts.length} parts`);
  for (const part of parts) {
    if (part.blocks.length === 0) fail(`part is empty: ${part.title}`);
  }
  const nestedFound = parts
    .flatMap((p) => p.blocks)
    .filter((b) => b.type === 'list')
    .flatMap((b) => b.items)
    .filter((it) => it.children).length;
  if (nestedFound !== kNestedChildren.size) {
    fail(`expected ${kNestedChildren.size} nested lists, built ${nestedFound}`);
  }

  const sha256 = createHash('sha256').update(sourceText, 'utf8').digest('hex');
  return {
    schema: kSchema,
    packId: kPackId,
    version: options.version ?? kVersion,
    published: options.published ?? kPublished,
    title: options.title ?? kTitle,
    changes: options.changes ?? kChanges,
    source: { file: 'trade-analysis.txt', sha256 },
    parts,
  };
}

export function serializePack(pack) {
  return `${JSON.stringify(pack, null, 2)}\n`;
}

function parseArgs(argv) {
  const args = { check: false, out: kDefaultOut, changes: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) fail(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--check') args.check = true;
    else if (a === '--out') args.out = value();
    else if (a === '--version') {
      const v = Number(value());
      if (!Number.isInteger(v) || v < 1) fail('--version must be a positive integer');
      args.version = v;
    } else if (a === '--published') {
      const p = value();
      if (Number.isNaN(Date.parse(p))) fail('--published must be an ISO 8601 date');
      args.published = p;
    } else if (a === '--title') args.title = value();
    else if (a === '--change') args.changes.push(value());
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        'usage: build-content-pack.mjs [--check] [--out FILE] [--version N] ' +
          '[--published ISO] [--title T] [--change TEXT]...\n',
      );
      process.exit(0);
    } else fail(`unknown argument: ${a}`);
  }
  return args;
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const pack = buildPack(readFileSync(kSourcePath, 'utf8'), {
    version: args.version,
    published: args.published,
    title: args.title,
    changes: args.changes.length > 0 ? args.changes : undefined,
  });
  const text = serializePack(pack);
  if (args.check) {
    let current = '';
    try {
      current = readFileSync(args.out, 'utf8');
    } catch {
      // Missing counts as stale.
    }
    if (current !== text) {
      process.stderr.write(
        `${relative(process.cwd(), args.out)} is out of date; run: npm run build:content\n`,
      );
      process.exit(1);
    }
    process.stdout.write('content pack is up to date\n');
    return;
  }
  writeFileSync(args.out, text);
  process.stdout.write(`wrote ${args.out} (version ${pack.version}, ${pack.parts.length} parts)\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main();
  } catch (e) {
    if (e instanceof PackError) {
      process.stderr.write(`build-content-pack: ${e.message}\n`);
      process.exit(1);
    }
    throw e;
  }
}
