/**
 * The report and the map in a real browser (headless Chromium through puppeteer-core): no console
 * or page errors, no request leaving the file, and every chart and the map drawn with a non-empty
 * box. Screenshots go to test-artifacts/ (ignored by git). Without Chromium the tests fail and say
 * how to install it.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'puppeteer-core';
import { chromiumPath, openBrowser, openFile, type Session } from './helpers/browser.js';
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

function browser(t: ExecutionContext) {
  if (!session) t.fail(`headless Chromium could not be started: ${opening}`);
  return session?.browser ?? null;
}

/** Each element's bounding box (width, height) for a selector. */
async function boxes(page: Page, selector: string): Promise<[number, number][]> {
  return page.$$eval(selector, (els) => els.map((e) => [e.getBoundingClientRect().width, e.getBoundingClientRect().height] as [number, number]));
}

/** Writes a scenario's report (or its --svg map) and opens it; the page had no errors. */
async function opened(t: ExecutionContext, args: (out: string) => string[], name: string): Promise<Page | null> {
  const b = browser(t);
  if (!b) return null;
  const file = join(tempDir(), name);
  const r = emu(args(file));
  t.is(r.status, 0, r.stderr);
  const { page, problems } = await openFile(b, file);
  t.teardown(() => page.close());
  t.deepEqual(problems, []);
  return page;
}

/**
 * Headless Chromium may never draw a page that is not in front, and its screenshot then waits until
 * the protocol times out: the page is brought to front first, and the tests run one at a time.
 */
async function keepScreenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.bringToFront();
  await page.screenshot({ path: join(ARTIFACTS, name) as `${string}.png`, fullPage: true });
}

const scenarioFile = (name: string) => join(REPO, 'scenarios', `${name}.yaml`);

test.serial('the report of psp-game renders with its charts and map, and no errors', async (t) => {
  const page = await opened(t, (out) => ['report', scenarioFile('psp-game'), '-o', out], 'report.html');
  if (!page) return;
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
  await keepScreenshot(page, 'report-psp-game.png');
});

test.serial('the SVG map opens on its own with every box drawn', async (t) => {
  const page = await opened(t, (out) => ['map', scenarioFile('psp-canary-overflow'), '--svg', out], 'map.svg');
  if (!page) return;
  const drawn = await boxes(page, 'g.box rect');
  t.true(drawn.length > 20);
  t.true(drawn.every(([w, h]) => w > 50 && h >= 1));
  await keepScreenshot(page, 'map-psp-canary-overflow.png');
});

test.serial('the report of a run with faults lists them with their scenario lines and causes', async (t) => {
  const page = await opened(t, (out) => ['report', scenarioFile('psp-canary-overflow'), '-o', out], 'report.html');
  if (!page) return;
  const text = await page.$eval('#faults table', (e) => (e as HTMLElement).innerText);
  t.regex(text, /canary-corrupt/);
  t.regex(text, /op 76, line 83/);
  await keepScreenshot(page, 'report-psp-canary-overflow.png');
});

test('without Chromium the browser tests fail and say how to install it', (t) => {
  t.throws(() => chromiumPath({}, []), { message: /install it with: apt-get update && apt-get install -y chromium/ });
  t.throws(() => chromiumPath({ CHROMIUM_PATH: '/no/such/chromium' }), { message: 'CHROMIUM_PATH=/no/such/chromium: no such file' });
});
