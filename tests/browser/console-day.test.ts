import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { DateTime } from 'luxon';
import { type Page } from 'playwright-core';
import t, { type Test } from 'tap';
import type { Clock } from '../../src/clock.js';
import { accessible, launchChromium, withChromium } from '../helpers/browser.js';
import { buildTestApp, uniqueEmail } from '../helpers/app.js';
import { notificationsOf } from '../helpers/notification-rows.js';
import { freePort } from '../helpers/processes.js';
import { makeOrganizer, PASSWORD } from '../console/support.js';

/**
 * A programme officer's day with the console, in a real browser (Debian's Chromium through
 * playwright-core) at 1280 x 800, only through what the pages show: sign in, create the session
 * with two questions, publish it, register three people on its public form (two seats, one on the
 * waitlist), find one, check one in, cancel one and see the waitlist move, download the CSV and
 * read it back, and, once the session is over, send the follow-up; then sign out. axe-core checks
 * every page; full-page screenshots go to test-artifacts/console-day (ignored by git), and a
 * viewport-sized one of the People page is the README's picture (tests/browser/screenshots).
 */

const ARTIFACTS = 'test-artifacts/console-day';
const ZONE = 'America/New_York';
const TITLE = 'Online privacy and security for local officials';

/** The real time plus an offset: the walk jumps to the day after the session. */
class ShiftedClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  moveTo(at: Date): void {
    this.offsetMs = at.getTime() - Date.now();
  }
}

interface Person {
  name: string;
  email: string;
  organization: string;
  city: string;
  role: string;
}

