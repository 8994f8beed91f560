// HostConnection owns the one long-lived native messaging port to the host.
//
// It speaks JSON-RPC 2.0: every request gets a fresh integer id, a timeout and
// a pending entry; replies are matched by id; messages without an id are host
// notifications (update.progress, update.completed, ...) and go to
// onNotification. When the port drops, every pending request fails at once,
// the cached hello is forgotten (the next host may be a different version)
// and, unless the host is simply not installed, a reconnect is scheduled with
// exponential backoff.

import { ErrorCodes, RpcError } from '../lib/protocol.js';

export const ConnectionState = Object.freeze({
  idle: 'idle', // Never connected, nothing pending.
  connecting: 'connecting', // Port open, waiting for host.hello.
  connected: 'connected',
  notInstalled: 'not_installed', // Browser found no manifest for the host.
  forbidden: 'forbidden', // Manifest exists but does not allow this extension.
  disconnected: 'disconnected', // Dropped; a reconnect may be scheduled.
});

const kDefaultTimeoutMs = 15000;
// The largest frame the host reads (docs/protocol.md, "Framing"). A larger
// one would end the host process, and every request on the port with it, so
// it is refused here instead.
export const kMaxRequestBytes = 1024 * 1024;
const kHelloTimeoutMs = 10000;
const kBackoffBaseMs = 1000;
const kBackoffMaxMs = 5 * 60 * 1000;

// UTF-8 length of a request's JSON, counted only when it could matter.
function requestTooLarge(message) {
  const text = JSON.stringify(message);
  if (text.length * 3 <= kMaxRequestBytes) return false;
  return new TextEncoder().encode(text).length > kMaxRequestBytes;
}

function classifyDisconnect(message) {
  // Chromium: "Specified native messaging host not found."
  // Firefox: "No such native application io.bellwether.host".
  if (/not found|no such native application/i.test(message)) return ConnectionState.notInstalled;
  if (/forbidden/i.test(message)) return ConnectionState.forbidden;
  return ConnectionState.disconnected;
}

export class HostConnection {
  // connectNative(hostName) -> Port; lastError(port) -> string; the timer
  // functions are injectable so the logic can be exercised without a browser.
  constructor({
    hostName,
    connectNative,
    lastError,
    onNotification = () => {},
    onStateChange = () => {},
    setTimer = (fn, ms) => setTimeout(fn, ms),
    clearTimer = (t) => clearTimeout(t),
    log = (...args) => console.warn('[bellwether]', ...args),
  }) {
    this.hostName_ = hostName;
    this.connectNative_ = connectNative;
    this.lastError_ = lastError;
    this.onNotification_ = onNotification;
    this.onStateChange_ = onStateChange;
    this.setTimer_ = setTimer;
    this.clearTimer_ = clearTimer;
    this.log_ = log;

    this.port_ = null;
    this.nextId_ = 1;
    this.pending_ = new Map(); // id -> {resolve, reject, timer, method}
    this.state_ = ConnectionState.idle;
    this.hello_ = null;
    this.lastErrorMessage_ = '';
    this.ready_ = null; // Promise of hello while connecting/connected.
    this.attempts_ = 0;
    this.reconnectTimer_ = null;
    this.retryAt_ = null;
    this.keepConnected_ = false;
  }

  snapshot() {
    return {
      state: this.state_,
      hello: this.hello_,
      lastError: this.lastErrorMessage_ || null,
      retryAt: this.retryAt_,
      pending: this.pending_.size,
    };
  }

  // With keepConnected, unexpected drops are followed by reconnects (the host
  // runs its background update schedule while a port is open).
  setKeepConnected(keep) {
    this.keepConnected_ = keep;
  }

  // Resolves with the host's hello, connecting first if needed.
  ensureConnected() {
    if (this.ready_) return this.ready_;
    this.cancelReconnect_();
    let port;
    try {
      port = this.connectNative_(this.hostName_);
    } catch (e) {
      // Firefox throws synchronously for some manifest problems.
      this.lastErrorMessage_ = String(e?.message ?? e);
      this.setState_(classifyDisconnect(this.lastErrorMessage_));
      return Promise.reject(this.unavailableError_());
    }
    this.port_ = port;
    this.setState_(ConnectionState.connecting);
    port.onMessage.addListener((message) => this.onMessage_(port, message));
    port.onDisconnect.addListener(() => this.onDisconnect_(port));
    const ready = this.send_('host.hello', {}, kHelloTimeoutMs).then((hello) => {
      if (this.port_ !== port) throw this.unavailableError_();
      this.hello_ = hello;
      this.attempts_ = 0;
      this.lastErrorMessage_ = '';
      this.setState_(ConnectionState.connected);
      return hello;
    });
    this.ready_ = ready;
    ready.catch((e) => {
      // A hello that times out leaves a port we cannot trust: drop it. A
      // host that refuses this extension says so (caller_not_allowed): that
      // needs a reinstall, not a retry.
      if (this.ready_ === ready && this.port_ === port) {
        this.lastErrorMessage_ = e?.message ?? String(e);
        const next = e?.is?.('caller_not_allowed') ? ConnectionState.forbidden : classifyDisconnect(this.lastErrorMessage_);
        this.teardown_(port, next);
        try {
          port.disconnect();
        } catch {
          // Already gone.
        }
      }
    });
    return ready;
  }

