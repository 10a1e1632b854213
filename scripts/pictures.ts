/**
 * `npm run pictures`: the README's screenshots (docs/report.png, docs/map.png), made from the
 * psp-game scenario's report and memory map in headless Chromium.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { openBrowser, openFile } from '../test/helpers/browser.js';

const root = resolve(import.meta.dirname, '..', '..');
const emu = join(root, 'dist', 'src', 'cli', 'main.js');
const scenario = join(root, 'scenarios', 'psp-game.yaml');
const work = mkdtempSync(join(tmpdir(), 'emu-pictures-'));
const session = await openBrowser();
try {
  execFileSync(process.execPath, [emu, 'report', scenario, '-o', join(work, 'report.html')], { stdio: 'inherit' });
  execFileSync(process.execPath, [emu, 'map', scenario, '--svg', join(work, 'map.svg')], { stdio: 'ignore' });
  // The report as a whole page; the map as its picture alone, at its own size.
  for (const [file, png, whole] of [['report.html', 'report.png', true], ['map.svg', 'map.png', false]] as const) {
    const { page, problems } = await openFile(session.browser, join(work, file));
    if (problems.length) throw new Error(`${file}: ${problems.join('; ')}`);
    const path = join(root, 'docs', png) as `${string}.png`;
    if (whole) await page.screenshot({ path, fullPage: true });
    else await (await page.$('svg'))!.screenshot({ path });
    process.stdout.write(`wrote docs/${png}\n`);
  }
} finally {
  await session.close();
  rmSync(work, { recursive: true, force: true });
}
