#!/usr/bin/env node
// Makes the next edition of the bundled content pack for the local demo
// update channel: same analysis, version one above both the bundled pack and
// anything already published, a fresh date and a "what changed" note.
//
// usage: node scripts/make-edition.mjs --bundled PACK --published-dir DIR --out FILE
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
if (!args.bundled || !args.out) {
  process.stderr.write('usage: node scripts/make-edition.mjs --bundled PACK --published-dir DIR --out FILE\n');
  process.exit(2);
}

const pack = JSON.parse(await readFile(args.bundled, 'utf8'));
let newest = pack.version;
// Published targets are stored as <sha256>.<name> (consistent snapshots).
const files = args['published-dir'] ? await readdir(args['published-dir']).catch(() => []) : [];
for (const f of files) {
  try {
    const published = JSON.parse(await readFile(join(args['published-dir'], f), 'utf8'));
    if (published.packId === pack.packId && Number.isInteger(published.version)) {
      newest = Math.max(newest, published.version);
    }
  } catch {
    // Not a pack (or unreadable): it cannot raise the version.
  }
}
pack.version = newest + 1;
pack.published = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
pack.changes = [
  `Edition ${pack.version}, delivered through Bellwether's verified update channel ` +
    '(a local TUF repository served over HTTPS).',
];
await writeFile(args.out, `${JSON.stringify(pack, null, 2)}\n`, { mode: 0o644 });
process.stdout.write(`edition ${pack.version} of ${pack.packId} -> ${args.out}\n`);
