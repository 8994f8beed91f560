// The reader's private data in headless Chromium with the real host: a note,
// a bookmark and a highlight are stored in the encrypted vault, survive a
// reload and a browser restart, and never appear in clear on disk; the
// security page drives passphrase lock/unlock and backups.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import {
  closeBrowser,
  findHostBinary,
  findVaultTool,
  installHost,
  kExtensionId,
  launchBrowser,
  makeSandbox,
  openExtensionPage,
  waitForServiceWorker,
} from './lib/launch.mjs';

const hostBin = findHostBinary();
const vaultTool = findVaultTool();

// Every regular file under dir (bounded depth), for the at-rest scan.
async function filesUnder(dir, depth = 6) {
  const out = [];
  let entries = [];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory() && depth > 0) out.push(...(await filesUnder(path, depth - 1)));
    else if (e.isFile()) out.push(path);
  }
  return out;
}

async function filesContaining(files, needle) {
  const hits = [];
  for (const file of files) {
    const data = await readFile(file);
    if (data.includes(Buffer.from(needle, 'utf8')) || data.includes(Buffer.from(needle, 'utf16le'))) hits.push(file);
  }
  return hits;
}

async function hostMethods(context) {
  const page = await openExtensionPage(context, 'security/security.html');
  await page.waitForSelector('body[data-ready="true"]');
  const methods = await page.evaluate(async () => {
    const { hostState } = await import('../lib/rpc.js');
    return (await hostState()).hello?.methods ?? [];
  });
  await page.close();
  return methods;
}

// Reads a vault record through the extension until `accept(value)` holds
// (bounded: 40 tries, 500 ms apart); returns the last value read.
async function pollVault(page, namespace, key, accept) {
  let value = null;
  for (let i = 0; i < 40; i++) {
    value = await page.evaluate(async ([ns, k]) => {
      const { get } = await import('../lib/vault.js');
      return (await get(ns, k))?.value ?? null;
    }, [namespace, key]);
    if (accept(value)) break;
    await page.waitForTimeout(500);
  }
  return value;
}

// Writes `text` as the note on a section through the reader's editor and
// presses Save (the caller waits for what it expects to follow).
async function writeNote(page, sectionId, text) {
  const section = page.locator(`#${sectionId}`);
  await section.locator('.note-toggle').click();
  await section.locator('.note-input').fill(text);
  await section.locator('.note-save').click();
  return section;
}

async function openReader(context) {
  const page = await openExtensionPage(context, 'reader/reader.html');
  await page.waitForSelector('body[data-host-ready="true"]');
  return page;
}

