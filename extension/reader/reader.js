// The reader page: renders the newest content pack, and — when the host is
// there — the reader's private notes, highlights, bookmarks and reading
// position from the encrypted vault.
//
// The analysis itself never depends on the host: the bundled pack renders
// first, host features switch on as they become available.

import { showHostInstallCommand } from '../lib/browser-api.js';
import { plainWords } from '../lib/protocol.js';
import * as rpc from '../lib/rpc.js';
import * as vault from '../lib/vault.js';
import * as updates from '../lib/updates.js';
import { choosePack, formatDate, formatDateTime, loadBundledPack } from '../lib/pack.js';
import { buildSections, el, markText, renderBlock, unmarkText } from '../lib/render.js';
import { setTheme, storedTheme, toggleTheme } from '../lib/theme.js';

const $ = (id) => document.getElementById(id);
// The offline banner's own wording (reader.html), restored after a refusal.
const kHostOfflineText = $('host-notice-text').textContent;

const state = {
  bundled: null,
  pack: null,
  source: 'bundled',
  sections: [],
  host: null, // Connection snapshot from the service worker.
  vaultUsable: false, // Host connected, vault methods present, unlocked.
  vaultLocked: false,
  notes: new Map(), // sectionId -> {value, revision}
  bookmarks: new Map(), // sectionId -> {value, revision}
  highlights: new Map(), // key -> {value, revision}
  reading: null, // {value, revision}
  currentSection: null,
  editing: null, // sectionId whose note editor is open
  contentWaiting: false, // a new edition waits for the note editor to close
  search: { query: '', matches: [], index: -1 },
};

// ---------------------------------------------------------------- utilities

let toastTimer = null;
function toast(message) {
  const node = $('toast');
  node.textContent = message;
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => {
    node.hidden = true;
  }, 4500);
}

function recordKey(sectionId) {
  return `${state.pack.packId}/${sectionId}`;
}

