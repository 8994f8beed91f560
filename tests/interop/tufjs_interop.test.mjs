// Interoperability with tuf-js, the TUF client and metadata library of npm.
//
// Both directions are checked, each against real files served over HTTP on
// 127.0.0.1 (tuf-js fetches with make-fetch-happen; plain http on loopback is
// enough for interop — the HTTPS path is covered by tests/update/attacks):
//   1. tuf-js's Updater verifies a repository that bellwether-release made
//      (and maintained through publish, rotate and refresh-timestamp) and
//      downloads its targets; with ed25519, ECDSA P-256 and RSA-PSS keys and
//      thresholds of 2.
//   2. bellwether-tuf-client consumes a repository signed by @tufjs/models
//      with keys this file generates (ed25519 and ECDSA P-256, consistent
//      snapshots, a root rotation), and refuses a tampered target.
//
// The binaries come from the environment (ctest sets them):
//   BELLWETHER_RELEASE     path to bellwether-release
//   BELLWETHER_TUF_CLIENT  path to bellwether-tuf-client

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';

import { canonicalize } from '@tufjs/canonical-json';
import {
  Metadata, MetaFile, Root, Signature, Snapshot, TargetFile, Targets, Timestamp, Key,
} from '@tufjs/models';
import { Updater } from 'tuf-js';

const execFileAsync = promisify(execFile);

const RELEASE = process.env.BELLWETHER_RELEASE;
const CLIENT = process.env.BELLWETHER_TUF_CLIENT;
// A stalled step fails its own test with a name instead of running into
// CTest's timeout for the whole file.
const TEST_TIMEOUT_MS = 90_000;
const UPDATER_CONFIG = { fetchRetries: 0, fetchTimeout: 15_000 };

function requireBinary(name, value) {
  assert.ok(value, `${name} must point at the built binary (ctest sets it)`);
  assert.ok(fs.existsSync(value), `${name}=${value} does not exist`);
}

function tempDir(label) {
  return fs.mkdtempSync(path.join(os.tmpdir(), `bw-interop-${label}-`));
}

// Each step's start and end go to stderr with the time since the file
// started, so a run that stalls (CTest's timeout, once, in CI) shows where.
const started = Date.now();
function note(message) {
  process.stderr.write(`[interop +${((Date.now() - started) / 1000).toFixed(1)}s] ${message}\n`);
}
async function step(label, fn) {
  note(`${label} ...`);
  try {
    return await fn();
  } finally {
    note(`${label} done`);
  }
}

// Runs a binary; resolves to {code, stdout, stderr} (never rejects on exit 1).
async function run(binary, args, options = {}) {
  return step(`${path.basename(binary)} ${args[0]}`, async () => {
    try {
      const { stdout, stderr } = await execFileAsync(binary, args, { timeout: 60_000, ...options });
      return { code: 0, stdout, stderr };
    } catch (error) {
      if (typeof error.code !== 'number') throw error;
      return { code: error.code, stdout: error.stdout, stderr: error.stderr };
    }
  });
}

async function release(args) {
  const result = await run(RELEASE, args);
  assert.equal(result.code, 0, `bellwether-release ${args.join(' ')} failed:\n${result.stderr}`);
  return result;
}

// A static file server for `root` on 127.0.0.1 with an ephemeral port.
// Refuses paths that leave the root. `requests` records every path asked for.
async function serveDirectory(root) {
  const requests = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const relative = decodeURIComponent(url.pathname);
    requests.push(relative);
    const file = path.resolve(root, `.${relative}`);
    if (!file.startsWith(path.resolve(root) + path.sep)) {
      res.writeHead(403).end();
      return;
    }
    fs.readFile(file, (error, data) => {
      if (error) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(data);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    base: `http://127.0.0.1:${port}`,
    requests,
    // Keep-alive sockets from tuf-js's agent would hold close() open.
    close: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections();
      }),
  };
}

