// The extension asks for the least it needs: checked on the shipped manifest.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';

const manifest = JSON.parse(await readFile(new URL('../../extension/manifest.json', import.meta.url), 'utf8'));

test('permissions are exactly nativeMessaging and alarms', () => {
  assert.deepEqual([...manifest.permissions].sort(), ['alarms', 'nativeMessaging']);
  assert.equal(manifest.optional_permissions, undefined);
});

test('no host access, content scripts or web-accessible resources', () => {
  assert.equal(manifest.host_permissions, undefined);
  assert.equal(manifest.optional_host_permissions, undefined);
  assert.equal(manifest.content_scripts, undefined);
  assert.equal(manifest.web_accessible_resources, undefined);
  assert.equal(manifest.externally_connectable, undefined);
});

test('content security policy allows only the extension itself', () => {
  const csp = manifest.content_security_policy.extension_pages;
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-|https?:|\*/);
});

test('the fixed key gives the documented development ID', async () => {
  const { createHash } = await import('node:crypto');
  const der = Buffer.from(manifest.key, 'base64');
  const hex = createHash('sha256').update(der).digest('hex').slice(0, 32);
  const id = [...hex].map((c) => String.fromCharCode('a'.charCodeAt(0) + parseInt(c, 16))).join('');
  assert.equal(id, 'obajhhhbadjoohblhiihokphelkapblg');
  assert.equal(manifest.browser_specific_settings.gecko.id, 'reader@bellwether.io');
});
