/**
 * The report and the map in a real browser (headless Chromium through puppeteer-core): no console
 * or page errors, no request leaving the file, and every chart and the map drawn with a non-empty
 * box. Screenshots go to test-artifacts/ (ignored by git). Without Chromium the tests fail and say
 * how to install it.
 */
import test from 'ava';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { openBrowser, openFile, type Session } from './helpers/browser.js';
import { emu, REPO, tempDir } from './helpers/scenario.js';

const ARTIFACTS = join(REPO, 'test-artifacts');
let session: Session | null = null;
let opening: string | null = null;

test.before(async () => {
  try {
    session = await openBrowser();
  } catch (e) {
    opening = (e as Error).message;
  }
});
test.after.always(async () => {
  await session?.close();
});

function browser(t: { fail(m: string): void }) {
  if (!session) t.fail(`headless Chromium could not be started: ${opening}`);
  return session!.browser;
}

/** Each element's bounding box (width, height) for a selector. */
async function boxes(page: Page, selector: string): Promise<[number, number][]> {
  return page.$$eval(selector, (els) => els.map((e) => [e.getBoundingClientRect().width, e.getBoundingClientRect().height] as [number, number]));
}

test('the report of psp-game renders with its charts and map, and no errors', async (t) => {
  const b = browser(t);
  if (!b) return;
  const dir = tempDir();
  const file = join(dir, 'report.html');
  const r = emu(['report', join(REPO, 'scenarios', 'psp-game.yaml'), '-o', file]);
  t.is(r.status, 0, r.stderr);
  const { page, problems } = await openFile(b, file);
  t.deepEqual(problems, []);
  const charts = await page.$$eval('svg.chart', (els) => els.map((e) => e.getAttribute('data-chart')));
  t.deepEqual(charts, ['usage-runtime', 'usage-physics', 'usage-render', 'usage-audio', 'usage-logic', 'fragmentation', 'alloc-cycles', 'frames', 'dma']);
  for (const [w, h] of await boxes(page, 'svg.chart, svg.map')) t.true(w > 300 && h > 100, `${w}x${h}`);
  // 600 frame bars, each drawn; 600 GE transfers; a histogram per heap; a line per heap's usage.
  const bars = await boxes(page, 'svg[data-chart="frames"] rect.bar');
  t.is(bars.length, 600);
  t.true(bars.every(([w, h]) => w > 0 && h > 0));
  t.is((await boxes(page, 'g.dma-channel[data-channel="ge"] rect')).length, 600 + 173);
  t.is((await boxes(page, 'g.histogram')).length, 5);
  for (const [w, h] of await boxes(page, 'path.series')) t.true(w > 100 && h >= 0);
  // 15 windows and the kernel-only one; 3 regions, 3 partitions, a reserved range and the 18 placements.
  t.is((await boxes(page, 'svg.map g.box')).length, 41);
  t.true((await page.$eval('#faults', (e) => e.textContent ?? '')).includes('No faults.'));
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'report-psp-game.png'), fullPage: true });
});

test('the SVG map opens on its own with every box drawn', async (t) => {
  const b = browser(t);
  if (!b) return;
  const dir = tempDir();
  const file = join(dir, 'map.svg');
  t.is(emu(['map', join(REPO, 'scenarios', 'psp-canary-overflow.yaml'), '--svg', file]).status, 0);
  const { page, problems } = await openFile(b, file);
  t.deepEqual(problems, []);
  const drawn = await boxes(page, 'g.box rect');
  t.true(drawn.length > 20);
  t.true(drawn.every(([w, h]) => w > 50 && h >= 1));
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'map-psp-canary-overflow.png'), fullPage: true });
});

test('the report of a run with faults lists them with their scenario lines and causes', async (t) => {
  const b = browser(t);
  if (!b) return;
  const dir = tempDir();
  const file = join(dir, 'report.html');
  t.is(emu(['report', join(REPO, 'scenarios', 'psp-canary-overflow.yaml'), '-o', file]).status, 0);
  const { page, problems } = await openFile(b, file);
  t.deepEqual(problems, []);
  const text = await page.$eval('#faults table', (e) => (e as HTMLElement).innerText);
  t.regex(text, /canary-corrupt/);
  t.regex(text, /op 76, line 83/);
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, 'report-psp-canary-overflow.png'), fullPage: true });
});