// Short stable id for a highlighted passage (not a security hash).
function textId(text) {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

function sectionById(id) {
  return state.sections.find((s) => s.id === id) ?? null;
}

function sectionElement(id) {
  return document.querySelector(`.section[data-section="${CSS.escape(id)}"]`);
}

function isTyping(target) {
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
}

// Runs a vault operation; a locked vault asks for the passphrase, anything
// else is explained in plain words. Returns undefined on failure.
async function withVault(operation) {
  try {
    return await operation();
  } catch (e) {
    if (e.is?.('vault_locked')) {
      setVaultLocked(true);
      toast(plainWords(e));
    } else {
      toast(plainWords(e));
      console.warn('[bellwether] vault operation failed:', e);
    }
    return undefined;
  }
}

// ---------------------------------------------------------------- rendering

function renderEdition() {
  const pack = state.pack;
  $('pack-title').textContent = pack.title;
  $('pack-version').textContent = `Version ${pack.version}`;
  $('pack-date').textContent = formatDate(pack.published);
  $('pack-source').textContent = state.source === 'update' ? 'updated' : 'bundled';
  $('pack-source').title =
    state.source === 'update'
      ? 'Delivered by a verified update (The Update Framework)'
      : 'Shipped with the extension';
  const list = $('changes-list');
  list.replaceChildren(...pack.changes.map((c) => el('li', {}, c)));
  document.body.dataset.packVersion = String(pack.version);
  document.body.dataset.packSource = state.source;
}

function sectionTools(section) {
  const bookmark = el('button', {
    type: 'button',
    class: 'bookmark-toggle',
    'aria-pressed': 'false',
    title: 'Bookmark this section (b)',
    onclick: () => toggleBookmark(section.id),
  }, '☆ Bookmark');
  const note = el('button', {
    type: 'button',
    class: 'note-toggle',
    title: 'Write a private note on this section (n)',
    onclick: () => openNoteEditor(section.id),
  }, '✎ Note');
  return el('div', { class: 'section-tools no-mark' }, bookmark, note);
}

function renderArticle() {
  const article = $('article');
  const pack = state.pack;
  state.sections = buildSections(pack);
  const header = el('header', { class: 'article-header' },
    el('div', { class: 'article-kicker' }, 'Analysis'),
    el('h1', {}, pack.title),
    el('div', { class: 'article-byline' },
      `Version ${pack.version} · Published ${formatDate(pack.published)} · ${pack.parts.length} parts`));
  const parts = pack.parts.map((part, index) => {
    const partNode = el('section', { class: 'part', dataset: { part: part.id } });
    for (const section of state.sections.filter((s) => s.partId === part.id)) {
      const heading = section.level === 2
        ? el('h2', { id: `h-${section.id}` }, el('span', { class: 'part-number' }, `Part ${index + 1}`), section.title)
        : el('h3', { id: `h-${section.id}` }, section.title);
      const node = el('section', {
        class: 'section',
        id: section.id,
        dataset: { section: section.id, level: String(section.level) },
        'aria-labelledby': `h-${section.id}`,
      },
      el('div', { class: 'section-head' }, heading, sectionTools(section)),
      el('div', { class: 'note-slot no-mark' }),
      ...section.blocks.map(renderBlock).filter(Boolean));
      partNode.append(node);
    }
    return partNode;
  });
  article.replaceChildren(header, ...parts);
  article.dataset.packVersion = String(pack.version);

  const toc = $('toc');
  toc.replaceChildren(...pack.parts.map((part) => {
    const inner = state.sections
      .filter((s) => s.partId === part.id && s.level === 3)
      .map((s) => el('li', {}, el('a', { href: `#${s.id}`, dataset: { section: s.id } }, s.title)));
    return el('li', {},
      el('a', { href: `#${part.id}`, dataset: { section: part.id } }, part.title),
      inner.length > 0 ? el('ol', {}, inner) : null);
  }));

  $('article-footer').replaceChildren(
    el('p', {}, `Content pack “${pack.packId}”, version ${pack.version}, published ${formatDate(pack.published)}` +
      (state.source === 'update' ? ', delivered by a verified update.' : ', bundled with the extension.')),
  );
  renderEdition();
  applyVaultData();
  updateHostControls();
  if (state.search.query) runSearch(state.search.query, { keepIndex: true });
  trackCurrentSection();
}

// ---------------------------------------------------------------- vault data

function applyVaultData() {
  for (const section of state.sections) {
    const node = sectionElement(section.id);
    if (!node) continue;
    const bookmarked = state.bookmarks.has(section.id);
    const button = node.querySelector('.bookmark-toggle');
    button.setAttribute('aria-pressed', String(bookmarked));
    button.textContent = bookmarked ? '★ Bookmarked' : '☆ Bookmark';
    const tocLink = document.querySelector(`.toc a[data-section="${CSS.escape(section.id)}"]`);
    tocLink?.querySelector('.bookmark-flag')?.remove();
    if (bookmarked && tocLink) tocLink.append(el('span', { class: 'bookmark-flag', 'aria-label': 'bookmarked' }, '★'));
    if (state.editing !== section.id) renderNote(section.id);
  }
  unmarkText($('article'), 'hl');
  for (const [key, record] of state.highlights) applyHighlight(key, record.value);
}

function renderNote(sectionId) {
  const node = sectionElement(sectionId);
  if (!node) return;
  const slot = node.querySelector('.note-slot');
  const record = state.notes.get(sectionId);
  if (!record || !record.value?.text) {
    slot.replaceChildren();
    return;
  }
  slot.replaceChildren(el('div', { class: 'note', dataset: { noteFor: sectionId } },
    el('div', { class: 'note-label' }, 'Private note'),
    el('p', { class: 'note-text' }, record.value.text),
    el('div', { class: 'note-meta' },
      `Saved ${formatDateTime(record.value.updated)} · encrypted in your vault · `,
      el('a', { href: '#', onclick: (e) => { e.preventDefault(); openNoteEditor(sectionId); } }, 'Edit'))));
}

// `draft`, when given, is the reader's unsaved text; the editor then also
// shows the version saved meanwhile elsewhere (unless `savedElsewhere` is
// false), so the two can be merged.
function openNoteEditor(sectionId, draft, { savedElsewhere = draft !== undefined } = {}) {
  if (!state.vaultUsable) {
    toast(state.vaultLocked ? 'Unlock your vault to write notes.' : 'Notes need the Bellwether host (see the note at the top).');
    return;
  }
  const node = sectionElement(sectionId);
  if (!node) return;
  state.editing = sectionId;
  const record = state.notes.get(sectionId);
  const textarea = el('textarea', {
    class: 'note-input',
    'aria-label': `Private note on ${sectionById(sectionId)?.title ?? 'this section'}`,
    placeholder: 'Your private note on this section. Only you can read it: it is encrypted in your vault.',
  });
  textarea.value = draft ?? record?.value?.text ?? '';
  const elsewhere = savedElsewhere && record?.value?.text
    ? el('p', { class: 'note-conflict' }, 'Saved meanwhile in another tab or window: ', el('q', {}, record.value.text))
    : null;
  const save = el('button', { type: 'submit', class: 'primary note-save' }, 'Save note');
  const cancel = el('button', { type: 'button', class: 'note-cancel', onclick: () => closeNoteEditor(sectionId) }, 'Cancel');
  const remove = record
    ? el('button', { type: 'button', class: 'danger note-delete', onclick: () => deleteNote(sectionId) }, 'Delete note')
    : null;
  const form = el('form', { class: 'note note-editor' },
    el('div', { class: 'note-label' }, 'Private note'),
    ...(elsewhere ? [elsewhere] : []),
    textarea,
    el('div', { class: 'note-actions' }, save, cancel, remove));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    saveNote(sectionId, textarea.value);
  });
  textarea.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      saveNote(sectionId, textarea.value);
    } else if (e.key === 'Escape') {
      e.stopPropagation();
      closeNoteEditor(sectionId);
    }
  });
  node.querySelector('.note-slot').replaceChildren(form);
  textarea.focus();
}

