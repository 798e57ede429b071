import t from 'tap';
import { uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { htmlLinks, linkMismatch, textLinks } from '../helpers/email-links.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { checkMail } from '../helpers/mail-checks.js';
import { startRedisProcess } from '../helpers/processes.js';
import { CITY_QUESTIONS, createSession, registered, type SessionJson } from '../helpers/registrations.js';
import type { ReceivedMail } from '../helpers/smtp-sink.js';
import { sleep, waitFor } from '../helpers/waiting.js';

/**
 * One form for a series: each published session that has not ended seats or waitlists the
 * person on its own (with its own e-mail and invite), a session that may not take them is
 * skipped, a draft is left out, and one summary e-mail lists what the person holds, with each
 * manage link. The answer is the same bytes whatever happened. Over the real worker and SMTP.
 */

const redis = await startRedisProcess(t);
const ctx = await startMailTest(t, { name: 'series_registration', redisUrl: redis.url });
const { app, database, sink, owner } = ctx;
const { pool } = database;
const contact = { name: 'Test organizer', email: owner.organizer.email };

const kindOf = (mail: ReceivedMail) => String(mail.parsed.headers.get('x-convene-notification'));
const mailsOf = (email: string, kind: string) => sink.to(email).filter((mail) => kindOf(mail) === kind);

async function mailOf(email: string, kind: string): Promise<ReceivedMail> {
  return waitFor(() => mailsOf(email, kind)[0], 20_000, `${kind} to ${email}`);
}

/** Nothing left to deliver, and nothing more arriving. */
async function settled(): Promise<void> {
  await waitFor(async () => {
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM notifications WHERE status IN ('pending', 'queued')`);
    return rows[0].n === 0;
  }, 20_000, 'every notification delivered');
  await sleep(300);
}

async function statusIn(session: SessionJson, email: string): Promise<string | null> {
  const { rows } = await pool.query<{ status: string }>(
    `SELECT r.status::text FROM registrations r JOIN attendees a ON a.id = r.attendee_id
     WHERE r.session_id = $1 AND a.email = $2 AND r.status IN ('confirmed', 'waitlisted', 'pending', 'offered')`,
    [session.id, email],
  );
  return rows[0]?.status ?? null;
}

const api = (method: 'POST' | 'PATCH', url: string, payload: Record<string, unknown>) =>
  app.inject({ method, url, headers: owner.headers, payload }).then((res) => {
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  });

const registerForSeries = (slug: string, payload: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: `/api/v1/public/series/${slug}/registrations`, payload: { consent: true, ...payload } });

// Part 1 has room; part 2 is full with a waitlist; part 3 is a draft; part 4 is full without a
// waitlist; part 5 is for member organisations only; part 6 asks a required question of its own.
const roomy = await createSession(app, owner.headers, { title: 'Part 1: heat', capacity: 10, reminders: [] }, { daysAhead: 7 });
const waitlisting = await createSession(app, owner.headers, { title: 'Part 2: water', capacity: 1, waitlist: { enabled: true }, reminders: [] }, { daysAhead: 14 });
const draft = await createSession(app, owner.headers, { title: 'Part 3: draft', capacity: 10, reminders: [] }, { daysAhead: 21, publish: false });
const noRoom = await createSession(app, owner.headers, { title: 'Part 4: full', capacity: 1, waitlist: { enabled: false }, reminders: [] }, { daysAhead: 28 });
const membersOnly = await createSession(app, owner.headers, { title: 'Part 5: members', audience: { kind: 'members' }, reminders: [] }, { daysAhead: 35 });
const asking = await createSession(app, owner.headers, { title: 'Part 6: questions', questions: CITY_QUESTIONS, reminders: [] }, { daysAhead: 42 });
await registered(app, waitlisting.slug, { name: 'Early Bird', email: uniqueEmail('early') });
await registered(app, noRoom.slug, { name: 'Early Bird', email: uniqueEmail('early') });
const parts = [roomy, waitlisting, draft, noRoom, membersOnly, asking];
const theSeries = await api('POST', '/api/v1/series', { title: `Resilient cities ${uniqueSuffix()}`, sessionIds: parts.map((part) => part.id) });

t.test('one form: confirmed where there is room, waitlisted where full, skipped or left out elsewhere; one summary', async (t) => {
  const email = uniqueEmail('ana');
  const res = await registerForSeries(theSeries.slug, { name: 'Ana Reyes', email, organization: 'City of X', timezone: 'America/New_York' });
  t.equal(res.statusCode, 202, res.body);
  t.same(res.json(), { status: 'received', series: { slug: theSeries.slug, title: theSeries.title } });

  t.equal(await statusIn(roomy, email), 'confirmed', 'a seat where there is room');
  t.equal(await statusIn(waitlisting, email), 'waitlisted', 'the waitlist where the session is full');
  t.equal(await statusIn(draft, email), null, 'the draft is left out');
  t.equal(await statusIn(noRoom, email), null, 'full without a waitlist: skipped');
  t.equal(await statusIn(membersOnly, email), null, 'not a member: skipped');
  t.equal(await statusIn(asking, email), null, 'a session with questions of its own: left to its own page');

  const confirmation = await mailOf(email, 'confirmation');
  const facts = checkMail(t, confirmation, { to: email, contact, invite: 'REQUEST' }, 'confirmation of part 1');
  t.match(facts?.summary ?? '', 'Part 1: heat', 'the invite is the session’s own');
  const waitlisted = await mailOf(email, 'waitlisted');
  checkMail(t, waitlisted, { to: email, contact, invite: null }, 'waitlist notice of part 2');
  const summary = await mailOf(email, 'series_summary');
  checkMail(t, summary, { to: email, contact, invite: null }, 'the summary');
  await settled();

  t.same(mailsOf(email, 'series_summary').length, 1, 'one summary');
  t.same(
    sink.to(email).map(kindOf).sort(),
    ['confirmation', 'series_summary', 'waitlisted'],
    'one e-mail per session that took the person, and the summary; one invite (the confirmation’s)',
  );
  t.equal(sink.to(email).filter((mail) => mail.invite).length, 1, 'an iTIP message per seat, none in the summary');

  t.equal(summary.parsed.subject, `Your sessions: ${theSeries.title}`);
  const listed = [...summary.text.matchAll(/^(Part \d: \w+): /gm)].map((match) => match[1]);
  t.same(listed, ['Part 1: heat', 'Part 2: water'], 'the registrations it holds, in the series’ order');
  t.match(summary.text, /Part 1: heat: \w+day, .+ E[SD]T\n\(.+ C[SD]T in Chicago, the organizer's time\)/, 'each time, the reader’s zone first');
  t.match(summary.text, /You are on the waitlist, at place 1\. See your waitlist place: http:\/\/convene\.test\/m\//);
  const manageOf = (mail: ReceivedMail) => /http:\/\/convene\.test\/m\/[A-Za-z0-9_-]+/.exec(mail.text)![0];
  const summaryLinks = textLinks(summary.text).map((link) => link.href);
  t.ok(summaryLinks.includes(manageOf(confirmation)), 'the manage link of part 1, as its confirmation has it');
  t.ok(summaryLinks.includes(manageOf(waitlisted)), 'the manage link of part 2, as its waitlist notice has it');
  t.same(htmlLinks(summary.html).map((link) => linkMismatch(link, {})).filter(Boolean), [], 'every link says where it leads');
  const page = await app.inject({ method: 'GET', url: new URL(manageOf(waitlisted)).pathname });
  t.match(page.body, /Part 2: water/, 'the link opens that registration');
});

t.test('the answer is the same bytes for a new person, a repeat, and a person partly registered already', async (t) => {
  const fresh = uniqueEmail('fresh');
  const partly = uniqueEmail('partly');
  await registered(app, roomy.slug, { name: 'Bo Partly', email: partly });
  await mailOf(partly, 'confirmation');

  const first = await registerForSeries(theSeries.slug, { name: 'Cy Fresh', email: fresh });
  await mailOf(fresh, 'series_summary');
  const repeat = await registerForSeries(theSeries.slug, { name: 'Cy Fresh', email: fresh });
  const partial = await registerForSeries(theSeries.slug, { name: 'Bo Partly', email: partly });
  for (const [label, res] of [['new', first], ['repeat', repeat], ['partly registered', partial]] as const) {
    t.equal(res.statusCode, 202, label);
    t.equal(res.body, first.body, `${label}: byte for byte the same`);
    t.equal(res.headers['content-type'], first.headers['content-type'], `${label}: the same type`);
  }

  await mailOf(partly, 'series_summary');
  await settled();
  t.equal(await statusIn(waitlisting, partly), 'waitlisted', 'the partly registered person got the session they lacked');
  t.same(mailsOf(partly, 'confirmation').length, 1, 'no second confirmation for the session held already');
  t.same(mailsOf(partly, 'manage_link').length, 1, 'its manage link again instead (the repeat rule of a session)');
  const partlySummary = mailsOf(partly, 'series_summary')[0]!;
  t.match(partlySummary.text, /Part 1: heat[\s\S]*Part 2: water/, 'the summary lists what the person holds, the earlier seat too');

  t.same(mailsOf(fresh, 'series_summary').length, 1, 'a repeat sends no second summary');
  t.same(mailsOf(fresh, 'manage_link').length, 2, 'a repeat: each session’s manage link again');
  t.same(mailsOf(fresh, 'confirmation').length, 1, 'and no second confirmation');
  const { rows } = await pool.query(
    `SELECT count(*)::int AS n FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE a.email = $1`,
    [fresh],
  );
  t.equal(rows[0].n, 2, 'a repeat registers nothing more');

  // Cancelled, then the series form again within the window: a new seat, but no second summary.
  const confirmation = await mailOf(fresh, 'confirmation');
  const token = /\/m\/([A-Za-z0-9_-]+)/.exec(confirmation.text)![1];
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/registrations/${token}/cancel` })).statusCode, 200);
  const back = await registerForSeries(theSeries.slug, { name: 'Cy Fresh', email: fresh });
  t.equal(back.body, first.body, 'the same answer');
  t.equal(await statusIn(roomy, fresh), 'confirmed', 'registered anew');
  await waitFor(() => mailsOf(fresh, 'confirmation').length === 2, 20_000, 'the new confirmation');
  await settled();
  t.same(mailsOf(fresh, 'series_summary').length, 1, 'never a second summary within the window');
});

