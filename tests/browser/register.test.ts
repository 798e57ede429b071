import { mkdirSync } from 'node:fs';
import { type Page } from 'playwright-core';
import t from 'tap';
import { accessible, launchChromium, withChromium } from '../helpers/browser.js';
import { uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { freePort } from '../helpers/processes.js';
import { createSession, registerJson } from '../helpers/registrations.js';
import type { ReceivedMail } from '../helpers/smtp-sink.js';

/**
 * The attendee's path in a real browser (Debian's Chromium, driven by playwright-core) on a
 * phone-sized window: find the session in the list, register (first with a mistake), read the
 * confirmation, open the manage link from the e-mail the SMTP server received, cancel through
 * the confirmation step, and see the waitlisted person promoted. axe-core checks the pages;
 * screenshots go to test-artifacts/browser (ignored by git).
 */

const ARTIFACTS = 'test-artifacts/browser';

function manageLinkOf(mail: ReceivedMail, base: string): string {
  const link = new RegExp(`${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/m/[A-Za-z0-9_-]+`).exec(mail.text)?.[0];
  if (!link) throw new Error(`no manage link in: ${mail.text}`);
  return link;
}


async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${ARTIFACTS}/${name}.png`, fullPage: true });
}

const activeId = (page: Page) => page.evaluate('document.activeElement ? (document.activeElement.id || document.activeElement.tagName.toLowerCase()) : null');

async function run(): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const ctx = await startMailTest(t, { name: 'browser', redisDb: 9, env: { PUBLIC_BASE_URL: base } });
  const { app, sink, owner, database } = ctx;
  // This file's own database: only its sessions on the list.
  await database.pool.query('TRUNCATE sessions CASCADE');
  await app.listen({ port, host: '127.0.0.1' });

  const browser = await launchChromium(t);
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 },
    isMobile: true,
    hasTouch: true,
    locale: 'en-US',
    // Not the session's zone, so the page adds the visitor's local time.
    timezoneId: 'Europe/Paris',
  });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (message) => {
    const text = message.text();
    // The form with errors answers 400 on purpose; Chromium logs any 4xx document.
    if (/status of 400 \(Bad Request\)/.test(text)) return;
    if (message.type() === 'error' || /Content Security Policy/i.test(text)) problems.push(text);
  });
  page.on('pageerror', (error) => problems.push(error.message));

  const title = `Online Privacy and Security for Mayors ${uniqueSuffix()}`;
  const session = await createSession(app, owner.headers, {
    title,
    summary: 'Understand the threats and protect your personal information online.',
    description: 'A virtual session for mayors and their advisors.\n\n- passwords\n- phishing\n- public Wi-Fi',
    capacity: 1,
    waitlist: { enabled: true, limit: null },
    questions: [{ id: 'city', label: 'Your city', type: 'text', required: true }],
    joinUrl: 'https://meet.example.org/j/123',
    contact: { name: 'Programme team', email: 'programs@example.org' },
  });
  const ana = uniqueEmail('ana');
  const bo = uniqueEmail('bo');

  await t.test('find the session and register from a phone, with a mistake first', async (t) => {
    await page.goto(`${base}/`);
    await shot(page, '01-list');
    await page.getByRole('link', { name: title }).click();
    await page.waitForURL(`${base}/s/${session.slug}`);
    t.equal(await page.locator('h1').textContent(), title);
    // The script (it runs under the CSP) puts the visitor's Paris time first, Chicago's second.
    t.match(await page.locator('.when-primary').textContent(), /^\w+day, .+ (GMT\+1|CET)$/, 'the local time first');
    t.match(await page.locator('.when-secondary').textContent(), /C[SD]T in Chicago, the organizer’s time$/, "the session's time second");
    await accessible(t, page, 'session page');

    // The keyboard alone reaches every field in order; the honeypot is not among them.
    await page.focus('#f-name');
    const order = [await activeId(page)];
    for (let i = 0; i < 6; i += 1) {
      await page.keyboard.press('Tab');
      order.push(await activeId(page));
    }
    t.same(order, ['f-name', 'f-email', 'f-organization', 'f-jobTitle', 'f-q-city', 'f-consent', 'button'], 'tab order, no honeypot');
    await shot(page, '02-session');

    await page.getByLabel('Full name (required)', { exact: true }).fill('Ana Pérez');
    await page.getByLabel('E-mail address (required)', { exact: true }).fill(ana);
    await page.getByLabel('Organisation', { exact: true }).fill('City of X');
    await page.getByLabel('Your city (required)', { exact: true }).fill('Springfield');
    await page.getByRole('button', { name: 'Register' }).click();
    await page.waitForURL(`${base}/s/${session.slug}/register`);

    t.equal(await page.title(), `Error: ${title} · Convene`, 'the title says there is an error');
    const summary = page.locator('#error-summary');
    t.ok(await summary.isVisible(), 'an error summary at the top');
    t.equal(await summary.getByRole('link').getAttribute('href'), '#f-consent', 'linking to the field');
    t.equal(await activeId(page), 'f-consent', 'focus is on the first field in error');
    t.equal(await page.locator('#f-consent').getAttribute('aria-invalid'), 'true');
    t.equal(await page.getByLabel('Full name (required)', { exact: true }).inputValue(), 'Ana Pérez', 'what was typed is kept');
    t.equal(await page.getByLabel('Your city (required)', { exact: true }).inputValue(), 'Springfield');
    await accessible(t, page, 'form with errors');
    await shot(page, '03-errors');

    // Fix it with the keyboard: tick, tab to the button, Enter.
    await page.keyboard.press('Space');
    t.ok(await page.locator('#f-consent').isChecked(), 'ticked with the space bar');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${base}/s/${session.slug}/registered`);
    t.equal(await page.locator('h1').textContent(), 'Check your inbox');
    t.match(await page.locator('main').textContent(), /We are sending an e-mail to a\*\*\*@example\.org/, 'the masked address, from the cookie of the post');
    await accessible(t, page, 'confirmation page');
    await shot(page, '04-confirmation');
  });

  await t.test('someone else joins the waitlist', async (t) => {
    const res = await registerJson(app, session.slug, { name: 'Bo Waiting', email: bo, consent: true, answers: { city: 'Shelbyville' } });
    t.equal(res.statusCode, 202);
    t.equal(res.json().status, 'received', 'the place on the waitlist is told by e-mail');
    const { rows } = await database.pool.query(
      `SELECT r.status::text FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE r.session_id = $1 AND a.email = $2`,
      [session.id, bo],
    );
    t.same(rows, [{ status: 'waitlisted' }]);
  });

  await t.test('the manage link from the e-mail: status, calendar, cancel with a confirmation step', async (t) => {
    const [mail] = await sink.waitForMail(ana, 1, 20_000);
    const link = manageLinkOf(mail!, base);
    await page.goto(link);
    t.equal(await page.locator('.status h2').textContent(), 'You are registered');
    const ics = await page.getByRole('link', { name: 'Apple / other (.ics)' }).getAttribute('href');
    const download = await page.request.get(`${base}${ics}`);
    t.equal(download.status(), 200, 'the invite downloads');
    t.match(download.headers()['content-type'], /^text\/calendar/);
    // The own feed, under "More".
    t.match(await page.getByRole('link', { name: 'Subscribe to your own sessions in your calendar app', includeHidden: true }).getAttribute('href'), /^webcal:\/\//);
    t.match(await page.getByRole('link', { name: 'Subscribe to your own sessions in Google Calendar', includeHidden: true }).getAttribute('href'), /^https:\/\/calendar\.google\.com\//);
    t.notMatch(await page.content(), /Bo Waiting|meet\.example\.org/, 'no other attendee, no meeting URL');
    await accessible(t, page, 'manage page');
    await shot(page, '05-manage');

    await page.getByRole('link', { name: 'Cancel my registration' }).click();
    await page.waitForURL(`${link}/cancel`);
    t.equal(await page.locator('h1').textContent(), 'Cancel your registration?');
    await accessible(t, page, 'cancel step');
    await shot(page, '06-cancel-step');
    await page.getByRole('button', { name: 'Yes, cancel my registration' }).click();
    await page.waitForURL(link);
    t.equal(await page.locator('.status h2').textContent(), 'Your registration is cancelled');
    await shot(page, '07-cancelled');
  });

  await t.test('the waitlisted person is promoted: their manage page says so', async (t) => {
    const mails = await sink.waitForMail(bo, 2, 20_000);
    const link = manageLinkOf(mails[mails.length - 1]!, base);
    await page.goto(link);
    t.equal(await page.locator('.status h2').textContent(), 'You are registered', 'promoted from the waitlist');
    await accessible(t, page, 'manage page (promoted)');
    await shot(page, '08-promoted');
  });

  t.same(problems, [], 'no console errors and no CSP violations on any page');
}

await withChromium(run);