// The editor again, with the reader's draft, after the article was
// re-rendered under it.
function reopenNoteEditor(sectionId, draft) {
  state.editing = null;
  openNoteEditor(sectionId, draft, { savedElsewhere: false });
}

function closeNoteEditor(sectionId) {
  renderNote(sectionId);
  if (state.editing === sectionId) editorClosed();
}

// The note editor is gone: a new edition that waited for it (refreshContent)
// can now replace the article.
function editorClosed() {
  state.editing = null;
  if (state.contentWaiting) {
    state.contentWaiting = false;
    refreshContent();
  }
}

// One save at a time: a double click (or Ctrl+Enter while saving) would send
// a second save with the same expected revision and report a conflict with
// the reader's own text.
let noteSaveRunning = false;
async function saveNote(sectionId, text) {
  if (noteSaveRunning) return;
  noteSaveRunning = true;
  const button = sectionElement(sectionId)?.querySelector('.note-save');
  if (button) button.disabled = true;
  try {
    await saveNoteNow(sectionId, text);
  } finally {
    noteSaveRunning = false;
    if (button) button.disabled = false;
  }
}

async function saveNoteNow(sectionId, text) {
  const trimmed = text.trim();
  if (!trimmed) {
    await deleteNote(sectionId);
    return;
  }
  const section = sectionById(sectionId);
  const previous = state.notes.get(sectionId);
  const value = {
    text: trimmed,
    sectionId,
    sectionTitle: section?.title ?? sectionId,
    partTitle: section?.partTitle ?? '',
    updated: new Date().toISOString(),
  };
  const key = recordKey(sectionId);
  try {
    // Revision 0 for a new note: create-only, so a note another tab created
    // meanwhile is never overwritten silently.
    const reply = await vault.set(vault.Namespaces.notes, key, value, previous?.revision ?? 0);
    state.notes.set(sectionId, { value, revision: reply?.revision });
    renderNote(sectionId);
    editorClosed();
    toast('Note saved, encrypted in your vault.');
  } catch (e) {
    if (e.is?.('conflict')) {
      // Someone else (another tab) saved first: show theirs, keep ours in the editor.
      const latest = await withVault(() => vault.get(vault.Namespaces.notes, key));
      // undefined: the read failed (withVault said why); the editor and the
      // draft in it stay as they are.
      if (latest === undefined) return;
      if (latest) state.notes.set(sectionId, latest);
      else state.notes.delete(sectionId);  // Deleted meanwhile: saving again creates it.
      toast(plainWords(e));
      openNoteEditor(sectionId, text);
    } else if (e.is?.('vault_locked')) {
      setVaultLocked(true);
      toast(plainWords(e));
    } else {
      toast(plainWords(e));
    }
  }
}

async function deleteNote(sectionId) {
  const previous = state.notes.get(sectionId);
  if (previous) {
    const key = recordKey(sectionId);
    const outcome = await withVault(async () => {
      try {
        await vault.remove(vault.Namespaces.notes, key, previous.revision);
        return 'deleted';
      } catch (e) {
        if (!e.is?.('conflict')) throw e;
        return 'conflict';
      }
    });
    if (outcome === undefined) return;
    if (outcome === 'conflict') {
      // Changed in another tab since this one read it: show it as it is now
      // and let the reader decide again, rather than delete unseen text.
      const latest = await withVault(() => vault.get(vault.Namespaces.notes, key));
      if (latest === undefined) return;
      if (latest) state.notes.set(sectionId, latest);
      else state.notes.delete(sectionId);
      renderNote(sectionId);
      editorClosed();
      toast(latest
        ? 'This note was changed in another tab or window. Its latest text is shown: delete it again if you still want it gone.'
        : 'Note deleted.');
      return;
    }
    state.notes.delete(sectionId);
    toast('Note deleted.');
  }
  renderNote(sectionId);
  editorClosed();
}

