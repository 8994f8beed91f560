// Launching Debian's Chromium with the unpacked Bellwether extension and the
// native host registered in a throwaway profile. Shared by the browser tests
// and scripts/open-reader.mjs (the README's run command).
//
// Every run gets its own sandbox directory holding HOME, the XDG directories
// and TMPDIR, so the host's vault, logs and update state never touch the
// user's real ones. Chromium never comes from a download: Debian's
// /usr/bin/chromium (or $BELLWETHER_CHROMIUM).

import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';

const execFileAsync = promisify(execFile);

export const kRepoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const kExtensionDir = join(kRepoRoot, 'extension');
// Fixed by the manifest's "key" (see extension/README.md).
export const kExtensionId = 'obajhhhbadjoohblhiihokphelkapblg';
export const kHostName = 'io.bellwether.host';
export const kChromium = process.env.BELLWETHER_CHROMIUM || '/usr/bin/chromium';

export function extensionUrl(path) {
  return `chrome-extension://${kExtensionId}/${path}`;
}

// A binary of the build: $envName (CTest sets it), else the first build
// directory that has `relPath`.
function findBuilt(envName, relPath) {
  const fromEnv = process.env[envName];
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : null;
  const dirs = ['build/dev', 'build/release', 'build/debug', 'build'];
  try {
    for (const d of readdirSync(join(kRepoRoot, 'build'))) dirs.push(`build/${d}`);
  } catch {
    // No build directory.
  }
  for (const dir of dirs) {
    const candidate = join(kRepoRoot, dir, relPath);
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

export const findHostBinary = () => findBuilt('BELLWETHER_HOST_BIN', 'native-host/src/app/bellwether-host');
// tests/vault/vault_stress_tool: damages records on disk for integrity tests.
export const findVaultTool = () => findBuilt('BELLWETHER_VAULT_TOOL', 'tests/vault/vault_stress_tool');

// A private directory tree standing in for the user's home.
export async function makeSandbox(prefix = 'bellwether-browser-') {
  const root = await mkdtemp(join(process.env.BELLWETHER_TEST_TMP || tmpdir(), prefix));
  const dirs = {
    home: join(root, 'home'),
    config: join(root, 'config'),
    data: join(root, 'data'),
    state: join(root, 'state'),
    cache: join(root, 'cache'),
    tmp: join(root, 'tmp'),
    profile: join(root, 'profile'),
  };
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true, mode: 0o700 });
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: process.env.LANG ?? 'C.UTF-8',
    HOME: dirs.home,
    XDG_CONFIG_HOME: dirs.config,
    XDG_DATA_HOME: dirs.data,
    XDG_STATE_HOME: dirs.state,
    XDG_CACHE_HOME: dirs.cache,
    TMPDIR: dirs.tmp,
  };
  // Deliberately no DBUS_SESSION_BUS_ADDRESS: no desktop keyring in tests
  // unless a test provides one, so the host keeps its key in a key file.
  return {
    root,
    dirs,
    env,
    profile: dirs.profile,
    async cleanup() {
      if (!process.env.BELLWETHER_KEEP_SANDBOX) await rm(root, { recursive: true, force: true });
    },
  };
}

// Runs `bellwether-host install --browser chromium --user-data-dir PROFILE`
// with the sandbox environment; returns the manifest path and its contents.
export async function installHost(hostBin, sandbox, extraArgs = []) {
  const args = ['install', '--browser', 'chromium', '--user-data-dir', sandbox.profile, ...extraArgs];
  const { stdout, stderr } = await execFileAsync(hostBin, args, { env: sandbox.env, timeout: 30000 });
  const manifestPath = join(sandbox.profile, 'NativeMessagingHosts', `${kHostName}.json`);
  const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  return { manifestPath, manifest, stdout, stderr };
}

export function chromiumArgs(extensionDir = kExtensionDir) {
  return [
    `--disable-extensions-except=${extensionDir}`,
    `--load-extension=${extensionDir}`,
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ];
}

// A persistent context (extensions need one) on the sandbox's profile.
export async function launchBrowser(sandbox, { headless = true, viewport = { width: 1280, height: 800 }, colorScheme = 'light', extraEnv = {} } = {}) {
  if (!existsSync(kChromium)) {
    throw new Error(`${kChromium} not found: install Debian's chromium (apt-get install -y chromium)`);
  }
  const env = { ...sandbox.env, ...extraEnv };
  if (!headless) {
    for (const name of ['DISPLAY', 'WAYLAND_DISPLAY', 'XAUTHORITY', 'XDG_RUNTIME_DIR']) {
      if (process.env[name]) env[name] = process.env[name];
    }
  }
  const context = await chromium.launchPersistentContext(sandbox.profile, {
    executablePath: kChromium,
    headless,
    viewport: headless ? viewport : null,
    colorScheme,
    args: chromiumArgs(),
    ignoreDefaultArgs: ['--disable-extensions'],
    env,
    timeout: 60000,
  });
  return context;
}

// Resolves once the extension's service worker runs (proves it loaded).
export async function waitForServiceWorker(context, timeoutMs = 30000) {
  const prefix = `chrome-extension://${kExtensionId}/`;
  const existing = context.serviceWorkers().find((w) => w.url().startsWith(prefix));
  if (existing) return existing;
  return context.waitForEvent('serviceworker', {
    predicate: (w) => w.url().startsWith(prefix),
    timeout: timeoutMs,
  });
}

export async function openExtensionPage(context, path) {
  const page = await context.newPage();
  await page.goto(extensionUrl(path));
  return page;
}

// Best effort: the browser's own pages closed, the context torn down.
export async function closeBrowser(context) {
  if (!context) return;
  try {
    await context.close();
  } catch {
    // Already closed.
  }
}
