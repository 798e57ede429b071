import t from 'tap';
import { buildTestApp, manualClock, uniqueEmail } from '../helpers/app.js';
import { createSession, registered, registrationId, type SessionJson } from '../helpers/registrations.js';
import { consoleSignIn, makeOrganizer, tableRows as rowsOf } from './support.js';

const clock = manualClock();
const { app, database } = await buildTestApp(t, { clock });

const HOSTILE = '<img src=x onerror=alert(1)>';
const FAILURE = '550 5.1.1 <mailbox>: Recipient address rejected: User unknown';

const host = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'E-mails host'));
const hostApi = { authorization: `Bearer ${app.issueToken(host.organizer).token}` };
const stranger = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'Not a host'));
const admin = await consoleSignIn(app, await makeOrganizer(app, 'admin', 'E-mails admin'));

const tableRows = (html: string) => rowsOf(html, 'emails-table');

/**
 * Puts every e-mail of one recipient in a final status. The outbox rows are the app's own
 * (written when people registered); only their delivery is decided here, as the worker would
 * record it, since no worker runs in this test. Final statuses are never touched again.
 */
async function delivered(sessionId: string, email: string, status: 'sent' | 'failed' | 'skipped', lastError: string | null = null): Promise<void> {
  const registration = await registrationId(database.pool, sessionId, email);
  await database.pool.query(
    `UPDATE notifications SET status = $3::notification_status, attempts = 1, last_error = $4,
       sent_at = CASE WHEN $3 = 'sent' THEN $5::timestamptz END
     WHERE session_id = $1 AND registration_id = $2`,
    [sessionId, registration, status, lastError, clock.now()],
  );
}

const session: SessionJson = await createSession(app, hostApi, { capacity: 2 });
const people = { ada: uniqueEmail('ada'), ben: uniqueEmail('ben'), cleo: uniqueEmail('cleo') };
await registered(app, session.slug, { name: 'Ada Sent', email: people.ada });
clock.advance(1000);
await registered(app, session.slug, { name: 'Ben Failed', email: people.ben });
clock.advance(1000);
await registered(app, session.slug, { name: HOSTILE, email: people.cleo });
await delivered(session.id, people.ada, 'sent');
await delivered(session.id, people.ben, 'failed', FAILURE);
await delivered(session.id, people.cleo, 'skipped', 'the registration is cancelled');

// Another session of the same host: its e-mails must never show on the first one's page.
const other = await createSession(app, hostApi, { capacity: 5 });
const outsider = uniqueEmail('outsider');
await registered(app, other.slug, { name: 'Olga Other', email: outsider });
await delivered(other.id, outsider, 'failed', 'other session failure');

const url = (id: string, query = '') => `/console/sessions/${id}/emails${query}`;

t.test('signed out: to the login page; not a host: 404; an admin sees the page', async (t) => {
  const signedOut = await app.inject({ method: 'GET', url: url(session.id) });
  t.equal(signedOut.statusCode, 303);
  t.equal(signedOut.headers.location, `/console/login?next=${encodeURIComponent(url(session.id))}`);

  const foreign = await stranger.get(url(session.id));
  t.equal(foreign.statusCode, 404, 'not a host');
  t.notOk(foreign.body.includes(people.ada), 'no recipient shown');
  t.equal((await stranger.get(url(session.id, '?status=failed'))).statusCode, 404);

  const byAdmin = await admin.get(url(session.id));
  t.equal(byAdmin.statusCode, 200, 'an admin sees it');
  t.ok(byAdmin.body.includes(people.ben));

  t.equal((await host.get('/console/sessions/not-a-uuid/emails')).statusCode, 400, 'a malformed id is a 4xx page');
  t.equal((await host.get(url('00000000-0000-4000-8000-000000000000'))).statusCode, 404, 'an unknown session');
});

