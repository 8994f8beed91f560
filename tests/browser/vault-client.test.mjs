// extension/lib/vault.js against a fake service worker: listings follow
// cursors to the end (and refuse one that does not move), getAll reads with
// a bounded number of requests in flight and leaves out only the records
// that fail their integrity check. No browser needed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes } from '../../extension/lib/protocol.js';

// The pages reach the host through runtime.sendMessage; `handle(method,
// params)` answers as the service worker would ({ok, result|error}).
let handle = async () => ({ ok: false, error: { code: ErrorCodes.internal, message: 'no handler' } });
globalThis.chrome = { runtime: { sendMessage: (message) => handle(message.method, message.params) } };
const vault = await import('../../extension/lib/vault.js');

const fail = (name) => ({ ok: false, error: { code: ErrorCodes[name], message: name, data: { name } } });

// A namespace of `count` records listed `limit` at a time; `value(key)`
// answers vault.get (a string: that error).
function fakeVault(count, value) {
  const keys = Array.from({ length: count }, (_, i) => `pack/k${String(i).padStart(5, '0')}`);
  const stats = { inFlight: 0, maxInFlight: 0, gets: 0 };
  handle = async (method, params) => {
    if (method === 'vault.list') {
      const start = params.cursor ? keys.indexOf(params.cursor) + 1 : 0;
      const items = keys.slice(start, start + params.limit).map((key) => ({ key, revision: 1 }));
      const more = start + params.limit < keys.length;
      return { ok: true, result: { items, cursor: more ? items.at(-1).key : null } };
    }
    if (method === 'vault.get') {
      stats.gets += 1;
      stats.inFlight += 1;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      await new Promise((r) => setImmediate(r));
      stats.inFlight -= 1;
      const v = value(params.key);
      return typeof v === 'string' ? fail(v) : { ok: true, result: { value: v, revision: 1 } };
    }
    return fail('method_not_found');
  };
  return { keys, stats };
}

test('getAll reads every record in listing order, at most 16 at a time', async () => {
  // Property: a large namespace never has all its reads waiting at once.
  const { keys, stats } = fakeVault(1000, (key) => ({ key }));
  const { records, damaged } = await vault.getAll('notes', 'pack/');
  assert.equal(damaged, 0);
  assert.deepEqual(records.map((r) => r.key), keys);
  assert.deepEqual(records[7].value, { key: keys[7] });
  assert.equal(stats.gets, 1000);
  assert.ok(stats.maxInFlight <= 16 && stats.maxInFlight > 1, `in flight: ${stats.maxInFlight}`);
});

test('getAll leaves out and counts records that fail their integrity check, skips vanished ones', async () => {
  // Property: one damaged row hides only itself.
  const { keys } = fakeVault(250, (key) => {
    if (key.endsWith('7')) return 'integrity';
    if (key.endsWith('3')) return 'not_found';
    return { key };
  });
  const { records, damaged } = await vault.getAll('notes', 'pack/');
  assert.equal(damaged, 25);
  assert.deepEqual(records.map((r) => r.key), keys.filter((k) => !k.endsWith('7') && !k.endsWith('3')));
});

test('getAll fails on any other error, such as a locked vault', async () => {
  // Property: only integrity failures are tolerated; a locked vault is a state the reader handles.
  fakeVault(40, (key) => (key.endsWith('9') ? 'vault_locked' : { key }));
  await assert.rejects(vault.getAll('notes', 'pack/'), (e) => e.is('vault_locked'));
});

test('a listing whose cursor does not move is an error, not an endless loop or a short list', async () => {
  // Property: listAll is bounded and never silently incomplete.
  handle = async () => ({ ok: true, result: { items: [{ key: 'a', revision: 1 }], cursor: 'a' } });
  await assert.rejects(vault.listAll('notes'), (e) => e.code === ErrorCodes.internal && /did not come to an end/.test(e.message));
});