describe('tuf-js verifies a repository made by bellwether-release', () => {
  let work;
  let repo;
  let keys;
  let server;
  const packV1 = Buffer.from('{"title":"Japan-US trade analysis","edition":1}\n');
  const packV2 = Buffer.from('{"title":"Japan-US trade analysis","edition":2,"note":"tariffs"}\n');
  const notes = Buffer.from('Release notes: ünïcödé and "quotes" \\ backslashes\n');

  before(async () => {
    requireBinary('BELLWETHER_RELEASE', RELEASE);
    work = tempDir('release');
    repo = path.join(work, 'repo');
    keys = path.join(work, 'keys');
    await release(['init', '--repo', repo, '--keys', keys]);
    fs.writeFileSync(path.join(work, 'pack.json'), packV1);
    fs.writeFileSync(path.join(work, 'notes.txt'), notes);
    await release(['add', '--repo', repo, '--keys', keys, '--target-name', 'content/pack.json',
      '--custom', '{"edition":1}', path.join(work, 'pack.json')]);
    await release(['add', '--repo', repo, '--keys', keys, '--target-name', 'notes.txt',
      path.join(work, 'notes.txt')]);
    await release(['publish', '--repo', repo, '--keys', keys]);
    server = await serveDirectory(repo);
  }, { timeout: TEST_TIMEOUT_MS });

  after(async () => {
    await server?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  }, { timeout: TEST_TIMEOUT_MS });

  function newUpdater(clientDir) {
    const metadataDir = path.join(clientDir, 'metadata');
    const targetDir = path.join(clientDir, 'targets');
    fs.mkdirSync(metadataDir, { recursive: true });
    fs.mkdirSync(targetDir, { recursive: true });
    if (!fs.existsSync(path.join(metadataDir, 'root.json'))) {
      fs.copyFileSync(path.join(repo, 'metadata', '1.root.json'), path.join(metadataDir, 'root.json'));
    }
    return new Updater({
      metadataDir,
      metadataBaseUrl: `${server.base}/metadata`,
      targetDir,
      targetBaseUrl: `${server.base}/targets`,
      config: UPDATER_CONFIG,
    });
  }

  async function downloadWith(updater, clientDir, name) {
    const info = await updater.getTargetInfo(name);
    assert.ok(info, `tuf-js found no target ${name}`);
    const file = path.join(clientDir, 'out', name.replaceAll('/', '_'));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    await updater.downloadTarget(info, file);
    return { info, bytes: fs.readFileSync(file) };
  }

  test('downloads every target with the published bytes and custom data', { timeout: TEST_TIMEOUT_MS }, async () => {
    const clientDir = path.join(work, 'client-a');
    const updater = newUpdater(clientDir);
    await updater.refresh();
    const pack = await downloadWith(updater, clientDir, 'content/pack.json');
    assert.deepEqual(pack.bytes, packV1);
    assert.deepEqual(pack.info.custom, { edition: 1 });
    const readme = await downloadWith(updater, clientDir, 'notes.txt');
    assert.deepEqual(readme.bytes, notes);
    // Consistent snapshots: tuf-js asked for versioned metadata and
    // hash-prefixed targets, which proves the repository offers them.
    const sha = crypto.createHash('sha256').update(packV1).digest('hex');
    assert.ok(server.requests.includes(`/targets/content/${sha}.pack.json`), server.requests.join('\n'));
    const timestamp = JSON.parse(fs.readFileSync(path.join(repo, 'metadata', 'timestamp.json')));
    const snapshotVersion = timestamp.signed.meta['snapshot.json'].version;
    assert.ok(server.requests.includes(`/metadata/${snapshotVersion}.snapshot.json`), server.requests.join('\n'));
  });

  test('follows a new pack, key rotations and a refreshed timestamp', { timeout: TEST_TIMEOUT_MS }, async () => {
    const clientDir = path.join(work, 'client-b');
    await newUpdater(clientDir).refresh();

    fs.writeFileSync(path.join(work, 'pack.json'), packV2);
    await release(['add', '--repo', repo, '--keys', keys, '--target-name', 'content/pack.json',
      path.join(work, 'pack.json')]);
    await release(['publish', '--repo', repo, '--keys', keys]);
    await release(['rotate', '--repo', repo, '--keys', keys, '--role', 'root']);
    await release(['rotate', '--repo', repo, '--keys', keys, '--role', 'timestamp']);
    await release(['refresh-timestamp', '--repo', repo, '--keys', keys]);
    assert.ok(fs.existsSync(path.join(repo, 'metadata', '3.root.json')));

    // A fresh Updater over the same metadata dir, as a client would after a restart.
    const updater = newUpdater(clientDir);
    await updater.refresh();
    const pack = await downloadWith(updater, clientDir, 'content/pack.json');
    assert.deepEqual(pack.bytes, packV2);
    const trustedRoot = JSON.parse(fs.readFileSync(path.join(clientDir, 'metadata', 'root.json')));
    assert.equal(trustedRoot.signed.version, 3);
  });

  test('refuses a repository whose target was swapped after signing', { timeout: TEST_TIMEOUT_MS }, async () => {
    const evilRepo = path.join(work, 'evil');
    fs.cpSync(repo, evilRepo, { recursive: true });
    const info = JSON.parse(fs.readFileSync(path.join(evilRepo, 'metadata', 'targets.json'))).signed
      .targets['notes.txt'];
    const swapped = Buffer.alloc(notes.length, 0x41);  // Same length, other bytes.
    fs.writeFileSync(path.join(evilRepo, 'targets', `${info.hashes.sha256}.notes.txt`), swapped);
    const evil = await serveDirectory(evilRepo);
    try {
      const clientDir = path.join(work, 'client-c');
      const metadataDir = path.join(clientDir, 'metadata');
      fs.mkdirSync(metadataDir, { recursive: true });
      fs.copyFileSync(path.join(evilRepo, 'metadata', '1.root.json'), path.join(metadataDir, 'root.json'));
      const updater = new Updater({
        metadataDir,
        metadataBaseUrl: `${evil.base}/metadata`,
        targetDir: clientDir,
        targetBaseUrl: `${evil.base}/targets`,
        config: UPDATER_CONFIG,
      });
      await updater.refresh();
      const target = await updater.getTargetInfo('notes.txt');
      await assert.rejects(updater.downloadTarget(target, path.join(clientDir, 'notes.txt')));
    } finally {
      await evil.close();
    }
  });
});