async function toggleBookmark(sectionId) {
  if (!state.vaultUsable) {
    toast(state.vaultLocked ? 'Unlock your vault to bookmark sections.' : 'Bookmarks need the Bellwether host.');
    return;
  }
  const key = recordKey(sectionId);
  const existing = state.bookmarks.get(sectionId);
  if (existing) {
    // No expected revision: unbookmarking means "not bookmarked", whatever
    // another tab did to the bookmark meanwhile.
    const ok = await withVault(() => vault.remove(vault.Namespaces.bookmarks, key));
    if (ok === undefined) return;
    state.bookmarks.delete(sectionId);
  } else {
    const section = sectionById(sectionId);
    const value = { sectionId, sectionTitle: section?.title ?? sectionId, created: new Date().toISOString() };
    const reply = await withVault(() => vault.set(vault.Namespaces.bookmarks, key, value));
    if (reply === undefined) return;
    state.bookmarks.set(sectionId, { value, revision: reply?.revision });
  }
  applyVaultData();
}

function applyHighlight(key, value) {
  const node = sectionElement(value?.sectionId);
  if (!node || !value.text) return;
  const [marks] = markText(node, value.text, 'hl', { limit: 1 });
  for (const mark of marks ?? []) {
    mark.dataset.key = key;
    mark.title = 'Highlighted · click to remove';
  }
}

async function addHighlight(sectionId, text) {
  const key = `${recordKey(sectionId)}/${textId(text)}`;
  const value = { sectionId, sectionTitle: sectionById(sectionId)?.title ?? sectionId, text, created: new Date().toISOString() };
  const reply = await withVault(() => vault.set(vault.Namespaces.highlights, key, value));
  if (reply === undefined) return;
  state.highlights.set(key, { value, revision: reply?.revision });
  applyHighlight(key, value);
  toast('Highlighted.');
}

async function removeHighlight(key) {
  const record = state.highlights.get(key);
  if (!record) return;
  // As for bookmarks: removal stands whatever another tab did meanwhile.
  const ok = await withVault(() => vault.remove(vault.Namespaces.highlights, key));
  if (ok === undefined) return;
  state.highlights.delete(key);
  applyVaultData();
  toast('Highlight removed.');
}

async function loadVaultData() {
  const prefix = `${state.pack.packId}/`;
  try {
    const [notes, bookmarks, highlights, reading] = await Promise.all([
      vault.getAll(vault.Namespaces.notes, prefix),
      vault.getAll(vault.Namespaces.bookmarks, prefix),
      vault.getAll(vault.Namespaces.highlights, prefix),
      vault.get(vault.Namespaces.reading, state.pack.packId),
    ]);
    state.notes = new Map(notes.records.map((r) => [r.value?.sectionId ?? r.key.slice(prefix.length), r]));
    state.bookmarks = new Map(bookmarks.records.map((r) => [r.value?.sectionId ?? r.key.slice(prefix.length), r]));
    state.highlights = new Map(highlights.records.map((r) => [r.key, r]));
    state.reading = reading;
    setVaultLocked(false);
    applyVaultData();
    const damaged = notes.damaged + bookmarks.damaged + highlights.damaged;
    document.body.dataset.vaultDamaged = String(damaged);
    $('integrity-notice-text').textContent = damaged === 0 ? '' :
      `${damaged === 1 ? 'One note, highlight or bookmark' : `${damaged} notes, highlights or bookmarks`} failed ` +
      'the vault\'s integrity check: changed or damaged on disk since it was saved. Everything else is shown.';
    $('integrity-notice').hidden = damaged === 0;
    document.body.dataset.vault = 'loaded';
    return true;
  } catch (e) {
    if (e.is?.('vault_locked')) {
      setVaultLocked(true);
    } else {
      document.body.dataset.vault = 'error';
      toast(plainWords(e));
    }
    return false;
  }
}

function restoreReadingPosition() {
  const sectionId = state.reading?.value?.sectionId;
  if (!sectionId || location.hash || window.scrollY > 40) return;
  const node = sectionElement(sectionId);
  if (node) {
    node.scrollIntoView({ block: 'start' });
    toast('Back where you left off.');
  }
}

let readingTimer = null;
function scheduleReadingSave() {
  if (!state.vaultUsable) return;
  clearTimeout(readingTimer);
  readingTimer = setTimeout(async () => {
    const sectionId = state.currentSection;
    if (!sectionId || state.reading?.value?.sectionId === sectionId) return;
    const value = { sectionId, updated: new Date().toISOString(), packVersion: state.pack.version };
    try {
      // Last writer wins for the reading position: no expected revision.
      const reply = await vault.set(vault.Namespaces.reading, state.pack.packId, value);
      state.reading = { value, revision: reply?.revision };
    } catch (e) {
      if (e.is?.('vault_locked')) setVaultLocked(true);
    }
  }, 1500);
}

