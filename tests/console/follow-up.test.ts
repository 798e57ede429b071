import t from 'tap';
import { instantText } from '../../src/text.js';
import { buildTestApp, manualClock, uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { createSessionWithBody, notificationRows, registered, registrationId, type SessionJson } from '../helpers/registrations.js';
import { consoleSignIn, form, makeOrganizer } from './support.js';

const clock = manualClock();
const { app, database } = await buildTestApp(t, { clock });
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

const host = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'Follow-up host'));
const hostApi = { authorization: `Bearer ${app.issueToken(host.organizer).token}` };
const stranger = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'Not a host'));
const admin = await consoleSignIn(app, await makeOrganizer(app, 'admin', 'Follow-up admin'));

/** A published session starting in 10 minutes and ending 30 minutes later, by the test's clock. */
async function soonOver(overrides: Record<string, unknown> = {}): Promise<SessionJson> {
  const start = new Date(clock.now().getTime() + 10 * MINUTE);
  return createSessionWithBody(app, hostApi, {
    title: `Follow-up session ${uniqueSuffix()}`,
    startsAt: start.toISOString(),
    endsAt: new Date(start.getTime() + 30 * MINUTE).toISOString(),
    timezone: 'America/Chicago',
    capacity: 2,
    ...overrides,
  });
}