describe('tuf-js verifies other key types and thresholds from bellwether-release', () => {
  for (const keyType of ['ecdsa-p256', 'rsa']) {
    test(`${keyType} keys, threshold 2 for root and targets, after a root rotation`, { timeout: TEST_TIMEOUT_MS }, async () => {
      requireBinary('BELLWETHER_RELEASE', RELEASE);
      const work = tempDir(`keys-${keyType}`);
      let server;
      try {
        const repo = path.join(work, 'repo');
        const keys = path.join(work, 'keys');
        const pack = Buffer.from(`{"keyType":"${keyType}"}\n`);
        await release(['init', '--repo', repo, '--keys', keys, '--key-type', keyType,
          '--threshold', 'root=2', '--threshold', 'targets=2']);
        fs.writeFileSync(path.join(work, 'pack.json'), pack);
        await release(['add', '--repo', repo, '--keys', keys, '--target-name', 'content/pack.json',
          path.join(work, 'pack.json')]);
        await release(['publish', '--repo', repo, '--keys', keys]);
        await release(['rotate', '--repo', repo, '--keys', keys, '--role', 'root']);
        server = await serveDirectory(repo);
        const metadataDir = path.join(work, 'client');
        fs.mkdirSync(metadataDir);
        fs.copyFileSync(path.join(repo, 'metadata', '1.root.json'), path.join(metadataDir, 'root.json'));
        const updater = new Updater({
          metadataDir,
          metadataBaseUrl: `${server.base}/metadata`,
          targetDir: work,
          targetBaseUrl: `${server.base}/targets`,
          config: UPDATER_CONFIG,
        });
        await step(`tuf-js refresh (${keyType})`, () => updater.refresh());
        const info = await updater.getTargetInfo('content/pack.json');
        assert.ok(info);
        const file = path.join(work, 'downloaded.json');
        await step(`tuf-js download (${keyType})`, () => updater.downloadTarget(info, file));
        assert.deepEqual(fs.readFileSync(file), pack);
        const root = JSON.parse(fs.readFileSync(path.join(metadataDir, 'root.json')));
        assert.equal(root.signed.version, 2);
        assert.equal(root.signed.roles.targets.threshold, 2);
      } finally {
        await server?.close();
        fs.rmSync(work, { recursive: true, force: true });
      }
    });
  }
});

