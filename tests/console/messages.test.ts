import t from 'tap';
import { buildTestApp, manualClock, uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { isolatedDatabaseUrl } from '../helpers/isolated-app.js';
import { createSessionWithBody, registered, registrationId, type SessionJson } from '../helpers/registrations.js';
import { consoleSignIn, formFields, makeOrganizer, tableRows } from './support.js';

/**
 * The console's Messages page and the e-mail texts of the session form. The clock moves past
 * sessions' starts (attended, no-show), so the file has a database of its own.
 */
const clock = manualClock();
const { app, database } = await buildTestApp(t, { clock, env: { DATABASE_URL: isolatedDatabaseUrl('console_messages') } });
const MINUTE = 60_000;

const host = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'Message host'));
const hostApi = { authorization: `Bearer ${app.issueToken(host.organizer).token}` };
const stranger = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'Not a host'));

/** Published, starting in `minutes` by the test's clock, two seats: Ana and Bo confirmed, Cy waiting. */
async function sessionWithPeople(minutes = 60 * 24): Promise<{ session: SessionJson; emails: Record<'ana' | 'bo' | 'cy', string> }> {
  // On a whole minute, as the form's times are: an edit that changes nothing must read as none.
  const start = new Date(Math.ceil(clock.now().getTime() / MINUTE) * MINUTE + minutes * MINUTE);
  const session = await createSessionWithBody(app, hostApi, {
    title: `December 4 training ${uniqueSuffix()}`,
    startsAt: start.toISOString(),
    endsAt: new Date(start.getTime() + 90 * MINUTE).toISOString(),
    timezone: 'America/Chicago',
    capacity: 2,
  });
  const emails = { ana: uniqueEmail('ana'), bo: uniqueEmail('bo'), cy: uniqueEmail('cy') };
  await registered(app, session.slug, { name: 'Ana Reyes', email: emails.ana });
  await registered(app, session.slug, { name: 'Bo Lind', email: emails.bo });
  await registered(app, session.slug, { name: 'Cy Waits', email: emails.cy });
  return { session, emails };
}

