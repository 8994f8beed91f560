#!/usr/bin/env node
// Opens the Bellwether reader in Debian's Chromium with the unpacked extension
// and the native host registered for a dedicated profile.
//
// With a display: a normal browser window on the reader, until you close it.
// Without one (or with --headless): headless Chromium, a real round trip to
// the host (over a port and a one-shot message), a screenshot of the reader,
// and a short status on stdout. Exit status 1 if the round trip fails.
//
// usage: node scripts/open-reader.mjs [--host-bin PATH] [--profile DIR]
//          [--headless | --headed] [--screenshot FILE] [--theme light|dark]
//          [--sandbox] [--no-install] [--wait-for-update] [--timeout SECONDS]
//
//   --sandbox          use a throwaway HOME/XDG tree (docs, CI) instead of
//                      the current user's (the default: your real vault)
//   --wait-for-update  press "Check now" and wait until the reader shows a
//                      content version newer than the bundled one

import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import {
  closeBrowser,
  findHostBinary,
  installHost,
  kExtensionDir,
  launchBrowser,
  makeSandbox,
  openExtensionPage,
  waitForServiceWorker,
} from '../tests/browser/lib/launch.mjs';

function usage(message) {
  if (message) process.stderr.write(`open-reader: ${message}\n`);
  process.stderr.write(
    'usage: node scripts/open-reader.mjs [--host-bin PATH] [--profile DIR] [--headless|--headed]\n' +
      '         [--screenshot FILE] [--theme light|dark] [--sandbox] [--no-install]\n' +
      '         [--wait-for-update] [--timeout SECONDS]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const args = { install: true, theme: 'light', timeout: 60 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
    if (a === '--host-bin') args.hostBin = resolve(value());
    else if (a === '--profile') args.profile = resolve(value());
    else if (a === '--screenshot') args.screenshot = resolve(value());
    else if (a === '--theme') args.theme = value();
    else if (a === '--headless') args.headless = true;
    else if (a === '--headed') args.headless = false;
    else if (a === '--sandbox') args.sandbox = true;
    else if (a === '--no-install') args.install = false;
    else if (a === '--wait-for-update') args.waitForUpdate = true;
    else if (a === '--timeout') args.timeout = Number(value());
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument: ${a}`);
  }
  if (args.theme !== 'light' && args.theme !== 'dark') usage('--theme is light or dark');
  if (!(args.timeout > 0)) usage('--timeout must be a positive number of seconds');
  if (args.headless === undefined) args.headless = !(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
  return args;
}

// The current user's environment and a dedicated Chromium profile.
function userSession(profile) {
  const config = process.env.XDG_CONFIG_HOME || join(homedir(), '.config');
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return { profile: profile ?? join(config, 'bellwether', 'chromium-profile'), env, cleanup: async () => {} };
}

async function roundTrip(context, timeoutMs) {
  const page = await openExtensionPage(context, 'security/security.html');
  try {
    await page.waitForSelector('body[data-ready="true"]', { timeout: timeoutMs });
    const read = async (id) => ({
      version: await page.locator(id).getAttribute('data-version'),
      protocol: await page.locator(id).getAttribute('data-protocol'),
      text: (await page.locator(id).innerText()).trim(),
    });
    return { port: await read('#port-result'), oneShot: await read('#oneshot-result') };
  } finally {
    await page.close();
  }
}

// Asks the host to check now (as the security page's "Check now" does) and
// waits until the reader shows the edition the host ended up with, which must
// be newer than the one bundled with the extension. Another process holding
// the update lock (the host's own schedule) only delays the check.
async function waitForUpdate(context, reader, timeoutMs) {
  const bundled = JSON.parse(await readFile(join(kExtensionDir, 'content', 'analysis-pack.json'), 'utf8')).version;
  const security = await openExtensionPage(context, 'security/security.html');
  try {
    await security.waitForSelector('body[data-ready="true"]', { timeout: timeoutMs });
    if (!(await security.locator('#update-check').isVisible())) {
      throw new Error(`updates are not available: ${(await security.locator('#update-unavailable').innerText()).trim()}`);
    }
    let message = '';
    for (let attempt = 0; attempt < 30; attempt++) {
      await security.locator('#update-check').click();
      await security.waitForFunction(() => {
        const m = document.getElementById('update-message').textContent;
        return m && m !== 'Checking for updates…';
      }, null, { timeout: timeoutMs });
      message = (await security.locator('#update-message').innerText()).trim();
      if (!/already checking/i.test(message)) break;
      await security.waitForTimeout(1000);
    }
    const version = Number(await security.getAttribute('body', 'data-content-version'));
    if (!(version > bundled)) throw new Error(`no newer edition was installed: ${message}`);
    await reader.waitForFunction((v) => Number(document.body.dataset.packVersion) === v, version, { timeout: timeoutMs });
    return { version, message, progress: await security.getAttribute('body', 'data-update-progress') };
  } finally {
    await security.close();
  }
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const hostBin = args.hostBin ?? findHostBinary();
  if (!hostBin) usage('bellwether-host not found: build it or pass --host-bin');
  const timeoutMs = args.timeout * 1000;

  const session = args.sandbox ? await makeSandbox('bellwether-reader-') : userSession(args.profile);
  if (args.sandbox && args.profile) session.profile = args.profile;
  await mkdir(session.profile, { recursive: true, mode: 0o700 });

  let manifestPath = join(session.profile, 'NativeMessagingHosts', 'io.bellwether.host.json');
  if (args.install) manifestPath = (await installHost(hostBin, session)).manifestPath;

  const context = await launchBrowser(session, { headless: args.headless, colorScheme: args.theme });
  let ok = false;
  try {
    await waitForServiceWorker(context, timeoutMs);
    const reader = await openExtensionPage(context, 'reader/reader.html');
    await reader.waitForSelector('body[data-host-ready="true"]', { timeout: timeoutMs });

    const update = args.waitForUpdate ? await waitForUpdate(context, reader, timeoutMs) : null;

    if (!args.headless) {
      for (const page of context.pages()) if (page !== reader) await page.close();
      if (update) process.stdout.write(`A verified update arrived: the reader shows edition ${update.version}.\n`);
      process.stdout.write('Bellwether is open in Chromium. Close the browser window to finish.\n');
      await new Promise((done) => context.on('close', done));
      return 0;
    }

    const trip = await roundTrip(context, timeoutMs);
    const contentVersion = Number(await reader.getAttribute('body', 'data-pack-version'));
    const source = await reader.getAttribute('body', 'data-pack-source');

    if (args.screenshot) {
      await mkdir(dirname(args.screenshot), { recursive: true });
      await reader.evaluate(() => window.scrollTo(0, 0));
      await reader.screenshot({ path: args.screenshot });
    }

    ok = Boolean(trip.port.version) && trip.port.version === trip.oneShot.version;
    const lines = [
      ok
        ? `Bellwether host ${trip.port.version}, protocol ${trip.port.protocol}: round trip OK over a port and a one-shot message`
        : `Host round trip FAILED — port: ${trip.port.text}; one-shot: ${trip.oneShot.text}`,
      `Host manifest: ${manifestPath}`,
      `Host binary: ${hostBin}`,
      `Reader content: version ${contentVersion} (${source === 'update' ? 'delivered by a verified update' : 'bundled'})`,
    ];
    if (update) {
      const bytes = update.progress?.split('/')[1];
      lines.push(`Update check: ${update.message}${bytes ? ` (${bytes} bytes downloaded and verified)` : ''}`);
    }
    if (args.screenshot) lines.push(`Reader screenshot: ${args.screenshot}`);
    process.stdout.write(`${lines.join('\n')}\n`);
    return ok ? 0 : 1;
  } finally {
    await closeBrowser(context);
    await session.cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`open-reader: ${e?.message ?? e}\n`);
    process.exit(1);
  },
);