describe('vault features in the reader', { skip: hostBin ? false : 'bellwether-host not built' }, () => {
  const noteText = `Private note ${randomBytes(6).toString('hex')}: Tokyo holds the stronger hand`;
  const sectionId = 'ultimate-test--the-china-factor';
  const highlighted = 'critical counterbalance to China';
  let sandbox;
  let context;
  let vaultMissing = null;

  before(async () => {
    sandbox = await makeSandbox();
    await installHost(hostBin, sandbox);
    context = await launchBrowser(sandbox);
    await waitForServiceWorker(context);
    const methods = await hostMethods(context);
    if (!methods.includes('vault.set')) vaultMissing = 'this bellwether-host has no vault methods';
  });

  after(async () => {
    await closeBrowser(context);
    await sandbox?.cleanup();
  });

  test('a note, a bookmark and a highlight written in the reader are shown back after a reload', async (t) => {
    // Property: private data round-trips through the vault and is re-applied on load.
    if (vaultMissing) return t.skip(vaultMissing);
    const page = await openReader(context);
    await page.waitForSelector('body[data-vault="loaded"]');
    const section = await writeNote(page, sectionId, noteText);
    await section.locator('.note-text', { hasText: noteText }).waitFor();
    await section.locator('.bookmark-toggle').click();
    await page.waitForFunction((id) =>
      document.querySelector(`#${id} .bookmark-toggle`).getAttribute('aria-pressed') === 'true', sectionId);

    // Select a phrase inside one paragraph, as a reader would, and highlight it.
    await page.evaluate(({ id, phrase }) => {
      const p = [...document.querySelectorAll(`#${id} p`)].find((n) => n.textContent.includes(phrase));
      const node = [...p.childNodes].find((n) => n.nodeType === Node.TEXT_NODE && n.data.includes(phrase));
      const start = node.data.indexOf(phrase);
      const range = document.createRange();
      range.setStart(node, start);
      range.setEnd(node, start + phrase.length);
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      p.dispatchEvent(new MouseEvent('mouseup', { bubbles: true }));
    }, { id: sectionId, phrase: highlighted });
    await page.locator('#highlight-button').click();
    await page.locator('mark.hl', { hasText: highlighted }).waitFor();

    await page.reload();
    await page.waitForSelector('body[data-vault="loaded"]');
    assert.equal(await page.locator(`#${sectionId} .note-text`).innerText(), noteText);
    assert.equal(await page.locator(`#${sectionId} .bookmark-toggle`).getAttribute('aria-pressed'), 'true');
    assert.equal(await page.locator('mark.hl').allInnerTexts().then((a) => a.join('')), highlighted);
    assert.equal(await page.locator(`.toc a[data-section="${sectionId}"] .bookmark-flag`).count(), 1);
    await page.close();
  });

  test('two tabs writing a new note on one section: the second is told and sees both', async (t) => {
    // Property: no silent overwrite. A new note is created only if none exists
    // (compare-and-set with revision 0); the tab that loses keeps its draft,
    // sees the note saved meanwhile, and its next save is deliberate.
    if (vaultMissing) return t.skip(vaultMissing);
    const first = await openReader(context);
    const second = await openReader(context);
    await first.waitForSelector('body[data-vault="loaded"]');
    await second.waitForSelector('body[data-vault="loaded"]');
    const otherId = await first.evaluate((taken) =>
      [...document.querySelectorAll('section[id]')].map((n) => n.id)
        .filter((id) => id !== taken && document.querySelector(`#${id} .note-toggle`)).at(-1), sectionId);
    assert.ok(otherId, 'a second section with notes');
    const write = (page, text) => writeNote(page, otherId, text);
    await write(first, 'from the first tab');
    await first.locator(`#${otherId} .note-text`, { hasText: 'from the first tab' }).waitFor();
    await write(second, 'from the second tab');
    const section = second.locator(`#${otherId}`);
    await section.locator('.note-conflict', { hasText: 'from the first tab' }).waitFor();
    assert.equal(await section.locator('.note-input').inputValue(), 'from the second tab');
    assert.match(await second.locator('#toast').innerText(), /changed elsewhere/);
    const stored = await pollVault(first, 'notes', `japan-us-trade/${otherId}`, (v) => v !== null);
    assert.equal(stored?.text, 'from the first tab', 'the first note was not overwritten');
    // Saving again, having seen the other note, replaces it.
    await section.locator('.note-save').click();
    await section.locator('.note-text', { hasText: 'from the second tab' }).waitFor();
    const replaced = await pollVault(first, 'notes', `japan-us-trade/${otherId}`, (v) => v?.text === 'from the second tab');
    assert.equal(replaced?.text, 'from the second tab');
    // The first tab still holds the older revision: its delete is refused
    // and it shows the note as it now is, so nothing unseen is deleted.
    const key = `japan-us-trade/${otherId}`;
    const stale = first.locator(`#${otherId}`);
    await stale.locator('.note-toggle').click();
    await stale.locator('.note-delete').click();
    await stale.locator('.note-text', { hasText: 'from the second tab' }).waitFor();
    assert.match(await first.locator('#toast').innerText(), /changed in another tab/);
    assert.equal((await pollVault(first, 'notes', key, (v) => v !== null))?.text, 'from the second tab');
    // Deleting again, having seen it, deletes it.
    await stale.locator('.note-toggle').click();
    await stale.locator('.note-delete').click();
    await first.waitForFunction((id) => !document.querySelector(`#${id} .note-text`), otherId);
    assert.equal(await pollVault(first, 'notes', key, (v) => v === null), null);
    await first.close();
    await second.close();
  });

  test('"My notes" lists the note, highlight and bookmark and searches them', async (t) => {
    // Property: the notes view reads everything back from the vault and filters it.
    if (vaultMissing) return t.skip(vaultMissing);
    const page = await openReader(context);
    await page.waitForSelector('body[data-vault="loaded"]');
    await page.keyboard.press('m');
    const panel = page.locator('#my-notes');
    await panel.waitFor({ state: 'visible' });
    assert.match(await panel.locator('.my-notes-notes').innerText(), /Tokyo holds the stronger hand/);
    assert.match(await panel.locator('.my-notes-highlights').innerText(), /critical counterbalance to China/);
    assert.match(await panel.locator('.my-notes-bookmarks').innerText(), /The China Factor/);
    await page.locator('#my-notes-search').fill('stronger hand');
    assert.equal(await panel.locator('.my-notes-notes li').count(), 1);
    assert.equal(await panel.locator('.my-notes-highlights li').count(), 0);
    await page.locator('#my-notes-search').fill('no such words anywhere');
    assert.equal(await panel.locator('.my-notes-notes li').count(), 0);
    await page.close();
  });

  test('the note survives a browser restart', async (t) => {
    // Property: the data lives in the host's vault, not in the browser session.
    if (vaultMissing) return t.skip(vaultMissing);
    await closeBrowser(context);
    context = await launchBrowser(sandbox);
    await waitForServiceWorker(context);
    const page = await openReader(context);
    await page.waitForSelector('body[data-vault="loaded"]');
    assert.equal(await page.locator(`#${sectionId} .note-text`).innerText(), noteText);
    await page.close();
  });

  test('the reading position is saved in the vault and restored on the next visit', async (t) => {
    // Property: the reader reopens where the reader left off.
    if (vaultMissing) return t.skip(vaultMissing);
    const target = 'adapt--form-regional-economic-blocs';
    const page = await openReader(context);
    await page.waitForSelector('body[data-vault="loaded"]');
    await page.evaluate((id) => document.getElementById(id).scrollIntoView({ block: 'start' }), target);
    const saved = await pollVault(page, 'reading', 'japan-us-trade', (v) => v?.sectionId === target);
    assert.equal(saved.sectionId, target);
    await page.close();
    const again = await openReader(context);
    await again.waitForSelector('body[data-vault="loaded"]');
    await again.waitForFunction((id) => document.querySelector('.section.current')?.id === id, target);
    assert.ok(await again.evaluate(() => window.scrollY) > 1000);
    await again.close();
  });

  test('the theme choice is kept in the vault settings and applied on load', async (t) => {
    // Property: preferences live in the settings namespace, not only in browser storage.
    if (vaultMissing) return t.skip(vaultMissing);
    const page = await openReader(context);
    await page.waitForSelector('body[data-vault="loaded"]');
    const theme = () => page.evaluate(() => document.documentElement.dataset.theme ?? null);
    if ((await theme()) !== 'light') await page.evaluate(() => localStorage.setItem('bellwether.theme', 'light'));
    await page.reload();
    await page.waitForSelector('body[data-vault="loaded"]');
    await page.locator('#theme-toggle').click();
    assert.equal(await theme(), 'dark');
    const setting = await pollVault(page, 'settings', 'reader.theme', (v) => v?.theme === 'dark');
    assert.equal(setting.theme, 'dark');
    // Forget the local cache: the vault alone brings the theme back.
    await page.evaluate(() => localStorage.removeItem('bellwether.theme'));
    await page.reload();
    await page.waitForSelector('body[data-vault="loaded"]');
    await page.waitForFunction(() => document.documentElement.dataset.theme === 'dark');
    await page.locator('#theme-toggle').click();
    assert.equal(await theme(), 'light');
    await page.close();
  });

  test('the note text is nowhere in clear on disk: not in the vault files, not in chrome.storage', async (t) => {
    // Property: encrypted at rest; the extension never puts private data in browser storage.
    if (vaultMissing) return t.skip(vaultMissing);
    const page = await openExtensionPage(context, 'security/security.html');
    await page.waitForSelector('body[data-ready="true"]');
    const status = await page.evaluate(async () => (await import('../lib/vault.js')).status());
    await page.close();
    assert.equal(status.algorithm, 'AES-256-GCM');
    assert.ok(status.recordCount >= 5, `records: ${status.recordCount}`);
    const vaultFiles = await filesUnder(join(sandbox.dirs.data, 'bellwether'));
    if (status.path) {
      assert.ok((await stat(status.path)).size > 0, 'the vault database exists');
      assert.ok(status.path.startsWith(sandbox.dirs.data), status.path);
    }
    assert.ok(vaultFiles.length > 0, 'the vault wrote files under XDG_DATA_HOME/bellwether');
    assert.deepEqual(await filesContaining(vaultFiles, noteText), []);
    assert.deepEqual(await filesContaining(vaultFiles, 'Tokyo holds'), []);
    // Chromium's storage for this extension (chrome.storage, localStorage, IndexedDB).
    const profileFiles = (await filesUnder(sandbox.profile)).filter((f) => f.includes(kExtensionId));
    assert.deepEqual(await filesContaining(profileFiles, 'Tokyo holds'), []);
  });

  test('the security page shows the real vault state', async (t) => {
    // Property: algorithm, key holder and record count come from vault.status.
    if (vaultMissing) return t.skip(vaultMissing);
    const page = await openExtensionPage(context, 'security/security.html');
    await page.waitForSelector('body[data-ready="true"]');
    assert.equal(await page.locator('#vault-algorithm').innerText(), 'AES-256-GCM');
    assert.equal(await page.locator('#vault-state').innerText(), 'Unlocked');
    assert.ok(Number(await page.locator('#vault-records').innerText()) >= 3);
    assert.notEqual(await page.locator('#vault-key-source').innerText(), '—');
    assert.match(await page.locator('#vault-key-created').innerText(), /\((under a minute|\d+ (minute|hour|day)s?) old\)$/);
    await page.close();
  });

  test('a locked vault makes the reader ask for the passphrase, and unlocking shows the note', async (t) => {
    // Property: locked is a state the reader handles, not a failure.
    if (vaultMissing) return t.skip(vaultMissing);
    const passphrase = `correct horse ${randomBytes(4).toString('hex')}`;
    const security = await openExtensionPage(context, 'security/security.html');
    await security.waitForSelector('body[data-ready="true"]');
    await security.locator('#vault-new-passphrase').fill(passphrase);
    await security.locator('#vault-confirm-passphrase').fill(passphrase);
    await security.locator('#vault-passphrase-submit').click();
    await security.waitForFunction(() => document.getElementById('vault-passphrase').textContent === 'Set', null, { timeout: 120000 });
    await security.locator('#vault-lock').click();
    await security.waitForSelector('body[data-vault-state="locked"]');

    const page = await openReader(context);
    await page.locator('#unlock-form').waitFor({ state: 'visible' });
    assert.equal(await page.locator(`#${sectionId} .note-text`).count(), 0);
    await page.locator('#unlock-passphrase').fill('not the passphrase');
    await page.locator('#unlock-button').click();
    await page.locator('#unlock-error', { hasText: 'not correct' }).waitFor({ timeout: 120000 });
    await page.locator('#unlock-passphrase').fill(passphrase);
    await page.locator('#unlock-button').click();
    await page.locator(`#${sectionId} .note-text`, { hasText: noteText }).waitFor({ timeout: 120000 });
    assert.ok(await page.locator('#unlock-form').isHidden());
    // Unlocking brings back what a load brings: the saved reading position.
    await page.waitForFunction(() => document.querySelector('.section.current')?.id === 'adapt--form-regional-economic-blocs');
    await page.close();

    // Remove the passphrase again through the page (current passphrase required).
    await security.reload();
    await security.waitForSelector('body[data-ready="true"]');
    await security.locator('#vault-current-passphrase').fill(passphrase);
    await security.locator('#vault-passphrase-remove').click();
    await security.waitForFunction(() => document.getElementById('vault-passphrase').textContent === 'Not set', null, { timeout: 120000 });
    await security.close();
  });

  test('a backup exported from the security page imports back with a report', async (t) => {
    // Property: export yields a downloadable file; importing it merges and reports.
    if (vaultMissing) return t.skip(vaultMissing);
    const page = await openExtensionPage(context, 'security/security.html');
    await page.waitForSelector('body[data-ready="true"]');
    await page.locator('#vault-export-passphrase').fill('backup passphrase 1');
    await page.locator('#vault-export-button').click();
    const link = page.locator('#vault-export-link');
    await link.waitFor({ timeout: 120000 });
    assert.match(await link.getAttribute('download'), /^bellwether-vault-\d{4}-\d{2}-\d{2}\.bwbackup$/);
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const file = await download.path();
    const backup = await readFile(file, 'utf8');
    assert.ok(backup.length > 0);
    assert.ok(!backup.includes('Tokyo holds'), 'the backup is sealed');
    await page.locator('#vault-import-file').setInputFiles(file);
    await page.locator('#vault-import-passphrase').fill('backup passphrase 1');
    await page.locator('#vault-import-button').click();
    await page.locator('#vault-import-result', { hasText: 'Imported' }).waitFor({ timeout: 120000 });
    assert.match(await page.locator('#vault-import-result').innerText(), /unchanged: [1-9]/);
    await page.close();
  });
  test('a backup larger than a native message exports and imports in chunks', async (t) => {
    // Property: backup size is bounded by the vault's quota, not by the 1 MiB
    // message limit: 1.5 MiB of records export to a download and import back.
    if (vaultMissing) return t.skip(vaultMissing);
    const page = await openExtensionPage(context, 'security/security.html');
    await page.waitForSelector('body[data-ready="true"]');
    const count = 6;
    await page.evaluate(async (n) => {
      const vault = await import('../lib/vault.js');
      for (let i = 0; i < n; i++) await vault.set('settings', `bulk/${i}`, `${i}:`.padEnd(250 * 1024, 'x'));
    }, count);
    await page.locator('#vault-export-passphrase').fill('backup passphrase 2');
    await page.locator('#vault-export-button').click();
    const link = page.locator('#vault-export-link');
    await link.waitFor({ timeout: 120000 });
    assert.match(await page.locator('#vault-export-result').innerText(), /also kept a copy at .*backups/);
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
    const file = await download.path();
    assert.ok((await stat(file)).size > 1024 * 1024, 'the backup is larger than one message');
    // Lose one record, then take it back from the backup.
    await page.evaluate(async () => (await import('../lib/vault.js')).remove('settings', 'bulk/0'));
    await page.locator('#vault-import-file').setInputFiles(file);
    await page.locator('#vault-import-passphrase').fill('backup passphrase 2');
    await page.locator('#vault-import-button').click();
    await page.locator('#vault-import-result', { hasText: 'Imported' }).waitFor({ timeout: 120000 });
    assert.match(await page.locator('#vault-import-result').innerText(), /added: 1\b/);
    const restored = await page.evaluate(async (n) => {
      const vault = await import('../lib/vault.js');
      const values = [];
      for (let i = 0; i < n; i++) values.push((await vault.get('settings', `bulk/${i}`))?.value?.slice(0, 3));
      for (let i = 0; i < n; i++) await vault.remove('settings', `bulk/${i}`);
      return values;
    }, count);
    assert.deepEqual(restored, Array.from({ length: count }, (_, i) => `${i}:x`));
    await page.close();
  });
  test('clicking a highlight offers to remove it, and removal is stored', async (t) => {
    // Property: highlights can be taken back; the vault record goes with them.
    if (vaultMissing) return t.skip(vaultMissing);
    const page = await openReader(context);
    await page.waitForSelector('body[data-vault="loaded"]');
    const mark = page.locator('mark.hl', { hasText: highlighted }).first();
    await mark.scrollIntoViewIfNeeded();
    await mark.click();
    await page.locator('#highlight-button', { hasText: 'Remove highlight' }).click();
    await page.waitForFunction(() => document.querySelectorAll('mark.hl').length === 0);
    await page.reload();
    await page.waitForSelector('body[data-vault="loaded"]');
    assert.equal(await page.locator('mark.hl').count(), 0);
    const remaining = await page.evaluate(async () =>
      (await (await import('../lib/vault.js')).listAll('highlights', 'japan-us-trade/')).length);
    assert.equal(remaining, 0);
    await page.close();
  });

  test('a note damaged on disk is left out with a notice, and every other note still shows', async (t) => {
    // Property: per-record integrity: one tampered row hides only itself.
    if (vaultMissing) return t.skip(vaultMissing);
    assert.ok(vaultTool, 'tests/vault/vault_stress_tool is built with the host');
    const other = 'adapt--form-regional-economic-blocs';
    const otherText = `A second note ${randomBytes(4).toString('hex')}`;
    const page = await openReader(context);
    await page.waitForSelector('body[data-vault="loaded"]');
    const section = await writeNote(page, other, otherText);
    await section.locator('.note-text', { hasText: otherText }).waitFor();
    assert.equal(await page.getAttribute('body', 'data-vault-damaged'), '0');
    assert.ok(await page.locator('#integrity-notice').isHidden());

    // The newest note (this one) gets one byte of its tag flipped in the file.
    const { stdout } = await promisify(execFile)(vaultTool,
      [join(sandbox.dirs.data, 'bellwether'), 'keyfile', 'damage-latest', 'notes'], { timeout: 30000 });
    assert.match(stdout, /^damaged \d+/);
    await page.reload();
    await page.waitForSelector('body[data-vault="loaded"]');
    assert.equal(await page.getAttribute('body', 'data-vault-damaged'), '1');
    assert.equal(await page.locator(`#${sectionId} .note-text`).innerText(), noteText);
    assert.equal(await page.locator(`#${other} .note-text`).count(), 0);
    assert.match(await page.locator('#integrity-notice').innerText(), /One note, highlight or bookmark failed the vault's integrity check/);
    await page.close();
  });
});