const page = (id: string) => `/console/sessions/${id}/messages`;
const hiddenValue = (html: string, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(html)?.[1] ?? '';
const optionsOf = (html: string) => [...html.matchAll(/<option value="([^"]*)"[^>]*>([^<]*)<\/option>/g)].map((m) => `${m[1]}=${m[2]}`);

async function messageRows(sessionId: string) {
  const { rows } = await database.pool.query<{ id: string; subject: string; audience: string; recipients: number; test_to: string | null }>(
    'SELECT id, subject, audience, recipients, test_to FROM session_messages WHERE session_id = $1 ORDER BY created_at',
    [sessionId],
  );
  return rows;
}

async function outboxOf(messageId: string): Promise<Array<string | null>> {
  const { rows } = await database.pool.query<{ email: string | null }>(
    `SELECT a.email FROM notifications n LEFT JOIN registrations r ON r.id = n.registration_id LEFT JOIN attendees a ON a.id = r.attendee_id
     WHERE n.session_message_id = $1 ORDER BY a.email`,
    [messageId],
  );
  return rows.map((row) => row.email);
}

t.test('the page: audiences with their counts, attended and no-show only after the start, one-time ids', async (t) => {
  const { session } = await sessionWithPeople();
  const res = await host.get(page(session.id));
  t.equal(res.statusCode, 200);
  t.match(res.body, /<h1>Messages<\/h1>/);
  t.same(optionsOf(res.body), [
    'confirmed=Confirmed: 2 people',
    'waitlisted=On the waitlist: 1 person',
    'pending=Awaiting approval: 0 people',
    'all=Everyone registered (confirmed, waitlisted, awaiting approval, offered a seat): 3 people',
  ]);
  t.match(res.body, /can be chosen once the session has started/);
  const id = hiddenValue(res.body, 'messageId');
  t.match(id, /^[0-9a-f-]{36}$/);
  t.not(id, hiddenValue((await host.get(page(session.id))).body, 'messageId'), 'a new id for each form');
  t.match(res.body, /<iframe name="message-preview"[^>]* sandbox/, 'the preview frame is sandboxed');
  t.match(res.body, /formaction="[^"]*\/messages\/preview" formtarget="message-preview"/);
  t.match((await host.get(`/console/sessions/${session.id}`)).body, new RegExp(`href="${page(session.id)}"`), 'linked from the session');

  t.equal((await stranger.get(page(session.id))).statusCode, 404, 'not a host: not found');
  t.equal((await stranger.post(page(session.id), { step: 'send', subject: 'x', body: 'y', audience: 'all' })).statusCode, 404);
  t.equal((await stranger.post(`${page(session.id)}/preview`, { subject: 'x', body: 'y' })).statusCode, 404);
  t.equal((await app.inject({ method: 'GET', url: page(session.id) })).statusCode, 303, 'signed out: to the login page');
  const noCsrf = await app.inject({ method: 'POST', url: page(session.id), headers: { ...host.headers, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'step=confirmed&subject=x&body=y&audience=all' });
  t.equal(noCsrf.statusCode, 403, 'no CSRF token: refused');
  t.same(await messageRows(session.id), [], 'nothing written by refused requests');
});

t.test('tell everyone confirmed that the link changed: confirm, send once, see it reach them', async (t) => {
  const { session, emails } = await sessionWithPeople();
  const form = await host.get(page(session.id));
  const messageId = hiddenValue(form.body, 'messageId');
  const fields = { subject: 'The meeting link changed', body: 'Hello all,\r\n\r\nThe new link is https://meet.example.org/new-link', audience: 'confirmed', messageId };

  const ask = await host.post(page(session.id), { ...fields, step: 'send' });
  t.equal(ask.statusCode, 200);
  t.match(ask.body, /Send to 2 people with a confirmed seat\?/);
  t.match(ask.body, /The new link is https:\/\/meet\.example\.org\/new-link/);
  t.equal(hiddenValue(ask.body, 'messageId'), messageId, 'the form id goes through the confirmation');
  t.notMatch(ask.body, /name="testId"/, 'no compose form on the confirmation step');
  t.same(await messageRows(session.id), [], 'asking writes nothing');

  const back = await host.post(page(session.id), { ...fields, step: 'edit' });
  t.match(back.body, /value="The meeting link changed"/, 'Change it: back to the form, as typed');

  const sent = await host.post(page(session.id), { ...fields, step: 'confirmed' });
  t.equal(sent.statusCode, 303);
  t.equal(sent.headers.location, `${page(session.id)}?sent=2`);
  const again = await host.post(page(session.id), { ...fields, step: 'confirmed' });
  t.equal(again.statusCode, 303, 'the browser repeating the submit');
  const messages = await messageRows(session.id);
  t.equal(messages.length, 1, 'written once');
  t.equal(messages[0]!.id, messageId);
  t.same(messages[0]!.recipients, 2);
  t.same(await outboxOf(messageId), [emails.ana, emails.bo].sort(), 'one e-mail each to the confirmed, none to the waitlist');
  t.equal(messages[0]!.subject, 'The meeting link changed');

  const { rows: audit } = await database.pool.query('SELECT action, actor_id, details FROM audit_log WHERE subject_id = $1', [messageId]);
  t.same(audit, [{ action: 'message.send', actor_id: host.organizer.id, details: { sessionId: session.id, audience: 'confirmed', recipients: 2, test: false } }], 'audited without recipients');

  const list = await host.get(`${page(session.id)}?sent=2`);
  t.match(list.body, /on its way to 2 people/);
  const [row] = tableRows(list.body, 'messages-table');
  t.equal(row![0], 'The meeting link changed');
  t.equal(row![1], 'Confirmed');
  t.equal(row![3], '2 people');
  t.match(row![4], /2 pending Delivery log/);

  await database.pool.query(`UPDATE notifications SET status = 'sent', sent_at = now() WHERE session_message_id = $1 AND registration_id = $2`, [
    messageId,
    await registrationId(database.pool, session.id, emails.ana),
  ]);
  await database.pool.query(`UPDATE notifications SET status = 'failed', last_error = '550 mailbox unavailable' WHERE session_message_id = $1 AND registration_id = $2`, [
    messageId,
    await registrationId(database.pool, session.id, emails.bo),
  ]);
  const after = tableRows((await host.get(page(session.id))).body, 'messages-table')[0]!;
  t.match(after[4], /1 failed 1 sent Delivery log/, 'what reached them, and what failed');

  const log = await host.get(`/console/sessions/${session.id}/emails?message=${messageId}`);
  t.equal(log.statusCode, 200);
  t.match(log.body, /The e-mails of the message “The meeting link changed”/);
  const logRows = tableRows(log.body, 'emails-table');
  t.equal(logRows.length, 2, 'only this message');
  t.ok(logRows.some((cells) => cells.join(' ').includes('550 mailbox unavailable')), 'the failure and its reason');
  t.match(log.body, /name="message" value="[^"]+"/, 'the status filter keeps the message');
  t.equal((await host.get(`/console/sessions/${session.id}/emails?message=not-an-id`)).statusCode, 404);
  const other = await sessionWithPeople();
  t.equal((await host.get(`/console/sessions/${other.session.id}/emails?message=${messageId}`)).statusCode, 404, "another session's message");
});

t.test('a test goes to the organizer alone and keeps the message in the form', async (t) => {
  const { session } = await sessionWithPeople();
  const form = await host.get(page(session.id));
  const testId = hiddenValue(form.body, 'testId');
  const fields = { subject: 'Slides are ready', body: 'See https://example.org/slides', audience: 'all', testId, messageId: hiddenValue(form.body, 'messageId') };
  const res = await host.post(page(session.id), { ...fields, step: 'test' });
  t.equal(res.statusCode, 200);
  t.match(res.body, new RegExp(`A test is on its way to ${host.organizer.email.replace(/[.+]/g, '\\$&')}, and to nobody else`));
  t.match(res.body, /value="Slides are ready"/, 'still in the form');
  await host.post(page(session.id), { ...fields, step: 'test' });
  const messages = await messageRows(session.id);
  t.equal(messages.length, 1, 'the same test submitted twice is one test');
  t.equal(messages[0]!.test_to, host.organizer.email);
  t.same(await outboxOf(messages[0]!.id), [null], 'one e-mail, to no registration');
  const row = tableRows((await host.get(page(session.id))).body, 'messages-table')[0]!;
  t.match(row[0], /Slides are ready Test/);
  t.equal(row[1], `Test to ${host.organizer.email}`);
  const log = tableRows((await host.get(`/console/sessions/${session.id}/emails?message=${messages[0]!.id}`)).body, 'emails-table');
  t.match(log[0]![1], host.organizer.email, "the log names the organizer's address");
});

t.test('the preview: the e-mail as recipients read it, escaped, in a framed document of its own', async (t) => {
  const { session } = await sessionWithPeople();
  const res = await host.post(`${page(session.id)}/preview`, { subject: 'Link <b>changed</b>', body: 'New: https://meet.example.org/x\n<script>alert(1)</script>' });
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-security-policy'], /frame-ancestors 'self'/);
  t.match(res.headers['content-security-policy'], /default-src 'none'/, 'no script can run in it');
  t.match(res.headers['content-security-policy'], /sandbox/);
  t.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
  t.notMatch(res.body, /<script>alert/);
  t.match(res.body, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  t.match(res.body, /Link &lt;b&gt;changed&lt;\/b&gt;/);
  t.match(res.body, /<a [^>]*href="https:\/\/meet\.example\.org\/x"/, 'web addresses are links');
  t.match(res.body, /\[the recipient&#39;s name\]|\[the recipient&#x27;s name\]|\[the recipient's name\]/);
  t.match(res.body, /Plain-text version/);
  t.same(await messageRows(session.id), [], 'a preview writes nothing');

  const empty = await host.post(`${page(session.id)}/preview`, { subject: '', body: '' });
  t.equal(empty.statusCode, 400);
  t.match(empty.body, /Subject is required/);
});

t.test('bad input: field errors in the form, nothing written', async (t) => {
  const { session } = await sessionWithPeople();
  const empty = await host.post(page(session.id), { step: 'send', subject: ' ', body: '', audience: 'confirmed', messageId: hiddenValue((await host.get(page(session.id))).body, 'messageId') });
  t.equal(empty.statusCode, 400);
  t.match(empty.body, /href="#f-subject">Subject is required/);
  t.match(empty.body, /href="#f-body">Message is required/);
  const long = await host.post(page(session.id), { step: 'send', subject: 'Long', body: 'x'.repeat(20_001), audience: 'nobody' });
  t.equal(long.statusCode, 400);
  t.match(long.body, /Message must be at most 20,000 characters \(it has 20,001\)/);
  t.match(long.body, /To must be one of the choices/);
  const early = await host.post(page(session.id), { step: 'send', subject: 'Thanks', body: 'For coming', audience: 'attended' });
  t.equal(early.statusCode, 409, 'attended before the start');
  t.match(early.body, /known only once the session has started/);
  const nobody = await host.post(page(session.id), { step: 'send', subject: 'Hi', body: 'Waiting for approval?', audience: 'pending' });
  t.equal(nobody.statusCode, 400);
  t.match(nobody.body, /To reaches nobody now/);
  const noId = await host.post(page(session.id), { step: 'confirmed', subject: 'Hi', body: 'There', audience: 'confirmed' });
  t.equal(noId.statusCode, 400, 'a confirmed send without its one-time id');
  t.same(await messageRows(session.id), []);
});

t.test('after the start: attended and no-show; a cancelled session takes no message', async (t) => {
  const { session, emails } = await sessionWithPeople(10);
  const ana = await registrationId(database.pool, session.id, emails.ana);
  clock.advance(15 * MINUTE);
  const checkIn = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${ana}/check-in`, headers: hostApi });
  t.equal(checkIn.statusCode, 200, checkIn.body);
  const form = await host.get(page(session.id));
  t.ok(optionsOf(form.body).includes('attended=Attended (checked in or joined): 1 person'));
  t.ok(optionsOf(form.body).includes('no-show=Confirmed but did not come: 1 person'));
  const fields = { subject: 'Thank you', body: 'Slides: https://example.org/s', audience: 'attended', messageId: hiddenValue(form.body, 'messageId') };
  t.match((await host.post(page(session.id), { ...fields, step: 'send' })).body, /Send to 1 person who attended\?/);
  t.equal((await host.post(page(session.id), { ...fields, step: 'confirmed' })).statusCode, 303);
  t.same(await outboxOf(fields.messageId), [emails.ana]);

  const cancelled = (await sessionWithPeople()).session;
  await app.inject({ method: 'POST', url: `/api/v1/sessions/${cancelled.id}/cancel`, headers: hostApi, payload: { reason: 'Speaker ill' } });
  const closed = await host.get(page(cancelled.id));
  t.notMatch(closed.body, /name="testId"/, 'no compose form');
  t.match(closed.body, /The session was cancelled/);
  const refused = await host.post(page(cancelled.id), { step: 'confirmed', subject: 'x', body: 'y', audience: 'all', messageId: fields.messageId.replace(/.$/, (c) => (c === '0' ? '1' : '0')) });
  t.equal(refused.statusCode, 409);
  t.same(await messageRows(cancelled.id), []);
});

t.test('the session form: your words in the e-mails, saved with nothing sent, shown again, too long refused', async (t) => {
  const { session } = await sessionWithPeople();
  const editUrl = `/console/sessions/${session.id}/edit`;
  const edit = await host.get(editUrl);
  t.match(edit.body, /<legend>Your words in the e-mails<\/legend>/);
  const current = formFields(edit.body, editUrl);
  t.same([current.emailTextConfirmation, current.emailTextWaitlisted, current.emailTextReminder], ['', '', ''], 'none yet');

  const unchanged = await host.post(editUrl, current);
  t.equal(unchanged.headers.location, `/console/sessions/${session.id}?done=unchanged`, 'empty texts are no change');

  const welcome = 'Welcome to the training!\nSlides: https://example.org/slides';
  const asked = await host.post(editUrl, { ...current, emailTextConfirmation: `${welcome}\r\n`, emailTextReminder: 'Bring your questions.' });
  t.match(asked.body, /<li>E-mail texts<\/li>/);
  t.match(asked.body, /Nothing is sent/, 'only later e-mails carry them');
  const applied = await host.post(editUrl, { ...formFields(asked.body, editUrl), confirm: '1' });
  t.equal(applied.statusCode, 303, applied.body.slice(0, 300));
  const { rows } = await database.pool.query('SELECT email_texts, sequence FROM sessions WHERE id = $1', [session.id]);
  t.same(rows[0].email_texts, { confirmation: welcome, reminder: 'Bring your questions.' }, 'trimmed, the empty one left out');
  t.equal(rows[0].sequence, 0, 'no invite update for words in e-mails');

  const shown = formFields((await host.get(editUrl)).body, editUrl);
  t.equal(shown.emailTextConfirmation, welcome, 'shown again in the form');
  const tooLong = await host.post(editUrl, { ...shown, emailTextWaitlisted: 'w'.repeat(2001) });
  t.equal(tooLong.statusCode, 400);
  t.match(tooLong.body, /href="#f-emailTextWaitlisted">Text for the waitlist e-mail must be at most 2000 characters/);
});
