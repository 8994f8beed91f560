// A minimal Marionette client for Debian's firefox-esr (playwright-core
// cannot drive a stock Firefox). Marionette frames are "<length>:<json>";
// commands are [0, id, name, params], replies [1, id, error, result].
//
// Used only by tests/browser/firefox.test.mjs: it starts Firefox headless on
// a sandbox profile, installs the unpacked extension as a temporary add-on
// and opens its pages from the chrome context (content cannot navigate to
// moz-extension:// URLs).

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

export const kFirefox = process.env.BELLWETHER_FIREFOX || '/usr/bin/firefox-esr';

export function firefoxAvailable() {
  return existsSync(kFirefox);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

export class Marionette {
  // `prefs`: more preferences for the profile, by name.
  static async launch(sandbox, { timeoutMs = 30000, prefs = {} } = {}) {
    const port = await freePort();
    const profile = join(sandbox.root, 'firefox-profile');
    await mkdir(profile, { recursive: true, mode: 0o700 });
    await writeFile(join(profile, 'user.js'), [
      `user_pref("marionette.port", ${port});`,
      'user_pref("browser.shell.checkDefaultBrowser", false);',
      'user_pref("app.update.disabledForTesting", true);',
      'user_pref("datareporting.policy.dataSubmissionEnabled", false);',
      'user_pref("browser.aboutwelcome.enabled", false);',
      ...Object.entries(prefs).map(([name, value]) => `user_pref(${JSON.stringify(name)}, ${JSON.stringify(value)});`),
      '',
    ].join('\n'));
    const child = spawn(kFirefox, ['--headless', '--no-remote', '--marionette', '--remote-allow-system-access',
      '--profile', profile], { env: sandbox.env, stdio: 'ignore' });
    const client = new Marionette(child);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await client.connect_(port);
        break;
      } catch (e) {
        if (Date.now() > deadline || child.exitCode !== null) {
          child.kill('SIGKILL');
          throw new Error(`Firefox did not open Marionette on port ${port}: ${e.message}`);
        }
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    await client.command('WebDriver:NewSession', { capabilities: {} });
    return client;
  }

  constructor(child) {
    this.child = child;
    this.socket = null;
    this.nextId = 1;
    this.waiting = new Map();
    this.buffer = Buffer.alloc(0);
  }

  connect_(port) {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let greeted = false;
      socket.once('error', reject);
      socket.on('data', (chunk) => {
        this.buffer = Buffer.concat([this.buffer, chunk]);
        for (;;) {
          const colon = this.buffer.indexOf(':');
          if (colon < 0) break;
          const length = Number(this.buffer.subarray(0, colon).toString());
          if (this.buffer.length < colon + 1 + length) break;
          const message = JSON.parse(this.buffer.subarray(colon + 1, colon + 1 + length).toString());
          this.buffer = this.buffer.subarray(colon + 1 + length);
          if (!Array.isArray(message)) {
            if (!greeted) {
              greeted = true;
              this.socket = socket;
              resolve();
            }
            continue;
          }
          const waiter = this.waiting.get(message[1]);
          if (waiter) {
            this.waiting.delete(message[1]);
            waiter(message);
          }
        }
      });
    });
  }

  async command(name, params = {}, timeoutMs = 60000) {
    const id = this.nextId++;
    const reply = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`Marionette ${name} timed out`));
      }, timeoutMs);
      this.waiting.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
      const body = JSON.stringify([0, id, name, params]);
      this.socket.write(`${Buffer.byteLength(body)}:${body}`);
    });
    if (reply[2]) throw new Error(`${name}: ${reply[2].error}: ${reply[2].message}`);
    // The result is {value}; `null` and `false` are values too (a `??`
    // here once turned a null result into the truthy wrapper).
    const body = reply[3];
    return body !== null && typeof body === 'object' && 'value' in body ? body.value : body;
  }

  // Runs `script` (a function body; `arguments` holds args) in the current context.
  execute(script, args = []) {
    return this.command('WebDriver:ExecuteScript', { script, args });
  }

  // Like execute, but the body must call arguments[arguments.length - 1](result).
  executeAsync(script, args = []) {
    return this.command('WebDriver:ExecuteAsyncScript', { script, args });
  }

  async installTemporaryAddon(path) {
    return this.command('Addon:Install', { path, temporary: true });
  }

  // The moz-extension:// base URL of an installed add-on (random per profile).
  async extensionBase(addonId) {
    await this.command('Marionette:SetContext', { value: 'chrome' });
    try {
      return await this.execute('const p = WebExtensionPolicy.getByID(arguments[0]); return p ? p.getURL("") : null;',
        [addonId]);
    } finally {
      await this.command('Marionette:SetContext', { value: 'content' });
    }
  }

  // Opens an extension page in a new tab (from chrome: content may not) and
  // makes it the current browsing context.
  async openTab(url) {
    await this.command('Marionette:SetContext', { value: 'chrome' });
    try {
      await this.execute(
        'gBrowser.selectedTab = gBrowser.addTab(arguments[0], ' +
          '{ triggeringPrincipal: Services.scriptSecurityManager.getSystemPrincipal() });',
        [url],
      );
    } finally {
      await this.command('Marionette:SetContext', { value: 'content' });
    }
    const handles = await this.command('WebDriver:GetWindowHandles');
    await this.command('WebDriver:SwitchToWindow', { handle: handles[handles.length - 1] });
  }

  // Polls `expression` (a function body returning a value) until it is truthy.
  async waitFor(script, { timeoutMs = 30000, args = [] } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      let value;
      try {
        value = await this.execute(script, args);
      } catch {
        value = null; // The page may be between documents.
      }
      if (value) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for: ${script}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async close() {
    try {
      await this.command('Marionette:Quit', { flags: ['eForceQuit'] }, 10000);
    } catch {
      // Already gone.
    }
    this.socket?.destroy();
    if (this.child.exitCode === null) {
      await new Promise((resolve) => {
        const timer = setTimeout(() => {
          this.child.kill('SIGKILL');
          resolve();
        }, 10000);
        this.child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}
