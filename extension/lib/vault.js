// Thin client for the host's vault methods. Private reader data (notes,
// highlights, bookmarks, reading position, settings) goes only here, never to
// chrome.storage, which browsers keep as plain files.

import { ErrorCodes, RpcError } from './protocol.js';
import { call } from './rpc.js';

export const Namespaces = Object.freeze({
  notes: 'notes',
  highlights: 'highlights',
  bookmarks: 'bookmarks',
  reading: 'reading',
  settings: 'settings',
});

const kPageLimit = 100;
// Bounded: more pages than any vault within its quota can fill (64 MiB of
// records of at least ~100 bytes each); reaching it is an error, not a
// silently shortened list.
const kMaxPages = 10000;
// Reads in flight at once in getAll: the host answers one at a time, and
// each request's timeout runs from when it is sent.
const kParallelGets = 16;

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
    const next = reply?.cursor ?? null;
    if (!next) return items;
    if (next === cursor) break; // A cursor that does not move would loop.
    cursor = next;
  }
  throw new RpcError({ code: ErrorCodes.internal, message: `Listing ${namespace} did not come to an end.` });
}

// Every record as {key, value, revision} in `records`; records that vanish
// meanwhile are skipped. A record that fails its integrity check (damaged or
// tampered on disk) is left out and counted in `damaged`, so one bad row
// does not hide all the others; any other error fails the whole call.
export async function getAll(namespace, prefix) {
  const items = await listAll(namespace, prefix);
  let damaged = 0;
  const records = new Array(items.length).fill(null);
  let next = 0;
  const reader = async () => {
    while (next < items.length) {
      const index = next++;
      const { key } = items[index];
      try {
        const record = await get(namespace, key);
        if (record) records[index] = { key, value: record.value, revision: record.revision };
      } catch (e) {
        if (!e.is?.('integrity')) throw e;
        damaged += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(kParallelGets, items.length) }, reader));
  return { records: records.filter(Boolean), damaged };
}

export const lock = () => call('vault.lock');
export const unlock = (passphrase) => call('vault.unlock', { passphrase });
export const setPassphrase = (passphrase, currentPassphrase) => {
  const params = { passphrase };
  if (currentPassphrase) params.currentPassphrase = currentPassphrase;
  return call('vault.setPassphrase', params);
};
export const rotateKey = () => call('vault.rotateKey');
// ---- backups
//
// A backup small enough for one native message travels inline. A larger one
// (a vault may hold up to its quota; a message to or from the host at most
// 1 MiB) goes through a file in the host's backups folder, moved in chunks
// of 512 KiB (docs/protocol.md, vault.downloadBackup and vault.uploadBackup).

const kChunkBytes = 512 * 1024;
const kMaxChunks = 512; // Bounded: 256 MiB, the largest backup the host reads.
const kInlineRequestBytes = 900 * 1024;

function bytesToBase64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

function base64ToBytes(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// Resolves with { blob, records, path }: the sealed backup as a Blob, and,
// when it was too large to come inline, where the host also keeps a copy.
export async function exportBackup(passphrase) {
  try {
    const result = await call('vault.export', { passphrase });
    return { blob: new Blob([result.backup], { type: 'application/json' }), records: result.records, path: null };
  } catch (error) {
    if (!error?.is?.('too_large')) throw error;
  }
  const saved = await call('vault.export', { passphrase, toFile: true });
  const parts = [];
  let offset = 0;
  for (let i = 0; i < kMaxChunks; i++) {
    const chunk = await call('vault.downloadBackup', { file: saved.file, offset });
    parts.push(base64ToBytes(chunk.data));
    if (chunk.done) {
      return { blob: new Blob(parts, { type: 'application/json' }), records: saved.records, path: saved.path };
    }
    if (!(chunk.offset > offset)) throw new Error('The host stopped sending the backup.');
    offset = chunk.offset;
  }
  throw new Error('The backup is larger than any Bellwether backup can be.');
}

// Imports a backup file (a Blob, e.g. from <input type=file>); resolves with
// the host's report { added, updated, unchanged }.
export async function importBackup(file, passphrase) {
  if (file.size > kChunkBytes * kMaxChunks) throw new Error('That file is too large to be a Bellwether backup.');
  if (file.size <= kChunkBytes) {
    // Inline only when the request, as JSON on the wire, stays well inside
    // the host's 1 MiB frame limit (a file that is not a backup can grow
    // several-fold when escaped); otherwise it goes up in chunks.
    const backup = await file.text();
    const encoded = new TextEncoder().encode(JSON.stringify({ backup, passphrase })).length;
    if (encoded <= kInlineRequestBytes) return call('vault.import', { backup, passphrase });
  }
  let upload = null;
  let name = null;
  for (let offset = 0; offset < file.size;) {
    const end = Math.min(file.size, offset + kChunkBytes);
    const bytes = new Uint8Array(await file.slice(offset, end).arrayBuffer());
    const params = { offset, data: bytesToBase64(bytes), done: end === file.size };
    if (upload) params.upload = upload;
    const reply = await call('vault.uploadBackup', params);
    upload = reply.upload;
    if (reply.file) name = reply.file;
    offset = end;
  }
  return call('vault.import', { file: name, passphrase });
}