// `status` (from vault.status) tells why: a passphrase the reader can enter,
// or a key holder (the system keyring) that is unavailable right now.
function setVaultLocked(locked, status = null) {
  state.vaultLocked = locked;
  state.vaultUsable = !locked && hostHasVault();
  $('unlock-form').hidden = !locked;
  const keyringGone = locked && status && status.passphraseSet === false;
  $('unlock-row').hidden = Boolean(keyringGone);
  $('unlock-text').textContent = keyringGone
    ? `Its key is held by your system keyring, which is not available right now${status.lockedReason ? ` (${status.lockedReason})` : ''}. Your notes are safe: unlock the keyring (or log in to your desktop session) and reload this page.`
    : 'Enter your passphrase to see and save your notes.';
  document.body.dataset.vault = locked ? 'locked' : (document.body.dataset.vault ?? 'unknown');
  updateHostControls();
}

// Reader preferences follow the reader across profiles through the vault's
// settings namespace; localStorage only caches the theme for the first paint.
const kThemeSetting = 'reader.theme';

function switchTheme() {
  const theme = toggleTheme();
  if (state.vaultUsable) {
    vault.set(vault.Namespaces.settings, kThemeSetting, { theme, updated: new Date().toISOString() })
      .catch((e) => console.warn('[bellwether] could not save the theme:', e.message));
  }
}

async function applyStoredSettings() {
  try {
    const record = await vault.get(vault.Namespaces.settings, kThemeSetting);
    const theme = record?.value?.theme;
    if ((theme === 'light' || theme === 'dark') && theme !== storedTheme()) setTheme(theme);
  } catch {
    // Preferences are optional.
  }
}

// ---------------------------------------------------------------- host

function hostConnected() {
  return state.host?.state === 'connected';
}

function hostHasVault() {
  return hostConnected() && rpc.hostHas(state.host, 'vault.get');
}

function updateHostControls() {
  const usable = state.vaultUsable;
  for (const button of document.querySelectorAll('.section-tools button')) {
    button.disabled = !usable;
    if (!usable) button.title = state.vaultLocked ? 'Unlock your vault first' : 'Needs the Bellwether host';
  }
  $('my-notes-button').disabled = !usable;
}

function renderHostPill() {
  const snapshot = state.host;
  const dot = $('host-dot');
  const label = $('host-label');
  dot.dataset.state = snapshot?.state ?? 'connecting';
  document.body.dataset.hostState = snapshot?.state ?? 'unknown';
  if (snapshot?.state === 'connected') {
    label.textContent = `Host ${snapshot.hello?.version ?? ''}`.trim();
    $('host-pill').title = `Connected to the Bellwether host ${snapshot.hello?.version ?? ''} (protocol ${snapshot.hello?.protocolVersion ?? '?'}) — open Security & updates`;
  } else if (snapshot?.state === 'not_installed') {
    label.textContent = 'Host not installed';
  } else if (snapshot?.state === 'forbidden') {
    label.textContent = 'Host refused';
  } else if (snapshot?.state === 'connecting') {
    label.textContent = 'Connecting…';
  } else {
    label.textContent = 'Host offline';
  }
  const offline = snapshot && snapshot.state !== 'connected' && snapshot.state !== 'connecting';
  $('host-notice').hidden = !offline;
  $('host-notice-text').textContent = offline && snapshot.state === 'forbidden'
    ? 'The Bellwether host is installed but does not allow this extension, so private notes and updates are off. Reinstall the host for this browser.'
    : kHostOfflineText;
}

let hostFeaturesStarted = false;
async function startHostFeatures() {
  if (hostFeaturesStarted || !hostConnected()) return;
  hostFeaturesStarted = true;
  if (rpc.hostHas(state.host, 'content.get')) await refreshContent();
  if (hostHasVault()) {
    let status = null;
    try {
      status = await vault.status();
    } catch (e) {
      if (!e.is?.('vault_locked')) console.warn('[bellwether] vault.status failed:', e.message);
      else status = { state: 'locked' };
    }
    if (status?.state === 'locked') {
      setVaultLocked(true, status);
      return;
    }
    state.vaultUsable = true;
    updateHostControls();
    if (await loadVaultData()) {
      restoreReadingPosition();
      applyStoredSettings();
    }
  }
}

function stopHostFeatures() {
  hostFeaturesStarted = false;
  state.vaultUsable = false;
  updateHostControls();
}

