// The reader and popup in headless Chromium, with NO host installed: the
// whole analysis renders from the bundled pack, host features are off with a
// clear note, and the popup gives the exact command that fixes it.

import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  closeBrowser,
  launchBrowser,
  makeSandbox,
  openExtensionPage,
  waitForServiceWorker,
} from './lib/launch.mjs';

describe('reader without a host', () => {
  let sandbox;
  let context;
  let page;

  before(async () => {
    sandbox = await makeSandbox();
    context = await launchBrowser(sandbox);
    await waitForServiceWorker(context);
    page = await openExtensionPage(context, 'reader/reader.html');
    await page.waitForSelector('body[data-ready="true"]');
  });

  after(async () => {
    await closeBrowser(context);
    await sandbox?.cleanup();
  });

  test('renders all four parts with their titles', async () => {
    // Property: every part of the analysis is on the page, in order.
    const titles = await page.locator('section.part h2').evaluateAll((hs) =>
      hs.map((h) => h.lastChild.textContent.trim()));
    assert.deepEqual(titles, [
      'The Article in Brief',
      'Japan as a Test Case for US-Asia Trade and Diplomacy',
      'How Japan and Asia Can Adapt to Trump’s Trade Policies',
      'Japan as the Ultimate Test Case for Trump’s Asia Strategy',
    ]);
    assert.equal(await page.locator('section.section h3').count(), 20);
    assert.match(await page.locator('article').innerText(), /The answers to these questions will reveal/);
    assert.doesNotMatch(await page.locator('article').innerText(), /Maxthon/);
  });

  test('renders the restored nested lists', async () => {
    // Property: the three reasons sit inside the "strong negotiating position" item.
    const nested = page.locator('article li.has-children', { hasText: 'relatively strong negotiating position' });
    assert.equal(await nested.count(), 1);
    const children = await nested.locator(':scope > ul > li').allInnerTexts();
    assert.deepEqual(children, [
      'Its status as a key security ally',
      'Being the largest holder of US Treasuries',
      'Japan’s evolution from a protectionist nation to a champion of free trade',
    ]);
    assert.equal(await page.locator('article li.has-children').count(), 3);
    assert.equal(await page.locator('article li.has-children', { hasText: 'Areas for potential compromise' })
      .locator(':scope > ul > li').count(), 5);
  });

  test('marks quotations as quotations', async () => {
    // Property: “…” spans are <q> elements; the whole-line quotation is a blockquote.
    const quotes = await page.locator('article q.quotation').allInnerTexts();
    assert.ok(quotes.includes('“the canary in the tariff coal mine”'), quotes.join(' | '));
    assert.match(await page.locator('article blockquote.quotation-block').innerText(), /If even Tokyo can’t secure/);
  });

  test('has a table of contents that links every part and section', async () => {
    // Property: the contents list all 24 sections and follow their links.
    const links = page.locator('#toc a');
    assert.equal(await links.count(), 24);
    await page.locator('#toc a', { hasText: 'The China Factor' }).click();
    await page.waitForFunction(() => location.hash === '#ultimate-test--the-china-factor');
    const top = await page.locator('#ultimate-test--the-china-factor').evaluate((n) => n.getBoundingClientRect().top);
    assert.ok(top >= 0 && top < 200, `section top at ${top}`);
  });

  test('shows the content version, date and what changed', async () => {
    // Property: the reader always tells which edition it shows.
    assert.equal(await page.locator('#pack-version').innerText(), 'Version 1');
    assert.match(await page.locator('#pack-date').innerText(), /2026/);
    assert.equal(await page.locator('#pack-source').innerText(), 'bundled');
    await page.locator('#changes summary').click();
    assert.match(await page.locator('#changes-list').innerText(), /First edition/);
  });

  test('searches in the page with highlighted matches and next/previous', async () => {
    // Property: every match is highlighted and Enter/Shift+Enter walk them.
    await page.keyboard.press('Escape');
    await page.locator('body').press('/');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'search-input');
    await page.keyboard.type('Treasur');
    await page.waitForFunction(() => document.getElementById('search-count').textContent.includes('of'));
    const hits = await page.locator('mark.search-hit').count();
    const count = await page.locator('#search-count').innerText();
    const total = Number(count.split(' of ')[1]);
    assert.ok(total >= 5, count);
    assert.ok(hits >= total);
    assert.equal(count, `1 of ${total}`);
    await page.keyboard.press('Enter');
    assert.equal(await page.locator('#search-count').innerText(), `2 of ${total}`);
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.press('Shift+Enter');
    assert.equal(await page.locator('#search-count').innerText(), `${total} of ${total}`);
    assert.match(await page.locator('mark.search-hit.current').first().innerText(), /treasur/i);
    await page.keyboard.press('Escape');
    assert.equal(await page.locator('mark.search-hit').count(), 0);
  });

  test('search matches across a quotation boundary', async () => {
    // Property: text split into runs is still found as one phrase.
    await page.locator('#search-input').fill('as “the canary');
    await page.waitForFunction(() => document.getElementById('search-count').textContent === '1 of 1');
    const marks = await page.locator('mark.search-hit').allInnerTexts();
    assert.equal(marks.join(''), 'as “the canary');
    await page.locator('#search-input').fill('');
  });

  test('navigates sections with j and k', async () => {
    // Property: keyboard navigation moves one section at a time.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.locator('body').click({ position: { x: 5, y: 300 } });
    const current = (id) => page.waitForFunction((want) => document.querySelector('.section.current')?.id === want, id);
    await page.keyboard.press('j');
    await current('test-case');
    await page.keyboard.press('j');
    await current('test-case--strategic-significance');
    await page.keyboard.press('k');
    await current('test-case');
    await page.keyboard.press('k');
    await current('in-brief');
  });

  test('switches between light and dark themes', async () => {
    // Property: the toggle flips the theme and the page colours follow.
    const bg = () => page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
    const light = await bg();
    await page.locator('#theme-toggle').click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    assert.notEqual(await bg(), light);
    await page.keyboard.press('t');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'light');
  });

  test('says the host is missing and disables host features', async () => {
    // Property: the reader works offline and explains what is off and why.
    await page.waitForSelector('body[data-host-ready="true"]');
    assert.equal(await page.getAttribute('body', 'data-host-state'), 'not_installed');
    assert.ok(await page.locator('#host-notice').isVisible());
    assert.match(await page.locator('#host-fix-command').innerText(), /bellwether-host install --browser chromium/);
    assert.ok(await page.locator('.section-tools button').first().isDisabled());
    assert.ok(await page.locator('#my-notes-button').isDisabled());
  });

  test('the popup says "not installed" with the command that fixes it', async () => {
    // Property: the popup gives the exact fix.
    const popup = await openExtensionPage(context, 'popup/popup.html');
    await popup.waitForSelector('body[data-host-state="not_installed"]');
    assert.equal(await popup.locator('#host-status').innerText(), 'Not installed');
    assert.equal(await popup.locator('#host-fix-command').innerText(), 'bellwether-host install --browser chromium');
    assert.match(await popup.locator('#host-fix').innerText(), /scripts\/run/);
    await popup.close();
  });

  test('the security page shows the extension id and the missing host', async () => {
    // Property: the stable ID from the manifest key is the one the browser uses.
    const security = await openExtensionPage(context, 'security/security.html');
    await security.waitForSelector('body[data-ready="true"]');
    assert.equal(await security.locator('#extension-id').innerText(), 'obajhhhbadjoohblhiihokphelkapblg');
    assert.equal(await security.locator('#host-state').innerText(), 'Not installed');
    assert.equal(await security.locator('#oneshot-result').getAttribute('data-error'), 'host_unavailable');
    assert.equal(await security.getAttribute('body', 'data-vault-state'), 'unavailable');
    await security.close();
  });
});
