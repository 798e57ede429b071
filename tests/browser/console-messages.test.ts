import { mkdirSync, rmSync } from 'node:fs';
import { DateTime } from 'luxon';
import { type Frame, type Page } from 'playwright-core';
import t, { type Test } from 'tap';
import { accessible, launchChromium, withChromium } from '../helpers/browser.js';
import { uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { mimeParts } from '../helpers/mime.js';
import { freePort, startRedisProcess } from '../helpers/processes.js';
import type { ReceivedMail, SmtpSink } from '../helpers/smtp-sink.js';
import { sleep, waitFor } from '../helpers/waiting.js';
import { makeOrganizer, PASSWORD } from '../console/support.js';

/**
 * Issue #20's "Done when", in a real browser (Debian's Chromium through playwright-core) at
 * 1280 x 800: from the console an organizer tells everyone confirmed for December 4 that the
 * meeting link changed, sees that it reached them, and has its own welcome paragraph in every
 * confirmation. Sign in, create the session with a welcome paragraph through the form, publish
 * it; three people register on the public page (two seats, one on the waitlist) and the worker
 * delivers their e-mails to an SMTP sink; on the session's Messages page: the audiences with
 * their counts, the preview in its sandboxed frame, a test to oneself, the confirmation step and
 * the send; the history's delivery counts, the inboxes, the message's delivery log; the browser's
 * Back and a repeated "Send now" send nothing twice. axe-core checks every page; full-page
 * screenshots go to test-artifacts/console-messages (ignored by git).
 */

const ARTIFACTS = 'test-artifacts/console-messages';
const ZONE = 'America/Chicago';
const SUBJECT = 'The meeting link changed';
const WELCOME_LINK = 'https://training.example.org/welcome-pack';
const WELCOME = `Welcome to the December 4 training! Before the day, please read the welcome pack at ${WELCOME_LINK}`;
const NEW_LINK = 'https://meet.example.org/j/privacy-training-new';
const BODY = `The meeting link of the December 4 training changed. The new link is ${NEW_LINK}\n\nSee you there.`;

interface Person {
  name: string;
  email: string;
}

const subjectOf = (mail: ReceivedMail) => mail.parsed.subject ?? '';
/** The mail has a MIME part of this type (our own reader of the tree, not mailparser's flattening). */
const hasPart = (mail: ReceivedMail, type: string) => mimeParts(mail.mime).some((part) => part.type === type);

/** The next December 4, 2 PM in Chicago, at least two days ahead of today (so no reminder falls due during the walk). */
function nextDecember4(): DateTime {
  const now = DateTime.now().setZone(ZONE);
  let day = now.set({ month: 12, day: 4, hour: 14, minute: 0, second: 0, millisecond: 0 });
  if (day < now.plus({ days: 2 })) day = day.plus({ years: 1 });
  return day;
}

async function run(): Promise<void> {
  t.setTimeout(120_000);
  const started = Date.now();
  rmSync(ARTIFACTS, { recursive: true, force: true });
  mkdirSync(ARTIFACTS, { recursive: true });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  // A Redis of our own: the shared logical databases are all taken by other files.
  const redis = await startRedisProcess(t);
  const ctx = await startMailTest(t, { name: 'browser_messages', redisUrl: redis.url, env: { PUBLIC_BASE_URL: base }, worker: false });
  const { app, database } = ctx;
  const sink: SmtpSink = ctx.sink;
  // What an interrupted earlier run left unsent on this file's database is not sent now.
  await database.pool.query(
    `UPDATE notifications SET status = 'skipped', last_error = 'left over by an earlier test run', updated_at = now() WHERE status IN ('pending', 'queued')`,
  );
  await ctx.startWorker();
  await app.listen({ port, host: '127.0.0.1' });
  const organizer = await makeOrganizer(app, 'organizer', 'Training Coordinator');

  const browser = await launchChromium(t);
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  context.setDefaultTimeout(15_000);
  const problems: string[] = [];
  const watch = (watched: Page) => {
    // Console messages of the page's frames (the preview's included) come here too.
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

  const day = nextDecember4();
  const local = (at: DateTime) => at.toFormat("yyyy-MM-dd'T'HH:mm");
  const title = `December 4 training: online privacy for local officials ${uniqueSuffix()}`;
  const people: Person[] = [
    { name: 'Ana Pérez', email: uniqueEmail('ana.perez') },
    { name: 'Bo Lindqvist', email: uniqueEmail('bo.lindqvist') },
    { name: 'Chidi Okafor', email: uniqueEmail('chidi.okafor') },
  ];
  const [ana, bo, chidi] = people as [Person, Person, Person];
  const confirmed = [ana, bo];
  let overviewUrl = '';
  let publicUrl = '';
  let messagesUrl = '';

  await t.test('1. sign in, create the session with a welcome paragraph, publish it', async (t) => {
    await page.goto(`${base}/console`);
    await page.waitForURL(`${base}/console/login`);
    t.equal(await page.locator('h1').textContent(), 'Sign in');
    await visited(t, page, 'login');
    await page.getByLabel('E-mail').fill(organizer.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${base}/console`);
    t.equal(await page.locator('h1').textContent(), 'Sessions', 'the dashboard');

    await page.getByRole('link', { name: 'New session' }).click();
    await page.waitForURL(`${base}/console/sessions/new`);
    await page.getByLabel('Title').fill(title);
    await page.getByLabel('Summary').fill('The December 4 training on online privacy and security');
    await page.getByLabel('Time zone').selectOption(ZONE);
    await page.getByLabel('Starts').fill(local(day));
    await page.getByLabel('Ends').fill(local(day.plus({ minutes: 90 })));
    await page.getByLabel('Capacity').fill('2');
    await page.getByLabel('Waitlist', { exact: true }).check();
    await page.getByLabel('Join URL').fill('https://meet.example.org/j/privacy-training');
    const words = page.getByRole('group', { name: 'Your words in the e-mails' });
    await words.getByLabel('Text for the confirmation').fill(WELCOME);
    await visited(t, page, 'new session form');
    await page.getByRole('button', { name: 'Save' }).click();

    await page.waitForURL(/\/console\/sessions\/[0-9a-f-]{36}\?done=created$/);
    overviewUrl = page.url().replace(/\?.*$/, '');
    t.equal(await page.locator('h1').textContent(), title);
    await page.getByRole('button', { name: 'Publish' }).click();
    await page.waitForURL(`${overviewUrl}?done=published`);
    t.equal(await page.locator('.page-head .badge').textContent(), 'Published', 'published');
    publicUrl = (await page.locator('#share-page-link').getAttribute('href')) ?? '';
    t.match(publicUrl, new RegExp(`^${base}/s/`), 'the public page link');
    await visited(t, page, 'overview published');

    // Saved as typed, for the confirmation alone.
    const { rows } = await database.pool.query<{ email_texts: unknown }>('SELECT email_texts FROM sessions WHERE id = $1', [overviewUrl.split('/').pop()]);
    t.same(rows[0]?.email_texts, { confirmation: WELCOME }, 'only the confirmation has words of its own');
  });

  await t.test('2. three people register on the public page; the confirmations carry the welcome, the waitlist e-mail not', async (t) => {
    const visitor = await context.newPage();
    watch(visitor);
    await visitor.goto(publicUrl);
    t.equal(await visitor.locator('h1').textContent(), title);
    await visited(t, visitor, 'public page');
    for (const [index, person] of people.entries()) {
      await visitor.getByLabel('Full name (required)', { exact: true }).fill(person.name);
      await visitor.getByLabel('E-mail address (required)', { exact: true }).fill(person.email);
      await visitor.getByRole('checkbox', { name: /^I agree that the organisers store my name/ }).check();
      await visitor.getByRole('button', { name: index < 2 ? 'Register' : 'Join the waitlist', exact: true }).click();
      await visitor.waitForURL(/\/registered$/);
      t.equal(await visitor.locator('h1').textContent(), 'Check your inbox', `${person.name} is registered`);
      await visitor.getByRole('link', { name: 'Back to the session' }).click();
      await visitor.waitForURL(publicUrl);
    }
    await visitor.close();

    for (const person of confirmed) {
      const [mail] = await sink.waitForMail(person.email, 1);
      t.match(subjectOf(mail!), /^You're registered: /, `${person.name}: the confirmation`);
      t.ok(hasPart(mail!, 'text/plain') && hasPart(mail!, 'text/html'), 'a text part and an HTML part');
      t.ok(mail!.text.includes(WELCOME), 'the welcome paragraph in the text part');
      const html = mail!.html;
      t.ok(html.includes('Welcome to the December 4 training! Before the day, please read the welcome pack at'), 'the welcome paragraph in the HTML part');
      t.match(html, new RegExp(`<a href="${WELCOME_LINK}"[^>]*>${WELCOME_LINK}</a>`), 'its address a link in HTML');
      t.ok(html.indexOf('Welcome to the December 4 training') < html.indexOf('You have a seat at'), 'at the top, before what Convene writes');
    }
    const [waiting] = await sink.waitForMail(chidi.email, 1);
    t.match(subjectOf(waiting!), /^You're on the waitlist: /, `${chidi.name}: the waitlist e-mail`);
    t.notOk(waiting!.text.includes('Welcome to the December 4 training'), 'the waitlist e-mail has no welcome (text)');
    t.notOk(waiting!.html.includes('welcome-pack'), 'nor in HTML');
  });

  await t.test('3. the Messages page: counts, preview, a test to oneself, confirm and send', async (t) => {
    await page.goto(overviewUrl);
    await page.getByRole('link', { name: 'Messages', exact: true }).click();
    messagesUrl = `${overviewUrl}/messages`;
    await page.waitForURL(messagesUrl);
    t.equal(await page.locator('h1').textContent(), 'Messages');
    const to = page.getByLabel('To', { exact: true });
    t.same(
      (await to.locator('option').allTextContents()).map((text) => text.trim()),
      [
        'Confirmed: 2 people',
        'On the waitlist: 1 person',
        'Awaiting approval: 0 people',
        'Everyone registered (confirmed, waitlisted, awaiting approval, offered a seat): 3 people',
      ],
      'the audiences with how many they reach',
    );
    t.equal(await to.inputValue(), 'confirmed', 'the confirmed chosen first');
    t.match(await page.locator('main').textContent(), /No messages yet\./);
    await visited(t, page, 'messages empty');

    await page.getByLabel('Subject').fill(SUBJECT);
    await page.getByRole('textbox', { name: /^Message/ }).fill(BODY);

    // Preview: the form posts into the sandboxed frame, a document with its own policy.
    const [preview] = await Promise.all([
      page.waitForResponse((response) => response.url() === `${messagesUrl}/preview` && response.request().method() === 'POST'),
      page.getByRole('button', { name: 'Preview', exact: true }).click(),
    ]);
    t.equal(preview.status(), 200, 'the preview is rendered');
    t.match(preview.headers()['content-security-policy'] ?? '', /sandbox/, 'with its own policy');
    const frame: Frame = await waitFor(() => {
      const found = page.frame({ name: 'message-preview' });
      return found && found.url().endsWith('/messages/preview') ? found : null;
    }, 10_000, 'the preview frame');
    await frame.waitForLoadState();
    await frame.getByText(NEW_LINK).first().waitFor();
    const shown = (await frame.locator('body').textContent()) ?? '';
    t.match(shown, new RegExp(`Subject: ${SUBJECT}`), 'the header lines');
    t.match(shown, /The meeting link of the December 4 training changed/, 'the body');
    t.equal(await frame.locator(`a[href="${NEW_LINK}"]`).count() >= 1, true, 'the new link is a link');
    t.match(shown, /Plain-text version/, 'and the text part below');
    t.equal(await page.getByLabel('Subject').inputValue(), SUBJECT, 'the page itself stays as typed');
    await visited(t, page, 'messages preview');

    await page.getByRole('button', { name: 'Send a test to me' }).click();
    await page.waitForURL(messagesUrl);
    await page.getByText(`A test is on its way to ${organizer.email}, and to nobody else.`).waitFor();
    t.equal(await page.getByLabel('Subject').inputValue(), SUBJECT, 'the message stays in the form');
    t.equal(await page.getByRole('textbox', { name: /^Message/ }).inputValue(), BODY);
    const [test] = await sink.waitForMail(organizer.email, 1);
    t.equal(subjectOf(test!), `[Test] ${SUBJECT}`, 'the organizer got the test');
    t.match(test!.text, /This is a test: only you received it/);
    t.ok(test!.text.includes(NEW_LINK), 'with the body');
    await visited(t, page, 'messages test sent');

    await page.getByRole('button', { name: 'Send…' }).click();
    await page.getByRole('button', { name: 'Send now' }).waitFor();
    const question = page.getByRole('region', { name: /^Send to/ });
    t.equal(await question.getByRole('heading').textContent(), 'Send to 2 people with a confirmed seat?', 'the confirmation step');
    t.match(await question.locator('.message-text').textContent(), /The new link is https:\/\/meet\.example\.org\/j\/privacy-training-new/);
    await visited(t, page, 'messages confirmation');
    await page.getByRole('button', { name: 'Send now' }).click();
    await page.waitForURL(`${messagesUrl}?sent=2`);
    await page.getByText('The message is on its way to 2 people; its delivery shows below.').waitFor();
    await visited(t, page, 'messages sent');
    t.same(
      sink.messages.filter((mail) => subjectOf(mail) === `[Test] ${SUBJECT}`).map((mail) => mail.rcptTo),
      [[organizer.email.toLowerCase()]],
      'the test reached the organizer alone',
    );
  });

  await t.test('4. it reached them: the history, the inboxes, the delivery log', async (t) => {
    for (const person of confirmed) await waitFor(() => sink.to(person.email).some((mail) => subjectOf(mail) === SUBJECT), 20_000, `the message to ${person.name}`);
    const messageRow = page.getByRole('row').filter({ has: page.getByRole('cell', { name: 'Confirmed', exact: true }) });
    await waitFor(
      async () => {
        await page.reload();
        return /2 sent/.test((await messageRow.locator('td[data-label="Delivery"]').textContent()) ?? '');
      },
      20_000,
      'the history to say 2 sent',
      300,
    );
    const history = page.locator('table.messages-table tbody tr');
    t.equal(await history.count(), 2, 'the message and the test');
    const cells = (await messageRow.locator('th, td').allTextContents()).map((text) => text.replace(/\s+/g, ' ').trim());
    t.equal(cells[0], SUBJECT);
    t.equal(cells[1], 'Confirmed');
    t.equal(cells[3], '2 people');
    t.match(cells[4], /^2 sent Delivery log/, 'the two delivered');
    const testRow = page.getByRole('row').filter({ hasText: `Test to ${organizer.email}` });
    t.match(await testRow.locator('th').textContent(), /Test/, 'the test is in the history, marked');
    await visited(t, page, 'messages history');

    await sleep(500); // anything sent twice would arrive by now
    for (const person of confirmed) {
      const got = sink.to(person.email).filter((mail) => subjectOf(mail) === SUBJECT);
      t.equal(got.length, 1, `${person.name} got it exactly once`);
      t.ok(got[0]!.text.includes(NEW_LINK), 'with the new link');
      t.match(got[0]!.html, new RegExp(`<a href="${NEW_LINK}"`), 'a link in HTML');
      t.ok(got[0]!.text.includes(`Hello ${person.name},`), 'written to them by name');
    }
    t.same(sink.to(chidi.email).map(subjectOf).filter((subject) => subject.includes(SUBJECT)), [], 'the waitlisted person got nothing');

    await messageRow.getByRole('link', { name: /^Delivery log/ }).click();
    await page.waitForURL(new RegExp(`${overviewUrl}/emails\\?message=[0-9a-f-]{36}$`));
    t.equal(await page.locator('h1').textContent(), 'E-mails');
    t.match(await page.locator('main').textContent(), new RegExp(`The e-mails of the message “${SUBJECT}”`));
    const rows = page.locator('table.emails-table tbody tr');
    t.equal(await rows.count(), 2, 'two e-mails');
    t.same(await rows.locator('td[data-label="Status"] .badge').allTextContents(), ['Sent', 'Sent'], 'both sent');
    const recipients = (await rows.locator('td[data-label="Recipient"] .muted').allTextContents()).sort();
    t.same(recipients, confirmed.map((person) => person.email).sort(), 'to the confirmed two');
    await visited(t, page, 'delivery log');
  });

  await t.test('5. Back to the confirmation, resubmitted, and Send now again: nothing is sent twice', async (t) => {
    const sessionId = overviewUrl.split('/').pop()!;
    await page.goto(messagesUrl);
    await page.getByLabel('Subject').fill('Once only');
    await page.getByRole('textbox', { name: /^Message/ }).fill('A second note, for the people waiting.');
    await page.getByLabel('To', { exact: true }).selectOption('waitlisted');
    await page.getByRole('button', { name: 'Send…' }).click();
    await page.getByRole('button', { name: 'Send now' }).waitFor();
    const question = () => page.getByRole('region', { name: /^Send to/ }).getByRole('heading').textContent();
    t.equal(await question(), 'Send to 1 person on the waitlist?');
    const messageIdOf = () => page.locator('input[type="hidden"][name="messageId"]').getAttribute('value');
    const messageId = await messageIdOf();
    t.match(messageId, /^[0-9a-f-]{36}$/, "the confirmation carries the form's one-time id");
    await page.getByRole('button', { name: 'Send now' }).click();
    await page.waitForURL(`${messagesUrl}?sent=1`);

    // The browser's Back: the confirmation was the answer of a POST, kept out of the cache
    // (no-store), so Chromium stops at "Confirm Form Resubmission"; reloading posts the form again.
    const back = await page.goBack().then(
      () => 'loaded',
      (error: Error) => error.message,
    );
    t.match(back, /ERR_CACHE_MISS/, 'Back asks to resubmit the form');
    // Chromium's error page commits after goBack has given up: reload once it stands.
    await page.waitForURL(/^chrome-error:/);
    await page.waitForLoadState('load');
    const reposted = await waitFor(() => page.reload(), 10_000, 'the reload of the resubmission page', 200);
    t.equal(reposted?.request().method(), 'POST', 'the reload posts the form again');
    await page.getByRole('button', { name: 'Send now' }).waitFor();
    t.equal(await question(), 'Send to 1 person on the waitlist?', 'the confirmation again');
    t.equal(await messageIdOf(), messageId, 'with the same one-time id');
    await visited(t, page, 'messages confirmation resubmitted');
    await page.getByRole('button', { name: 'Send now' }).click();
    await page.waitForURL(`${messagesUrl}?sent=1`);
    t.equal(await page.getByRole('row').filter({ hasText: 'Once only' }).count(), 1, 'one row in the history');

    await waitFor(() => sink.to(chidi.email).some((mail) => subjectOf(mail) === 'Once only'), 20_000, 'the note to the waitlist');
    await sleep(1_000); // a second e-mail would arrive by now
    t.equal(sink.to(chidi.email).filter((mail) => subjectOf(mail) === 'Once only').length, 1, 'delivered once');
    for (const person of confirmed) t.equal(sink.to(person.email).filter((mail) => subjectOf(mail) === 'Once only').length, 0, `nothing to ${person.name}`);
    const { rows } = await database.pool.query<{ id: string }>(`SELECT id FROM session_messages WHERE session_id = $1 AND subject = 'Once only'`, [sessionId]);
    t.same(rows, [{ id: messageId }], "written once, under the form's id");
  });

  t.same(problems, [], 'no script errors and no CSP violations on any page, the preview frame included');
  t.comment(`walk took ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

await withChromium(run);
