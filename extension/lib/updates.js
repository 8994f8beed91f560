// Everything the pages know about the host's updater and content methods.
// The host's field names are read tolerantly (several spellings) and only
// here, so a protocol refinement means changing this file alone.

import { call } from './rpc.js';

function pick(object, ...names) {
  if (!object || typeof object !== 'object') return undefined;
  for (const name of names) {
    const path = name.split('.');
    let value = object;
    for (const p of path) {
      // Descend only into plain objects ("lastCheck.at" must not find String.prototype.at).
      value = value !== null && typeof value === 'object' && Object.hasOwn(value, p) ? value[p] : undefined;
    }
    if (value !== undefined && value !== null) return value;
  }
  return undefined;
}

function normalizeError(error, codeName) {
  if (!error && !codeName) return null;
  // The host sends a sentence for the reader plus the stable error name.
  if (typeof error === 'string' || !error) return { code: null, errorName: codeName ?? null, message: error ?? '' };
  return {
    code: error.code ?? null,
    errorName: error.name ?? error.data?.name ?? error.errorName ?? null,
    message: error.message ?? '',
  };
}

export function normalizeStatus(raw) {
  const s = raw ?? {};
  const automatic = pick(s, 'policy.automatic', 'automatic', 'automaticUpdates', 'enabled');
  return {
    lastCheck: pick(s, 'lastCheck.time', 'lastCheck.at', 'lastCheckTime', 'lastCheckAt', 'lastCheck', 'last_check') ?? null,
    lastResult: pick(s, 'lastCheck.result', 'lastResult', 'result', 'last_result') ?? null,
    lastSuccess: pick(s, 'lastSuccess', 'last_success') ?? null,
    consecutiveFailures: pick(s, 'consecutiveFailures', 'consecutive_failures') ?? 0,
    lastError: normalizeError(
      pick(s, 'lastCheck.error', 'lastError', 'error', 'last_error'),
      pick(s, 'lastErrorCode', 'lastErrorName', 'errorCode'),
    ),
    contentVersion: pick(s, 'current.content', 'current.contentVersion', 'contentVersion', 'versions.content', 'content.version') ?? null,
    contentPublished: pick(s, 'contentPublished', 'current.published', 'content.published') ?? null,
    hostVersion: pick(s, 'current.host', 'hostVersion', 'versions.host') ?? null,
    nextCheck: pick(s, 'nextCheck', 'nextCheckAt', 'next_check') ?? null,
    automatic: typeof automatic === 'boolean' ? automatic : true,
    intervalHours: pick(s, 'policy.intervalHours', 'intervalHours', 'interval_hours') ?? 6,
    inProgress: Boolean(pick(s, 'inProgress', 'checking', 'running')),
    repository: pick(s, 'repository', 'repositoryUrl', 'repoUrl') ?? null,
  };
}

export async function status() {
  return normalizeStatus(await call('update.status'));
}

export function check() {
  return call('update.check', { reason: 'user' });
}

export function setPolicy(automatic, intervalHours) {
  const params = { automatic };
  if (intervalHours) params.intervalHours = intervalHours;
  return call('update.setPolicy', params);
}

// {bytesDone, bytesTotal, target} from an update.progress notification.
// The host reports progress at most once per percent and sends nothing when
// a download fails (update.completed only follows an install), so a page
// drops a progress display that has not moved for this long.
export const kStaleProgressMs = 2 * 60 * 1000;

export function normalizeProgress(params) {
  const done = Number(pick(params, 'bytesDone', 'done', 'received') ?? 0);
  const total = Number(pick(params, 'bytesTotal', 'total', 'length') ?? 0);
  return { bytesDone: done, bytesTotal: total, target: pick(params, 'target', 'name') ?? '' };
}

export function completedVersion(params) {
  return pick(params, 'contentVersion', 'version', 'content.version') ?? null;
}

// The newest verified pack the host holds, or null (no host, no method, none yet).
export async function newestPack() {
  const reply = await call('content.get');
  let pack = pick(reply, 'pack');
  if (typeof pack === 'string') pack = JSON.parse(pack);
  // Before the first update the host answers {"source":"none","pack":null}.
  return pack ? { pack, source: pick(reply, 'source') ?? 'update', version: pick(reply, 'version') ?? pack.version } : null;
}

export function formatBytes(n) {
  if (!Number.isFinite(n) || n <= 0) return '0 B';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
