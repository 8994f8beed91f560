// The same extension directory in Debian's firefox-esr: one manifest serves
// both browsers. Firefox finds the host through
// ~/.mozilla/native-messaging-hosts (written by `bellwether-host install
// --browser firefox`), passes the add-on ID, and the reader, the vault and
// both native messaging modes work as in Chromium.

import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { findHostBinary, kExtensionDir, makeSandbox } from './lib/launch.mjs';
import { Marionette, firefoxAvailable, kFirefox } from './lib/marionette.mjs';

const hostBin = findHostBinary();
const skip = !hostBin
  ? 'bellwether-host not built'
  : !firefoxAvailable()
    ? `${kFirefox} not installed (apt-get install firefox-esr)`
    : false;

const kAddonId = 'reader@bellwether.io';
// Firefox suspends an idle MV3 background page (an event page) after this
// long; 30 s by default, 1 s here so the tests see what suspension does.
const kIdleTimeoutMs = 1000;

// The host processes Firefox (process `ppid`) has started.
function hostProcesses(ppid) {
  try {
    return execFileSync('pgrep', ['-P', String(ppid), '-f', 'bellwether-host']).toString().split('\n').filter(Boolean);
  } catch {
    return [];  // pgrep exits 1 when nothing matches.
  }
}

describe('extension in Firefox', { skip }, () => {
  let sandbox;
  let firefox;
  let base;
  let manifest;

  before(async () => {
    sandbox = await makeSandbox('bellwether-firefox-');
    await promisify(execFile)(hostBin, ['install', '--browser', 'firefox'], { env: sandbox.env, timeout: 30000 });
    manifest = JSON.parse(await readFile(
      join(sandbox.dirs.home, '.mozilla', 'native-messaging-hosts', 'io.bellwether.host.json'), 'utf8'));
    firefox = await Marionette.launch(sandbox, { prefs: { 'extensions.background.idle.timeout': kIdleTimeoutMs } });
    const installed = await firefox.installTemporaryAddon(kExtensionDir);
    assert.equal(installed, kAddonId);
    base = await firefox.extensionBase(kAddonId);
  });

  after(async () => {
    await firefox?.close();
    await sandbox?.cleanup();
  });

  test('the host manifest for Firefox allows exactly our add-on ID', () => {
    // Property: Firefox's allowlist names the gecko ID from the shared manifest.
    assert.deepEqual(manifest.allowed_extensions, [kAddonId]);
    assert.equal(manifest.name, 'io.bellwether.host');
    assert.ok(base.startsWith('moz-extension://'), base);
  });

  test('the reader renders the analysis and connects to the host', async () => {
    // Property: the same pages work in Firefox, with the host reached over a port.
    await firefox.openTab(`${base}reader/reader.html`);
    // Checked and read in one script: Firefox may replace a new tab's
    // document while the extension's process takes the tab over, so a
    // separate read could see the next document before it has rendered.
    const facts = await firefox.waitFor(`if (document.body.dataset.hostReady !== "true") return null;
      return {
      parts: document.querySelectorAll('section.part').length,
      nested: document.querySelectorAll('li.has-children').length,
      quotes: document.querySelectorAll('q.quotation').length,
      host: document.body.dataset.hostState,
      label: document.getElementById('host-label').textContent,
      install: document.getElementById('host-fix-command').textContent,
    };`);
    assert.equal(facts.parts, 4);
    assert.equal(facts.nested, 3);
    assert.ok(facts.quotes >= 10, `quotations: ${facts.quotes}`);
    assert.equal(facts.host, 'connected');
    assert.match(facts.label, /^Host \d+\.\d+\.\d+$/);
    // The install hint names this browser.
    assert.equal(facts.install, 'bellwether-host install --browser firefox');
  });

  test('a note round-trips through the vault from Firefox', async () => {
    // Property: the vault path works through Firefox's native messaging too.
    await firefox.waitFor('return document.body.dataset.vault === "loaded";');
    const text = `Firefox note ${Date.now()}`;
    const stored = await firefox.executeAsync(`
      const done = arguments[arguments.length - 1];
      import('../lib/vault.js').then(async (vault) => {
        await vault.set('notes', 'firefox/test', { text: arguments[0] });
        done((await vault.get('notes', 'firefox/test')).value.text);
      }).catch((e) => done('error: ' + e.message));`, [text]);
    assert.equal(stored, text);
  });

  test('one host process serves the background page through idle time and reader reloads', async () => {
    // Property: the background page keeps its native port (Firefox does not
    // suspend it while the port is open), so one host process serves every
    // reader, none piles up, and the vault answers after the idle time.
    await firefox.command('WebDriver:Navigate', { url: `${base}reader/reader.html` });
    await firefox.waitFor('return document.body.dataset.hostReady === "true" ? true : null;');
    const serving = hostProcesses(firefox.child.pid);
    assert.equal(serving.length, 1, `host processes: ${serving}`);
    for (let i = 0; i < 3; i++) {
      await firefox.command('WebDriver:Navigate', { url: 'about:blank' });
      await new Promise((resolve) => setTimeout(resolve, 3 * kIdleTimeoutMs));
      assert.deepEqual(hostProcesses(firefox.child.pid), serving, `after idle time ${i + 1}`);
      await firefox.command('WebDriver:Navigate', { url: `${base}reader/reader.html` });
      await firefox.waitFor('return document.body.dataset.hostReady === "true" ? true : null;');
    }
    await firefox.waitFor('return document.body.dataset.vault === "loaded" ? true : null;');
    const stored = await firefox.executeAsync(`
      const done = arguments[arguments.length - 1];
      import('../lib/vault.js').then(async (vault) => {
        await vault.set('notes', 'firefox/idle', { text: 'after idle' });
        done((await vault.get('notes', 'firefox/idle')).value.text);
      }).catch((e) => done('error: ' + e.message));`);
    assert.equal(stored, 'after idle');
    assert.deepEqual(hostProcesses(firefox.child.pid), serving);
  });

  test('the security page shows the host through a port and a one-shot message', async () => {
    // Property: runtime.connectNative and runtime.sendNativeMessage both reach the host.
    await firefox.command('WebDriver:Navigate', { url: `${base}security/security.html` });
    await firefox.waitFor('return document.body.dataset.ready === "true";');
    const facts = await firefox.execute(`return {
      state: document.getElementById('host-state').textContent,
      port: document.getElementById('port-result').dataset.version,
      oneShot: document.getElementById('oneshot-result').dataset.version,
      protocol: document.getElementById('oneshot-result').dataset.protocol,
      algorithm: document.getElementById('vault-algorithm').textContent,
      id: document.getElementById('extension-id').textContent,
    };`);
    assert.equal(facts.state, 'Connected');
    assert.match(facts.port, /^\d+\.\d+\.\d+$/);
    assert.equal(facts.oneShot, facts.port);
    assert.equal(facts.protocol, '1');
    assert.equal(facts.algorithm, 'AES-256-GCM');
    assert.equal(facts.id, kAddonId);
  });
});
