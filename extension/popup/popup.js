// The toolbar popup: what Bellwether is, a way into the reader, and whether
// the host is there (with the exact command that installs it when not).

import { ext, showHostInstallCommand } from '../lib/browser-api.js';
import { choosePack, formatDate, loadBundledPack } from '../lib/pack.js';
import * as rpc from '../lib/rpc.js';
import * as updates from '../lib/updates.js';

const $ = (id) => document.getElementById(id);

function renderHost(snapshot) {
  const dot = $('host-dot');
  const status = $('host-status');
  dot.dataset.state = snapshot?.state ?? 'disconnected';
  document.body.dataset.hostState = snapshot?.state ?? 'unknown';
  const notInstalled = snapshot?.state === 'not_installed' || snapshot?.state === 'forbidden';
  $('host-fix').hidden = !notInstalled;
  if (snapshot?.state === 'connected') {
    const hello = snapshot.hello ?? {};
    status.textContent = `Connected · version ${hello.version ?? '?'}`;
    status.dataset.version = hello.version ?? '';
  } else if (snapshot?.state === 'not_installed') {
    status.textContent = 'Not installed';
  } else if (snapshot?.state === 'forbidden') {
    status.textContent = 'Installed, but not for this extension';
  } else if (snapshot?.state === 'connecting') {
    status.textContent = 'Connecting…';
  } else {
    status.textContent = `Not connected${snapshot?.lastError ? ` (${snapshot.lastError})` : ''}`;
  }
}

async function main() {
  showHostInstallCommand();
  $('open-reader').addEventListener('click', async () => {
    await ext.tabs.create({ url: ext.runtime.getURL('reader/reader.html') });
    window.close();
  });
  const showEdition = (pack, updated) => {
    $('edition').textContent =
      `Edition ${pack.version} · ${formatDate(pack.published)} · ${pack.parts.length} parts${updated ? ' · updated' : ''}`;
  };
  const bundled = loadBundledPack().then((pack) => {
    showEdition(pack, false);
    return pack;
  }).catch(() => null);
  rpc.onEvent((message) => {
    if (message.type === 'host-state') renderHost(message.snapshot);
  });
  let snapshot;
  try {
    snapshot = await rpc.hostState();
  } catch (e) {
    snapshot = { state: 'disconnected', lastError: e.message };
  }
  renderHost(snapshot);
  // The edition the reader will show: a newer verified pack from the host wins.
  if (snapshot.state === 'connected' && rpc.hostHas(snapshot, 'content.get')) {
    try {
      const base = await bundled;
      const chosen = base ? choosePack(base, (await updates.newestPack())?.pack ?? null) : null;
      if (chosen?.source === 'update') showEdition(chosen.pack, true);
    } catch {
      // Keep the bundled edition's line.
    }
  }
}

main();
