// The pages' side of the service worker's handler table.
//
// call('vault.get', {...}) resolves with the host's result or rejects with an
// RpcError; onEvent(fn) delivers host notifications and connection state.

import { ext } from './browser-api.js';
import { ErrorCodes, RpcError } from './protocol.js';

async function send(message) {
  let reply;
  try {
    reply = await ext.runtime.sendMessage(message);
  } catch (e) {
    throw new RpcError({ code: ErrorCodes.host_disconnected, message: String(e?.message ?? e) });
  }
  if (!reply) throw new RpcError({ code: ErrorCodes.internal, message: 'No answer from the service worker.' });
  if (!reply.ok) throw new RpcError(reply.error);
  return reply.result;
}

export function call(method, params = {}) {
  return send({ type: 'rpc', method, params });
}

export function hostState() {
  return send({ type: 'hostState' });
}

export function hostReconnect() {
  return send({ type: 'hostReconnect' });
}

export function hostOneShot(method = 'host.hello') {
  return send({ type: 'hostOneShot', method });
}

export function extensionInfo() {
  return send({ type: 'extensionInfo' });
}

// True when the host advertises the method (older hosts lack newer ones).
export function hostHas(snapshot, method) {
  const methods = snapshot?.hello?.methods;
  if (!Array.isArray(methods)) return snapshot?.state === 'connected';
  return methods.includes(method);
}

// Subscribes to {type:'notification', method, params} and
// {type:'host-state', snapshot}. Reconnects if the worker restarts.
export function onEvent(listener) {
  let stopped = false;
  let port = null;
  const open = () => {
    if (stopped) return;
    port = ext.runtime.connect({ name: 'bellwether-events' });
    port.onMessage.addListener((message) => listener(message));
    port.onDisconnect.addListener(() => {
      port = null;
      if (!stopped) setTimeout(open, 500);
    });
  };
  open();
  return () => {
    stopped = true;
    port?.disconnect();
  };
}