// ---------------------------------------------------------------------------
// A repository written with @tufjs/models and keys made here.

function tufTime(days) {
  return new Date(Date.now() + days * 86_400_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// A signing key in TUF form: ed25519 (hex public value) or ecdsa (PEM).
function makeKey(kind) {
  let pair;
  let meta;
  if (kind === 'ed25519') {
    pair = crypto.generateKeyPairSync('ed25519');
    const raw = Buffer.from(pair.publicKey.export({ format: 'jwk' }).x, 'base64url');
    meta = { keytype: 'ed25519', scheme: 'ed25519', keyval: { public: raw.toString('hex') } };
  } else {
    pair = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = pair.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    meta = { keytype: 'ecdsa', scheme: 'ecdsa-sha2-nistp256', keyval: { public: pem } };
  }
  const keyID = crypto.createHash('sha256').update(canonicalize(meta)).digest('hex');
  const key = new Key({ keyID, keyType: meta.keytype, scheme: meta.scheme, keyVal: meta.keyval });
  const digest = kind === 'ed25519' ? null : 'sha256';
  return {
    key,
    keyID,
    signer: (data) => new Signature({
      keyID, sig: crypto.sign(digest, data, pair.privateKey).toString('hex'),
    }),
  };
}

function sha256(bytes) {
  return crypto.createHash('sha256').update(bytes).digest('hex');
}

function metadataBytes(metadata) {
  return Buffer.from(JSON.stringify(metadata.toJSON(), null, 1));
}

// Builds and writes a consistent-snapshot repository under `root`:
// metadata/{1,2}.root.json (a root key rotation), N.targets.json,
// N.snapshot.json, timestamp.json, and targets/<dir>/<sha256>.<name>.
function writeTufJsRepository(root, targets) {
  const metadataDir = path.join(root, 'metadata');
  fs.mkdirSync(metadataDir, { recursive: true });
  const oldRoot = makeKey('ed25519');
  const newRoot = makeKey('ed25519');
  const targetsKey = makeKey('ed25519');
  const snapshotKey = makeKey('ecdsa');
  const timestampKey = makeKey('ecdsa');

  const write = (name, bytes) => fs.writeFileSync(path.join(metadataDir, name), bytes);

  const rootV1 = new Metadata(new Root({
    version: 1, specVersion: '1.0.31', expires: tufTime(365), consistentSnapshot: true,
  }));
  rootV1.signed.addKey(oldRoot.key, 'root');
  rootV1.signed.addKey(targetsKey.key, 'targets');
  rootV1.signed.addKey(snapshotKey.key, 'snapshot');
  rootV1.signed.addKey(timestampKey.key, 'timestamp');
  rootV1.sign(oldRoot.signer);
  const rootV1Bytes = metadataBytes(rootV1);
  write('1.root.json', rootV1Bytes);

  // Version 2 replaces the root key, signed by the old and the new key.
  const rootV2Json = rootV1.toJSON();
  rootV2Json.signed.version = 2;
  delete rootV2Json.signed.keys[oldRoot.keyID];
  rootV2Json.signed.keys[newRoot.keyID] = newRoot.key.toJSON();
  rootV2Json.signed.roles.root.keyids = [newRoot.keyID];
  rootV2Json.signatures = [];
  const rootV2 = Metadata.fromJSON('root', rootV2Json);
  rootV2.sign(oldRoot.signer);
  rootV2.sign(newRoot.signer);
  write('2.root.json', metadataBytes(rootV2));
  write('root.json', metadataBytes(rootV2));

  const targetsMeta = new Metadata(new Targets({ version: 1, specVersion: '1.0.31', expires: tufTime(90) }));
  for (const { name, content } of targets) {
    targetsMeta.signed.addTarget(new TargetFile({
      path: name, length: content.length, hashes: { sha256: sha256(content) },
    }));
    const dir = path.join(root, 'targets', path.dirname(name));
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${sha256(content)}.${path.basename(name)}`), content);
  }
  targetsMeta.sign(targetsKey.signer);
  const targetsBytes = metadataBytes(targetsMeta);
  write('1.targets.json', targetsBytes);

  const snapshot = new Metadata(new Snapshot({
    version: 1, specVersion: '1.0.31', expires: tufTime(7),
    meta: { 'targets.json': new MetaFile({ version: 1, length: targetsBytes.length, hashes: { sha256: sha256(targetsBytes) } }) },
  }));
  snapshot.sign(snapshotKey.signer);
  const snapshotBytes = metadataBytes(snapshot);
  write('1.snapshot.json', snapshotBytes);

  const timestamp = new Metadata(new Timestamp({
    version: 1, specVersion: '1.0.31', expires: tufTime(1),
    snapshotMeta: new MetaFile({ version: 1, length: snapshotBytes.length, hashes: { sha256: sha256(snapshotBytes) } }),
  }));
  timestamp.sign(timestampKey.signer);
  write('timestamp.json', metadataBytes(timestamp));
  return { trustedRoot: path.join(metadataDir, '1.root.json') };
}

describe('bellwether-tuf-client consumes a repository made by @tufjs/models', () => {
  let work;
  let repo;
  let server;
  let trustedRoot;
  const pack = Buffer.from('{"title":"from tuf-js","tariff":"15%"}\n');
  const binary = crypto.randomBytes(4096);

  before(async () => {
    requireBinary('BELLWETHER_TUF_CLIENT', CLIENT);
    work = tempDir('tufjs');
    repo = path.join(work, 'repo');
    ({ trustedRoot } = writeTufJsRepository(repo, [
      { name: 'content/pack.json', content: pack },
      { name: 'bin/blob.bin', content: binary },
    ]));
    server = await serveDirectory(repo);
  }, { timeout: TEST_TIMEOUT_MS });

  after(async () => {
    await server?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  }, { timeout: TEST_TIMEOUT_MS });

  function clientArgs(metadataDir, targetDir, names, base = server.base) {
    const args = ['--metadata-dir', metadataDir, '--metadata-url', `${base}/metadata`];
    for (const name of names) args.push('--target-name', name);
    args.push('--target-base-url', `${base}/targets`, '--target-dir', targetDir, 'download');
    return args;
  }

  test('downloads the targets through a root rotation', { timeout: TEST_TIMEOUT_MS }, async () => {
    const metadataDir = path.join(work, 'client-a', 'metadata');
    const targetDir = path.join(work, 'client-a', 'targets');
    fs.mkdirSync(metadataDir, { recursive: true });
    fs.mkdirSync(targetDir, { recursive: true });
    let result = await run(CLIENT, ['--metadata-dir', metadataDir, 'init', trustedRoot]);
    assert.equal(result.code, 0, result.stderr);
    result = await run(CLIENT, clientArgs(metadataDir, targetDir, ['content/pack.json', 'bin/blob.bin']));
    assert.equal(result.code, 0, result.stderr);

    const downloaded = (name) => {
      // The client may store a target under its path or its URL-encoded
      // path; either way exactly one file holds the bytes.
      const candidates = [path.join(targetDir, name), path.join(targetDir, encodeURIComponent(name))];
      const found = candidates.find((file) => fs.existsSync(file));
      assert.ok(found, `no downloaded file for ${name} in ${fs.readdirSync(targetDir)}`);
      return fs.readFileSync(found);
    };
    assert.deepEqual(downloaded('content/pack.json'), pack);
    assert.deepEqual(downloaded('bin/blob.bin'), binary);
    const trusted = JSON.parse(fs.readFileSync(path.join(metadataDir, 'root.json')));
    assert.equal(trusted.signed.version, 2);
    // Consistent snapshots were honoured.
    assert.ok(server.requests.includes('/metadata/1.targets.json'), server.requests.join('\n'));
    assert.ok(server.requests.includes(`/targets/content/${sha256(pack)}.pack.json`), server.requests.join('\n'));
  });

  test('bellwether-release verify accepts it, and refuses it once tampered', { timeout: TEST_TIMEOUT_MS }, async () => {
    requireBinary('BELLWETHER_RELEASE', RELEASE);
    let result = await run(RELEASE, ['verify', '--repo', repo, '--root', trustedRoot]);
    assert.equal(result.code, 0, result.stderr);
    const copy = path.join(work, 'verify-copy');
    fs.cpSync(repo, copy, { recursive: true });
    fs.writeFileSync(path.join(copy, 'targets', 'bin', `${sha256(binary)}.blob.bin`), Buffer.alloc(binary.length));
    result = await run(RELEASE, ['verify', '--repo', copy, '--root', trustedRoot]);
    assert.equal(result.code, 1, `expected exit 1, got ${result.code}: ${result.stderr}`);
  });

  test('refuses a tampered target and keeps nothing of it', { timeout: TEST_TIMEOUT_MS }, async () => {
    const evilRepo = path.join(work, 'evil');
    fs.cpSync(repo, evilRepo, { recursive: true });
    const evilBytes = Buffer.from(pack);
    evilBytes[10] ^= 0x20;  // Same length, one bit different.
    fs.writeFileSync(path.join(evilRepo, 'targets', 'content', `${sha256(pack)}.pack.json`), evilBytes);
    const evil = await serveDirectory(evilRepo);
    try {
      const metadataDir = path.join(work, 'client-b', 'metadata');
      const targetDir = path.join(work, 'client-b', 'targets');
      fs.mkdirSync(metadataDir, { recursive: true });
      fs.mkdirSync(targetDir, { recursive: true });
      let result = await run(CLIENT, ['--metadata-dir', metadataDir, 'init', trustedRoot]);
      assert.equal(result.code, 0, result.stderr);
      result = await run(CLIENT, clientArgs(metadataDir, targetDir, ['content/pack.json'], evil.base));
      assert.equal(result.code, 1, `expected exit 1, got ${result.code}: ${result.stderr}`);
      const leftovers = fs.readdirSync(targetDir, { recursive: true })
        .filter((name) => fs.statSync(path.join(targetDir, name)).isFile())
        .filter((name) => fs.readFileSync(path.join(targetDir, name)).equals(evilBytes));
      assert.deepEqual(leftovers, [], 'the tampered bytes must not be stored as the target');
    } finally {
      await evil.close();
    }
  });

  test('refuses metadata whose signature does not match its content', { timeout: TEST_TIMEOUT_MS }, async () => {
    const evilRepo = path.join(work, 'evil-sig');
    fs.cpSync(repo, evilRepo, { recursive: true });
    const file = path.join(evilRepo, 'metadata', 'timestamp.json');
    const timestamp = JSON.parse(fs.readFileSync(file));
    timestamp.signed.expires = tufTime(30);  // Changed after signing.
    fs.writeFileSync(file, JSON.stringify(timestamp));
    const evil = await serveDirectory(evilRepo);
    try {
      const metadataDir = path.join(work, 'client-c', 'metadata');
      fs.mkdirSync(metadataDir, { recursive: true });
      let result = await run(CLIENT, ['--metadata-dir', metadataDir, 'init', trustedRoot]);
      assert.equal(result.code, 0, result.stderr);
      result = await run(CLIENT, ['--metadata-dir', metadataDir, '--metadata-url', `${evil.base}/metadata`, 'refresh']);
      assert.equal(result.code, 1, `expected exit 1, got ${result.code}: ${result.stderr}`);
      assert.ok(!fs.existsSync(path.join(metadataDir, 'timestamp.json')));
    } finally {
      await evil.close();
    }
  });
});