t.test('nobody taken: 409 when every session is full or closed, 403 when every one refuses the address', async (t) => {
  const fullOnly = await api('POST', '/api/v1/series', { title: `Full ${uniqueSuffix()}`, sessionIds: [noRoom.id, draft.id] });
  const someone = uniqueEmail('late');
  const late = await registerForSeries(fullOnly.slug, { name: 'Late', email: someone });
  t.equal(late.statusCode, 409, late.body);
  t.equal(late.headers['content-type'], 'application/problem+json; charset=utf-8');
  const { rows } = await pool.query<{ email: string }>(
    `SELECT a.email FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE r.session_id = $1 AND r.status = 'confirmed'`,
    [noRoom.id],
  );
  const seated = await registerForSeries(fullOnly.slug, { name: 'Early Bird', email: rows[0]!.email });
  t.equal(seated.statusCode, 409, 'the one registered there gets the same refusal');
  t.equal(seated.body, late.body, 'byte for byte');

  const membersSeries = await api('POST', '/api/v1/series', { title: `Members ${uniqueSuffix()}`, sessionIds: [membersOnly.id] });
  const outsider = await registerForSeries(membersSeries.slug, { name: 'Outsider', email: uniqueEmail('outsider') });
  t.equal(outsider.statusCode, 403);
  t.notMatch(outsider.body, /organisation [A-Z]/, 'naming no organisation');

  const onlyAsking = await api('POST', '/api/v1/series', { title: `Asking ${uniqueSuffix()}`, sessionIds: [asking.id] });
  t.equal((await registerForSeries(onlyAsking.slug, { name: 'X', email: uniqueEmail('x') })).statusCode, 409, 'nothing the form registers for');
  t.equal((await registerForSeries('no-such-series', { name: 'X', email: uniqueEmail('x') })).statusCode, 404);
});