  // Sends one request once connected; rejects with RpcError.
  async request(method, params = {}, { timeoutMs = kDefaultTimeoutMs } = {}) {
    await this.ensureConnected();
    return this.send_(method, params, timeoutMs);
  }

  // Closes the port on purpose (no reconnect).
  disconnect() {
    const port = this.port_;
    if (!port) return;
    this.teardown_(port, ConnectionState.idle);
    try {
      port.disconnect();
    } catch {
      // Already gone.
    }
  }

  // Drops the current connection (if any) and connects again now.
  reconnect() {
    this.disconnect();
    this.attempts_ = 0;
    return this.ensureConnected();
  }

  send_(method, params, timeoutMs) {
    const port = this.port_;
    if (!port) return Promise.reject(this.unavailableError_());
    const id = this.nextId_++;
    const message = { jsonrpc: '2.0', id, method, params };
    if (requestTooLarge(message)) {
      return Promise.reject(
        new RpcError({
          code: ErrorCodes.too_large,
          message: `The ${method} request is larger than the 1 MiB a message to the host may be.`,
        }),
      );
    }
    return new Promise((resolve, reject) => {
      const timer = this.setTimer_(() => {
        if (this.pending_.delete(id)) {
          reject(
            new RpcError({
              code: ErrorCodes.timeout,
              message: `The host did not answer ${method} within ${Math.round(timeoutMs / 1000)} s.`,
            }),
          );
        }
      }, timeoutMs);
      this.pending_.set(id, { resolve, reject, timer, method });
      try {
        port.postMessage(message);
      } catch (e) {
        this.clearTimer_(timer);
        this.pending_.delete(id);
        reject(
          new RpcError({ code: ErrorCodes.host_disconnected, message: String(e?.message ?? e) }),
        );
      }
    });
  }

  onMessage_(port, message) {
    if (port !== this.port_) return; // A reply from a port we already dropped.
    if (message === null || typeof message !== 'object' || message.jsonrpc !== '2.0') {
      this.log_('ignoring a message that is not JSON-RPC 2.0');
      return;
    }
    const hasId = Object.prototype.hasOwnProperty.call(message, 'id') && message.id !== null;
    if (!hasId) {
      if (typeof message.method === 'string') {
        this.onNotification_(message.method, message.params ?? {});
      } else if (message.error) {
        this.log_('host reported an error without a request id:', message.error.message);
      }
      return;
    }
    const entry = this.pending_.get(message.id);
    if (!entry) return; // Timed out earlier; the late reply is ignored.
    this.pending_.delete(message.id);
    this.clearTimer_(entry.timer);
    if (message.error) entry.reject(new RpcError(message.error));
    else entry.resolve(message.result);
  }

  onDisconnect_(port) {
    if (port !== this.port_) return;
    this.lastErrorMessage_ = this.lastError_(port) || 'The host closed the connection.';
    this.teardown_(port, classifyDisconnect(this.lastErrorMessage_));
  }

  // Resets all per-connection state and fails whatever was in flight.
  teardown_(port, nextState) {
    if (port !== this.port_) return;
    this.port_ = null;
    this.ready_ = null;
    this.hello_ = null;
    const pending = [...this.pending_.values()];
    this.pending_.clear();
    const code =
      nextState === ConnectionState.notInstalled || nextState === ConnectionState.forbidden
        ? ErrorCodes.host_unavailable
        : ErrorCodes.host_disconnected;
    for (const entry of pending) {
      this.clearTimer_(entry.timer);
      entry.reject(new RpcError({ code, message: this.lastErrorMessage_ || 'Disconnected.' }));
    }
    this.setState_(nextState);
    if (nextState === ConnectionState.disconnected && this.keepConnected_) this.scheduleReconnect_();
  }

  scheduleReconnect_() {
    this.cancelReconnect_();
    const delay = Math.min(kBackoffMaxMs, kBackoffBaseMs * 2 ** this.attempts_);
    this.attempts_ = Math.min(this.attempts_ + 1, 20);
    this.retryAt_ = Date.now() + delay;
    this.reconnectTimer_ = this.setTimer_(() => {
      this.reconnectTimer_ = null;
      this.retryAt_ = null;
      this.ensureConnected().catch(() => {});
    }, delay);
  }

  cancelReconnect_() {
    if (this.reconnectTimer_ !== null) this.clearTimer_(this.reconnectTimer_);
    this.reconnectTimer_ = null;
    this.retryAt_ = null;
  }

  unavailableError_() {
    const code =
      this.state_ === ConnectionState.notInstalled || this.state_ === ConnectionState.forbidden
        ? ErrorCodes.host_unavailable
        : ErrorCodes.host_disconnected;
    return new RpcError({ code, message: this.lastErrorMessage_ || 'The host is not connected.' });
  }

  setState_(state) {
    if (state === this.state_) return;
    this.state_ = state;
    this.onStateChange_(this.snapshot());
  }
}
