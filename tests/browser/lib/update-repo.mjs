// A real update source for browser tests and demos: a TUF repository made by
// bellwether-release, served over HTTPS on 127.0.0.1 with a locally generated
// certificate authority, and a host configuration pointing at it.

import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import { join, normalize, resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { buildPack, serializePack } from '../../../extension/tools/build-content-pack.mjs';
import { kExtensionDir, kRepoRoot } from './launch.mjs';

const execFileAsync = promisify(execFile);

export const kPackTarget = 'content/japan-us-trade.json';

export function findReleaseBinary() {
  return process.env.BELLWETHER_RELEASE_BIN || null;
}

async function openssl(args, cwd) {
  await execFileAsync('openssl', args, { cwd, timeout: 60000 });
}

// A throwaway CA and a server certificate for 127.0.0.1 signed by it.
export async function makeTestCa(dir) {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
    '-subj', '/CN=Bellwether test CA', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  await openssl(['req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'], dir);
  await writeFile(join(dir, 'server.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n');
  await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.pem', '-days', '2', '-extfile', 'server.ext'], dir);
  return { caCert: join(dir, 'ca.pem'), cert: join(dir, 'server.pem'), key: join(dir, 'server.key') };
}

// Static files from `root` over HTTPS on 127.0.0.1 (GET/HEAD only, no
// directory listings, nothing outside root). Records the paths requested.
export async function serveDirectoryHttps(root, { cert, key }) {
  const base = resolve(root);
  const requests = [];
  const server = createServer({ cert: await readFile(cert), key: await readFile(key) }, async (req, res) => {
    const url = new URL(req.url, 'https://127.0.0.1');
    requests.push(url.pathname);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    const path = normalize(join(base, decodeURIComponent(url.pathname)));
    if (path !== base && !path.startsWith(base + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const info = await stat(path);
      if (!info.isFile()) throw new Error('not a file');
      res.writeHead(200, { 'Content-Length': info.size, 'Content-Type': 'application/octet-stream' });
      if (req.method === 'HEAD') res.end();
      else createReadStream(path).pipe(res);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `https://127.0.0.1:${server.address().port}/`,
    requests,
    close: () => new Promise((ok) => server.close(ok)),
  };
}

// A repository maintained with bellwether-release.
export class ReleaseRepo {
  constructor(releaseBin, dir) {
    this.bin = releaseBin;
    this.repo = join(dir, 'repo');
    this.keys = join(dir, 'keys');
    this.packs = join(dir, 'packs');
  }

  async run(...args) {
    return execFileAsync(this.bin, [...args, '--repo', this.repo, '--keys', this.keys], { timeout: 60000 });
  }

  async init() {
    await mkdir(this.packs, { recursive: true });
    await this.run('init');
  }

  get trustedRoot() {
    return join(this.repo, 'metadata', '1.root.json');
  }

  // Builds a pack of the bundled analysis as edition `version` and publishes it.
  async publishPack(version, { title, changes } = {}) {
    const source = await readFile(join(kExtensionDir, 'content', 'source', 'trade-analysis.txt'), 'utf8');
    const pack = buildPack(source, {
      version,
      published: new Date(Date.UTC(2026, 10, 28 + version)).toISOString().replace('.000', ''),
      title,
      changes,
    });
    const file = join(this.packs, `pack-${version}.json`);
    await writeFile(file, serializePack(pack));
    await this.run('add', '--target-name', kPackTarget, '--custom', JSON.stringify({ version }), file);
    await this.run('publish');
    return pack;
  }
}

// Points the host at the repository: $XDG_CONFIG_HOME/bellwether/update.json.
export async function configureHostUpdates(sandbox, { repositoryUrl, caBundle, trustedRoot }) {
  const dir = join(sandbox.dirs.config, 'bellwether');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'update.json');
  await writeFile(path, `${JSON.stringify({ repositoryUrl, caBundle, trustedRoot }, null, 2)}\n`, { mode: 0o600 });
  return path;
}

export { kRepoRoot };