async function refreshContent() {
  let fromHost = null;
  try {
    fromHost = (await updates.newestPack())?.pack ?? null;
  } catch (e) {
    if (!e.is?.('method_not_found')) console.warn('[bellwether] content.get failed:', e.message);
    return;
  }
  const chosen = choosePack(state.bundled, fromHost);
  if (chosen.pack.version === state.pack.version && chosen.source === state.source) return;
  // A note being written survives the new edition: its draft goes back into
  // the re-rendered section, or, if the new edition has no such section,
  // the new edition waits until the editor is closed.
  const editing = state.editing;
  const draft = editing ? sectionElement(editing)?.querySelector('.note-input')?.value : undefined;
  if (editing && !buildSections(chosen.pack).some((s) => s.id === editing)) {
    state.contentWaiting = true;
    showWaitingNotice(chosen.pack);
    return;
  }
  const previousVersion = state.pack.version;
  state.pack = chosen.pack;
  state.source = chosen.source;
  const keepSection = state.currentSection;
  renderArticle();
  if (editing && draft !== undefined) reopenNoteEditor(editing, draft);
  if (keepSection && window.scrollY > 40) sectionElement(keepSection)?.scrollIntoView({ block: 'start' });
  if (chosen.pack.version > previousVersion) showUpdateNotice(chosen.pack);
}

function showWaitingNotice(pack) {
  clearTimeout(progressTimer);
  const notice = $('update-notice');
  notice.replaceChildren(el('p', {}, el('strong', {}, `Version ${pack.version} is ready.`),
    ' It will appear when you save or cancel the note you are writing.'));
  notice.className = 'notice';
  notice.dataset.kind = 'waiting';
  notice.hidden = false;
}

let progressTimer = null;

function showUpdateNotice(pack) {
  clearTimeout(progressTimer);
  const notice = $('update-notice');
  notice.dataset.kind = 'update';
  notice.replaceChildren(
    el('p', {}, el('strong', {}, `Updated to version ${pack.version}`), ` (published ${formatDate(pack.published)}).`),
    pack.changes.length > 0 ? el('p', {}, `What changed: ${pack.changes.join(' ')}`) : null,
    el('p', {}, el('button', { type: 'button', onclick: () => { notice.hidden = true; } }, 'Dismiss')));
  notice.className = 'notice';
  notice.hidden = false;
}

function showProgress(params) {
  const { bytesDone, bytesTotal } = updates.normalizeProgress(params);
  const notice = $('update-notice');
  const percent = bytesTotal > 0 ? Math.min(100, Math.round((bytesDone / bytesTotal) * 100)) : null;
  notice.replaceChildren(el('p', {},
    'Downloading a verified content update… ',
    percent === null ? updates.formatBytes(bytesDone) : `${percent}%`));
  notice.className = 'notice';
  notice.dataset.kind = 'progress';
  notice.hidden = false;
  clearTimeout(progressTimer);
  progressTimer = setTimeout(() => {
    if (notice.dataset.kind === 'progress') notice.hidden = true;
  }, updates.kStaleProgressMs);
}

function onHostEvent(message) {
  if (message.type === 'host-state') {
    const wasConnected = hostConnected();
    state.host = message.snapshot;
    renderHostPill();
    if (hostConnected() && !wasConnected) startHostFeatures();
    if (!hostConnected() && wasConnected) stopHostFeatures();
  } else if (message.type === 'notification') {
    if (message.method === 'update.progress') showProgress(message.params);
    else if (message.method === 'update.completed') refreshContent();
  }
}

// ---------------------------------------------------------------- navigation

function trackCurrentSection() {
  const nodes = [...document.querySelectorAll('.section')];
  let current = nodes[0];
  for (const node of nodes) {
    if (node.getBoundingClientRect().top <= 96) current = node;
    else break;
  }
  const id = current?.dataset.section ?? null;
  if (id === state.currentSection) return;
  state.currentSection = id;
  for (const node of nodes) node.classList.toggle('current', node === current);
  for (const link of document.querySelectorAll('.toc a')) {
    link.setAttribute('aria-current', String(link.dataset.section === id));
  }
  scheduleReadingSave();
}

function goToSection(offset) {
  const nodes = [...document.querySelectorAll('.section')];
  const index = nodes.findIndex((n) => n.dataset.section === state.currentSection);
  const next = nodes[Math.max(0, Math.min(nodes.length - 1, index + offset))];
  if (!next) return;
  next.scrollIntoView({ block: 'start' });
  history.replaceState(null, '', `#${next.id}`);
  // The scroll handler updates the current section; do it now for keyboards.
  state.currentSection = null;
  requestAnimationFrame(trackCurrentSection);
}

// ---------------------------------------------------------------- search

function runSearch(query, { keepIndex = false } = {}) {
  const article = $('article');
  unmarkText(article, 'search-hit');
  state.search.query = query;
  state.search.matches = query.trim().length >= 2 ? markText(article, query, 'search-hit') : [];
  if (!keepIndex || state.search.index >= state.search.matches.length) state.search.index = -1;
  if (state.search.matches.length > 0 && state.search.index < 0) state.search.index = 0;
  showMatch(false);
}

