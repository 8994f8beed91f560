#!/usr/bin/env node
// Renders extension/icons/icon.svg into the PNG sizes the manifest lists,
// using Debian's Chromium through playwright-core (manifest icons must be PNG).
// Run after editing the SVG: node extension/tools/make-icons.mjs

import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const kIconsDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'icons');
const kSizes = [16, 32, 48, 128];

const svg = await readFile(join(kIconsDir, 'icon.svg'), 'utf8');
const browser = await chromium.launch({
  executablePath: process.env.BELLWETHER_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu'],
});
try {
  const page = await browser.newPage();
  for (const size of kSizes) {
    await page.setViewportSize({ width: size, height: size });
    await page.setContent(
      `<style>html,body{margin:0;background:transparent}svg{display:block;width:${size}px;height:${size}px}</style>${svg}`,
    );
    await page.locator('svg').screenshot({ path: join(kIconsDir, `icon-${size}.png`), omitBackground: true });
  }
} finally {
  await browser.close();
}
process.stdout.write(`wrote ${kSizes.map((s) => `icon-${s}.png`).join(', ')}\n`);
