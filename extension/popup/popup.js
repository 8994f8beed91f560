// The toolbar popup: what Bellwether is, a way into the reader, and whether
// the host is there (with the exact command that installs it when not).

import { ext } from '../lib/browser-api.js';
import { formatDate, loadBundledPack } from '../lib/pack.js';
import * as rpc from '../lib/rpc.js';

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
  $('open-reader').addEventListener('click', async () => {
    await ext.tabs.create({ url: ext.runtime.getURL('reader/reader.html') });
    window.close();
  });
  loadBundledPack()
    .then((pack) => {
      $('edition').textContent = `Edition ${pack.version} · ${formatDate(pack.published)} · ${pack.parts.length} parts`;
    })
    .catch(() => {});
  rpc.onEvent((message) => {
    if (message.type === 'host-state') renderHost(message.snapshot);
  });
  try {
    renderHost(await rpc.hostState());
  } catch (e) {
    renderHost({ state: 'disconnected', lastError: e.message });
  }
}

main();
