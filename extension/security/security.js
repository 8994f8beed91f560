// The security page (options page): the host connection, the vault's real
// state and controls, and the updater's state and controls. Each section
// degrades on its own: an older host without a method shows a note, not an
// error.

import { showHostInstallCommand } from '../lib/browser-api.js';
import { plainWords } from '../lib/protocol.js';
import * as rpc from '../lib/rpc.js';
import * as vault from '../lib/vault.js';
import * as updates from '../lib/updates.js';
import { formatDateTime } from '../lib/pack.js';
import { el } from '../lib/render.js';

const $ = (id) => document.getElementById(id);

let snapshot = null;

function say(id, text, kind = 'info') {
  const node = $(id);
  node.textContent = text;
  node.dataset.kind = kind;
}

function busy(button, isBusy) {
  if (button) button.disabled = isBusy;
}

// ------------------------------------------------------------ connection

function renderConnection() {
  const state = snapshot?.state ?? 'disconnected';
  const hello = snapshot?.hello ?? null;
  $('host-dot').dataset.state = state;
  document.body.dataset.hostState = state;
  const words = {
    connected: 'Connected',
    connecting: 'Connecting…',
    not_installed: 'Not installed',
    forbidden: 'Installed, but not for this extension',
    disconnected: 'Disconnected — reconnecting',
    idle: 'Not connected',
  };
  $('host-state').textContent = words[state] ?? state;
  $('host-version').textContent = hello?.version ?? '—';
  $('host-protocol').textContent = hello?.protocolVersion !== undefined ? String(hello.protocolVersion) : '—';
  $('host-capabilities').textContent = Array.isArray(hello?.capabilities) && hello.capabilities.length > 0
    ? hello.capabilities.join(', ')
    : '—';
  $('host-fix').hidden = !(state === 'not_installed' || state === 'forbidden');
  if (state === 'connected' && hello) {
    showRoundTrip('port-result', hello, 'port');
  } else if (state !== 'connecting') {
    // The port's last round trip says nothing about a host that is gone.
    const node = $('port-result');
    node.replaceChildren('—');
    for (const key of ['version', 'protocol', 'via', 'error']) delete node.dataset[key];
  }
}

function showRoundTrip(id, hello, via) {
  const node = $(id);
  node.replaceChildren(
    el('span', { class: 'ok' }, '✓ '),
    `Bellwether host ${hello.version ?? '?'}, protocol ${hello.protocolVersion ?? '?'}`,
  );
  node.dataset.version = hello.version ?? '';
  node.dataset.protocol = String(hello.protocolVersion ?? '');
  node.dataset.via = via;
  delete node.dataset.error;
}

function showRoundTripError(id, error) {
  const node = $(id);
  node.replaceChildren(el('span', { class: 'bad' }, '✗ '), plainWords(error));
  node.dataset.version = '';
  node.dataset.error = error?.errorName ?? 'error';
}

async function checkPort() {
  busy($('check-port'), true);
  try {
    const hello = await rpc.call('host.hello');
    showRoundTrip('port-result', hello, 'port');
  } catch (e) {
    showRoundTripError('port-result', e);
  } finally {
    busy($('check-port'), false);
  }
}

async function checkOneShot() {
  busy($('check-oneshot'), true);
  try {
    const hello = await rpc.hostOneShot('host.hello');
    showRoundTrip('oneshot-result', hello, 'sendNativeMessage');
  } catch (e) {
    showRoundTripError('oneshot-result', e);
  } finally {
    busy($('check-oneshot'), false);
  }
}

// ------------------------------------------------------------ vault

let vaultStatus = null;

const kKeySourceWords = {
  keyring: 'System keyring (Secret Service)',
  keyfile: 'Private key file, readable only by you',
  passphrase: 'Your passphrase (scrypt)',
};

function vaultAvailable() {
  return snapshot?.state === 'connected' && rpc.hostHas(snapshot, 'vault.status');
}

async function refreshVault() {
  const unavailable = $('vault-unavailable');
  if (!vaultAvailable()) {
    unavailable.hidden = false;
    unavailable.textContent = snapshot?.state === 'connected'
      ? 'This version of the host does not provide the vault yet.'
      : 'The vault is kept by the host, which is not connected.';
    $('vault-body').hidden = true;
    document.body.dataset.vaultState = 'unavailable';
    return;
  }
  try {
    vaultStatus = await vault.status();
  } catch (e) {
    if (e.is?.('vault_locked')) {
      vaultStatus = { state: 'locked', passphraseSet: true };
    } else {
      unavailable.hidden = false;
      unavailable.textContent = plainWords(e);
      $('vault-body').hidden = true;
      return;
    }
  }
  unavailable.hidden = true;
  $('vault-body').hidden = false;
  renderVault();
}