/** Ana (checked in), Bo (confirmed, did not come), Cy (waitlisted). */
async function withPeople(session: SessionJson): Promise<Record<'ana' | 'bo' | 'cy', string>> {
  const people = { ana: uniqueEmail('ana'), bo: uniqueEmail('bo'), cy: uniqueEmail('cy') };
  await registered(app, session.slug, { name: 'Ana Came', email: people.ana });
  await registered(app, session.slug, { name: 'Bo Absent', email: people.bo });
  await registered(app, session.slug, { name: 'Cy Waiting', email: people.cy });
  const ana = await registrationId(database.pool, session.id, people.ana);
  const checkIn = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${ana}/check-in`, headers: hostApi });
  if (checkIn.statusCode !== 200) throw new Error(`check-in failed: ${checkIn.body}`);
  return people;
}

async function auditOf(subjectId: string, action: string): Promise<Array<{ actor_id: string | null; details: Record<string, unknown> }>> {
  const { rows } = await database.pool.query('SELECT actor_id, details FROM audit_log WHERE subject_id = $1 AND action = $2 ORDER BY at', [subjectId, action]);
  return rows;
}

async function followUpOf(id: string): Promise<{ follow_up: { message: string; recordingUrl: string | null } | null; follow_up_sent_at: Date | null }> {
  const { rows } = await database.pool.query('SELECT follow_up, follow_up_sent_at FROM sessions WHERE id = $1', [id]);
  return rows[0];
}

async function followUpRows(id: string): Promise<Array<{ kind: string; registration_id: string | null }>> {
  return (await notificationRows(database.pool, id)).filter((row) => row.kind.startsWith('follow_up'));
}

function fieldError(html: string, id: string): string | null {
  const match = new RegExp(`<p class="field-error" id="${id}-error"><span class="visually-hidden">Error: </span>([^<]*)</p>`).exec(html);
  return match ? match[1]! : null;
}

const summaryOf = (html: string) => /<div class="error-summary"[\s\S]*?<\/div>/.exec(html)?.[0] ?? '';
const page = (id: string, query = '') => `/console/sessions/${id}/follow-up${query}`;
const sendUrl = (id: string) => `/console/sessions/${id}/follow-up/send`;

// Created now, while they have not ended: the clock moves past their end further down.
const session = await soonOver();
const people = await withPeople(session);
const viaApi = await soonOver();
await withPeople(viaApi);

t.test('signed out, CSRF, Origin, not a host: refused, nothing saved or sent', async (t) => {
  const signedOut = await app.inject({ method: 'GET', url: page(session.id) });
  t.equal(signedOut.statusCode, 303);
  t.equal(signedOut.headers.location, `/console/login?next=${encodeURIComponent(page(session.id))}`);

  for (const url of [page(session.id), sendUrl(session.id)]) {
    const noCsrf = await app.inject({ method: 'POST', url, ...form({ message: 'Hi', confirm: '1' }), headers: { ...form({}).headers, ...host.headers } });
    t.equal(noCsrf.statusCode, 403, `${url}: CSRF missing`);
    const wrong = await app.inject({ method: 'POST', url, ...form({ _csrf: 'wrong', message: 'Hi', confirm: '1' }), headers: { ...form({}).headers, ...host.headers } });
    t.equal(wrong.statusCode, 403, `${url}: CSRF wrong`);
    const foreign = await host.post(url, { message: 'Hi', confirm: '1' }, { origin: 'https://evil.example' });
    t.equal(foreign.statusCode, 403, `${url}: a foreign Origin`);
    const notHost = await stranger.post(url, { message: 'Hi', confirm: '1' });
    t.equal(notHost.statusCode, 404, `${url}: not a host`);
  }
  const strangerPage = await stranger.get(page(session.id));
  t.equal(strangerPage.statusCode, 404, 'not a host: the page is a 404');
  t.equal((await followUpOf(session.id)).follow_up, null, 'nothing saved');
  t.same(await auditOf(session.id, 'session.update'), [], 'no audit entry');

  const byAdmin = await admin.get(page(session.id));
  t.equal(byAdmin.statusCode, 200, 'an admin sees it');
  t.equal((await host.get('/console/sessions/not-a-uuid/follow-up')).statusCode, 400, 'a malformed id is a 4xx page');
});

t.test('before the end: compose and save, no send, with the reason', async (t) => {
  const res = await host.get(page(session.id));
  t.equal(res.statusCode, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  t.match(res.body, /<h1>Follow-up<\/h1>/);
  t.match(res.body, /<label for="f-message">Message <span class="req">\(required\)<\/span><\/label>/);
  t.match(res.body, /<label for="f-recordingUrl">Recording link<\/label>/);
  t.match(res.body, /<input type="url" id="f-recordingUrl" name="recordingUrl"/);
  t.match(res.body, /<button type="submit">Save<\/button>/);
  t.notOk(res.body.includes('Send follow-up'), 'no send button yet');
  t.ok(res.body.includes(`You can send it once the session has ended at ${instantText(new Date(session.endsAt), 'America/Chicago')}.`), 'why not, with the end in the zone');
});

t.test('save validates: empty message, too long, bad links; nothing saved; 400 with the values typed', async (t) => {
  const empty = await host.post(page(session.id), { message: '   ', recordingUrl: 'https://video.example.org/r/1' });
  t.equal(empty.statusCode, 400);
  t.equal(fieldError(empty.body, 'f-message'), 'Message must not be empty');
  t.ok(summaryOf(empty.body).includes('<a href="#f-message">Message must not be empty</a>'), 'in the summary, linked');
  t.match(empty.body, /<title>Error: /);
  t.ok(empty.body.includes('value="https://video.example.org/r/1"'), 'the link typed is shown again');

  const long = await host.post(page(session.id), { message: 'x'.repeat(20_000) });
  t.equal(long.statusCode, 400);
  t.equal(fieldError(long.body, 'f-message'), 'Message must be at most 5,000 characters (it has 20,000)');

  const notUrl = await host.post(page(session.id), { message: 'Thanks for coming', recordingUrl: 'not a link' });
  t.equal(notUrl.statusCode, 400);
  t.equal(fieldError(notUrl.body, 'f-recordingUrl'), 'Recording link must be an https URL');
  t.ok(notUrl.body.includes('>Thanks for coming</textarea>'), 'the message typed is shown again');
  const http = await host.post(page(session.id), { message: 'Thanks', recordingUrl: 'http://video.example.org/r/1' });
  t.equal(fieldError(http.body, 'f-recordingUrl'), 'Recording link must be an https URL', 'http is refused as the API refuses it');

  const both = await host.post(page(session.id), { message: '', recordingUrl: 'javascript:alert(1)' });
  t.equal(both.statusCode, 400);
  t.ok(fieldError(both.body, 'f-message') && fieldError(both.body, 'f-recordingUrl'), 'every problem in one round');

  const array = await app.inject({
    method: 'POST',
    url: page(session.id),
    payload: `_csrf=${host.csrf}&message=a&message=b`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...host.headers },
  });
  t.equal(array.statusCode, 400, 'a repeated field is not a message');

  t.equal((await followUpOf(session.id)).follow_up, null, 'nothing saved');
  t.same(await auditOf(session.id, 'session.update'), [], 'no audit entry');
});

t.test('save: the same change and audit entry as the API PATCH', async (t) => {
  const res = await host.post(page(session.id), { message: 'Thank you!\nSlides are on the page.', recordingUrl: 'https://video.example.org/r/1' });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, page(session.id, '?done=saved'));
  t.same((await followUpOf(session.id)).follow_up, { message: 'Thank you!\nSlides are on the page.', recordingUrl: 'https://video.example.org/r/1' });
  const after = await host.get(res.headers.location as string);
  t.ok(after.body.includes('The follow-up message is saved.'));
  t.ok(after.body.includes('>Thank you!\nSlides are on the page.</textarea>'), 'the form holds what is saved');

  const api = await app.inject({
    method: 'PATCH',
    url: `/api/v1/sessions/${viaApi.id}`,
    headers: hostApi,
    payload: { followUp: { message: 'Thank you!', recordingUrl: 'https://video.example.org/r/2' } },
  });
  t.equal(api.statusCode, 200);
  const [consoleEntry] = await auditOf(session.id, 'session.update');
  const [apiEntry] = await auditOf(viaApi.id, 'session.update');
  t.equal(consoleEntry!.actor_id, host.organizer.id, 'the organizer is the actor');
  t.same(consoleEntry!.details, apiEntry!.details, 'the same details as the API');

  const cleared = await host.post(page(session.id), { message: 'Thank you!\nSlides are on the page.', recordingUrl: '' });
  t.equal(cleared.statusCode, 303);
  t.equal((await followUpOf(session.id)).follow_up!.recordingUrl, null, 'an empty link is no link');
});

t.test('send before the end: refused with the reason, nothing written', async (t) => {
  const ask = await host.post(sendUrl(session.id), {});
  t.equal(ask.statusCode, 303, 'without confirmation: to the confirmation step');
  t.equal(ask.headers.location, page(session.id, '?confirm=1'));
  const step = await host.get(ask.headers.location as string);
  t.notOk(step.body.includes('Send now'), 'no confirmation offered before the end');

  const res = await host.post(sendUrl(session.id), { confirm: '1' });
  t.equal(res.statusCode, 409);
  t.ok(summaryOf(res.body).includes('A follow-up can only be sent once the session has ended'), 'the reason at the top');
  t.ok(res.body.includes('You can send it once the session has ended at'));
  t.equal((await followUpOf(session.id)).follow_up_sent_at, null);
  t.same(await followUpRows(session.id), [], 'no follow-up written');
  t.same(await auditOf(session.id, 'session.follow_up'), []);
});

t.test('after the end: who gets it, a confirmation step, then sent once with the API audit entry', async (t) => {
  clock.advance(HOUR);
  const ready = await host.get(page(session.id));
  t.equal(ready.statusCode, 200);
  t.ok(ready.body.includes('It goes to 2 people: 1 who attended (checked in or joined) and 1 confirmed person who did not come.'), 'the counts');
  t.match(ready.body, /<form method="post" action="[^"]+\/follow-up\/send">/);
  t.match(ready.body, /<button type="submit">Send follow-up<\/button>/);

  const ask = await host.post(sendUrl(session.id), {});
  t.equal(ask.statusCode, 303);
  t.same(await followUpRows(session.id), [], 'the first button sends nothing');
  const step = await host.get(ask.headers.location as string);
  t.ok(step.body.includes('Send to 2 people?'));
  t.match(step.body, /<input type="hidden" name="confirm" value="1">/);
  t.match(step.body, /<button type="submit">Send now<\/button>/);
  t.notOk(step.body.includes('>Send follow-up</button>'), 'one send button at a time');
  t.notOk(step.body.includes('<textarea'), 'the message as it will go, not a form');
  t.ok(step.body.includes('<dd class="message-text">Thank you!\nSlides are on the page.</dd>'));

  const sent = await host.post(sendUrl(session.id), { confirm: '1' });
  t.equal(sent.statusCode, 303);
  t.equal(sent.headers.location, page(session.id, '?done=sent'));
  const rows = new Map((await followUpRows(session.id)).map((row) => [row.registration_id, row.kind]));
  t.equal(rows.size, 2, 'one e-mail to each confirmed person');
  t.equal(rows.get(await registrationId(database.pool, session.id, people.ana)), 'follow_up_attended');
  t.equal(rows.get(await registrationId(database.pool, session.id, people.bo)), 'follow_up_no_show');
  t.equal((await followUpOf(session.id)).follow_up_sent_at?.toISOString(), clock.now().toISOString());

  const api = await app.inject({ method: 'POST', url: `/api/v1/sessions/${viaApi.id}/follow-up`, headers: hostApi });
  t.equal(api.statusCode, 202);
  const [consoleEntry] = await auditOf(session.id, 'session.follow_up');
  const [apiEntry] = await auditOf(viaApi.id, 'session.follow_up');
  t.equal(consoleEntry!.actor_id, host.organizer.id, 'the organizer is the actor');
  t.same(consoleEntry!.details, apiEntry!.details, 'the same details as the API');
  t.same(consoleEntry!.details, { attended: 1, noShows: 1 });

  const shown = await host.get(sent.headers.location as string);
  t.ok(shown.body.includes('The follow-up is on its way'));
  t.ok(shown.body.includes(`Sent <time datetime="${clock.now().toISOString()}">${instantText(clock.now(), 'America/Chicago')}</time>`), 'Sent, with the date');
  t.ok(shown.body.includes('To 2 people: 1 who attended'), 'and to whom');
  t.notOk(shown.body.includes('<textarea'), 'read-only once sent');
  t.notOk(shown.body.includes('>Save</button>'));
  t.notOk(shown.body.includes('Send follow-up'));
  t.ok(shown.body.includes('Thank you!\nSlides are on the page.'), 'the message sent is shown');
  t.ok(shown.body.includes(`href="/console/sessions/${session.id}/emails"`), 'a link to their delivery');

  const emails = await host.get(`/console/sessions/${session.id}/emails`);
  t.ok(emails.body.includes('Follow-up (attended)') && emails.body.includes('Follow-up (no-show)'), 'the follow-ups in the delivery log');
});

t.test('a second send is refused and writes nothing', async (t) => {
  const again = await host.post(sendUrl(session.id), { confirm: '1' });
  t.equal(again.statusCode, 409);
  t.ok(summaryOf(again.body).includes('The follow-up has already been sent'));
  t.ok(again.body.includes('<h2 id="sent-title">Sent</h2>'), 'the sent state is shown');
  t.equal((await followUpRows(session.id)).length, 2, 'still two');
  t.equal((await auditOf(session.id, 'session.follow_up')).length, 1, 'one audit entry');
  const confirmAgain = await host.get(page(session.id, '?confirm=1'));
  t.notOk(confirmAgain.body.includes('Send now'), 'no confirmation once sent');
});

t.test('ended without a saved message: send is not offered, and refused in words', async (t) => {
  const bare = await soonOver();
  clock.advance(HOUR);
  const res = await host.get(page(bare.id));
  t.ok(res.body.includes('Save a message first; then you can send it.'));
  t.notOk(res.body.includes('Send follow-up'));
  const refused = await host.post(sendUrl(bare.id), { confirm: '1' });
  t.equal(refused.statusCode, 409);
  t.ok(summaryOf(refused.body).includes('Save a message first: there is nothing to send yet.'));
  t.same(await followUpRows(bare.id), []);
});

t.test('a cancelled session: no compose form, saving refused', async (t) => {
  const cancelled = await soonOver();
  const cancel = await app.inject({ method: 'POST', url: `/api/v1/sessions/${cancelled.id}/cancel`, headers: hostApi, payload: {} });
  t.equal(cancel.statusCode, 200);
  const res = await host.get(page(cancelled.id));
  t.equal(res.statusCode, 200);
  t.ok(res.body.includes('The session was cancelled, so no follow-up is sent.'));
  t.notOk(res.body.includes('<textarea'));
  const save = await host.post(page(cancelled.id), { message: 'Too late' });
  t.equal(save.statusCode, 409);
  t.ok(summaryOf(save.body).includes('A cancelled session cannot be changed'));
  t.equal((await followUpOf(cancelled.id)).follow_up, null);
});
