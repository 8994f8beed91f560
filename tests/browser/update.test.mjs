// Secure updates end to end in headless Chromium: a repository made by
// bellwether-release and served over HTTPS on loopback by a locally generated
// CA; a newer analysis published while the browser runs reaches the reader,
// with progress and the new version on the security page; a server the host
// does not trust is refused and the previous content stays.

import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  closeBrowser,
  findHostBinary,
  installHost,
  launchBrowser,
  makeSandbox,
  openExtensionPage,
  waitForServiceWorker,
} from './lib/launch.mjs';
import {
  ReleaseRepo,
  configureHostUpdates,
  findReleaseBinary,
  makeTestCa,
  serveDirectoryHttps,
} from './lib/update-repo.mjs';

const hostBin = findHostBinary();
const releaseBin = findReleaseBinary();
const skip = !hostBin
  ? 'bellwether-host not built'
  : !releaseBin
    ? 'bellwether-release not built (set BELLWETHER_RELEASE_BIN)'
    : false;

// Presses "Check now" until a check ran (another process may hold the lock
// for a moment, e.g. the host's own first scheduled check). Bounded.
async function checkNow(page) {
  for (let attempt = 0; attempt < 15; attempt++) {
    await page.locator('#update-check').click();
    await page.waitForFunction(() => {
      const m = document.getElementById('update-message').textContent;
      return m && m !== 'Checking for updates…';
    }, null, { timeout: 120000 });
    const message = await page.locator('#update-message').innerText();
    if (!/already checking/i.test(message)) return message;
    await page.waitForTimeout(1000);
  }
  throw new Error('the update lock never became free');
}