function renderVault() {
  const s = vaultStatus ?? {};
  const stateWords = { unlocked: 'Unlocked', locked: 'Locked', uninitialized: 'Empty (created on first use)' };
  $('vault-state').textContent = stateWords[s.state] ?? s.state ?? '—';
  document.body.dataset.vaultState = s.state ?? 'unknown';
  $('vault-algorithm').textContent = s.algorithm ?? '—';
  $('vault-key-source').textContent = kKeySourceWords[s.keySource] ?? s.keySource ?? '—';
  $('vault-passphrase').textContent = s.passphraseSet ? 'Set' : 'Not set';
  $('vault-records').textContent = Number.isInteger(s.recordCount) ? String(s.recordCount) : '—';
  $('vault-usage').textContent = Number.isFinite(s.usedBytes)
    ? `${updates.formatBytes(s.usedBytes)}${Number.isFinite(s.quotaBytes) ? ` of ${updates.formatBytes(s.quotaBytes)}` : ''}`
    : '—';
  const age = Number.isInteger(s.keyAgeSeconds) ? ` (${formatAge(s.keyAgeSeconds)} old)` : '';
  $('vault-key-created').textContent = s.keyCreated ? `${formatDateTime(s.keyCreated)}${age}` : '—';
  $('vault-last-rotation').textContent = s.lastRotation ? formatDateTime(s.lastRotation) : 'Never';

  const locked = s.state === 'locked';
  $('vault-locked-reason').textContent = s.lockedReason ?? '';
  $('vault-locked-reason').hidden = !(locked && s.lockedReason);
  $('vault-locked-reason-label').hidden = !(locked && s.lockedReason);
  // Only a passphrase can be typed in; a missing keyring has to come back.
  $('vault-unlock-form').hidden = !locked || s.passphraseSet === false;
  $('vault-actions').hidden = locked;
  $('vault-lock').hidden = !s.passphraseSet;
  $('vault-passphrase-form').hidden = locked;
  $('vault-export-form').hidden = locked;
  $('vault-import-form').hidden = locked;
  $('vault-current-row').hidden = !s.passphraseSet;
  $('vault-passphrase-title').textContent = s.passphraseSet ? 'Change or remove the passphrase' : 'Set a passphrase';
  $('vault-passphrase-submit').textContent = s.passphraseSet ? 'Change passphrase' : 'Set passphrase';
  $('vault-passphrase-remove').hidden = !s.passphraseSet;
}

async function vaultAction(button, action, successText) {
  busy(button, true);
  say('vault-message', 'Working…');
  try {
    const result = await action();
    say('vault-message', typeof successText === 'function' ? successText(result) : successText, 'ok');
    return result;
  } catch (e) {
    say('vault-message', plainWords(e), 'error');
    return undefined;
  } finally {
    busy(button, false);
    await refreshVault();
  }
}

function wireVault() {
  $('vault-unlock-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('vault-unlock-passphrase');
    await vaultAction(e.submitter, () => vault.unlock(input.value), 'Vault unlocked.');
    input.value = '';
  });
  $('vault-lock').addEventListener('click', (e) => vaultAction(e.currentTarget, () => vault.lock(), 'Vault locked.'));
  $('vault-rotate').addEventListener('click', (e) =>
    vaultAction(e.currentTarget, () => vault.rotateKey(), 'A new encryption key is in use; every record was re-sealed under it.'));

  $('vault-passphrase-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const next = $('vault-new-passphrase').value;
    if (next.length < 8) {
      say('vault-message', 'Use at least 8 characters for the passphrase.', 'error');
      return;
    }
    if (next !== $('vault-confirm-passphrase').value) {
      say('vault-message', 'The two passphrases differ.', 'error');
      return;
    }
    const current = $('vault-current-passphrase').value || undefined;
    await vaultAction(e.submitter, () => vault.setPassphrase(next, current),
      vaultStatus?.passphraseSet ? 'Passphrase changed.' : 'Passphrase set. The vault now stays locked until you enter it.');
    for (const id of ['vault-new-passphrase', 'vault-confirm-passphrase', 'vault-current-passphrase']) $(id).value = '';
  });
  $('vault-passphrase-remove').addEventListener('click', async (e) => {
    const current = $('vault-current-passphrase').value;
    if (!current) {
      say('vault-message', 'Enter the current passphrase to remove it.', 'error');
      return;
    }
    await vaultAction(e.currentTarget, () => vault.setPassphrase(null, current), 'Passphrase removed.');
    $('vault-current-passphrase').value = '';
  });

  let exportUrl = null;
  $('vault-export-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const passphrase = $('vault-export-passphrase').value;
    const result = await vaultAction(e.submitter, () => vault.exportBackup(passphrase), 'Backup ready.');
    $('vault-export-passphrase').value = '';
    if (!result) return;
    if (exportUrl) URL.revokeObjectURL(exportUrl);
    exportUrl = URL.createObjectURL(result.blob);
    const name = `bellwether-vault-${new Date().toISOString().slice(0, 10)}.bwbackup`;
    const link = el('a', { href: exportUrl, download: name, id: 'vault-export-link' }, `Download ${name}`);
    const details = [link, ` (${result.blob.size.toLocaleString()} bytes, ${result.records} records)`];
    if (result.path) details.push(el('br'), `The host also kept a copy at ${result.path}`);
    $('vault-export-result').replaceChildren(...details);
  });

  $('vault-import-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const file = $('vault-import-file').files?.[0];
    if (!file) {
      say('vault-message', 'Choose a backup file first.', 'error');
      return;
    }
    if (file.size > 256 * 1024 * 1024) {
      say('vault-message', 'That file is too large to be a Bellwether backup.', 'error');
      return;
    }
    const passphrase = $('vault-import-passphrase').value;
    const report = await vaultAction(e.submitter, () => vault.importBackup(file, passphrase), 'Backup imported.');
    $('vault-import-passphrase').value = '';
    if (report) $('vault-import-result').textContent = describeImport(report);
  });
}

