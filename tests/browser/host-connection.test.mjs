// HostConnection (extension/background/host-connection.js) against a fake
// native port: request ids, replies matched by id, timeouts, notifications,
// state reset on disconnect and reconnect backoff. No browser needed.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConnectionState, HostConnection } from '../../extension/background/host-connection.js';
import { ErrorCodes } from '../../extension/lib/protocol.js';

class Event {
  constructor() {
    this.listeners = [];
  }
  addListener(fn) {
    this.listeners.push(fn);
  }
  fire(...args) {
    for (const fn of this.listeners) fn(...args);
  }
}

class FakePort {
  constructor() {
    this.sent = [];
    this.onMessage = new Event();
    this.onDisconnect = new Event();
    this.error = null;
    this.disconnected = false;
  }
  postMessage(message) {
    if (this.disconnected) throw new Error('Attempting to use a disconnected port object');
    this.sent.push(message);
  }
  disconnect() {
    this.disconnected = true;
  }
  reply(id, result) {
    this.onMessage.fire({ jsonrpc: '2.0', id, result });
  }
  drop(message) {
    this.error = { message };
    this.disconnected = true;
    this.onDisconnect.fire(this);
  }
}

// Fake timers: nothing fires until the test says so.
function fakeTimers() {
  const timers = new Map();
  let next = 1;
  return {
    setTimer: (fn, ms) => {
      const id = next++;
      timers.set(id, { fn, ms });
      return id;
    },
    clearTimer: (id) => timers.delete(id),
    fireAll: (filter = () => true) => {
      for (const [id, t] of [...timers]) {
        if (filter(t)) {
          timers.delete(id);
          t.fn();
        }
      }
    },
    pending: () => [...timers.values()],
  };
}

const kHello = { product: 'Bellwether', version: '0.1.0', protocolVersion: 1, capabilities: [], methods: ['host.hello'] };

function setup() {
  const ports = [];
  const notifications = [];
  const states = [];
  const timers = fakeTimers();
  const connection = new HostConnection({
    hostName: 'io.bellwether.host',
    connectNative: () => {
      const port = new FakePort();
      ports.push(port);
      return port;
    },
    lastError: (port) => port.error?.message ?? '',
    onNotification: (method, params) => notifications.push({ method, params }),
    onStateChange: (s) => states.push(s.state),
    setTimer: timers.setTimer,
    clearTimer: timers.clearTimer,
    log: () => {},
  });
  return { connection, ports, notifications, states, timers };
}

async function connected() {
  const env = setup();
  const ready = env.connection.ensureConnected();
  const hello = env.ports[0].sent[0];
  assert.equal(hello.method, 'host.hello');
  env.ports[0].reply(hello.id, kHello);
  await ready;
  return env;
}

test('connecting sends host.hello and becomes connected with the hello', async () => {
  // Property: the first message on a port is the handshake; its result is cached.
  const { connection, states } = await connected();
  assert.equal(connection.snapshot().state, ConnectionState.connected);
  assert.deepEqual(connection.snapshot().hello, kHello);
  assert.deepEqual(states, ['connecting', 'connected']);
});

test('requests get distinct ids and replies are matched by id, not order', async () => {
  // Property: out-of-order replies resolve the right callers.
  const { connection, ports } = await connected();
  const a = connection.request('vault.get', { key: 'a' });
  const b = connection.request('vault.get', { key: 'b' });
  await new Promise((r) => setImmediate(r));
  const [, reqA, reqB] = ports[0].sent;
  assert.notEqual(reqA.id, reqB.id);
  assert.equal(reqA.jsonrpc, '2.0');
  ports[0].reply(reqB.id, 'B');
  ports[0].reply(reqA.id, 'A');
  assert.equal(await a, 'A');
  assert.equal(await b, 'B');
});

test('an error reply rejects with the host code and name', async () => {
  // Property: JSON-RPC errors keep their stable code for the UI.
  const { connection, ports } = await connected();
  const p = connection.request('vault.get', {});
  await new Promise((r) => setImmediate(r));
  const req = ports[0].sent[1];
  ports[0].onMessage.fire({ jsonrpc: '2.0', id: req.id, error: { code: -32010, message: 'locked', data: { name: 'vault_locked' } } });
  await assert.rejects(p, (e) => e.code === -32010 && e.is('vault_locked'));
});

test('a request that is never answered times out and a late reply is ignored', async () => {
  // Property: no caller waits forever; late replies cannot resolve the wrong request.
  const { connection, ports, timers } = await connected();
  const p = connection.request('update.check', {}, { timeoutMs: 5000 });
  await new Promise((r) => setImmediate(r));
  timers.fireAll((t) => t.ms === 5000);
  await assert.rejects(p, (e) => e.code === ErrorCodes.timeout);
  ports[0].reply(ports[0].sent[1].id, 'late'); // Must not throw.
  assert.equal(connection.snapshot().pending, 0);
});

test('messages without an id are delivered as notifications', async () => {
  // Property: host-initiated events (update.progress) reach the listeners.
  const { ports, notifications } = await connected();
  ports[0].onMessage.fire({ jsonrpc: '2.0', method: 'update.progress', params: { bytesDone: 5, bytesTotal: 10 } });
  assert.deepEqual(notifications, [{ method: 'update.progress', params: { bytesDone: 5, bytesTotal: 10 } }]);
});

