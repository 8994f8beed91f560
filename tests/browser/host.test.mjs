// The extension and the real bellwether-host in headless Chromium: the host is
// installed into the test profile with its own CLI, and the popup and
// security page show the version obtained through real native round trips,
// both over a long-lived port (connectNative) and a one-shot message
// (sendNativeMessage, a fresh host process per message).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import {
  closeBrowser,
  findHostBinary,
  installHost,
  kExtensionId,
  launchBrowser,
  makeSandbox,
  openExtensionPage,
  waitForServiceWorker,
} from './lib/launch.mjs';

const hostBin = findHostBinary();

// Host processes started for this sandbox (matched by their XDG_DATA_HOME,
// so processes of other test runs are never touched).
async function hostPidsOf(sandbox) {
  const pids = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmdline = (await readFile(`/proc/${name}/cmdline`, 'utf8')).split('\0');
      if (!cmdline[0].endsWith('bellwether-host')) continue;
      const environ = (await readFile(`/proc/${name}/environ`, 'utf8')).split('\0');
      if (environ.includes(`XDG_DATA_HOME=${sandbox.dirs.data}`)) pids.push(Number(name));
    } catch {
      // The process ended meanwhile, or is not ours to read.
    }
  }
  return pids;
}
const skip = hostBin ? false : 'bellwether-host not built (set BELLWETHER_HOST_BIN)';

describe('extension with the native host', { skip }, () => {
  let sandbox;
  let context;
  let installed;
  let hostVersion;

  before(async () => {
    sandbox = await makeSandbox();
    installed = await installHost(hostBin, sandbox);
    hostVersion = (await promisify(execFile)(hostBin, ['--version'])).stdout.match(/\d+\.\d+\.\d+/)[0];
    context = await launchBrowser(sandbox);
    await waitForServiceWorker(context);
  });

  after(async () => {
    await closeBrowser(context);
    await sandbox?.cleanup();
  });

  test('install writes a host manifest allowing exactly this extension', () => {
    // Property: the browser's allowlist names our fixed extension ID and the real binary.
    const m = installed.manifest;
    assert.equal(m.name, 'io.bellwether.host');
    assert.equal(m.type, 'stdio');
    assert.ok(m.path.startsWith('/'), m.path);
    assert.deepEqual(m.allowed_origins, [`chrome-extension://${kExtensionId}/`]);
  });

  test('the popup shows the connected host and its version', async () => {
    // Property: the version shown came back over native messaging.
    const popup = await openExtensionPage(context, 'popup/popup.html');
    await popup.waitForSelector('body[data-host-state="connected"]');
    assert.equal(await popup.locator('#host-status').innerText(), `Connected · version ${hostVersion}`);
    assert.ok(await popup.locator('#host-fix').isHidden());
    await popup.close();
  });

  test('the security page gets the version through a port and through a one-shot message', async () => {
    // Property: both native messaging modes of the browser reach the real host.
    const page = await openExtensionPage(context, 'security/security.html');
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.locator('#host-state').innerText(), 'Connected');
    assert.equal(await page.locator('#host-version').innerText(), hostVersion);
    assert.equal(await page.locator('#host-protocol').innerText(), '1');
    const port = page.locator('#port-result');
    const oneShot = page.locator('#oneshot-result');
    assert.equal(await port.getAttribute('data-via'), 'port');
    assert.equal(await port.getAttribute('data-version'), hostVersion);
    assert.equal(await oneShot.getAttribute('data-via'), 'sendNativeMessage');
    assert.equal(await oneShot.getAttribute('data-version'), hostVersion);
    assert.equal(await oneShot.getAttribute('data-protocol'), '1');
    assert.match(await oneShot.innerText(), new RegExp(`Bellwether host ${hostVersion.replace(/\./g, '\\.')}, protocol 1`));
    await page.close();
  });

  test('host.ping answers over the port from a page', async () => {
    // Property: the page -> service worker -> port -> host path carries any allowed method.
    const page = await openExtensionPage(context, 'security/security.html');
    await page.waitForSelector('body[data-ready="true"]');
    const pong = await page.evaluate(async () => {
      const { call } = await import('../lib/rpc.js');
      return call('host.ping');
    });
    assert.deepEqual(pong, { pong: true });
    await page.close();
  });

  test('a method the host lacks is a clean JSON-RPC error', async () => {
    // Property: unknown methods come back as method_not_found and the port survives.
    const page = await openExtensionPage(context, 'security/security.html');
    await page.waitForSelector('body[data-ready="true"]');
    const result = await page.evaluate(async () => {
      const { call } = await import('../lib/rpc.js');
      try {
        await call('host.noSuchMethod');
        return 'resolved';
      } catch (e) {
        const after = await call('host.ping');
        return { code: e.code, name: e.errorName, after };
      }
    });
    assert.deepEqual(result, { code: -32601, name: 'method_not_found', after: { pong: true } });
    await page.close();
  });

  test('the service worker refuses methods outside the allowed namespaces', async () => {
    // Property: pages cannot use the worker as a generic native-messaging proxy.
    const page = await openExtensionPage(context, 'security/security.html');
    await page.waitForSelector('body[data-ready="true"]');
    const code = await page.evaluate(async () => {
      const { call } = await import('../lib/rpc.js');
      try {
        await call('system.exec', {});
        return 'resolved';
      } catch (e) {
        return e.errorName;
      }
    });
    assert.equal(code, 'not_allowed');
    await page.close();
  });

  test('the service worker keeps a periodic alarm that wakes the host for update checks', async () => {
    // Property: chrome.alarms schedules update.check every 6 hours.
    const worker = await waitForServiceWorker(context);
    const alarm = await worker.evaluate(() => chrome.alarms.get('bellwether-update-check'));
    assert.ok(alarm, 'alarm registered');
    assert.equal(alarm.periodInMinutes, 360);
  });

  test('when the host process dies the worker reconnects and pages recover', async () => {
    // Property: a crash resets the connection state and the backoff brings a new host.
    const page = await openExtensionPage(context, 'security/security.html');
    await page.waitForSelector('body[data-ready="true"]');
    const pids = await hostPidsOf(sandbox);
    assert.ok(pids.length >= 1, 'the port host runs');
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    // The worker notices the drop and reconnects by itself (first retry after 1 s).
    let after = [];
    for (let i = 0; i < 60 && !(after.length >= 1 && after.every((p) => !pids.includes(p))); i++) {
      await page.waitForTimeout(500);
      after = await hostPidsOf(sandbox);
    }
    assert.ok(after.length >= 1 && after.every((p) => !pids.includes(p)), `new host process: ${after} vs ${pids}`);
    await page.waitForSelector('body[data-host-state="connected"]', { timeout: 30000 });
    const pong = await page.evaluate(async () => (await import('../lib/rpc.js')).call('host.ping'));
    assert.deepEqual(pong, { pong: true });
    await page.close();
  });

  test('the reader shows the host as connected', async () => {
    // Property: with the host present the offline note is gone.
    const page = await openExtensionPage(context, 'reader/reader.html');
    await page.waitForSelector('body[data-host-ready="true"]');
    assert.equal(await page.getAttribute('body', 'data-host-state'), 'connected');
    assert.ok(await page.locator('#host-notice').isHidden());
    assert.equal(await page.locator('#host-label').innerText(), `Host ${hostVersion}`);
    // The (hidden) install hint names this browser: Debian's Chromium.
    assert.equal(await page.locator('#host-fix-command').textContent(), 'bellwether-host install --browser chromium');
    await page.close();
  });
});
