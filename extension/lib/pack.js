// Loading and checking content packs (schema: docs/content-pack.md).
//
// A pack from the host has passed TUF verification, but the reader still
// checks its shape before rendering: a malformed pack is refused and the
// bundled one shown instead.

import { extensionUrl } from './browser-api.js';

export const kSchema = 1;
export const kPackId = 'japan-us-trade';

const kBlockTypes = new Set(['paragraph', 'heading', 'list', 'quote']);

class PackInvalid extends Error {}

function check(condition, message) {
  if (!condition) throw new PackInvalid(message);
}

function checkRuns(runs, where) {
  check(Array.isArray(runs) && runs.length > 0, `${where}: runs must be a non-empty array`);
  for (const run of runs) {
    check(run && typeof run.text === 'string', `${where}: every run needs text`);
    check(run.quote === undefined || typeof run.quote === 'boolean', `${where}: quote must be boolean`);
  }
}

function checkItems(items, where, depth) {
  check(Array.isArray(items) && items.length > 0, `${where}: a list needs items`);
  check(depth <= 4, `${where}: lists nested too deeply`);
  for (const item of items) {
    checkRuns(item?.runs, where);
    if (item.children !== undefined) checkItems(item.children, where, depth + 1);
  }
}

// Throws PackInvalid with a reason; returns the pack when it is usable.
export function validatePack(pack) {
  check(pack && typeof pack === 'object', 'not an object');
  check(pack.schema === kSchema, `unsupported schema ${pack.schema}`);
  check(pack.packId === kPackId, `unexpected packId ${pack.packId}`);
  check(Number.isInteger(pack.version) && pack.version >= 1, 'version must be a positive integer');
  check(typeof pack.published === 'string' && !Number.isNaN(Date.parse(pack.published)), 'bad published date');
  check(typeof pack.title === 'string', 'title missing');
  check(Array.isArray(pack.changes) && pack.changes.every((c) => typeof c === 'string'), 'changes must be strings');
  check(Array.isArray(pack.parts) && pack.parts.length > 0, 'parts missing');
  const ids = new Set();
  for (const part of pack.parts) {
    check(typeof part?.id === 'string' && typeof part.title === 'string', 'part needs id and title');
    check(!ids.has(part.id), `duplicate id ${part.id}`);
    ids.add(part.id);
    check(Array.isArray(part.blocks), `${part.id}: blocks missing`);
    for (const block of part.blocks) {
      check(block && kBlockTypes.has(block.type), `${part.id}: unknown block type ${block?.type}`);
      if (block.type === 'heading') {
        check(typeof block.id === 'string' && typeof block.text === 'string', `${part.id}: bad heading`);
        check(!ids.has(block.id), `duplicate id ${block.id}`);
        ids.add(block.id);
      } else if (block.type === 'list') {
        checkItems(block.items, part.id, 1);
      } else {
        checkRuns(block.runs, part.id);
      }
    }
  }
  return pack;
}

export async function loadBundledPack() {
  const response = await fetch(extensionUrl('content/analysis-pack.json'));
  if (!response.ok) throw new Error(`bundled pack missing (${response.status})`);
  return validatePack(await response.json());
}

// The newest usable pack: the host's if it verifies and is newer.
export function choosePack(bundled, fromHost) {
  if (!fromHost) return { pack: bundled, source: 'bundled' };
  try {
    validatePack(fromHost);
  } catch (e) {
    console.warn('[bellwether] ignoring the host pack:', e.message);
    return { pack: bundled, source: 'bundled', rejected: e.message };
  }
  if (fromHost.version < bundled.version) return { pack: bundled, source: 'bundled' };
  return { pack: fromHost, source: 'update' };
}

export function formatDate(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso ?? '';
  return date.toLocaleDateString(undefined, { year: 'numeric', month: 'long', day: 'numeric', timeZone: 'UTC' });
}

export function formatDateTime(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