function showMatch(scroll = true) {
  const { matches, index, query } = state.search;
  for (const mark of document.querySelectorAll('mark.search-hit.current')) mark.classList.remove('current');
  const count = $('search-count');
  if (!query.trim()) {
    count.textContent = '';
  } else if (matches.length === 0) {
    count.textContent = query.trim().length >= 2 ? 'No matches' : '';
  } else {
    count.textContent = `${index + 1} of ${matches.length}`;
    for (const mark of matches[index]) mark.classList.add('current');
    if (scroll) matches[index][0].scrollIntoView({ block: 'center' });
  }
}

function stepMatch(delta) {
  const n = state.search.matches.length;
  if (n === 0) return;
  state.search.index = (state.search.index + delta + n) % n;
  showMatch(true);
}

function clearSearch() {
  $('search-input').value = '';
  runSearch('');
}

// ---------------------------------------------------------------- my notes

function renderMyNotes() {
  const filter = $('my-notes-search').value.trim().toLocaleLowerCase();
  const matches = (...texts) => !filter || texts.some((t) => String(t ?? '').toLocaleLowerCase().includes(filter));
  const item = (title, text, sectionId, extra = {}) =>
    el('li', {
      tabindex: '0',
      dataset: { section: sectionId, ...extra },
      onclick: () => jumpFromPanel(sectionId, extra.highlight),
      onkeydown: (e) => { if (e.key === 'Enter') jumpFromPanel(sectionId, extra.highlight); },
    }, el('div', { class: 'my-notes-item-title' }, title), text ? el('div', { class: 'my-notes-item-text' }, text) : null);

  const notes = [...state.notes.values()]
    .filter((r) => matches(r.value?.text, r.value?.sectionTitle))
    .map((r) => item(r.value.sectionTitle, r.value.text, r.value.sectionId));
  const highlights = [...state.highlights.entries()]
    .filter(([, r]) => matches(r.value?.text, r.value?.sectionTitle))
    .map(([key, r]) => item(r.value.sectionTitle, `“${r.value.text}”`, r.value.sectionId, { highlight: key }));
  const bookmarks = [...state.bookmarks.values()]
    .filter((r) => matches(r.value?.sectionTitle))
    .map((r) => item(r.value.sectionTitle, '', r.value.sectionId));

  const group = (title, items, empty) => [
    el('h3', {}, `${title} (${items.length})`),
    items.length > 0 ? el('ul', { class: `my-notes-${title.toLowerCase()}` }, items) : el('p', { class: 'my-notes-empty' }, empty),
  ];
  $('my-notes-body').replaceChildren(
    ...group('Notes', notes, filter ? 'No note matches.' : 'No notes yet: use “✎ Note” next to any heading.'),
    ...group('Highlights', highlights, filter ? 'No highlight matches.' : 'No highlights yet: select text in the analysis.'),
    ...group('Bookmarks', bookmarks, filter ? 'No bookmark matches.' : 'No bookmarks yet.'),
  );
}

function jumpFromPanel(sectionId, highlightKey) {
  $('my-notes').close();
  const target = highlightKey
    ? document.querySelector(`mark.hl[data-key="${CSS.escape(highlightKey)}"]`)
    : sectionElement(sectionId);
  (target ?? sectionElement(sectionId))?.scrollIntoView({ block: highlightKey ? 'center' : 'start' });
}

function openMyNotes() {
  if (!state.vaultUsable) {
    toast(state.vaultLocked ? 'Unlock your vault to see your notes.' : 'My notes needs the Bellwether host.');
    return;
  }
  renderMyNotes();
  $('my-notes').showModal();
  $('my-notes-search').focus();
}

// ---------------------------------------------------------------- selection

function selectionBlock() {
  const selection = window.getSelection();
  if (!selection || selection.isCollapsed || selection.rangeCount === 0) return null;
  const range = selection.getRangeAt(0);
  const start = range.startContainer.parentElement?.closest('p, li, h2, h3');
  const end = range.endContainer.parentElement?.closest('p, li, h2, h3');
  if (!start || start !== end || start.closest('.no-mark') || !$('article').contains(start)) return null;
  const text = selection.toString().replace(/\s+/g, ' ').trim();
  if (text.length < 3 || text.length > 2000) return null;
  const section = start.closest('.section')?.dataset.section;
  return section ? { range, text, section } : null;
}

function placeTools(rect) {
  const tools = $('selection-tools');
  tools.style.top = `${window.scrollY + rect.top - 44}px`;
  tools.style.left = `${window.scrollX + rect.left}px`;
  tools.hidden = false;
}

