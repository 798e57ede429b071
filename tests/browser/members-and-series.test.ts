import { mkdirSync, rmSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { DateTime } from 'luxon';
import { type Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { accessible, launchChromium, withChromium } from '../helpers/browser.js';
import { uniqueSuffix } from '../helpers/app.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { freePort, startRedisProcess } from '../helpers/processes.js';
import { createSession } from '../helpers/registrations.js';
import type { ReceivedMail } from '../helpers/smtp-sink.js';
import { makeOrganizer, PASSWORD } from '../console/support.js';

/**
 * Issue #21's "Done when", in a real browser (Debian's Chromium through playwright-core) at
 * 1280 x 800: the network marks its member cities once (an admin imports them from a CSV, with
 * the preview first), opens the December 4 training to members only with at most three places
 * per city (the console's session form), runs a three-part series that people join with one form
 * (built on the console's Series page; the worker delivers each session's invite and one summary
 * to an SMTP sink), and downloads the participation table per member city. axe-core checks every
 * page; full-page screenshots go to test-artifacts/members-and-series (ignored by git).
 */

const ARTIFACTS = 'test-artifacts/members-and-series';
const ZONE = 'America/Chicago';

/** The next December 4, 2 PM in Chicago, at least two days ahead (no reminder falls due during the walk). */
function nextDecember4(): DateTime {
  const now = DateTime.now().setZone(ZONE);
  let day = now.set({ month: 12, day: 4, hour: 14, minute: 0, second: 0, millisecond: 0 });
  if (day < now.plus({ days: 2 })) day = day.plus({ years: 1 });
  return day;
}

const kindOf = (mail: ReceivedMail) => String(mail.parsed.headers.get('x-convene-notification'));

async function run(): Promise<void> {
  t.setTimeout(180_000);
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const redis = await startRedisProcess(t);
  const ctx = await startMailTest(t, { name: 'browser_members', redisUrl: redis.url, env: { PUBLIC_BASE_URL: base }, worker: false });
  const { app, database, sink } = ctx;
  // What an interrupted earlier run left unsent on this file's database is not sent now.
  await database.pool.query(
    `UPDATE notifications SET status = 'skipped', last_error = 'left over by an earlier test run', updated_at = now() WHERE status IN ('pending', 'queued')`,
  );
  await ctx.startWorker();
  await app.listen({ port, host: '127.0.0.1' });
  const admin = await makeOrganizer(app, 'admin', 'Network Administrator');
  const organizer = await makeOrganizer(app, 'organizer', 'Training Coordinator');

  const suffix = uniqueSuffix();
  const cities = {
    springfield: { name: `City of Springfield ${suffix}`, domain: `springfield-${suffix}.gov` },
    shelbyville: { name: `Shelbyville ${suffix}`, domain: `shelbyville-${suffix}.gov` },
    ogdenville: { name: `Ogdenville ${suffix}`, domain: `ogdenville-${suffix}.gov` },
  };
  const at = (city: keyof typeof cities, local: string) => `${local}@${cities[city].domain}`;

  const browser = await launchChromium(t);
  // The admin, the organizer and the visitors each have a browser of their own (their own cookies).
  const newContext = async () => {
    const made = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US', acceptDownloads: true });
    made.setDefaultTimeout(15_000);
    return made;
  };
  const [adminContext, organizerContext, visitors] = [await newContext(), await newContext(), await newContext()];
  const problems: string[] = [];
  const watch = (watched: Page) => {
    watched.on('console', (message) => {
      const text = message.text();
      if (/status of 40\d/.test(text)) return;
      if (message.type() === 'error' || /Content Security Policy/i.test(text)) problems.push(`${watched.url()}: ${text}`);
    });
    watched.on('pageerror', (error) => problems.push(`${watched.url()}: ${error.message}`));
  };

  let shots = 0;
  async function visited(t: Test, on: Page, name: string): Promise<void> {
    await accessible(t, on, name);
    shots += 1;
    await on.screenshot({ path: `${ARTIFACTS}/${String(shots).padStart(2, '0')}-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}.png`, fullPage: true });
  }

  async function signIn(page: Page, email: string): Promise<void> {
    await page.goto(`${base}/console/login`);
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/console`);
  }

  /** Registers on a public page's form; answers the page the post led to. */
  async function register(page: Page, url: string, name: string, email: string, button: string): Promise<void> {
    await page.goto(url);
    await page.getByRole('textbox', { name: /Full name/ }).fill(name);
    await page.getByRole('textbox', { name: /E-mail address/ }).fill(email);
    await page.getByLabel(/I agree/).check();
    await page.getByRole('button', { name: button, exact: true }).click();
    await page.waitForLoadState('load');
  }

  // Every await is made before or inside a subtest: tap ends the run when one finishes with none queued.
  const adminPage = await adminContext.newPage();
  watch(adminPage);
  const page = await organizerContext.newPage();
  watch(page);

  await t.test('1. the admin marks the member cities once: a CSV import, previewed, then applied', async (t) => {
    await signIn(adminPage, admin.email);
    await adminPage.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Organisations' }).click();
    await adminPage.waitForURL(`${base}/console/organisations`);
    await adminPage.getByRole('link', { name: 'Import from CSV' }).click();
    await adminPage.waitForURL(`${base}/console/organisations/import`);
    const csv = ['name,domains', ...Object.values(cities).map((city) => `"${city.name}",${city.domain}`)].join('\n');
    await adminPage.getByLabel('Or paste the CSV text').fill(csv);
    await visited(t, adminPage, 'import form');
    await adminPage.getByRole('button', { name: 'Preview the import' }).click();
    await adminPage.getByRole('heading', { name: 'Import preview' }).waitFor();
    await visited(t, adminPage, 'import preview');
    const { rows: before } = await database.pool.query('SELECT count(*)::int AS n FROM organisations WHERE name LIKE $1', [`%${suffix}`]);
    t.equal(before[0].n, 0, 'the preview writes nothing');
    t.equal(await adminPage.getByText('New organisation', { exact: true }).count(), 3, 'three new organisations previewed');
    await adminPage.getByRole('button', { name: 'Apply 3 changes' }).click();
    await adminPage.waitForURL(/\/console\/organisations\?/);
    await visited(t, adminPage, 'organisations list');
    for (const city of Object.values(cities)) {
      t.ok(await adminPage.getByRole('cell', { name: city.name }).or(adminPage.getByRole('rowheader', { name: city.name })).count(), `${city.name} listed`);
    }
    const { rows } = await database.pool.query(
      `SELECT o.name, d.domain FROM organisations o JOIN organisation_domains d ON d.organisation_id = o.id WHERE o.name LIKE $1 ORDER BY o.name`,
      [`%${suffix}`],
    );
    t.same(
      rows.map((row) => [row.name, row.domain]),
      Object.values(cities).map((city) => [city.name, city.domain]).sort((a, b) => a[0]!.localeCompare(b[0]!)),
      'each city with its domain',
    );
  });

  const day = nextDecember4();
  const local = (time: DateTime) => time.toFormat("yyyy-MM-dd'T'HH:mm");
  const title = `December 4 training: online privacy and security ${suffix}`;
  let trainingUrl = '';
  let trainingId = '';

  await t.test('2. the December 4 training, members only, at most three places per city', async (t) => {
    await signIn(page, organizer.email);
    await page.getByRole('link', { name: 'New session' }).click();
    await page.waitForURL(`${base}/console/sessions/new`);
    await page.getByLabel('Title').fill(title);
    await page.getByLabel('Time zone').selectOption(ZONE);
    await page.getByLabel('Starts').fill(local(day));
    await page.getByLabel('Ends').fill(local(day.plus({ minutes: 90 })));
    await page.getByLabel('Capacity').fill('40');
    await page.getByLabel('Join URL').fill('https://meet.example.org/j/privacy-training');
    await page.getByLabel('Members of the network (active member organisations)').check();
    await page.getByLabel('Places per organisation').fill('3');
    await visited(t, page, 'members-only session form');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(/\/console\/sessions\/[0-9a-f-]{36}\?done=created$/);
    const overviewUrl = page.url().replace(/\?.*$/, '');
    trainingId = overviewUrl.split('/').pop()!;
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.waitForURL(`${overviewUrl}?done=published`);
    trainingUrl = (await page.locator('#share-page-link').getAttribute('href')) ?? '';
    const { rows } = await database.pool.query('SELECT audience FROM sessions WHERE id = $1', [trainingId]);
    t.same(rows[0]?.audience, { kind: 'members', perOrganisationLimit: 3 }, 'stored as the contract says');

    const visitor = await visitors.newPage();
    watch(visitor);
    await visitor.goto(trainingUrl);
    t.match(await visitor.locator('main').textContent(), /Open to people of the network's member organisations: register with your work address/);
    await visited(t, visitor, 'members-only public page');
    // Three from Springfield (one at a subdomain, typed in capitals), then a fourth: refused.
    const springfield = [
      ['Ana Reyes', at('springfield', 'ana.reyes')],
      ['Bo Lind', at('springfield', 'bo.lind')],
      ['Cy Okafor', `cy.okafor@Mayor.${cities.springfield.domain.toUpperCase()}`],
    ];
    for (const [name, email] of springfield) {
      await register(visitor, trainingUrl, name!, email!, 'Register');
      t.equal(await visitor.locator('h1').textContent(), 'Check your inbox', `${name} registered`);
    }
    await register(visitor, trainingUrl, 'Dee Fourth', at('springfield', 'dee.fourth'), 'Register');
    t.match(await visitor.locator('main').textContent(), /The places for your organisation at this session are all taken/, 'the fourth from Springfield is refused');
    await visited(t, visitor, 'fourth of a city refused');
    await register(visitor, trainingUrl, 'Eve Shelby', at('shelbyville', 'eve'), 'Register');
    t.equal(await visitor.locator('h1').textContent(), 'Check your inbox', 'another city still has its places');
    await register(visitor, trainingUrl, 'Stranger Danger', `someone@springfield-${suffix}.gov.evil.example`, 'Register');
    t.match(await visitor.locator('main').textContent(), /This session is open only to people of member organisations/, 'a look-alike domain is no member');
    t.notMatch(await visitor.locator('main').textContent(), new RegExp(cities.springfield.name), 'the refusal names no organisation');
    await visitor.close();

    // The console's people table shows each person's city, and filters by it.
    await page.goto(`${overviewUrl}/registrations`);
    await visited(t, page, 'people with member organisations');
    await page.getByLabel('Member organisation', { exact: true }).selectOption({ label: cities.springfield.name });
    await page.getByRole('button', { name: 'Show', exact: true }).click();
    await page.waitForURL(/organisationId=/);
    t.equal(await page.locator('.people-table tbody tr').count(), 3, 'three of Springfield');
  });

  let seriesUrl = '';
  const parts: Array<{ id: string; title: string }> = [];

  await t.test('3. a three-part series, joined with one form: an invite per session, one summary', async (t) => {
    const headers = { authorization: `Bearer ${app.issueToken(organizer).token}` };
    for (const [index, topic] of ['Passwords and passkeys', 'Phishing and fraud', 'Doxxing and personal safety'].entries()) {
      const partTitle = `Part ${index + 1}: ${topic} ${suffix}`;
      const part = await createSession(app, headers, { title: partTitle, capacity: 30, reminders: [] }, { daysAhead: 10 + 7 * index });
      parts.push({ id: part.id, title: partTitle });
    }
    await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Series' }).click();
    await page.waitForURL(`${base}/console/series`);
    await page.getByRole('link', { name: 'New series' }).click();
    await page.getByLabel('Title').fill(`Staying safe online ${suffix}`);
    await page.getByLabel('Description').fill('Three sessions for the cohort of new mayors.');
    for (const part of parts) await page.getByLabel(part.title, { exact: true }).check();
    await visited(t, page, 'new series');
    await page.getByRole('button', { name: 'Save' }).click();
    await page.waitForURL(`${base}/console/series?done=created`);
    seriesUrl = `${base}${await page.getByRole('link', { name: /^\/series\// }).getAttribute('href')}`;

    const visitor = await visitors.newPage();
    watch(visitor);
    const email = at('ogdenville', 'fay.mayor');
    await register(visitor, seriesUrl, 'Fay Mayor', email, 'Register for the series');
    await visited(t, visitor, 'series registered');
    await visitor.close();
    const { rows } = await database.pool.query(
      `SELECT r.session_id::text, r.status, o.name AS organisation FROM registrations r JOIN attendees a ON a.id = r.attendee_id
       LEFT JOIN organisations o ON o.id = r.organisation_id WHERE a.email = $1 ORDER BY r.registered_at`,
      [email],
    );
    t.same(rows.map((row) => row.session_id).sort(), parts.map((part) => part.id).sort(), 'one registration per part');
    t.ok(rows.every((row) => row.status === 'confirmed' && row.organisation === cities.ogdenville.name), 'each confirmed, each recording Ogdenville');

    const mails = await sink.waitForMail(email, 4);
    const confirmations = mails.filter((mail) => kindOf(mail) === 'confirmation');
    const summaries = mails.filter((mail) => kindOf(mail) === 'series_summary');
    t.equal(confirmations.length, 3, 'a confirmation per session');
    t.ok(confirmations.every((mail) => mail.parsed.attachments.some((file) => file.contentType.startsWith('text/calendar'))), 'each with its own invite');
    t.equal(summaries.length, 1, 'one summary');
    for (const part of parts) t.ok(summaries[0]!.text.includes(part.title), `the summary lists ${part.title}`);
  });

  await t.test('4. the participation table per member city, and its CSV for the annual report', async (t) => {
    await adminPage.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Participation' }).click();
    await adminPage.waitForURL(/\/console\/participation/);
    const today = DateTime.utc();
    await adminPage.getByLabel('From', { exact: true }).fill(today.toISODate()!);
    await adminPage.getByLabel('To', { exact: true }).fill(day.plus({ days: 60 }).toISODate()!);
    await adminPage.getByRole('button', { name: 'Show' }).click();
    await adminPage.locator('.participation-table').waitFor();
    await visited(t, adminPage, 'participation');
    const rowOf = async (name: string) =>
      (await adminPage.locator('.participation-table tbody tr', { has: adminPage.getByRole('rowheader', { name, exact: true }) }).locator('td').allTextContents()).map((cell) => cell.trim());
    // Status, sessions attended, registrations, cancelled, attended, no-shows (none attended yet: the sessions are ahead).
    t.same(await rowOf(cities.springfield.name), ['Active', '0', '3', '0', '0', '0'], 'Springfield: three at the training');
    t.same(await rowOf(cities.shelbyville.name), ['Active', '0', '1', '0', '0', '0']);
    t.same(await rowOf(cities.ogdenville.name), ['Active', '0', '3', '0', '0', '0'], 'Ogdenville: the series');

    const [download] = await Promise.all([adminPage.waitForEvent('download'), adminPage.getByRole('link', { name: 'Download CSV' }).click()]);
    const path = await download.path();
    const { readFileSync } = await import('node:fs');
    const table = parse(readFileSync(path!, 'utf8'), { bom: true }) as string[][];
    t.same(table[0], ['Organisation', 'Status', 'Sessions attended', 'Registrations', 'Cancelled', 'Attended', 'No-shows']);
    const csvRow = (name: string) => table.find((row) => row[0] === name);
    t.same(csvRow(cities.springfield.name), [cities.springfield.name, 'active', '0', '3', '0', '0', '0'], 'the CSV says what the page says');
    t.same(csvRow(cities.ogdenville.name)?.[3], '3');
    const { rows } = await database.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'export.participation' AND actor_id = $1`, [admin.id]);
    t.equal(rows[0].n, 1, 'the download is audited');
  });

  t.same(problems, [], 'no console errors, no CSP violations');
}

await withChromium(run);