t.test('bad input: 400 naming each field, nothing registered', async (t) => {
  const email = uniqueEmail('bad');
  const cases: Array<[string, Record<string, unknown>, string[]]> = [
    ['no consent', { name: 'X', email, consent: false }, ['/consent']],
    ['not an address', { name: 'X', email: 'not-an-address' }, ['/email']],
    ['a blank name', { name: '  ', email }, ['/name']],
    ['answers', { name: 'X', email, answers: { city: 'Springfield' } }, ['/answers']],
    ['an access code', { name: 'X', email, accessCode: 'secret' }, ['/accessCode']],
    ['an unknown field', { name: 'X', email, favourite: 'blue' }, ['/favourite']],
  ];
  for (const [label, payload, paths] of cases) {
    const res = await registerForSeries(theSeries.slug, payload);
    t.equal(res.statusCode, 400, label);
    t.same(res.json().errors.map((error: { path: string }) => error.path), paths, `${label}: ${res.body}`);
  }
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM attendees WHERE email = $1', [email]);
  t.equal(rows[0].n, 0, 'nothing stored');
});

t.test('an Idempotency-Key: a retry gets the first answer again and registers nothing twice', async (t) => {
  const email = uniqueEmail('retry');
  const post = (key: string, name: string) =>
    app.inject({
      method: 'POST',
      url: `/api/v1/public/series/${theSeries.slug}/registrations`,
      headers: { 'idempotency-key': key },
      payload: { consent: true, name, email },
    });
  const key = `series-${uniqueSuffix()}`;
  const first = await post(key, 'Retry Person');
  t.equal(first.statusCode, 202);
  t.notOk(first.headers['idempotent-replayed']);
  const again = await post(key, 'Retry Person');
  t.equal(again.statusCode, 202);
  t.equal(again.headers['idempotent-replayed'], 'true');
  t.equal(again.body, first.body, 'the same bytes');
  const other = await post(key, 'Someone Else');
  t.equal(other.statusCode, 422, 'the same key with another body');
  const bad = await post('a key with spaces', 'Retry Person');
  t.equal(bad.statusCode, 400);
  t.same(bad.json().errors.map((error: { path: string }) => error.path), ['/headers/idempotency-key']);
  await settled();
  t.equal(mailsOf(email, 'series_summary').length, 1, 'one summary');
  const { rows } = await pool.query('SELECT count(*)::int AS n FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE a.email = $1', [email]);
  t.equal(rows[0].n, 2, 'one registration in each session that took it (parts 1 and 2)');
});
