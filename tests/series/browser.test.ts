import t from 'tap';
import { accessible, fitsWidth, launchChromium, screenshotsIn, withChromium } from '../helpers/browser.js';
import { buildTestApp, uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { freePort } from '../helpers/processes.js';
import { createSession } from '../helpers/registrations.js';
import { makeOrganizer, PASSWORD } from '../console/support.js';

/**
 * A series in a real browser (Debian's Chromium through playwright-core): an organizer builds it
 * in the console (nav entry, New series, ticks, Save), then a visitor registers on its public page
 * with one form. axe-core checks every page at 1280 x 800 and 390 x 844 (nothing wider than the
 * window); screenshots go to test-artifacts/series/ (ignored by git).
 */

const shot = screenshotsIn('test-artifacts/series');

async function run(): Promise<void> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { app, database } = await buildTestApp(t, { env: { PUBLIC_BASE_URL: base } });
  await app.listen({ port, host: '127.0.0.1' });
  const organizer = await makeOrganizer(app, 'organizer', 'Programme Officer');
  const headers = { authorization: `Bearer ${app.issueToken(organizer).token}` };
  const parts = [
    await createSession(app, headers, { title: `Heat ${uniqueSuffix()}`, summary: 'Cooling the streets' }, { daysAhead: 7 }),
    await createSession(app, headers, { title: `Water ${uniqueSuffix()}` }, { daysAhead: 14 }),
    await createSession(app, headers, { title: `Energy ${uniqueSuffix()}`, audience: { kind: 'members' } }, { daysAhead: 21 }),
  ];

  const browser = await launchChromium(t);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', timezoneId: 'America/New_York' });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    const text = message.text();
    if (/status of 40\d/.test(text)) return;
    if (message.type() === 'error' || /Content Security Policy/i.test(text)) problems.push(text);
  });
  page.on('pageerror', (error) => problems.push(error.message));
  const title = `Resilient cities ${uniqueSuffix()}`;
  let publicUrl = '';

  await t.test('the console: Series in the nav, New series, tick the sessions, Save', async (t) => {
    await page.goto(`${base}/console/login`);
    await page.getByLabel('E-mail').fill(organizer.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/console`);
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Series' }).click();
    await page.waitForURL(`${base}/console/series`);
    await page.getByRole('link', { name: 'New series' }).click();
    await page.waitForURL(`${base}/console/series/new`);
    await accessible(t, page, 'new series form');
    await page.getByLabel('Title').fill(title);
    await page.getByLabel('Description').fill('Three sessions, one cohort.');
    for (const part of parts) await page.getByLabel(part.title, { exact: true }).check();
    await shot(page, 'console-new');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(`${base}/console/series?done=created`);
    await accessible(t, page, 'series list');
    await shot(page, 'console-list');
    const link = page.getByRole('link', { name: /^\/series\// });
    publicUrl = `${base}${await link.getAttribute('href')}`;
    const { rows } = await database.pool.query(
      'SELECT array(SELECT session_id::text FROM series_sessions WHERE series_id = s.id ORDER BY position) AS ids FROM series s WHERE title = $1',
      [title],
    );
    t.same(rows[0]?.ids, parts.map((part) => part.id), 'the ticked sessions, by start time');
    await page.setViewportSize({ width: 390, height: 844 });
    t.ok(await fitsWidth(page), 'the list fits a phone');
    await page.goto(`${base}/console/series/new`);
    t.ok(await fitsWidth(page), 'the form fits a phone');
    await accessible(t, page, 'new series form at 390');
    await shot(page, 'console-new-phone');
  });

  await t.test('the public page: one form, then the same page for everyone', async (t) => {
    for (const [width, height] of [[1280, 800], [390, 844]] as const) {
      await page.setViewportSize({ width, height });
      await page.goto(publicUrl);
      t.equal(await page.getByRole('heading', { level: 1 }).textContent(), title);
      t.ok(await fitsWidth(page), `fits ${width} px`);
      await accessible(t, page, `series page at ${width}`);
      await shot(page, `public-${width}`);
    }
    // Our script wrote the times in the visitor's zone.
    await page.waitForFunction("document.querySelector('.when-secondary')?.textContent !== ''");
    t.match(await page.locator('.when-primary').first().textContent(), /E[SD]T/, "the visitor's zone first");
    const email = uniqueEmail('browser');
    await page.getByRole('button', { name: 'Register for the series' }).click();
    await page.getByRole('heading', { name: 'There is a problem' }).waitFor();
    await accessible(t, page, 'series page with errors');
    await page.getByRole('textbox', { name: /Full name/ }).fill('Ana Reyes');
    await page.getByRole('textbox', { name: /E-mail address/ }).fill(email);
    await page.getByLabel(/I agree/).check();
    await page.getByRole('button', { name: 'Register for the series' }).click();
    await page.waitForURL(`${publicUrl}/registered`);
    await accessible(t, page, 'after the post');
    await shot(page, 'public-registered');
    const { rows } = await database.pool.query(
      `SELECT r.session_id::text, r.attendee_timezone FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE a.email = $1 ORDER BY r.registered_at`,
      [email],
    );
    t.same(rows.map((row) => row.session_id), [parts[0]!.id, parts[1]!.id], 'both public sessions; the members-only one refused this address');
    t.same(rows.map((row) => row.attendee_timezone), ['America/New_York', 'America/New_York'], 'the browser’s zone sent by our script');
  });

  t.same(problems, [], 'no console errors, no CSP violations');
}

await withChromium(run);