function onArticleMouseUp(e) {
  const tools = $('selection-tools');
  const mark = e.target.closest?.('mark.hl');
  if (mark && window.getSelection().isCollapsed) {
    tools.dataset.mode = 'remove';
    tools.dataset.key = mark.dataset.key;
    $('highlight-button').textContent = 'Remove highlight';
    placeTools(mark.getBoundingClientRect());
    return;
  }
  const picked = state.vaultUsable ? selectionBlock() : null;
  if (!picked) {
    tools.hidden = true;
    return;
  }
  tools.dataset.mode = 'add';
  tools.dataset.section = picked.section;
  tools.dataset.text = picked.text;
  $('highlight-button').textContent = 'Highlight';
  placeTools(picked.range.getBoundingClientRect());
}

function onHighlightButton() {
  const tools = $('selection-tools');
  tools.hidden = true;
  if (tools.dataset.mode === 'remove') removeHighlight(tools.dataset.key);
  else addHighlight(tools.dataset.section, tools.dataset.text);
  window.getSelection().removeAllRanges();
}

// ---------------------------------------------------------------- keyboard

function onKeyDown(e) {
  if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
  if (e.key === 'Escape') {
    if (document.querySelector('dialog[open]')) return; // The dialog closes itself.
    $('selection-tools').hidden = true;
    if (state.editing) closeNoteEditor(state.editing);
    if (document.activeElement === $('search-input') || state.search.query) {
      clearSearch();
      $('search-input').blur();
    }
    return;
  }
  if (isTyping(e.target)) return;
  switch (e.key) {
    case 'j':
      goToSection(1);
      break;
    case 'k':
      goToSection(-1);
      break;
    case '/':
      $('search-input').focus();
      $('search-input').select();
      break;
    case 't':
      switchTheme();
      break;
    case 'm':
      openMyNotes();
      break;
    case 'b':
      if (state.currentSection) toggleBookmark(state.currentSection);
      break;
    case 'n':
      if (state.currentSection) openNoteEditor(state.currentSection);
      break;
    case '?':
      $('help').showModal();
      break;
    default:
      return;
  }
  e.preventDefault();
}

// ---------------------------------------------------------------- startup

function wireUi() {
  let searchTimer = null;
  $('search-input').addEventListener('input', (e) => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => {
      runSearch(e.target.value);
      showMatch(true); // Bring the first match into view while typing.
    }, 120);
  });
  $('search-input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      clearTimeout(searchTimer);
      if ($('search-input').value !== state.search.query) runSearch($('search-input').value);
      else stepMatch(e.shiftKey ? -1 : 1);
    }
  });
  $('search-form').addEventListener('submit', (e) => e.preventDefault());
  $('search-next').addEventListener('click', () => stepMatch(1));
  $('search-prev').addEventListener('click', () => stepMatch(-1));
  $('theme-toggle').addEventListener('click', switchTheme);
  $('help-button').addEventListener('click', () => $('help').showModal());
  $('help-close').addEventListener('click', () => $('help').close());
  $('my-notes-button').addEventListener('click', openMyNotes);
  $('my-notes-close').addEventListener('click', () => $('my-notes').close());
  $('my-notes-search').addEventListener('input', renderMyNotes);
  $('highlight-button').addEventListener('click', onHighlightButton);
  $('article').addEventListener('mouseup', onArticleMouseUp);
  $('unlock-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('unlock-passphrase');
    $('unlock-error').textContent = '';
    $('unlock-button').disabled = true;
    try {
      await vault.unlock(input.value);
      input.value = '';
      setVaultLocked(false);
      state.vaultUsable = hostHasVault();
      updateHostControls();
      toast('Vault unlocked.');
      // What a load with an unlocked vault brings, as in startHostFeatures.
      if (await loadVaultData()) {
        restoreReadingPosition();
        applyStoredSettings();
      }
    } catch (err) {
      $('unlock-error').textContent = plainWords(err);
    } finally {
      $('unlock-button').disabled = false;
    }
  });
  document.addEventListener('keydown', onKeyDown);
  let scrollQueued = false;
  window.addEventListener('scroll', () => {
    if (scrollQueued) return;
    scrollQueued = true;
    requestAnimationFrame(() => {
      scrollQueued = false;
      trackCurrentSection();
    });
  }, { passive: true });
}

async function main() {
  showHostInstallCommand();
  wireUi();
  try {
    state.bundled = await loadBundledPack();
  } catch (e) {
    $('article').replaceChildren(el('div', { class: 'notice error' }, `The analysis could not be loaded: ${e.message}`));
    return;
  }
  state.pack = state.bundled;
  renderArticle();
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView({ block: 'start' });
  document.body.dataset.ready = 'true';

  rpc.onEvent(onHostEvent);
  try {
    state.host = await rpc.hostState();
  } catch (e) {
    state.host = { state: 'disconnected', lastError: e.message };
  }
  renderHostPill();
  await startHostFeatures();
  document.body.dataset.hostReady = 'true';
}

main();
