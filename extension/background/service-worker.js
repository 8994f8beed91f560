// Bellwether's service worker: the only code that talks to the native host.
//
// Pages (reader, popup, security page) never touch native messaging; they send
// runtime messages that land in the handler table below, after the sender has
// been checked. Host notifications are forwarded to pages over their event
// ports. Every listener is registered synchronously at top level so Chrome
// can wake the worker for it.

import { ext, lastErrorMessage } from '../lib/browser-api.js';
import { ErrorCodes, RpcError, kHostName } from '../lib/protocol.js';
import { HostConnection } from './host-connection.js';

const kEventsPortName = 'bellwether-events';
const kUpdateAlarm = 'bellwether-update-check';
const kUpdatePeriodMinutes = 6 * 60;
const kOneShotTimeoutMs = 15000;

// Only these namespaces of host methods may be called from pages.
const kAllowedMethod = /^(host|vault|update|content)\.[A-Za-z]+$/;
// Methods that do slow work (scrypt, re-sealing, downloads) get more time.
const kSlowMethods = new Map([
  ['vault.unlock', 120000],
  ['vault.setPassphrase', 120000],
  ['vault.rotateKey', 300000],
  ['vault.export', 300000],
  ['vault.import', 300000],
  ['update.check', 300000],
]);

const pagePorts = new Set();

function broadcast(message) {
  for (const port of pagePorts) {
    try {
      port.postMessage(message);
    } catch {
      pagePorts.delete(port);
    }
  }
}

const connection = new HostConnection({
  hostName: kHostName,
  connectNative: (name) => ext.runtime.connectNative(name),
  lastError: lastErrorMessage,
  onNotification: (method, params) => broadcast({ type: 'notification', method, params }),
  onStateChange: (snapshot) => broadcast({ type: 'host-state', snapshot }),
});
// The host runs its update schedule while a port is open, so stay connected.
connection.setKeepConnected(true);

// Privileged actions are for this extension's own pages only: not for other
// extensions, not for web pages, not for content scripts (there are none).
function isTrustedSender(sender) {
  if (!sender || sender.id !== ext.runtime.id) return false;
  const base = ext.runtime.getURL('');
  return typeof sender.url === 'string' && sender.url.startsWith(base);
}

function asRpcError(e) {
  if (e instanceof RpcError) return e;
  const message = String(e?.message ?? e);
  const code = /not found|forbidden|no such native application/i.test(message)
    ? ErrorCodes.host_unavailable
    : ErrorCodes.internal;
  return new RpcError({ code, message });
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new RpcError({ code: ErrorCodes.timeout, message: `${what} timed out.` })),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function snapshotAfterConnecting() {
  try {
    await connection.ensureConnected();
  } catch {
    // The snapshot says why.
  }
  return connection.snapshot();
}

const handlers = {
  // A JSON-RPC call over the long-lived port.
  async rpc({ method, params }) {
    if (typeof method !== 'string' || !kAllowedMethod.test(method)) {
      throw new RpcError({ code: ErrorCodes.not_allowed, message: `Method not allowed: ${method}` });
    }
    const timeoutMs = kSlowMethods.get(method);
    return connection.request(method, params ?? {}, timeoutMs ? { timeoutMs } : undefined);
  },

  // Connection state, connecting first so the answer is current.
  hostState: () => snapshotAfterConnecting(),

  async hostReconnect() {
    try {
      await connection.reconnect();
    } catch {
      // The snapshot says why.
    }
    return connection.snapshot();
  },

  // The same question through a one-shot message: the browser starts a fresh
  // host process for it. Diagnostics only, so limited to harmless methods.
  async hostOneShot({ method }) {
    if (method !== 'host.hello' && method !== 'host.ping') {
      throw new RpcError({ code: ErrorCodes.not_allowed, message: `One-shot not allowed: ${method}` });
    }
    const reply = await withTimeout(
      ext.runtime.sendNativeMessage(kHostName, { jsonrpc: '2.0', id: 1, method, params: {} }),
      kOneShotTimeoutMs,
      'The one-shot message to the host',
    );
    if (reply?.error) throw new RpcError(reply.error);
    if (!reply || reply.id !== 1 || !('result' in reply)) {
      throw new RpcError({ code: ErrorCodes.internal, message: 'The host sent a malformed reply.' });
    }
    return reply.result;
  },

  extensionInfo() {
    const manifest = ext.runtime.getManifest();
    return { id: ext.runtime.id, name: manifest.name, version: manifest.version };
  },
};

ext.runtime.onMessage.addListener((message, sender, sendResponse) => {
  if (!isTrustedSender(sender)) return false; // Not ours: no answer at all.
  const type = message?.type;
  const handler = typeof type === 'string' && Object.hasOwn(handlers, type) ? handlers[type] : null;
  if (!handler) {
    sendResponse({ ok: false, error: { code: ErrorCodes.not_allowed, message: `Unknown request: ${type}` } });
    return false;
  }
  Promise.resolve()
    .then(() => handler(message))
    .then(
      (result) => sendResponse({ ok: true, result }),
      (e) => sendResponse({ ok: false, error: asRpcError(e).toJSON() }),
    );
  return true; // Answer asynchronously.
});

ext.runtime.onConnect.addListener((port) => {
  if (port.name !== kEventsPortName || !isTrustedSender(port.sender)) {
    port.disconnect();
    return;
  }
  pagePorts.add(port);
  port.onDisconnect.addListener(() => pagePorts.delete(port));
  port.postMessage({ type: 'host-state', snapshot: connection.snapshot() });
});

// The alarm only wakes the host: update.status starts the host's own
// schedule, which checks when due under the reader's policy (interval,
// backoff after failures, automatic updates off). update.check would check
// now whatever the policy says; that is for "Check now".
async function wakeUpdateSchedule() {
  try {
    await connection.request('update.status');
  } catch (e) {
    const error = asRpcError(e);
    // An older host without the updater, or no host at all, is not an error here.
    if (!error.is('method_not_found') && !error.is('host_unavailable')) {
      console.warn('[bellwether] waking the update schedule failed:', error.message);
    }
  }
}

async function ensureUpdateAlarm() {
  const existing = await ext.alarms.get(kUpdateAlarm);
  if (!existing) {
    await ext.alarms.create(kUpdateAlarm, { delayInMinutes: 1, periodInMinutes: kUpdatePeriodMinutes });
  }
}

ext.alarms.onAlarm.addListener((alarm) => {
  if (alarm.name === kUpdateAlarm) wakeUpdateSchedule();
});

ext.runtime.onInstalled.addListener(() => {
  ensureUpdateAlarm();
});

ext.runtime.onStartup.addListener(() => {
  ensureUpdateAlarm();
});

// Every time the worker starts: make sure the alarm exists and open the port.
ensureUpdateAlarm().catch((e) => console.warn('[bellwether] alarm setup failed:', e?.message ?? e));
connection.ensureConnected().catch(() => {});