// "3 days", "5 hours", "12 minutes", "under a minute".
function formatAge(seconds) {
  const units = [[86400, 'day'], [3600, 'hour'], [60, 'minute']];
  for (const [size, name] of units) {
    const n = Math.floor(seconds / size);
    if (n >= 1) return `${n} ${name}${n === 1 ? '' : 's'}`;
  }
  return 'under a minute';
}

function describeImport(report) {
  if (!report || typeof report !== 'object') return 'Imported.';
  const parts = [];
  for (const [key, value] of Object.entries(report)) {
    if (typeof value === 'number') parts.push(`${key}: ${value}`);
  }
  return parts.length > 0 ? `Imported — ${parts.join(', ')}.` : 'Imported.';
}

// ------------------------------------------------------------ updates

let updateStatus = null;
// While "Check now" runs, its own result is the message to show; an
// update.completed notification (which may arrive first) must not replace it.
let userCheckRunning = false;

function updatesAvailable() {
  return snapshot?.state === 'connected' && rpc.hostHas(snapshot, 'update.status');
}

async function refreshUpdates() {
  const unavailable = $('update-unavailable');
  if (!updatesAvailable()) {
    unavailable.hidden = false;
    unavailable.textContent = snapshot?.state === 'connected'
      ? 'This version of the host does not provide updates yet.'
      : 'Updates are done by the host, which is not connected.';
    $('update-body').hidden = true;
    document.body.dataset.updateState = 'unavailable';
    return;
  }
  try {
    updateStatus = await updates.status();
  } catch (e) {
    unavailable.hidden = false;
    unavailable.textContent = plainWords(e);
    $('update-body').hidden = true;
    return;
  }
  unavailable.hidden = true;
  $('update-body').hidden = false;
  renderUpdates();
}

function describeResult(s) {
  if (s.inProgress) return 'Checking now…';
  const r = s.lastResult;
  if (!r) return s.lastCheck ? '—' : 'Not checked yet';
  const words = {
    ok: 'A new edition was installed',
    'up-to-date': 'Up to date',
    up_to_date: 'Up to date',
    updated: 'A new edition was installed',
    failed: 'Failed',
    error: 'Failed',
    never: 'Not checked yet',
  };
  return words[r] ?? String(r);
}

// While checks fail, how old the reader's content may be.
function describeLastSuccess(s) {
  const when = s.lastSuccess ? formatDateTime(s.lastSuccess) : 'Never';
  const failures = Number(s.consecutiveFailures) || 0;
  if (failures === 0) return when;
  return `${when} (${failures === 1 ? 'the check since has' : `${failures} checks since have`} failed)`;
}

function renderUpdates() {
  const s = updateStatus;
  $('update-content-version').textContent = s.contentVersion !== null
    ? `Version ${s.contentVersion}${s.contentPublished ? `, published ${formatDateTime(s.contentPublished)}` : ''}`
    : 'The edition bundled with the extension (no update installed yet)';
  $('update-last-check').textContent = formatDateTime(s.lastCheck);
  $('update-last-result').textContent = describeResult(s);
  $('update-last-success').textContent = describeLastSuccess(s);
  $('update-next-check').textContent = s.automatic ? formatDateTime(s.nextCheck) : 'Only when you press “Check now”';
  $('update-automatic').checked = s.automatic;
  $('update-interval').value = String(s.intervalHours);
  $('update-interval').disabled = !s.automatic;
  $('update-policy-warning').hidden = s.automatic;
  document.body.dataset.updateState = s.inProgress ? 'checking' : (s.lastResult ?? 'none');
  document.body.dataset.contentVersion = s.contentVersion !== null ? String(s.contentVersion) : '';
  const error = $('update-error');
  if (s.lastError) {
    error.hidden = false;
    // The host's sentence is written for readers; fall back to our own words.
    error.replaceChildren(el('p', {}, el('strong', {}, 'The last check failed. '), s.lastError.message || plainWords(s.lastError)));
    if (s.lastError.errorName) error.append(el('p', { class: 'hint' }, `Error code: ${s.lastError.errorName}`));
  } else {
    error.hidden = true;
    error.replaceChildren();
  }
}

