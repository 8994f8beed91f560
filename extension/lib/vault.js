// Thin client for the host's vault methods. Private reader data (notes,
// highlights, bookmarks, reading position, settings) goes only here, never to
// chrome.storage, which browsers keep as plain files.

import { call } from './rpc.js';

export const Namespaces = Object.freeze({
  notes: 'notes',
  highlights: 'highlights',
  bookmarks: 'bookmarks',
  reading: 'reading',
  settings: 'settings',
});

const kPageLimit = 100;
const kMaxPages = 200; // Bounded: at most 20,000 records per listing.

export function status() {
  return call('vault.status');
}

// {value, revision} or null when the record does not exist.
export async function get(namespace, key) {
  try {
    return await call('vault.get', { namespace, key });
  } catch (e) {
    if (e.is?.('not_found')) return null;
    throw e;
  }
}

export function set(namespace, key, value, expectedRevision) {
  const params = { namespace, key, value };
  if (expectedRevision !== undefined && expectedRevision !== null) params.expectedRevision = expectedRevision;
  return call('vault.set', params);
}

export async function remove(namespace, key, expectedRevision) {
  const params = { namespace, key };
  if (expectedRevision !== undefined && expectedRevision !== null) params.expectedRevision = expectedRevision;
  try {
    return await call('vault.delete', params);
  } catch (e) {
    if (e.is?.('not_found')) return null;
    throw e;
  }
}

// Every {key, revision} in a namespace (following cursors).
export async function listAll(namespace, prefix) {
  const items = [];
  let cursor = null;
  for (let page = 0; page < kMaxPages; page++) {
    const params = { namespace, limit: kPageLimit };
    if (prefix) params.prefix = prefix;
    if (cursor) params.cursor = cursor;
    const reply = await call('vault.list', params);
    items.push(...(reply?.items ?? []));
    cursor = reply?.cursor ?? null;
    if (!cursor) break;
  }
  return items;
}

// Every record as {key, value, revision}; records that vanish meanwhile are skipped.
export async function getAll(namespace, prefix) {
  const items = await listAll(namespace, prefix);
  const records = await Promise.all(items.map(async ({ key }) => {
    const record = await get(namespace, key);
    return record ? { key, value: record.value, revision: record.revision } : null;
  }));
  return records.filter(Boolean);
}

export const lock = () => call('vault.lock');
export const unlock = (passphrase) => call('vault.unlock', { passphrase });
export const setPassphrase = (passphrase, currentPassphrase) => {
  const params = { passphrase };
  if (currentPassphrase) params.currentPassphrase = currentPassphrase;
  return call('vault.setPassphrase', params);
};
export const rotateKey = () => call('vault.rotateKey');
export const exportBackup = (passphrase) => call('vault.export', { passphrase });
export const importBackup = (backup, passphrase) => call('vault.import', { backup, passphrase });
