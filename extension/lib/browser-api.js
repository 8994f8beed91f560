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

// The command that installs the host for this browser: Firefox, Google
// Chrome or (any other Chromium-family browser) Chromium.
export function hostInstallCommand() {
  let browser = 'chromium';
  if (ext.runtime.getURL('').startsWith('moz-extension:')) browser = 'firefox';
  else if ((globalThis.navigator?.userAgentData?.brands ?? []).some((b) => b.brand === 'Google Chrome')) browser = 'chrome';
  return `bellwether-host install --browser ${browser}`;
}

// Puts that command in every element marked data-install-command.
export function showHostInstallCommand(root = document) {
  for (const node of root.querySelectorAll('[data-install-command]')) node.textContent = hostInstallCommand();
}
