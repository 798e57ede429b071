import { DateTime } from 'luxon';
import t from 'tap';
import { accessible, launchChromium, screenshotsIn, withChromium } from '../helpers/browser.js';
import { buildTestApp, uniqueSuffix } from '../helpers/app.js';
import { freePort } from '../helpers/processes.js';
import { registered } from '../helpers/registrations.js';
import { gapTime } from '../helpers/zones.js';
import { makeOrganizer, PASSWORD } from '../console/support.js';

/**
 * The organizer's session pages in a real browser (Debian's Chromium through playwright-core)
 * at 1280 x 800: sign in, create the session with two questions (first with a time that does
 * not exist in its zone), publish it, edit it and read what the change will send before applying
 * it, then cancel it with a reason. axe-core checks every page; screenshots go to
 * test-artifacts/console/session-*.png (ignored by git), the last two at 390 x 844.
 */

const ARTIFACTS = 'test-artifacts/console';
const ZONE = 'America/Chicago';


const shot = screenshotsIn(ARTIFACTS);

async function run(): Promise<void> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const { app, database } = await buildTestApp(t, { env: { PUBLIC_BASE_URL: base } });
  await app.listen({ port, host: '127.0.0.1' });
  const organizer = await makeOrganizer(app, 'organizer', 'Programme Officer');

  const browser = await launchChromium(t);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', timezoneId: 'Europe/Paris' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    const text = message.text();
    // Forms with errors answer 400 on purpose; Chromium logs any 4xx document.
    if (/status of 40\d/.test(text)) return;
    if (message.type() === 'error' || /Content Security Policy/i.test(text)) problems.push(text);
  });
  page.on('pageerror', (error) => problems.push(error.message));

  const title = `December 4 training ${uniqueSuffix()}`;
  const day = DateTime.now().setZone(ZONE).plus({ days: 21 }).toFormat('yyyy-MM-dd');
  let sessionUrl = '';

  await t.test('sign in and open the new-session form', async (t) => {
    await page.goto(`${base}/console`);
    await page.waitForURL(/\/console\/login/);
    await page.getByLabel('E-mail').fill(organizer.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/console`);
    await page.getByRole('link', { name: 'New session' }).click();
    await page.waitForURL(`${base}/console/sessions/new`);
    t.equal(await page.locator('#f-timezone').inputValue(), ZONE, 'the default zone');
    await accessible(t, page, 'new session form');
    await shot(page, 'session-01-new');
  });

  await t.test('a time in the skipped hour is refused at its field, then the session is saved', async (t) => {
    await page.getByLabel('Title').fill(title);
    await page.getByLabel('Summary').fill('For new council members');
    await page.getByLabel('Description').fill('What every new member should know.\n\n- budgets\n- procurement');
    const gap = gapTime(ZONE, new Date());
    await page.getByLabel('Starts').fill(gap);
    await page.getByLabel('Ends').fill(`${gap.slice(0, 10)}T05:00`);
    await page.getByLabel('Capacity').fill('2');
    await page.locator('#f-q0-label').fill('Your city');
    await page.locator('#f-q0-required').check();
    await page.locator('#f-q1-label').fill('Your role');
    await page.locator('#f-q1-type').selectOption('select');
    await page.locator('#f-q1-options').fill('Mayor\nCouncil member\nStaff');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForSelector('.error-summary');
    t.match(await page.locator('#f-startsAt-error').textContent(), /does not exist in America\/Chicago/);
    t.equal(await page.evaluate('document.activeElement && document.activeElement.id'), 'f-startsAt', 'focus on the field in error');
    t.equal(await page.locator('#f-q1-options').inputValue(), 'Mayor\nCouncil member\nStaff', 'what was typed is kept');
    await accessible(t, page, 'form with errors');
    await shot(page, 'session-02-new-errors');

    await page.getByLabel('Starts').fill(`${day}T14:00`);
    await page.getByLabel('Ends').fill(`${day}T15:30`);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/\/console\/sessions\/[0-9a-f-]{36}\?done=created$/);
    sessionUrl = page.url().replace(/\?.*$/, '');
    t.equal(await page.locator('h1').textContent(), title);
    t.match(await page.locator('.when').textContent(), /2:00 PM – 3:30 PM CST \(America\/Chicago\)/);
    const snippet = await page.locator('#share-embed').inputValue();
    t.match(snippet, /^<iframe src="http:\/\/127\.0\.0\.1:\d+\/embed\//);
    // Our script adds Copy buttons (under the CSP); the clipboard then holds the snippet.
    await page.getByRole('button', { name: 'Copy Embed snippet' }).click();
    await page.waitForSelector('text=Copied');
    t.equal(await page.evaluate('navigator.clipboard.readText()'), snippet, 'the snippet copied');
    await accessible(t, page, 'overview of a draft');
    await shot(page, 'session-03-overview-draft');
  });

  await t.test('publish, people register, an edit says what it will send', async (t) => {
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.waitForURL(`${sessionUrl}?done=published`);
    const { rows } = await database.pool.query<{ slug: string }>('SELECT slug FROM sessions WHERE id = $1', [sessionUrl.split('/').pop()]);
    for (const name of ['Ana', 'Bo', 'Cy']) {
      await registered(app, rows[0]!.slug, { name, email: `${name.toLowerCase()}-${uniqueSuffix()}@example.org`, answers: { 'your-city': 'Springfield' } });
    }
    await page.reload();
    t.match(await page.locator('.details').first().textContent(), /2 of 2 seats/);
    await accessible(t, page, 'overview of a published session');
    await shot(page, 'session-04-overview-published');

    await page.getByRole('link', { name: 'Edit' }).click();
    await page.waitForURL(`${sessionUrl}/edit`);
    t.equal(await page.getByLabel('Starts').inputValue(), `${day}T14:00`, 'times shown in the session zone');
    await page.getByLabel('Starts').fill(`${day}T15:00`);
    await page.getByLabel('Ends').fill(`${day}T16:30`);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForSelector('text=Apply this change?');
    const effects = await page.locator('.status').textContent();
    t.match(effects, /Invite updates to 2 people/);
    t.match(effects, /The reminders move/);
    await accessible(t, page, 'confirmation of a change');
    await shot(page, 'session-05-edit-confirmation');
    await page.getByRole('button', { name: 'Apply the change' }).click();
    await page.waitForURL(`${sessionUrl}?done=updated`);
    t.match(await page.locator('.when').textContent(), /3:00 PM – 4:30 PM CST/);
  });

  await t.test('cancel with a reason', async (t) => {
    await page.getByRole('link', { name: 'Cancel session' }).click();
    await page.waitForURL(`${sessionUrl}/cancel`);
    await accessible(t, page, 'cancel confirmation');
    await shot(page, 'session-06-cancel');
    await page.getByLabel('Reason').fill('The venue is closed that day');
    await page.getByRole('button', { name: 'Cancel session' }).click();
    await page.waitForURL(`${sessionUrl}?done=cancelled`);
    t.match(await page.locator('.status.stop').textContent(), /The venue is closed that day/);
    await shot(page, 'session-07-overview-cancelled');
  });

  await t.test('on a phone: the overview and the form fit and pass axe', async (t) => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'en-US' });
    await phone.addCookies(await context.cookies());
    const small = await phone.newPage();
    await small.goto(sessionUrl);
    t.equal(await small.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), true, 'no sideways scrolling');
    await accessible(t, small, 'overview on a phone');
    await shot(small, 'session-08-overview-phone');
    await small.goto(`${base}/console/sessions/new`);
    t.equal(await small.evaluate('document.documentElement.scrollWidth <= window.innerWidth'), true, 'the form: no sideways scrolling');
    await accessible(t, small, 'form on a phone');
    await shot(small, 'session-09-new-phone');
    await phone.close();
  });

  t.same(problems, [], 'no script errors and no CSP violations');
}

await withChromium(run);
