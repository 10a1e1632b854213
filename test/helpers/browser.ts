/**
 * Headless Chromium for the tests that look at the pictures, driven by puppeteer-core. The browser is
 * the distribution's (Debian: `apt-get install -y chromium`, /usr/bin/chromium), or the one named by
 * CHROMIUM_PATH. Without one, opening it throws an error that says how to install it: a test that
 * needs it fails, it never passes or skips.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export function chromiumPath(env: NodeJS.ProcessEnv = process.env, candidates: readonly string[] = CANDIDATES): string {
  const named = env.CHROMIUM_PATH;
  if (named) {
    if (!existsSync(named)) throw new Error(`CHROMIUM_PATH=${named}: no such file`);
    return named;
  }
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`no Chromium found (looked for ${candidates.join(', ') || 'nothing'}); install it with: apt-get update && apt-get install -y chromium (or set CHROMIUM_PATH)`);
  return found;
}

export interface Session {
  browser: Browser;
  close(): Promise<void>;
}

/** A fresh headless browser with its own profile folder, nothing reaching the network by itself. */
export async function openBrowser(): Promise<Session> {
  const profile = mkdtempSync(join(tmpdir(), 'emu-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: chromiumPath(),
    headless: true,
    // The machine running the tests may be busy: slow, not broken.
    timeout: 120_000,
    protocolTimeout: 300_000,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Opens a file and collects what would make it fail: console errors, uncaught page errors, and any
 * request that leaves the file (the report must be self-contained).
 */
export async function openFile(browser: Browser, file: string, width = 1000): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  page.setDefaultTimeout(120_000);
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${(e as Error).message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
  page.on('request', (r) => {
    if (!r.url().startsWith('file://') && !r.url().startsWith('data:')) problems.push(`request to the network: ${r.url()}`);
  });
  await page.setViewport({ width, height: 800, deviceScaleFactor: 1 });
  await page.goto(`file://${file}`, { waitUntil: 'load' });
  return { page, problems };
}