async function run(): Promise<void> {
  // Numbered afresh on every run: no picture of an earlier run is left among them.
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const clock = new ShiftedClock();
  const { app, database } = await buildTestApp(t, { env: { PUBLIC_BASE_URL: base }, clock });
  await app.listen({ port, host: '127.0.0.1' });
  const organizer = await makeOrganizer(app, 'organizer', 'Programme Officer');

  const browser = await launchChromium(t);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', acceptDownloads: true });
  context.setDefaultTimeout(15_000);
  const problems: string[] = [];
  const watch = (watched: Page) => {
    watched.on('console', (message) => {
      const text = message.text();
      if (message.type() === 'error' || /Content Security Policy/i.test(text)) problems.push(`${watched.url()}: ${text}`);
    });
    watched.on('pageerror', (error) => problems.push(`${watched.url()}: ${error.message}`));
  };
  const page = await context.newPage();
  watch(page);

  let shots = 0;
  /** Every page the walk visits: no serious axe violation, and a full-page screenshot. */
  async function visited(t: Test, on: Page, name: string): Promise<void> {
    await accessible(t, on, name);
    shots += 1;
    await on.screenshot({ path: `${ARTIFACTS}/${String(shots).padStart(2, '0')}-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`, fullPage: true });
  }

  async function signIn(t: Test): Promise<void> {
    t.equal(await page.locator('h1').textContent(), 'Sign in');
    await visited(t, page, 'login');
    await page.getByLabel('E-mail').fill(organizer.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  // The session: tomorrow afternoon in its zone, whenever the test runs.
  const day = DateTime.now().setZone(ZONE).plus({ days: 1 }).startOf('day');
  const startsAt = day.set({ hour: 14 });
  const endsAt = day.set({ hour: 15, minute: 30 });
  const local = (at: DateTime) => at.toFormat("yyyy-MM-dd'T'HH:mm");

  const people: Person[] = [
    { name: 'Ana Pérez', email: uniqueEmail('ana.perez'), organization: 'City of Springfield', city: 'Springfield', role: 'Mayor' },
    { name: 'Bo Lindqvist', email: uniqueEmail('bo.lindqvist'), organization: 'Shelbyville Council', city: 'Shelbyville', role: 'Council member' },
    { name: 'Chidi Okafor', email: uniqueEmail('chidi.okafor'), organization: 'Capital City', city: 'Capital City', role: 'Staff' },
  ];
  const [ana, bo, chidi] = people as [Person, Person, Person];
  let overviewUrl = '';
  let publicUrl = '';

  await t.test('1. sign in', async (t) => {
    await page.goto(`${base}/console`);
    await page.waitForURL(`${base}/console/login`);
    await signIn(t);
    await page.waitForURL(`${base}/console`);
    t.equal(await page.locator('h1').textContent(), 'Sessions', 'the dashboard');
    await visited(t, page, 'dashboard');
  });

  await t.test('2. a new session with two questions, saved as a draft, then published', async (t) => {
    await page.getByRole('link', { name: 'New session' }).click();
    await page.waitForURL(`${base}/console/sessions/new`);
    t.equal(await page.locator('h1').textContent(), 'New session');
    await visited(t, page, 'new session form');

    await page.getByLabel('Title').fill(TITLE);
    await page.getByLabel('Summary').fill('The December 4 training on online privacy and security');
    await page.getByLabel('Description').fill('How to protect yourself and your office online.\n\n- passwords and two-factor sign-in\n- phishing\n- public Wi-Fi');
    await page.getByLabel('Time zone').selectOption(ZONE);
    await page.getByLabel('Starts').fill(local(startsAt));
    await page.getByLabel('Ends').fill(local(endsAt));
    await page.getByLabel('Capacity').fill('2');
    await page.getByLabel('Waitlist', { exact: true }).check();
    const first = page.getByRole('group', { name: 'Question 1 (new)' });
    await first.getByLabel('Question').fill('Your city');
    await first.getByLabel('An answer is required').check();
    const second = page.getByRole('group', { name: 'Question 2 (new)' });
    await second.getByLabel('Question').fill('Your role');
    await second.getByLabel('Answer type').selectOption({ label: 'Choice from a list' });
    await second.getByLabel('Options').fill('Mayor\nCouncil member\nStaff');
    await second.getByLabel('An answer is required').check();
    await page.getByLabel('Reminders', { exact: true }).fill('1440, 60');
    await page.getByLabel('Join URL').fill('https://meet.example.org/j/privacy-training');
    await page.getByRole('button', { name: 'Save' }).click();

    await page.waitForURL(/\/console\/sessions\/[0-9a-f-]{36}\?done=created$/);
    overviewUrl = page.url().replace(/\?.*$/, '');
    t.equal(await page.locator('h1').textContent(), TITLE);
    t.equal(await page.locator('.page-head .badge').textContent(), 'Draft', 'saved as a draft');
    t.match(await page.locator('.when').textContent(), new RegExp(`2:00 PM – 3:30 PM \\w+ \\(${ZONE.replace('/', '\\/')}\\)`), 'the times read in the chosen zone');
    await visited(t, page, 'overview of the draft');

    await page.getByRole('button', { name: 'Publish' }).click();
    await page.waitForURL(`${overviewUrl}?done=published`);
    t.equal(await page.locator('.page-head .badge').textContent(), 'Published', 'published');
    publicUrl = (await page.locator('#share-page-link').getAttribute('href')) ?? '';
    t.match(publicUrl, new RegExp(`^${base}/s/online-privacy-and-security-for-local-officials`), 'the public page link');
    await visited(t, page, 'overview published');
  });

  await t.test('3. three people register on the public form: two seats, one on the waitlist', async (t) => {
    // The officer opens the public page in a new tab, as anyone sharing it would check it.
    const [visitor] = await Promise.all([context.waitForEvent('page'), page.locator('#share-page-link').click({ modifiers: ['ControlOrMeta'] })]);
    watch(visitor);
    await visitor.waitForLoadState();
    t.equal(visitor.url(), publicUrl, 'the link leads to the public page');
    t.equal(await visitor.locator('h1').textContent(), TITLE);
    await visited(t, visitor, 'public page');

    for (const [index, person] of people.entries()) {
      await visitor.getByLabel('Full name (required)', { exact: true }).fill(person.name);
      await visitor.getByLabel('E-mail address (required)', { exact: true }).fill(person.email);
      await visitor.getByLabel('Organisation', { exact: true }).fill(person.organization);
      await visitor.getByLabel('Your city (required)', { exact: true }).fill(person.city);
      await visitor.getByLabel('Your role (required)', { exact: true }).selectOption(person.role);
      await visitor.getByRole('checkbox', { name: /^I agree that the organisers store my name/ }).check();
      // Two seats: the third person is offered the waitlist.
      await visitor.getByRole('button', { name: index < 2 ? 'Register' : 'Join the waitlist', exact: true }).click();
      await visitor.waitForURL(/\/registered$/);
      t.equal(await visitor.locator('h1').textContent(), 'Check your inbox', `${person.name} is registered`);
      if (index === 0) await visited(t, visitor, 'public registered');
      await visitor.getByRole('link', { name: 'Back to the session' }).click();
      await visitor.waitForURL(publicUrl);
    }
    await visited(t, visitor, 'public page with the waitlist');
    await visitor.close();

    await page.goto(overviewUrl);
    t.match(await page.locator('.details').first().textContent(), /2 of 2 seats/, 'the overview counts the seats taken');
    await page.getByRole('link', { name: 'People', exact: true }).click();
    await page.waitForURL(`${overviewUrl}/registrations`);
    t.equal(await page.locator('h1').textContent(), 'People');
    t.match(await page.locator('main').textContent(), /Confirmed 2 of 2 seats · Waitlisted 1 · Cancelled 0/, 'the counts');
    const status = (person: Person) => page.getByRole('row', { name: new RegExp(person.name) }).locator('td[data-label="Status"]').textContent();
    t.equal(await status(ana), 'Confirmed', `${ana.name} has a seat`);
    t.equal(await status(bo), 'Confirmed', `${bo.name} has a seat`);
    t.equal(await status(chidi), 'Waitlisted', `${chidi.name} waits`);
    t.equal(await page.getByRole('row', { name: new RegExp(chidi.name) }).locator('td[data-label="Waitlist position"]').textContent(), '1', 'first on the waitlist');
    t.equal(await page.locator('tbody tr').count(), 3, 'only these three');
    await visited(t, page, 'people');
  });

  await t.test('4. find someone, check in, cancel one and see the waitlist move', async (t) => {
    await page.getByLabel('Search by name or e-mail').fill('Lindqvist');
    await page.getByRole('button', { name: 'Show' }).click();
    // The filter form is a GET: its fields, empty ones included, are the address's query.
    await page.waitForURL((url) => url.pathname.endsWith('/registrations') && url.searchParams.get('q') === 'Lindqvist');
    t.same(await page.locator('tbody th[scope="row"]').allTextContents(), [bo.name], 'only the person searched for');
    await visited(t, page, 'people search');

    await page.getByRole('button', { name: `Check in ${bo.name}` }).click();
    await page.waitForURL(`${overviewUrl}/registrations?q=Lindqvist&done=checked-in`);
    const boRow = page.getByRole('row', { name: new RegExp(bo.name) });
    t.match(await boRow.locator('td[data-label="Checked in / joined"]').textContent(), /^Checked in \d{4}-\d\d-\d\d \d\d:\d\d$/, 'checked in, with the time');
    t.equal(await boRow.getByRole('button', { name: /Check in/ }).count(), 0, 'no second check-in');
    await visited(t, page, 'people checked in');

    await page.getByRole('link', { name: 'Clear filters' }).click();
    await page.waitForURL(`${overviewUrl}/registrations`);
    t.equal(await page.locator('tbody tr').count(), 3, 'everyone again');
    // The README's picture (tests/browser/screenshots/console-people.png): the 1280 x 800 window
    // scrolled to the table, with a confirmed, a checked-in and a waitlisted person.
    await page.evaluate(`window.scrollTo(0, window.scrollY + Math.max(
      document.getElementById('people-title').getBoundingClientRect().top - 8,
      document.querySelector('.people-table').getBoundingClientRect().bottom - window.innerHeight + 8))`);
    await page.screenshot({ path: `${ARTIFACTS}/readme-console-people.png` });

    await page.getByRole('link', { name: `Cancel ${ana.name}` }).click();
    await page.waitForURL(/\/registrations\/[0-9a-f-]{36}\/cancel$/);
    t.equal(await page.locator('h1').textContent(), `Cancel the registration of ${ana.name}?`, 'a confirmation step first');
    t.match(await page.locator('main').textContent(), /the seat goes to the first person on the waitlist/, 'it says what follows');
    await visited(t, page, 'cancel confirmation');
    await page.getByRole('button', { name: 'Cancel the registration' }).click();
    await page.waitForURL(`${overviewUrl}/registrations?done=cancelled`);
    t.match(await page.locator('main').textContent(), /Confirmed 2 of 2 seats · Waitlisted 0 · Cancelled 1/, 'the counts after the waitlist moved');
    t.equal(await page.getByRole('row', { name: new RegExp(ana.name) }).count(), 0, 'the cancelled person leaves the list');
    const chidiRow = page.getByRole('row', { name: new RegExp(chidi.name) });
    t.equal(await chidiRow.locator('td[data-label="Status"]').textContent(), 'Confirmed', 'the waitlisted person got the seat');
    t.equal(await chidiRow.locator('td[data-label="Waitlist position"]').textContent(), '', 'no longer on the waitlist');
    await visited(t, page, 'people after cancelling');
  });

  await t.test('5. the CSV export matches what was registered', async (t) => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'CSV', exact: true }).click()]);
    t.match(download.suggestedFilename(), /\.csv$/, 'a .csv file');
    const saved = `${ARTIFACTS}/people.csv`;
    await download.saveAs(saved);
    const rows = parse(readFileSync(saved), { columns: true, bom: true, skip_empty_lines: true }) as Array<Record<string, string>>;
    const zone = ZONE;
    t.same(
      rows.map((row) => [row['Name'], row['E-mail'], row['Organisation'], row['Status'], row['Your city'], row['Your role']]),
      [bo, chidi].map((person) => [person.name, person.email, person.organization, 'confirmed', person.city, person.role]),
      'the confirmed people with their answers to both questions, the cancelled one left out',
    );
    t.match(rows[0]![`Checked in at (${zone})`], /^\d{4}-\d\d-\d\d/, 'the check-in is in the export');
    t.equal(rows[1]![`Checked in at (${zone})`], '', 'the one not checked in has no time');
  });

  await t.test('6. the follow-up: not before the end; the day after, composed, saved and sent once', async (t) => {
    const sessionId = overviewUrl.split('/').pop()!;
    await page.goto(overviewUrl);
    await page.getByRole('link', { name: 'Follow-up', exact: true }).click();
    await page.waitForURL(`${overviewUrl}/follow-up`);
    t.equal(await page.locator('h1').textContent(), 'Follow-up', 'the follow-up page');
    t.equal(await page.getByRole('button', { name: 'Send follow-up' }).count(), 0, 'nothing to send before the session has ended');
    t.match(await page.locator('main').textContent(), /once the session has ended/);
    await visited(t, page, 'follow-up before the end');

    clock.moveTo(endsAt.plus({ hours: 20 }).toJSDate());
    await page.goto(overviewUrl);
    // Yesterday's console session has ended (idle for more than 8 hours): sign in again.
    await page.waitForURL(/\/console\/login\?next=/);
    await signIn(t);
    await page.waitForURL(overviewUrl);
    t.equal(await page.locator('.page-head .badge').textContent(), 'Finished', 'the session is over');
    await visited(t, page, 'overview finished');

    await page.getByRole('link', { name: 'Follow-up', exact: true }).click();
    await page.waitForURL(`${overviewUrl}/follow-up`);
    t.equal(await page.locator('h1').textContent(), 'Follow-up', 'the follow-up page');
    const message = 'Thank you for joining the training. The slides and the checklist are on our website.';
    const recording = 'https://video.example.org/privacy-training';
    // The field's label reads "Message (required)"; the section around it is headed "Message" too.
    await page.getByRole('textbox', { name: /^Message/ }).fill(message);
    await page.getByLabel('Recording link').fill(recording);
    await visited(t, page, 'follow-up form');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.waitForURL(`${overviewUrl}/follow-up?done=saved`);
    t.equal(await page.getByRole('textbox', { name: /^Message/ }).inputValue(), message, 'the message is saved');
    t.equal(await page.getByLabel('Recording link').inputValue(), recording);
    await visited(t, page, 'follow-up saved');

    await page.getByRole('button', { name: 'Send follow-up' }).click();
    await page.getByRole('button', { name: 'Send now' }).waitFor();
    const question = page.getByRole('region', { name: /^Send to/ });
    t.equal(await question.getByRole('heading').textContent(), 'Send to 2 people?', 'the two confirmed people, not the cancelled one');
    t.match(await question.textContent(), /1 who attended \(checked in or joined\) and 1 confirmed person who did not come/);
    await visited(t, page, 'follow-up confirmation');
    await page.getByRole('button', { name: 'Send now' }).click();
    await page.waitForURL(`${overviewUrl}/follow-up?done=sent`);
    t.ok(await page.getByRole('heading', { name: 'Sent', exact: true }).isVisible(), 'the page says it is sent');
    t.equal(await page.getByRole('button', { name: 'Send follow-up' }).count(), 0, 'sent once: no second send');
    t.equal(await page.locator('.message-text').textContent(), message, 'what was sent');
    await visited(t, page, 'follow-up sent');

    // One e-mail to the person who came, another to the confirmed no-show, none to the cancelled.
    const followUps = async (person: Person) =>
      (await notificationsOf(database, sessionId, person.email)).filter((n) => n.kind.startsWith('follow_up')).map((n) => n.kind);
    t.same(await followUps(bo), ['follow_up_attended'], 'written for the one who came');
    t.same(await followUps(chidi), ['follow_up_no_show'], 'written for the no-show');
    t.same(await followUps(ana), [], 'none for the cancelled');

    await page.getByRole('link', { name: 'See their delivery in E-mails' }).click();
    await page.waitForURL(`${overviewUrl}/emails`);
    t.equal(await page.locator('h1').textContent(), 'E-mails', 'the delivery log');
    const kindOf = (person: Person) =>
      page.getByRole('row').filter({ hasText: person.email }).filter({ hasText: 'Follow-up' }).locator('th').allTextContents();
    t.same(await kindOf(bo), ['Follow-up (attended)'], `the follow-up to ${bo.name} is in the log`);
    t.same(await kindOf(chidi), ['Follow-up (no-show)'], `the follow-up to ${chidi.name} is in the log`);
    t.equal(await page.getByRole('row').filter({ hasText: ana.email }).filter({ hasText: 'Follow-up' }).count(), 0);
    await visited(t, page, 'e-mails');
  });

  await t.test('7. sign out', async (t) => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${base}/console/login?m=signed-out`);
    t.match(await page.locator('main').textContent(), /You have signed out/);
    await visited(t, page, 'signed out');
    await page.goto(`${base}/console`);
    await page.waitForURL(`${base}/console/login`);
    t.equal(await page.locator('h1').textContent(), 'Sign in', 'the console asks to sign in again');
  });

  t.same(problems, [], 'no script errors and no CSP violations on any page');
}

await withChromium(run);