let progressTimer = null;
function hideProgress() {
  clearTimeout(progressTimer);
  $('update-progress-row').hidden = true;
}

function showProgress(params) {
  const { bytesDone, bytesTotal, target } = updates.normalizeProgress(params);
  $('update-progress-row').hidden = false;
  clearTimeout(progressTimer);
  progressTimer = setTimeout(hideProgress, updates.kStaleProgressMs);
  const bar = $('update-progress');
  if (bytesTotal > 0) {
    bar.max = bytesTotal;
    bar.value = Math.min(bytesDone, bytesTotal);
  } else {
    bar.removeAttribute('value'); // Indeterminate.
  }
  $('update-progress-label').textContent =
    `Downloading ${target || 'update'}: ${updates.formatBytes(bytesDone)}${bytesTotal > 0 ? ` of ${updates.formatBytes(bytesTotal)}` : ''}`;
  document.body.dataset.updateProgress = bytesTotal > 0 ? `${bytesDone}/${bytesTotal}` : String(bytesDone);
}

function wireUpdates() {
  $('update-check').addEventListener('click', async (e) => {
    const button = e.currentTarget;
    userCheckRunning = true;
    busy(button, true);
    say('update-message', 'Checking for updates…');
    try {
      const result = updates.normalizeStatus(await updates.check());
      if (result.lastResult === 'failed') {
        say('update-message', result.lastError?.message || plainWords(result.lastError) || 'The check failed.', 'error');
      } else if (result.lastResult === 'ok' || result.lastResult === 'updated') {
        say('update-message', `Updated: now showing version ${result.contentVersion}.`, 'ok');
      } else {
        say('update-message', 'Already up to date.', 'ok');
      }
    } catch (err) {
      say('update-message', plainWords(err), 'error');
    } finally {
      userCheckRunning = false;
      busy(button, false);
      hideProgress();  // The check is over, whether or not it installed anything.
      await refreshUpdates();
    }
  });
  const savePolicy = async () => {
    const automatic = $('update-automatic').checked;
    const interval = Number($('update-interval').value);
    $('update-policy-warning').hidden = automatic;
    try {
      await updates.setPolicy(automatic, interval);
      say('update-message', automatic ? `Automatic updates on, every ${interval} h.` : 'Automatic updates off.', 'ok');
    } catch (err) {
      say('update-message', plainWords(err), 'error');
    }
    await refreshUpdates();
  };
  $('update-automatic').addEventListener('change', savePolicy);
  $('update-interval').addEventListener('change', savePolicy);
  $('update-policy-form').addEventListener('submit', (e) => e.preventDefault());
}

// ------------------------------------------------------------ startup

async function refreshAll() {
  renderConnection();
  await Promise.all([refreshVault(), refreshUpdates()]);
}

function onHostEvent(message) {
  if (message.type === 'host-state') {
    const before = snapshot?.state;
    snapshot = message.snapshot;
    if (before !== snapshot?.state) refreshAll();
  } else if (message.type === 'notification') {
    if (message.method === 'update.progress') showProgress(message.params);
    else if (message.method === 'update.completed') {
      const version = updates.completedVersion(message.params);
      if (!userCheckRunning) {
        say('update-message', version ? `Updated to content version ${version}.` : 'Update installed.', 'ok');
      }
      hideProgress();
      refreshUpdates();
    }
  }
}

async function main() {
  showHostInstallCommand();
  $('check-port').addEventListener('click', checkPort);
  $('check-oneshot').addEventListener('click', checkOneShot);
  $('reconnect').addEventListener('click', async () => {
    snapshot = await rpc.hostReconnect();
    await refreshAll();
  });
  wireVault();
  wireUpdates();
  try {
    $('extension-id').textContent = (await rpc.extensionInfo()).id;
  } catch {
    $('extension-id').textContent = '?';
  }
  rpc.onEvent(onHostEvent);
  try {
    snapshot = await rpc.hostState();
  } catch (e) {
    snapshot = { state: 'disconnected', lastError: e.message };
  }
  await refreshAll();
  // Prove both transports on every visit: the port (above) and a one-shot.
  if (snapshot?.state === 'connected') {
    await Promise.all([checkPort(), checkOneShot()]);
  } else {
    await checkOneShot();
  }
  document.body.dataset.ready = 'true';
}

main();