describe('content updates through the host', { skip }, () => {
  let sandbox;
  let context;
  let server;
  let repo;
  let security;
  let updatesMissing = null;

  before(async () => {
    sandbox = await makeSandbox();
    await installHost(hostBin, sandbox);
    const tls = await makeTestCa(join(sandbox.root, 'tls'));
    repo = new ReleaseRepo(releaseBin, join(sandbox.root, 'publisher'));
    await repo.init();
    await repo.publishPack(1, { changes: ['First edition.'] });
    server = await serveDirectoryHttps(repo.repo, tls);
    sandbox.tls = tls;
    await configureHostUpdates(sandbox, {
      repositoryUrl: server.url,
      caBundle: tls.caCert,
      trustedRoot: repo.trustedRoot,
    });
    context = await launchBrowser(sandbox);
    await waitForServiceWorker(context);
    security = await openExtensionPage(context, 'security/security.html');
    await security.waitForSelector('body[data-ready="true"]');
    const methods = await security.evaluate(async () =>
      (await (await import('../lib/rpc.js')).hostState()).hello?.methods ?? []);
    if (!methods.includes('update.check') || !methods.includes('content.get')) {
      updatesMissing = 'this bellwether-host has no update methods';
    }
  });

  after(async () => {
    await closeBrowser(context);
    await server?.close();
    await sandbox?.cleanup();
  });

  test('"Check now" installs the published edition and the security page shows it', async (t) => {
    // Property: a verified pack from the repository becomes the current content.
    if (updatesMissing) return t.skip(updatesMissing);
    await security.locator('#update-body').waitFor({ state: 'visible' });
    const message = await checkNow(security);
    assert.match(message, /Updated|up to date/i);
    await security.waitForFunction(() => document.body.dataset.contentVersion === '1');
    assert.match(await security.locator('#update-content-version').innerText(), /^Version 1/);
    assert.ok(server.requests.includes('/metadata/timestamp.json'), server.requests.join(' '));
    assert.ok(await security.locator('#update-error').isHidden());
    assert.equal(
      await security.locator('#update-last-success').innerText(),
      await security.locator('#update-last-check').innerText(),
    );
  });

  test('the reader shows a newer analysis published while it runs, with progress on the security page', async (t) => {
    // Property: publish -> check -> verified download -> update.completed -> reader re-renders.
    if (updatesMissing) return t.skip(updatesMissing);
    const reader = await openExtensionPage(context, 'reader/reader.html');
    await reader.waitForSelector('body[data-host-ready="true"]');
    await reader.waitForFunction(() => document.body.dataset.packVersion === '1');
    // A note being written while the edition changes keeps its draft.
    await reader.waitForSelector('body[data-vault="loaded"]');
    const writing = reader.locator('#ultimate-test--the-china-factor');
    await writing.locator('.note-toggle').click();
    await writing.locator('.note-input').fill('a draft written while the edition changes');

    await repo.publishPack(2, {
      title: 'Japan–US Trade: Japan as the Bellwether — Second Edition',
      changes: ['Second edition: revised title and notes on the state of the talks.'],
    });
    const message = await checkNow(security);
    assert.match(message, /Updated: now showing version 2/);

    await reader.waitForFunction(() => document.body.dataset.packVersion === '2', null, { timeout: 60000 });
    assert.equal(await reader.getAttribute('body', 'data-pack-source'), 'update');
    assert.equal(await reader.locator('#pack-version').innerText(), 'Version 2');
    assert.match(await reader.locator('article h1').innerText(), /Second Edition/);
    const notice = reader.locator('#update-notice');
    assert.ok(await notice.isVisible());
    assert.match(await notice.innerText(), /Updated to version 2/);
    assert.match(await notice.innerText(), /Second edition: revised title/);
    // The whole analysis is still there in the new edition.
    assert.equal(await reader.locator('section.part').count(), 4);
    // The editor is open again in the new article, with the draft and no
    // claim that it was saved elsewhere.
    assert.equal(await writing.locator('.note-input').inputValue(), 'a draft written while the edition changes');
    assert.equal(await writing.locator('.note-conflict').count(), 0);
    await writing.locator('.note-cancel').click();

    assert.match(await security.locator('#update-content-version').innerText(), /^Version 2/);
    const popup = await openExtensionPage(context, 'popup/popup.html');
    await popup.locator('#edition', { hasText: 'Edition 2' }).waitFor();
    assert.match(await popup.locator('#edition').innerText(), /updated$/);
    await popup.close();
    const progress = await security.getAttribute('body', 'data-update-progress');
    assert.match(progress ?? '', /^(\d+)\/\1$/, `final progress seen by the page: ${progress}`);
    await reader.close();
  });

  test('turning automatic updates off shows plainly what that risks', async (t) => {
    // Property: the policy is the host's; the page warns while it is off.
    if (updatesMissing) return t.skip(updatesMissing);
    const warning = security.locator('#update-policy-warning');
    assert.ok(await warning.isHidden());
    await security.locator('#update-automatic').uncheck();
    await warning.waitFor({ state: 'visible' });
    assert.match(await warning.innerText(), /will not arrive/);
    await security.reload();
    await security.waitForSelector('body[data-ready="true"]');
    assert.equal(await security.locator('#update-automatic').isChecked(), false);
    assert.match(await security.locator('#update-next-check').innerText(), /Check now/);
    await security.locator('#update-automatic').check();
    await warning.waitFor({ state: 'hidden' });
  });

  test('with automatic updates off the alarm wakes the host but does not check', async (t) => {
    // Property: the service worker's periodic alarm respects the reader's
    // policy; only "Check now" checks regardless.
    if (updatesMissing) return t.skip(updatesMissing);
    const rpc = (method, params = {}) =>
      security.evaluate(async ([m, p]) => (await import('../lib/rpc.js')).call(m, p), [method, params]);
    await rpc('update.setPolicy', { automatic: false });
    const worker = await waitForServiceWorker(context);
    try {
      const before = await rpc('update.status');
      const requestsBefore = server.requests.length;
      const fired = await worker.evaluate(() => new Promise((resolve) => {
        const seen = (alarm) => {
          if (alarm.name !== 'bellwether-update-check') return;
          chrome.alarms.onAlarm.removeListener(seen);
          resolve(true);
        };
        chrome.alarms.onAlarm.addListener(seen);
        // Unpacked extensions may set alarms a second ahead.
        chrome.alarms.create('bellwether-update-check', { when: Date.now() + 1000 });
        setTimeout(() => resolve(false), 30000);
      }));
      assert.ok(fired, 'the alarm fired');
      // A check started by the alarm would fetch timestamp.json within
      // moments and move lastCheck.
      await security.waitForTimeout(5000);
      const after = await rpc('update.status');
      assert.equal(after.automatic, false);
      assert.equal(after.lastCheck, before.lastCheck);
      assert.deepEqual(server.requests.slice(requestsBefore), []);
    } finally {
      await rpc('update.setPolicy', { automatic: true });
      await worker.evaluate(() =>
        chrome.alarms.create('bellwether-update-check', { delayInMinutes: 360, periodInMinutes: 360 }));
    }
  });

  test('a server whose certificate the host does not trust is refused and the content stays', async (t) => {
    // Property: TLS is verified; a failed check explains itself and keeps the last good pack.
    if (updatesMissing) return t.skip(updatesMissing);
    const otherCa = await makeTestCa(join(sandbox.root, 'other-ca'));
    await configureHostUpdates(sandbox, {
      repositoryUrl: server.url,
      caBundle: otherCa.caCert,
      trustedRoot: repo.trustedRoot,
    });
    await repo.publishPack(3, { changes: ['Third edition.'] });
    // A fresh host process reads the new configuration.
    await security.locator('#reconnect').click();
    await security.waitForSelector('body[data-host-state="connected"]');
    const message = await checkNow(security);
    assert.doesNotMatch(message, /version 3/);
    const error = security.locator('#update-error');
    await error.waitFor({ state: 'visible' });
    assert.match(await error.innerText(), /The last check failed/);
    assert.match(await security.locator('#update-content-version').innerText(), /^Version 2/);
    // The last success is the earlier check, and the page says checks fail since.
    assert.match(await security.locator('#update-last-success').innerText(), /\(the check since has failed\)$/);
    const reader = await openExtensionPage(context, 'reader/reader.html');
    await reader.waitForSelector('body[data-host-ready="true"]');
    await reader.waitForFunction(() => document.body.dataset.packVersion === '2');
    await reader.close();
  });
});
