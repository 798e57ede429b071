import { rmSync } from 'node:fs';
import { DateTime } from 'luxon';
import type { BrowserContext, Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { readerTimeText } from '../../src/text.js';
import { signIn, uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { accessible, fitsWidth, launchChromium, screenshotsIn, withChromium } from '../helpers/browser.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { freePort, startRedisProcess } from '../helpers/processes.js';
import { createSession, registered } from '../helpers/registrations.js';
import type { ReceivedMail } from '../helpers/smtp-sink.js';
import { pngImage } from '../settings/support.js';

/**
 * The attendee's whole tour (issue #18), in Debian's Chromium at a phone's 390 x 844 (touch) and
 * a laptop's 1280 x 800, in New York looking at sessions hosted in Chicago, with the
 * organisation's branding set: every attendee-facing page (the list, a session, the form with
 * errors, the confirmation after a real post, the manage page confirmed and waitlisted, its
 * cancel step, the join page before the window and of a cancelled registration, a cancelled,
 * a finished and a full session, the embed, the 404) and every e-mail the SMTP server received
 * on the way, each rendered at both widths. Each is screenshot (test-artifacts/attendee-tour),
 * checked by axe (nothing serious or critical) and for sideways scrolling; no page logs a script
 * error or a CSP report. On a database of its own: the branding is the one global settings row.
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const SESSION_ZONE = 'America/Chicago';
const READER_ZONE = 'America/New_York';
const ZOOM_URL = 'https://us02web.zoom.us/j/81234567890';
const ARTIFACTS = 'test-artifacts/attendee-tour';
// Emptied first: the e-mails are numbered in arrival order, which may differ from an earlier run's.
rmSync(ARTIFACTS, { recursive: true, force: true });
const shot = screenshotsIn(ARTIFACTS);

const SIZES = {
  phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true },
  laptop: { viewport: { width: 1280, height: 800 }, isMobile: false, hasTouch: false },
} as const;
type Size = keyof typeof SIZES;

/** 2:00 PM in Chicago, `days` from today (the clock's today, never a fixed date). */
function chicagoAfternoon(days: number): Date {
  return DateTime.now().setZone(SESSION_ZONE).plus({ days }).set({ hour: 14, minute: 0, second: 0, millisecond: 0 }).toJSDate();
}

function linkIn(mail: ReceivedMail, base: string, prefix: 'm' | 'j'): string {
  const escaped = base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const link = new RegExp(`${escaped}/${prefix}/[A-Za-z0-9_-]+`).exec(mail.text)?.[0];
  if (!link) throw new Error(`no /${prefix}/ link in "${mail.parsed.subject}": ${mail.text}`);
  return link;
}

const subjectOf = (mail: ReceivedMail) => mail.parsed.subject ?? '';
const text = (page: Page, selector: string) => page.locator(selector).first().textContent();

async function run(): Promise<void> {
  t.setTimeout(280_000);
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const redis = await startRedisProcess(t);
  const { app, sink, owner, database } = await startMailTest(t, { name: 'attendee_tour', redisUrl: redis.url, env: { PUBLIC_BASE_URL: base } });
  // This file's own database: only its sessions on the list, and the default branding to start from.
  await database.pool.query('TRUNCATE sessions CASCADE');
  await database.pool.query('DELETE FROM settings');
  app.services.settings.forget();
  await app.listen({ port, host: '127.0.0.1' });

  // The branding, through the API as an admin sets it.
  const admin = await signIn(app, 'admin');
  const patched = await app.inject({
    method: 'PATCH',
    url: '/api/v1/settings',
    headers: admin.headers,
    payload: {
      name: 'Mayors Learning Network',
      website: 'https://mayors.example.org',
      accentColor: '#1d5e3b',
      mailFromName: 'Mayors Learning Network',
      footer: 'You get this e-mail because you registered for a session of the Mayors Learning Network.\nMayors Learning Network, 1 Civic Plaza, Springfield.',
      privacyUrl: 'https://mayors.example.org/privacy',
    },
  });
  if (patched.statusCode !== 200) throw new Error(`PATCH /settings: ${patched.statusCode} ${patched.body}`);
  const logo = await app.inject({
    method: 'PUT',
    url: '/api/v1/settings/logo',
    headers: { ...admin.headers, 'content-type': 'image/png' },
    payload: pngImage(96, 32, [242, 201, 76]),
  });
  if (logo.statusCode !== 200) throw new Error(`PUT /settings/logo: ${logo.statusCode} ${logo.body}`);

  const contact = { name: 'Network programme team', email: 'programmes@mayors.example.org' };
  const suffix = uniqueSuffix();
  const sessionAt = (days: number, hours = 1.5) => {
    const startsAt = chicagoAfternoon(days);
    return { startsAt: startsAt.toISOString(), endsAt: new Date(startsAt.getTime() + hours * HOUR).toISOString(), timezone: SESSION_ZONE };
  };
  const create = (body: Record<string, unknown>) => createSession(app, owner.headers, { contact, ...body });

  // The Chicago-hosted training, one seat and a waitlist, so that two people play both parts.
  const privacy = await create({
    title: `Online Privacy and Security for Mayors ${suffix}`,
    summary: 'Understand the threats and protect your personal information online.',
    description: 'A virtual training for mayors and their advisors.\n\n- passwords and passkeys\n- phishing\n- public Wi-Fi',
    ...sessionAt(4),
    capacity: 1,
    waitlist: { enabled: true, limit: null },
    joinUrl: ZOOM_URL,
    joinInstructions: 'Passcode 4321',
  });
  const budgets = await create({ title: `Cybersecurity on a Small-Town Budget ${suffix}`, summary: 'Where a little money goes a long way.', ...sessionAt(6), capacity: 50, joinUrl: ZOOM_URL });
  const full = await create({ title: `Records Requests and Social Media ${suffix}`, ...sessionAt(5), capacity: 1, waitlist: { enabled: false, limit: null }, joinUrl: ZOOM_URL });
  const cancelled = await create({ title: `Town Hall Livestreams ${suffix}`, ...sessionAt(7), joinUrl: ZOOM_URL });
  const finished = await create({
    title: `Ransomware Tabletop Exercise ${suffix}`,
    ...sessionAt(3),
    joinUrl: ZOOM_URL,
    followUp: { message: 'Thank you for joining. The slides and the checklist are on the recording page.', recordingUrl: 'https://mayors.example.org/recordings/ransomware' },
  });

  const ana = uniqueEmail('ana');
  const bo = uniqueEmail('bo');
  const cy = uniqueEmail('cy');
  const dee = uniqueEmail('dee');
  const eve = uniqueEmail('eve');
  await registered(app, full.slug, { name: 'Eve Full', email: eve, timezone: READER_ZONE });
  await registered(app, cancelled.slug, { name: 'Cy Cancelled', email: cy, timezone: READER_ZONE });
  await registered(app, finished.slug, { name: 'Dee Finished', email: dee, timezone: READER_ZONE });

  const browser = await launchChromium(t);
  const problems: string[] = [];
  const contexts = {} as Record<Size, BrowserContext>;
  const pages = {} as Record<Size, Page>;
  for (const size of Object.keys(SIZES) as Size[]) {
    const context = await browser.newContext({ ...SIZES[size], locale: 'en-US', timezoneId: READER_ZONE });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    page.on('console', (message) => {
      const said = message.text();
      // Pages that refuse on purpose (400 form, 403/410 join pages, 404) answer with a 4xx document,
      // which Chromium logs; any other resource that fails is caught by the response listener below.
      if (/the server responded with a status of 4\d\d/.test(said) && message.location().url === page.url()) return;
      if (message.type() === 'error' || /Content Security Policy/i.test(said)) problems.push(`${size} ${page.url()}: ${said}`);
    });
    page.on('pageerror', (error) => problems.push(`${size} ${page.url()}: ${error.message}`));
    page.on('response', (response) => {
      if (response.status() >= 400 && response.request().resourceType() !== 'document') problems.push(`${size}: ${response.status()} for ${response.url()}`);
    });
    contexts[size] = context;
    pages[size] = page;
  }
  t.teardown(async () => {
    for (const context of Object.values(contexts)) await context.close();
  });

  /** Screenshot, axe, and nothing wider than the window. */
  async function look(t: Test, page: Page, size: Size, name: string): Promise<void> {
    t.ok(await fitsWidth(page), `${name} (${size}): nothing scrolls sideways`);
    await accessible(t, page, `${name} (${size})`);
    await shot(page, `${name}-${size}`);
  }

  /** Opens `url` at both sizes, checks each, then runs `check` on each page. */
  async function visitBoth(t: Test, name: string, url: string, status: number, check?: (page: Page, size: Size) => Promise<void>): Promise<void> {
    for (const size of Object.keys(SIZES) as Size[]) {
      const page = pages[size];
      const res = await page.goto(url);
      t.equal(res?.status(), status, `${name} (${size}): ${status}`);
      if (check) await check(page, size);
      await look(t, page, size, name);
    }
  }

  await t.test('the list of sessions: branded, status badges', async (t) => {
    await visitBoth(t, '01-list', `${base}/`, 200, async (page) => {
      t.equal(await page.locator('header.site img.brand-logo').getAttribute('alt'), 'Mayors Learning Network');
      t.equal(await page.title(), 'Upcoming sessions · Mayors Learning Network');
      t.ok(await page.getByRole('link', { name: privacy.title }).isVisible(), 'the training is listed');
      t.ok((await page.locator('.badge').count()) >= 3, 'statuses are badges');
    });
  });

  // The New York reader's time, computed from the session's instants.
  const nyZoneOf = (iso: string) => DateTime.fromISO(iso, { zone: READER_ZONE }).toFormat('ZZZZ');
  await t.test('the session page: New York time first, how to join without the passcode', async (t) => {
    const zone = nyZoneOf(privacy.startsAt);
    const weekday = DateTime.fromISO(privacy.startsAt, { zone: READER_ZONE }).toFormat('cccc');
    await visitBoth(t, '02-session', `${base}/s/${privacy.slug}`, 200, async (page) => {
      t.match(await text(page, '.when-primary'), new RegExp(`^${weekday}, .+ ${zone}$`), `the visitor's ${zone} time first`);
      t.match(await text(page, '.when-secondary'), /C[SD]T in Chicago, the organizer’s time$/, "the organizer's time second");
      t.match(await text(page, '.how-to-join .join-platform'), /Zoom/, 'the platform, from the meeting URL');
      t.notMatch(await page.content(), /4321|81234567890/, 'no passcode and no meeting link on the public page');
      t.equal(await page.locator('input[type=hidden][name=timezone]').inputValue(), READER_ZONE, 'the form carries the browser zone');
    });
  });

  await t.test('the form with errors, then a real post: the confirmation page', async (t) => {
    const people: Record<Size, { name: string; email: string }> = { phone: { name: 'Ana Pérez', email: ana }, laptop: { name: 'Bo Lindqvist', email: bo } };
    for (const size of Object.keys(SIZES) as Size[]) {
      const page = pages[size];
      await page.goto(`${base}/s/${privacy.slug}`);
      await page.getByLabel('Full name (required)', { exact: true }).fill(people[size].name);
      await page.getByLabel('E-mail address (required)', { exact: true }).fill(people[size].email);
      await page.getByLabel('Organisation', { exact: true }).fill('City of Springfield');
      // Consent left out: the form comes back with its error.
      await page.getByRole('button', { name: /Register|Join the waitlist/ }).click();
      await page.waitForURL(`${base}/s/${privacy.slug}/register`);
      t.ok(await page.locator('#error-summary').isVisible(), `the error summary (${size})`);
      t.equal(await page.locator('#f-consent').getAttribute('aria-invalid'), 'true');
      await look(t, page, size, '03-form-errors');

      await page.locator('#f-consent').check();
      await page.getByRole('button', { name: /Register|Join the waitlist/ }).click();
      await page.waitForURL(`${base}/s/${privacy.slug}/registered`);
      t.equal(await text(page, 'h1'), 'Check your inbox');
      const [local, domain] = people[size].email.split('@');
      t.equal(await text(page, '.sent-to'), `${local!.slice(0, 1)}***@${domain}`, 'the masked address');
      t.match(await text(page, 'main'), /comes from Mayors Learning Network/, 'the sender by name');
      await look(t, page, size, '04-confirmation');
    }
    const { rows } = await database.pool.query(
      `SELECT a.email, r.status::text, r.attendee_timezone FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE r.session_id = $1 ORDER BY r.registered_at`,
      [privacy.id],
    );
    t.same(rows, [
      { email: ana, status: 'confirmed', attendee_timezone: READER_ZONE },
      { email: bo, status: 'waitlisted', attendee_timezone: READER_ZONE },
    ], 'one seat, one waitlist place, both with the zone the browser posted');
  });

  const [anaConfirmation] = await sink.waitForMail(ana, 1, 20_000);
  const [boWaitlisted] = await sink.waitForMail(bo, 1, 20_000);
  const anaManage = linkIn(anaConfirmation!, base, 'm');
  const anaJoin = linkIn(anaConfirmation!, base, 'j');
  const boManage = linkIn(boWaitlisted!, base, 'm');

  await t.test('the manage page: confirmed, with how to join; waitlisted', async (t) => {
    await visitBoth(t, '05-manage-confirmed', anaManage, 200, async (page) => {
      t.equal(await text(page, '.status h2'), 'You are registered');
      t.match(await text(page, '.when-primary'), new RegExp(`${nyZoneOf(privacy.startsAt)}$`), 'New York first');
      t.equal(await text(page, '.how-to-join .passcode'), '4321', 'the labelled passcode');
      t.match(await text(page, '.how-to-join time.local-instant'), /E[SD]T \(\d+:\d\d [AP]M C[SD]T in Chicago\)$/, 'when the link opens, local first');
      t.match(await text(page, '.how-to-join .yours'), /don't forward it/);
    });
    await visitBoth(t, '06-manage-waitlisted', boManage, 200, async (page) => {
      t.equal(await text(page, '.status h2'), 'You are on the waitlist');
      t.match(await text(page, '.status p'), /You are number 1/);
      t.equal(await page.locator('.how-to-join').count(), 0, 'no join details without a seat');
    });
  });

  await t.test('the join page before the window opens: a countdown', async (t) => {
    await visitBoth(t, '07-join-countdown', anaJoin, 403, async (page) => {
      t.equal(await text(page, 'h1'), 'The meeting is not open yet');
      t.match(await text(page, '.countdown-left'), /\d+ day/, 'days left');
      t.match(await text(page, '.status time.local-instant'), /E[SD]T \(/, 'the opening time, local first');
      t.ok(await page.getByRole('link', { name: 'Manage your registration' }).isVisible(), 'a way to the manage page');
    });
  });

  await t.test('the cancel step, then the cancelled registration and its join page', async (t) => {
    await visitBoth(t, '08-cancel-step', `${anaManage}/cancel`, 200, async (page) => {
      t.equal(await text(page, 'h1'), 'Cancel your registration?');
    });
    const page = pages.phone;
    await page.getByRole('button', { name: 'Yes, cancel my registration' }).click();
    await page.waitForURL(anaManage);
    await visitBoth(t, '09-manage-cancelled', anaManage, 200, async (page) => {
      t.equal(await text(page, '.status h2'), 'Your registration is cancelled');
      t.notMatch(await text(page, 'main'), /anyone with it can cancel/, 'no warning about a link that cancels nothing');
    });
    await visitBoth(t, '10-join-cancelled-registration', anaJoin, 403, async (page) => {
      t.equal(await text(page, 'h1'), 'Your registration is cancelled');
      t.equal(await page.locator('.countdown').count(), 0);
    });
  });

  await t.test('the waitlisted person is promoted, then the session moves by a day and an hour', async (t) => {
    const promoted = await sink.waitForMail(bo, 2, 20_000);
    t.match(subjectOf(promoted[1]!), /^A seat opened up/, 'the promotion e-mail');
    await sink.waitForMail(ana, 2, 20_000);

    const oldStart = new Date(privacy.startsAt);
    const oldEnd = new Date(privacy.endsAt);
    const newStart = new Date(oldStart.getTime() + DAY + HOUR);
    const newEnd = new Date(oldEnd.getTime() + DAY + HOUR);
    const moved = await app.inject({
      method: 'PATCH',
      url: `/api/v1/sessions/${privacy.id}`,
      headers: owner.headers,
      payload: { startsAt: newStart.toISOString(), endsAt: newEnd.toISOString() },
    });
    t.equal(moved.statusCode, 200, 'moved');
    const mails = await sink.waitForMail(bo, 3, 20_000);
    const update = mails[2]!;
    const was = readerTimeText(oldStart, oldEnd, SESSION_ZONE, READER_ZONE);
    const now = readerTimeText(newStart, newEnd, SESSION_ZONE, READER_ZONE);
    t.match(subjectOf(update), /^Moved to \w+day, \w+ \d+: /, 'the subject says where it moved');
    t.ok(update.text.includes(was.primary), `the old time in New York: ${was.primary}`);
    t.ok(update.text.includes(now.primary), `the new time in New York: ${now.primary}`);
    t.ok(update.html.includes(was.primary) && update.html.includes(now.primary), 'both in the HTML part too');
    t.match(was.primary, new RegExp(`${nyZoneOf(privacy.startsAt)}$`), 'times in the reader’s zone');

    const boManageNow = linkIn(update, base, 'm');
    await visitBoth(t, '11-manage-after-update', boManageNow, 200, async (page) => {
      t.equal(await text(page, '.status:not(.change-notice) h2'), 'You are registered');
      t.match(await text(page, '.change-notice'), /This session moved: was .+, now .+\./, 'the notice of what changed');
    });
  });

  await t.test('a cancelled session explains itself', async (t) => {
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/sessions/${cancelled.id}/cancel`,
      headers: owner.headers,
      payload: { reason: 'The speaker is ill; we will announce a new date soon.' },
    });
    t.equal(res.statusCode, 200);
    await visitBoth(t, '12-session-cancelled', `${base}/s/${cancelled.slug}`, 200, async (page) => {
      t.match(await text(page, '.cancel-reason'), /The speaker is ill/);
      t.equal(await page.locator('form').count(), 0, 'no form');
      t.ok(await page.getByRole('link', { name: privacy.title }).isVisible(), 'the other sessions offered');
    });
    await sink.waitForMail(cy, 2, 20_000);
  });

  await t.test('a finished session: the follow-up and the upcoming sessions', async (t) => {
    // The API never dates a session in the past: move it there in the database, as time would.
    await database.pool.query(`UPDATE sessions SET starts_at = now() - interval '3 hours', ends_at = now() - interval '90 minutes' WHERE id = $1`, [finished.id]);
    const sent = await app.inject({ method: 'POST', url: `/api/v1/sessions/${finished.id}/follow-up`, headers: owner.headers });
    t.equal(sent.statusCode, 202, 'the follow-up is sent');
    await visitBoth(t, '13-session-finished', `${base}/s/${finished.slug}`, 200, async (page) => {
      t.match(await text(page, '.status'), /ended/i);
      t.ok(await page.getByRole('link', { name: 'Watch the recording' }).isVisible(), 'the recording');
      t.ok(await page.getByRole('link', { name: budgets.title }).isVisible(), 'the upcoming sessions');
    });
    await sink.waitForMail(dee, 2, 20_000);
  });

  await t.test('a full session without a waitlist offers the others', async (t) => {
    await visitBoth(t, '14-session-full', `${base}/s/${full.slug}`, 200, async (page) => {
      t.equal(await page.locator('form').count(), 0, 'no form');
      t.match(await text(page, '.status'), /full/i);
      t.ok(await page.getByRole('link', { name: budgets.title }).isVisible(), 'an open session offered');
    });
  });

  await t.test('the embed page and the 404 page', async (t) => {
    await visitBoth(t, '15-embed', `${base}/embed/${budgets.slug}`, 200, async (page) => {
      t.equal(await page.locator('header.site').count(), 0, 'no site header in the embed');
      t.ok(await page.getByRole('button', { name: 'Register' }).isVisible());
    });
    await visitBoth(t, '16-not-found', `${base}/no-such-page-${suffix}`, 404, async (page) => {
      t.match((await page.request.get(`${base}/sessions`)).headers()['content-type'], /^text\/html/, 'an HTML page, not JSON');
      t.ok(await page.locator('header.site img.brand-logo').isVisible(), 'branded');
    });
  });

  await t.test('every e-mail of the tour, rendered at both widths', async (t) => {
    // A blank page of each size: setContent on a visited page would inherit that page's CSP.
    const mailPages = {} as Record<Size, Page>;
    for (const size of Object.keys(SIZES) as Size[]) {
      const page = await contexts[size].newPage();
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`${size} e-mail: ${message.text()}`);
      });
      page.on('requestfailed', (request) => problems.push(`${size} e-mail: ${request.url()} failed`));
      mailPages[size] = page;
    }
    const received = [...sink.messages];
    const kinds = received.map(subjectOf);
    for (const expected of [/^You're registered/, /^You're on the waitlist/, /^Registration cancelled/, /^A seat opened up/, /^Moved to /, /^Cancelled: /, /^Sorry we missed you/]) {
      t.ok(kinds.some((subject) => expected.test(subject)), `an e-mail ${expected}`);
    }
    for (const [index, mail] of received.entries()) {
      const kind = subjectOf(mail).split(':')[0]!.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
      const name = `mail-${String(index + 1).padStart(2, '0')}-${kind}`;
      t.match(mail.parsed.from?.text ?? '', /^"?Mayors Learning Network"? </, `${name}: from the network`);
      t.match(mail.html, /<meta name="viewport"/, `${name}: a viewport`);
      t.notMatch(mail.html, /fonts\.googleapis\.com/, `${name}: no third-party font`);
      for (const size of Object.keys(SIZES) as Size[]) {
        const page = mailPages[size];
        await page.setContent(mail.html, { waitUntil: 'load' });
        t.ok(await page.evaluate("Array.from(document.images).every((img) => img.complete && img.naturalWidth > 0)"), `${name} (${size}): the logo loads`);
        await look(t, page, size, name);
      }
    }
  });

  t.same(problems, [], 'no script errors, no CSP reports, no failed resources');
}

await withChromium(run);