t.test('the log: kinds in words, recipients, statuses, the failure and its reason, zone named, nothing of another session', async (t) => {
  const res = await host.get(url(session.id));
  t.equal(res.statusCode, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  t.match(res.body, /<h1>E-mails<\/h1>/);
  const rows = tableRows(res.body);
  t.equal(rows.length, 3, 'one e-mail per registration so far');
  const byRecipient = (email: string) => rows.find((row) => row[1]!.includes(email))!;
  t.same(byRecipient(people.ada).slice(0, 3), ['Confirmation', `Ada Sent ${people.ada}`, 'Sent']);
  t.match(byRecipient(people.ada)[4], /^\d{4}-\d\d-\d\d \d\d:\d\d$/, 'the sent time');
  t.same(byRecipient(people.ben).slice(0, 3), ['Confirmation', `Ben Failed ${people.ben}`, 'Failed']);
  t.equal(byRecipient(people.ben)[5], FAILURE.replace(/</g, '&lt;').replace(/>/g, '&gt;'), 'the failure reason, escaped');
  t.same(byRecipient(people.cleo).slice(0, 3), ['Waitlist place', `&lt;img src=x onerror=alert(1)&gt; ${people.cleo}`, 'Not sent']);
  t.equal(byRecipient(people.cleo)[5], 'the registration is cancelled');
  t.same(rows.map((row) => row[1]!.split(' ')[0]), ['&lt;img', 'Ben', 'Ada'], 'newest first');

  t.ok(res.body.includes('<tr class="failed">'), 'the failed row is marked');
  t.ok(res.body.includes('1 e-mail failed'), 'the count of failures at the top');
  t.ok(res.body.includes('3 e-mails: 1 sent, 1 failed, 1 not sent.'), 'the totals');
  t.ok(res.body.includes(`<a href="${url(session.id, '?status=failed')}">Failed only</a>`), 'a link to the failures alone');
  t.ok(res.body.includes('Written (America/Chicago)'), 'the zone is named');
  t.notOk(res.body.includes(HOSTILE), 'a hostile name is never markup');
  t.notOk(res.body.includes(outsider), "another session's e-mails do not appear");
  t.notOk(res.body.includes('other session failure'));
  t.notOk(res.body.includes('confirmation'), 'no raw kind code');
});

t.test('the status filter: a select and Show, without JavaScript; unknown statuses are no filter', async (t) => {
  const page = await host.get(url(session.id));
  t.match(page.body, /<form method="get" action="[^"]+\/emails" class="filters">/);
  t.match(page.body, /<label for="f-status">Status<\/label>/);
  t.match(page.body, /<button type="submit">Show<\/button>/);

  const failed = await host.get(url(session.id, '?status=failed'));
  t.same(tableRows(failed.body).map((row) => row[1]), [`Ben Failed ${people.ben}`], 'only the failure');
  t.notOk(failed.body.includes('>Failed only</a>'), 'no link to the view already shown');
  t.match(failed.body, /<option value="failed" selected>/, 'the choice stays selected');
  t.ok(failed.body.includes('All e-mails</a>'), 'a way back to all');
  t.same(tableRows((await host.get(url(session.id, '?status=sent'))).body).map((row) => row[1]), [`Ada Sent ${people.ada}`]);
  const none = await host.get(url(session.id, '?status=pending'));
  t.same(tableRows(none.body), []);
  t.ok(none.body.includes('No e-mails with the status “Pending”.'), 'the empty state of a filter');
  t.equal(tableRows((await host.get(url(session.id, '?status=nonsense'))).body).length, 3, 'an unknown status shows everything');
  t.equal(tableRows((await host.get(url(other.id, '?status=failed'))).body).length, 1, "the other session's own page has its own");
  t.equal((await host.get(url(session.id, '?cursor=not-a-cursor'))).statusCode, 400, 'a broken cursor is a page saying so');
});

t.test('empty state', async (t) => {
  const quiet = await createSession(app, hostApi, {});
  const res = await host.get(url(quiet.id));
  t.equal(res.statusCode, 200);
  t.ok(res.body.includes('No e-mails yet.'));
  t.ok(res.body.includes('confirmations, reminders and updates appear here'));
  t.notOk(res.body.includes('<table'), 'no empty table');
  t.notOk(res.body.includes('Failed only'), 'no failure notice');
  t.notOk(res.body.includes('class="status stop"'));
});

t.test('pagination: 100 a page, newest first, with the service cursor', async (t) => {
  const big = await createSession(app, hostApi, { capacity: null });
  for (let i = 0; i < 101; i += 1) {
    await app.services.registrations.addByOrganizer(big.id, { name: `Person ${String(i).padStart(3, '0')}`, email: uniqueEmail(`p${i}`), answers: {} }, host.organizer.id, host.organizer);
    clock.advance(10);
  }
  const first = await host.get(url(big.id));
  const firstRows = tableRows(first.body);
  t.equal(firstRows.length, 100);
  t.match(firstRows[0]![1], /^Person 100 /, 'the newest first');
  t.notOk(first.body.includes('First page'));
  const next = /<a href="([^"]+)" rel="next">Next page<\/a>/.exec(first.body)?.[1]?.replace(/&amp;/g, '&');
  t.ok(next, 'a Next page link');
  const second = await host.get(next!);
  t.same(tableRows(second.body).map((row) => row[1]!.split(' ').slice(0, 2).join(' ')), ['Person 000']);
  t.ok(second.body.includes('First page'));
  t.notOk(second.body.includes('rel="next"'));
});

t.test('the overview links to the E-mails and Follow-up pages', async (t) => {
  const overview = await host.get(`/console/sessions/${session.id}`);
  t.ok(overview.body.includes(`href="/console/sessions/${session.id}/emails">E-mails</a>`));
  t.ok(overview.body.includes(`href="/console/sessions/${session.id}/follow-up">Follow-up</a>`));
  t.ok(overview.body.includes(`href="/console/sessions/${session.id}/registrations">People</a>`), 'People stays');
});
