import { DateTime } from 'luxon';
import type { Page } from 'playwright-core';
import t from 'tap';
import { buildTestApp, manualClock, signIn, uniqueEmail } from '../helpers/app.js';
import { accessible, fitsWidth, launchChromium, screenshotsIn, withChromium } from '../helpers/browser.js';
import { freePort } from '../helpers/processes.js';
import { createSession, registered, registrationId } from '../helpers/registrations.js';
import { emptySessions, ownDatabaseUrl } from '../pages/support.js';

/**
 * Local times first, in a real browser in New York looking at a Chicago session (issue #18): the
 * session page, the manage page and the join page lead with the visitor's own time; the
 * registration form carries the browser's zone in its hidden field; the join page counts down
 * and opens the meeting when the window opens. Screenshots go to test-artifacts/local-times.
 */

const MINUTE = 60_000;
const JOIN_URL = 'https://meet.example.org/j/8123456789';
const shot = screenshotsIn('test-artifacts/local-times');

async function run(): Promise<void> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const clock = manualClock();
  const { app, database } = await buildTestApp(t, { clock, env: { DATABASE_URL: ownDatabaseUrl('local_times'), PUBLIC_BASE_URL: base } });
  await emptySessions(database.pool);
  await app.listen({ port, host: '127.0.0.1' });
  const owner = await signIn(app);

  // 11:00 in Chicago three days on, whatever the hour now: the same day in New York, so the
  // expected one-day ranges hold at any time the test runs (late evening UTC crossed midnight there).
  const start = DateTime.fromJSDate(clock.now()).setZone('America/Chicago').plus({ days: 3 }).set({ hour: 11, minute: 0, second: 0, millisecond: 0 });
  const session = await createSession(app, owner.headers, {
    joinUrl: JOIN_URL,
    joinInstructions: 'Passcode: 4321',
    startsAt: start.toUTC().toISO(),
    endsAt: start.plus({ minutes: 90 }).toUTC().toISO(),
  });
  const email = uniqueEmail('ana');
  await registered(app, session.slug, { name: 'Ana Pérez', email });
  const id = await registrationId(database.pool, session.id, email);
  const manageToken = app.services.tokens.derive('manage', id, 0);
  const joinToken = app.services.tokens.derive('join', id, 0);

  const browser = await launchChromium(t);
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'en-US', timezoneId: 'America/New_York' });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    const text = message.text();
    // The join page answers 403 on purpose; Chromium logs any 4xx document.
    if (/status of 403/.test(text) || /ERR_NAME_NOT_RESOLVED/.test(text)) return;
    if (message.type() === 'error' || /Content Security Policy/i.test(text)) problems.push(text);
  });
  page.on('pageerror', (error) => problems.push(error.message));
  const text = (p: Page, selector: string) => p.locator(selector).first().textContent();

  await t.test('the session page: New York first, Chicago second; the form carries the zone', async (t) => {
    await page.goto(`${base}/s/${session.slug}`);
    t.match(await text(page, '.when-primary'), /^\w+day, \w+ \d+, \d{4}, \d+:\d\d [AP]M – \d+:\d\d [AP]M E[SD]T$/, 'the visitor\'s time first, with a short zone name');
    t.match(await text(page, '.when-secondary'), /^\d+:\d\d [AP]M – \d+:\d\d [AP]M C[SD]T in Chicago, the organizer’s time$/, "the organizer's time second");
    const zoneField = page.locator('input[type="hidden"][name="timezone"]');
    if ((await zoneField.count()) > 0) t.equal(await zoneField.first().inputValue(), 'America/New_York', 'the hidden field holds the browser zone');
    else t.comment('no registration form with a timezone field on this page yet');
    t.ok(await fitsWidth(page), 'fits a phone');
    await accessible(t, page, 'session page');
    await shot(page, 'session-new-york');
  });

  await t.test('the manage page: how to join, the opening time in New York', async (t) => {
    await page.goto(`${base}/m/${manageToken}`);
    t.match(await text(page, '.when-primary'), /E[SD]T$/);
    t.match(await text(page, '.how-to-join'), /Passcode: 4321/);
    t.match(await text(page, '.how-to-join time.local-instant'), /^\w+day, .+ E[SD]T \(\d+:\d\d [AP]M C[SD]T in Chicago\)$/, 'the opening time, local first');
    t.ok(await fitsWidth(page), 'fits a phone');
    await accessible(t, page, 'manage page');
    await shot(page, 'manage-new-york');
  });

  await t.test('the join page counts down, then opens the meeting', async (t) => {
    const opensAt = Date.parse(session.startsAt) - 15 * MINUTE;
    clock.set(new Date(opensAt - 4_000));
    await page.goto(`${base}/j/${joinToken}`);
    t.equal(await text(page, 'h1'), 'The meeting is not open yet');
    t.match(await text(page, '.countdown-left'), /^\d second/, 'seconds left');
    t.match(await text(page, '.status time.local-instant'), /E[SD]T \(/, 'the opening time, local first');
    await accessible(t, page, 'join page');
    await shot(page, 'join-countdown');
    // The server's clock reaches the window; the page's own countdown then opens the link, which
    // leads to the meeting (this closed network resolves no meeting host: the request is enough).
    const meeting = page.waitForRequest(JOIN_URL, { timeout: 10_000 });
    clock.set(new Date(opensAt));
    t.equal((await meeting).url(), JOIN_URL, 'the meeting opened by itself');
  });

  t.same(problems, [], 'no script errors and no CSP reports');
}

await withChromium(run);
