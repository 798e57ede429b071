import { existsSync, mkdirSync } from 'node:fs';
import axe from 'axe-core';
import { chromium, type Browser, type Page } from 'playwright-core';
import t, { type Test } from 'tap';

/** Debian's Chromium, which .ci/run installs; never a browser download. */
export const CHROMIUM = '/usr/bin/chromium';

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** Debian's Chromium, headless, without the background traffic this machine's closed network refuses; closed in teardown. */
export async function launchChromium(t: Test): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  t.teardown(() => browser.close());
  return browser;
}

/** No part of the page is wider than the window (nothing to scroll sideways). */
export const fitsWidth = (page: Page): Promise<boolean> => page.evaluate('document.documentElement.scrollWidth <= window.innerWidth') as Promise<boolean>;

/** Full-page screenshots named `<folder>/<name>.png` (the folder is made; test-artifacts is ignored by git). */
export function screenshotsIn(folder: string): (page: Page, name: string) => Promise<Buffer> {
  mkdirSync(folder, { recursive: true });
  return (page, name) => page.screenshot({ path: `${folder}/${name}.png`, fullPage: true });
}

/** Runs axe-core inside the page (evaluated over the DevTools protocol: the page's CSP stays strict). */
export async function accessible(t: Test, page: Page, label: string): Promise<void> {
  await page.evaluate(axe.source);
  const result = (await page.evaluate('axe.run(document, { resultTypes: ["violations"] })')) as { violations: AxeViolation[] };
  const serious = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  t.same(
    serious.map((v) => `${v.id} (${v.impact}): ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`),
    [],
    `${label}: no serious or critical accessibility violations`,
  );
}

/** Runs a browser test file's body; outside CI a machine without Chromium skips it (CI must have it). */
export async function withChromium(run: () => Promise<void>): Promise<void> {
  if (existsSync(CHROMIUM)) return run();
  if (process.env.CI) t.fail(`${CHROMIUM} is missing: .ci/run should have installed Debian's chromium`);
  else t.plan(0, `${CHROMIUM} is not installed (apt-get install chromium): browser tests skipped`);
}
