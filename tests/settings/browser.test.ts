import type { Page } from 'playwright-core';
import t from 'tap';
import { accessible, fitsWidth, launchChromium, screenshotsIn, withChromium } from '../helpers/browser.js';
import { signIn, uniqueSuffix } from '../helpers/app.js';
import { createSession } from '../helpers/registrations.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { freePort, startRedisProcess } from '../helpers/processes.js';
import { makeOrganizer, PASSWORD } from '../console/support.js';
import { pngImage } from './support.js';

/**
 * Branding in a real browser (Debian's Chromium): the public page with the organisation's logo,
 * name and accent colour (no CSP violation: the colour comes from /assets/brand.css), and the
 * console's Branding page with its preview, upload and an error. axe-core checks each page;
 * screenshots go to test-artifacts/branding. On a database of its own: the branding is global.
 */

const shot = screenshotsIn('test-artifacts/branding');

/** The computed background colour of the first element matching `selector` (evaluated as text: no DOM types here). */
const background = (page: Page, selector: string) =>
  page.evaluate(`getComputedStyle(document.querySelector(${JSON.stringify(selector)})).backgroundColor`) as Promise<string>;

async function run(): Promise<void> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const redis = await startRedisProcess(t);
  const { app, database } = await startMailTest(t, { name: 'settings_browser', redisUrl: redis.url, smtp: false, worker: false, env: { PUBLIC_BASE_URL: base } });
  await database.pool.query('DELETE FROM settings');
  app.services.settings.forget();
  await app.listen({ port, host: '127.0.0.1' });

  const admin = await makeOrganizer(app, 'admin', 'Branding Admin');
  const owner = await signIn(app);
  const actor = { id: owner.organizer.id, email: owner.organizer.email };
  const session = await createSession(app, owner.headers, { title: `Budgeting for Towns ${uniqueSuffix()}` });
  await app.services.settings.update({ name: 'Acme Events', accentColor: '#5b2a86', privacyUrl: 'https://acme.example/privacy' }, actor);
  await app.services.settings.putLogo(pngImage(120, 40, [240, 140, 0]), 'image/png', actor);

  const browser = await launchChromium(t);
  const problems: string[] = [];
  // One parent test for both viewports: the root test may end (and close the browser) between them otherwise.
  await t.test('laptop and phone', async (t) => {
  for (const [label, viewport] of [['laptop', { width: 1280, height: 800 }], ['phone', { width: 390, height: 844 }]] as const) {
    const context = await browser.newContext({ viewport, locale: 'en-US' });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    page.on('console', (message) => {
      // The form with a wrong colour answers 400 on purpose; Chromium logs any 4xx document.
      if (/status of 400 \(Bad Request\)/.test(message.text())) return;
      if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) problems.push(`${label}: ${message.text()}`);
    });

    await t.test(`${label}: the public page carries the branding`, async (t) => {
      await page.goto(`${base}/s/${session.slug}`);
      t.equal(await page.locator('header.site img.brand-logo').getAttribute('alt'), 'Acme Events');
      t.ok(await page.evaluate("(() => { const img = document.querySelector('header.site img.brand-logo'); return img.complete && img.naturalWidth === 120; })()"), 'the logo loads');
      t.equal(await background(page, 'header.site'), 'rgb(91, 42, 134)', 'the header in the accent colour');
      t.equal(await background(page, 'main button[type=submit]'), 'rgb(91, 42, 134)', 'the button too');
      t.equal(await page.locator('footer.site a').textContent(), 'Privacy notice');
      t.ok(await fitsWidth(page), 'nothing scrolls sideways');
      await accessible(t, page, `${label} session page`);
      await shot(page, `${label}-session`);
    });

    await t.test(`${label}: the console's Branding page`, async (t) => {
      await page.goto(`${base}/console/branding`);
      await page.getByLabel('E-mail').fill(admin.email);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${base}/console/branding`);
      t.equal(await background(page, '.brand-preview header.site'), 'rgb(91, 42, 134)', 'the preview in the accent colour');
      t.equal(await background(page, 'header.console-header'), 'rgb(22, 50, 92)', "the console's own header keeps its colour");
      await accessible(t, page, `${label} branding page`);
      await shot(page, `${label}-console-branding`);

      await page.getByLabel('Accent colour').fill('#999999');
      await page.getByRole('button', { name: 'Save' }).click();
      t.match(await page.locator('#error-summary').textContent(), /contrast of 2\.84:1/);
      await accessible(t, page, `${label} branding page with an error`);
      await shot(page, `${label}-console-branding-error`);

      await page.getByLabel('Accent colour').fill('#0b4fb3');
      await page.getByRole('button', { name: 'Save' }).click();
      await page.waitForURL(`${base}/console/branding?done=saved`);
      await page.getByLabel('Logo file').setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: pngImage(80, 80, [0, 120, 60]) });
      await page.getByRole('button', { name: 'Upload logo' }).click();
      await page.waitForURL(`${base}/console/branding?done=logo`);
      t.match(await page.locator('[role=status]').textContent(), /The logo is saved/);
      t.ok(await page.evaluate("document.querySelector('img.current-logo').naturalWidth === 80"), 'the new logo is shown');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await app.services.settings.update({ accentColor: '#5b2a86' }, actor);
      await app.services.settings.putLogo(pngImage(120, 40, [240, 140, 0]), 'image/png', actor);
    });
    await context.close();
  }
  });
  t.same(problems, [], 'no console errors, no CSP violations');
}

await withChromium(run);
