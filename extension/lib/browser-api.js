// The one place that knows Chrome calls it `chrome` and Firefox `browser`.
// Both return promises from the MV3 APIs used here, so the rest of the code
// is written once.

export const ext = globalThis.browser?.runtime ? globalThis.browser : globalThis.chrome;

// The message of the last error of a port or callback, in either browser.
export function lastErrorMessage(port) {
  const error = port?.error ?? ext.runtime.lastError;
  return error?.message ?? '';
}

export function extensionUrl(path) {
  return ext.runtime.getURL(path);
}