test('a disconnect fails every pending request and forgets the hello', async () => {
  // Property: state is reset on disconnect; nothing hangs.
  const { connection, ports } = await connected();
  const p1 = connection.request('a.b');
  const p2 = connection.request('c.d');
  await new Promise((r) => setImmediate(r));
  ports[0].drop('Native host has exited.');
  await assert.rejects(p1, (e) => e.code === ErrorCodes.host_disconnected);
  await assert.rejects(p2, (e) => e.code === ErrorCodes.host_disconnected);
  const s = connection.snapshot();
  assert.equal(s.state, ConnectionState.disconnected);
  assert.equal(s.hello, null);
  assert.equal(s.pending, 0);
});

test('a host that is not installed is reported as such, without reconnect loops', async () => {
  // Property: "not found" maps to not_installed and schedules no retries.
  const { connection, ports, timers } = setup();
  connection.setKeepConnected(true);
  const ready = connection.ensureConnected();
  ports[0].drop('Specified native messaging host not found.');
  await assert.rejects(ready, (e) => e.code === ErrorCodes.host_unavailable);
  assert.equal(connection.snapshot().state, ConnectionState.notInstalled);
  assert.equal(timers.pending().filter((t) => t.ms >= 1000 && t.ms !== 10000).length, 0);
});

test('Firefox\'s "No such native application" also means not installed', async () => {
  // Property: both browsers' wording maps to the same state.
  const { connection, ports } = setup();
  const ready = connection.ensureConnected();
  ports[0].drop('No such native application io.bellwether.host');
  await assert.rejects(ready, (e) => e.code === ErrorCodes.host_unavailable);
  assert.equal(connection.snapshot().state, ConnectionState.notInstalled);
});

test('unexpected drops reconnect with exponential backoff, reset after success', async () => {
  // Property: reconnect delays double (1 s, 2 s, 4 s) and a good hello resets them.
  const { connection, ports, timers } = await connected();
  connection.setKeepConnected(true);
  const delays = [];
  for (let i = 0; i < 3; i++) {
    ports.at(-1).drop('Native host has exited.');
    const retry = timers.pending().find((t) => t.ms !== 10000);
    delays.push(retry.ms);
    timers.fireAll((t) => t === retry);
  }
  assert.deepEqual(delays, [1000, 2000, 4000]);
  const port = ports.at(-1);
  port.reply(port.sent[0].id, kHello);
  await connection.ensureConnected();
  port.drop('Native host has exited.');
  assert.equal(timers.pending().find((t) => t.ms !== 10000).ms, 1000);
});

test('a hello that never comes drops the port instead of hanging', async () => {
  // Property: an unresponsive host is treated as disconnected.
  const { connection, ports, timers } = setup();
  const ready = connection.ensureConnected();
  timers.fireAll((t) => t.ms === 10000);
  await assert.rejects(ready, (e) => e.code === ErrorCodes.timeout);
  assert.equal(ports[0].disconnected, true);
  assert.notEqual(connection.snapshot().state, ConnectionState.connected);
});

test('a host that refuses this extension is reported as forbidden, without reconnect loops', async () => {
  // Property: caller_not_allowed on the hello needs a reinstall, not a retry.
  const { connection, ports, timers } = setup();
  connection.setKeepConnected(true);
  const ready = connection.ensureConnected();
  const hello = ports[0].sent[0];
  ports[0].onMessage.fire({
    jsonrpc: '2.0',
    id: hello.id,
    error: { code: ErrorCodes.caller_not_allowed, message: 'extension chrome-extension://x/ is not allowed by the host configuration' },
  });
  await assert.rejects(ready, (e) => e.is('caller_not_allowed'));
  assert.equal(connection.snapshot().state, ConnectionState.forbidden);
  assert.equal(ports[0].disconnected, true);
  assert.equal(timers.pending().filter((t) => t.ms !== 10000).length, 0, 'no reconnect scheduled');
});

test('a request larger than the host reads is refused before it is sent, and the port stays', async () => {
  // Property: a frame over 1 MiB would end the host (and every request on the
  // port); it fails alone with too_large instead, counted in UTF-8 bytes.
  const { connection, ports } = await connected();
  const other = connection.request('vault.get', { key: 'a' });
  await new Promise((r) => setImmediate(r));
  const sentBefore = ports[0].sent.length;
  // 400,000 three-byte characters: 1.2 MB of UTF-8 in a 400,000-character string.
  const big = connection.request('vault.set', { namespace: 'notes', key: 'k', value: { text: '語'.repeat(400000) } });
  await assert.rejects(big, (e) => e.code === ErrorCodes.too_large && e.is('too_large'));
  assert.equal(ports[0].sent.length, sentBefore, 'nothing was posted');
  // Just under the limit still goes through.
  const fits = connection.request('vault.set', { namespace: 'notes', key: 'k', value: { text: 'x'.repeat(1000000) } });
  await new Promise((r) => setImmediate(r));
  assert.equal(ports[0].sent.length, sentBefore + 1);
  ports[0].reply(ports[0].sent.at(-1).id, { revision: 1 });
  assert.deepEqual(await fits, { revision: 1 });
  ports[0].reply(ports[0].sent[1].id, 'A');
  assert.equal(await other, 'A');
  assert.equal(connection.snapshot().state, ConnectionState.connected);
});
