// Names and codes shared with the native host (see docs/protocol.md and
// native-host/src/common/status.h). Nothing here talks to the host.

export const kHostName = 'io.bellwether.host';
export const kProtocolVersion = 1;

// Stable JSON-RPC error codes put on the wire by the host.
export const ErrorCodes = Object.freeze({
  parse_error: -32700,
  invalid_request: -32600,
  method_not_found: -32601,
  invalid_params: -32602,
  internal: -32603,
  caller_not_allowed: -32001,
  reply_too_large: -32002,
  busy: -32003,
  vault_locked: -32010,
  not_found: -32011,
  conflict: -32012,
  quota_exceeded: -32013,
  too_large: -32014,
  integrity: -32015,
  wrong_passphrase: -32016,
  storage_full: -32017,
  storage: -32018,
  key_exhausted: -32019,
  update_in_progress: -32030,
  update_verification: -32031,
  update_network: -32032,
  update_expired: -32033,
  update_rollback: -32034,
  update_too_large: -32035,
  update_not_found: -32036,
  update_timeout: -32037,
  update_not_configured: -32038,
  // Produced by the extension itself, never by the host.
  host_unavailable: -32090,
  host_disconnected: -32091,
  timeout: -32092,
  not_allowed: -32093,
});

const kNamesByCode = new Map(Object.entries(ErrorCodes).map(([name, code]) => [code, name]));

// The host's names (error.data.name, docs/protocol.md) where this table
// uses a shorter one for the same code.
const kAliases = {
  internal_error: 'internal',
  integrity_error: 'integrity',
  storage_error: 'storage',
  update_verification_failed: 'update_verification',
  update_network_error: 'update_network',
  update_metadata_expired: 'update_expired',
};

// An error from the host (or from the path to it), carried across
// runtime messages as a plain object and rebuilt on the page side.
export class RpcError extends Error {
  constructor({ code, message, data } = {}) {
    super(message || 'Unknown error');
    this.name = 'RpcError';
    this.code = Number.isInteger(code) ? code : ErrorCodes.internal;
    this.data = data ?? null;
    this.errorName = data?.name ?? kNamesByCode.get(this.code) ?? 'error';
  }

  is(name) {
    return this.errorName === name || this.code === ErrorCodes[name];
  }

  toJSON() {
    return { code: this.code, message: this.message, data: { ...(this.data ?? {}), name: this.errorName } };
  }
}

// What to tell a reader, in words, for the errors a page may show.
const kPlainWords = {
  host_unavailable:
    'The Bellwether host is not installed or could not start, so notes and updates are unavailable.',
  host_disconnected: 'The connection to the Bellwether host was lost. It reconnects by itself.',
  timeout: 'The Bellwether host took too long to answer. Try again.',
  method_not_found: 'This version of the Bellwether host does not offer that feature yet.',
  caller_not_allowed: 'The Bellwether host refused this extension: reinstall the host for this browser.',
  vault_locked: 'Your vault is locked. Unlock it with your passphrase.',
  wrong_passphrase: 'That passphrase is not correct.',
  conflict: 'This item was changed elsewhere (another tab or window). The latest version has been loaded.',
  quota_exceeded: 'Your vault is full. Delete some notes or highlights to make room.',
  too_large: 'That is too large to store.',
  busy: 'The Bellwether host is busy with other slow requests. Try again in a moment.',
  integrity:
    'Stored data failed its integrity check, so it was not used. It may have been tampered with or damaged.',
  storage_full: 'The disk is full, so nothing was saved. Earlier data is intact.',
  storage: 'The vault could not read or write its database.',
  key_exhausted:
    'The vault cannot encrypt more under its current key and could not replace it, so nothing was saved. Open the security page and rotate the key; nothing was lost.',
  update_in_progress: 'Another Bellwether process is already checking for updates.',
  update_verification:
    'An update was rejected because it was not signed correctly by the publisher. Your current content is kept.',
  update_network:
    'The update server could not be reached (network, certificate or server problem). Bellwether will try again.',
  update_expired:
    'The update server offered outdated information, which could hide newer updates. Bellwether kept your current content and will try again.',
  update_rollback: 'The update server offered an older version than you have. It was refused.',
  update_too_large: 'The update server sent more data than allowed. The download was stopped.',
  update_not_found: 'The update server does not have the expected files. Bellwether kept your current content.',
  update_timeout: 'The update server was too slow to answer. Bellwether will try again.',
  update_not_configured: 'Automatic updates are not set up on this computer (no update server is configured).',
};

export function plainWords(error) {
  if (!error) return '';
  const raw = error.errorName ?? error.data?.name ?? kNamesByCode.get(error.code);
  const name = kAliases[raw] ?? raw;
  return kPlainWords[name] ?? (error.message || 'Something went wrong.');
}
