import t from 'tap';
import { buildTestApp, manualClock, signIn, uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { normalizeEmail } from '../../src/services/email-address.js';
import { errorPaths, expectProblem } from '../helpers/http.js';
import {
  CITY_QUESTIONS,
  count,
  createSession,
  notificationRows,
  registerJson,
  registrationId,
  registrationRows,
  assertCounters,
  waitingInOrder,
} from '../helpers/registrations.js';

const { app, database } = await buildTestApp(t);
const { pool } = database;
const owner = await signIn(app);

const ANSWER_KEYS = ['session', 'status'];
const ANSWER_SESSION_KEYS = ['endsAt', 'slug', 'startsAt', 'timezone', 'title'];
const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

function form(fields: Record<string, string>): string {
  return Object.entries(fields)
    .map(([key, value]) => `${encodeURIComponent(key).replace(/%5B/g, '[').replace(/%5D/g, ']')}=${encodeURIComponent(value)}`)
    .join('&');
}

/** Everything a response could leak about a registration: its tokens, in any form. */
function secretsOf(id: string): string[] {
  return [app.services.tokens.derive('manage', id, 0), app.services.tokens.derive('join', id, 0), id];
}

t.test('public registration as JSON and as a web form: 202, the public shape, an outbox row', async (t) => {
  const session = await createSession(app, owner.headers, {
    capacity: 1,
    questions: CITY_QUESTIONS,
    joinUrl: 'https://meet.example.org/j/secret-room',
  });
  const ana = uniqueEmail('ana');
  const bo = uniqueEmail('bo');

  const first = await registerJson(app, session.slug, {
    name: 'Ana Example',
    email: ana,
    organization: 'City of X',
    jobTitle: 'Mayor',
    answers: { city: 'Springfield', role: 'Mayor', agree: true },
    consent: true,
  });
  t.equal(first.statusCode, 202);
  t.match(String(first.headers['content-type']), /^application\/json/);
  const firstBody = first.json();
  t.same(Object.keys(firstBody).sort(), ANSWER_KEYS, 'exactly status and session');
  t.equal(firstBody.status, 'received');
  t.same(Object.keys(firstBody.session).sort(), ANSWER_SESSION_KEYS, 'the session without anything that moves with the counters');
  t.equal(firstBody.session.slug, session.slug);
  t.equal(firstBody.session.title, session.title);
  t.equal(firstBody.session.startsAt, session.startsAt);
  t.equal(firstBody.session.timezone, session.timezone);
  t.notMatch(first.body, /secret-room/, 'the meeting URL is not in the answer');
  t.notMatch(first.body, new RegExp(ana.split('@')[0]!), 'not even the registrant e-mail is echoed');

  const anaId = await registrationId(pool, session.id, ana);
  for (const secret of secretsOf(anaId)) t.notOk(first.body.includes(secret), 'no token or registration id in the answer');

  const [anaRow] = await registrationRows(pool, session.id);
  t.equal(anaRow!.status, 'confirmed');
  t.equal(anaRow!.name, 'Ana Example');
  const { rows: stored } = await pool.query('SELECT answers, consent_version, consent_at, source FROM registrations WHERE id = $1', [anaId]);
  t.same(stored[0].answers, { city: 'Springfield', role: 'Mayor', agree: true });
  t.ok(stored[0].consent_version, 'the consent version is recorded');
  t.ok(stored[0].consent_at, 'the consent time is recorded');
  t.equal(stored[0].source, 'public');

  const anaNotes = (await notificationRows(pool, session.id)).filter((row) => row.registration_id === anaId);
  t.same(
    anaNotes.map((row) => [row.kind, row.dedupe_key]),
    [['confirmation', `confirmation:${anaId}`]],
    'one confirmation row with its dedupe key',
  );

  // A web form: text fields, answers[city]=..., the consent checkbox as "on".
  const second = await app.inject({
    method: 'POST',
    url: `/api/v1/public/sessions/${session.slug}/registrations`,
    headers: FORM,
    payload: form({ name: 'Bo Form', email: bo, 'answers[city]': 'Shelbyville', 'answers[role]': 'Staff', 'answers[agree]': 'on', consent: 'on' }),
  });
  t.equal(second.statusCode, 202, second.body);
  t.equal(second.body, first.body, 'a waitlist place answers the same bytes as a seat');
  t.notMatch(second.body, /Ana Example/, "no other attendee's name");
  t.notOk(second.body.includes(ana), "no other attendee's e-mail");
  const boId = await registrationId(pool, session.id, bo);
  for (const secret of [...secretsOf(boId), ...secretsOf(anaId)]) t.notOk(second.body.includes(secret), 'no token in the answer');

  const { rows: boStored } = await pool.query('SELECT answers, status FROM registrations WHERE id = $1', [boId]);
  t.same(boStored[0].answers, { city: 'Shelbyville', role: 'Staff', agree: true }, 'form answers are stored typed');
  t.equal(boStored[0].status, 'waitlisted');
  const boNotes = (await notificationRows(pool, session.id)).filter((row) => row.registration_id === boId);
  t.same(boNotes.map((row) => [row.kind, row.dedupe_key]), [['waitlisted', `waitlisted:${boId}`]]);

  await assertCounters(t, pool, session.id);
});

t.test('a web form without the optional fields, an unchecked box, and an unlimited session', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: null, questions: CITY_QUESTIONS });
  const email = uniqueEmail('form');
  const res = await app.inject({
    method: 'POST',
    url: `/api/v1/public/sessions/${session.slug}/registrations`,
    headers: FORM,
    payload: form({ name: '  Cy   Spaces ', email, 'answers[city]': 'Ogdenville', consent: 'on' }),
  });
  t.equal(res.statusCode, 202, res.body);
  t.equal(res.json().status, 'received');
  const [row] = await registrationRows(pool, session.id);
  t.equal(row!.status, 'confirmed', 'an unlimited session always has a seat');
  t.equal(row!.name, 'Cy Spaces', 'the name is stored as meant: trimmed, single spaces');
  const { rows } = await pool.query('SELECT answers FROM registrations WHERE id = $1', [row!.id]);
  t.same(rows[0].answers, { city: 'Ogdenville' });

  // Media types are case-insensitive: the consent box must still count.
  const shouted = await app.inject({
    method: 'POST',
    url: `/api/v1/public/sessions/${session.slug}/registrations`,
    headers: { 'content-type': 'Application/X-WWW-Form-URLEncoded; Charset=UTF-8' },
    payload: form({ name: 'Upper Case', email: uniqueEmail('upper'), 'answers[city]': 'Capital City', consent: 'on' }),
  });
  t.equal(shouted.statusCode, 202, shouted.body);
  await assertCounters(t, pool, session.id);
});

t.test('the same person again answers like a new one, with no second registration and a manage link', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 1 });
  const suffix = uniqueSuffix();
  const variants: Array<[string, string, string]> = [
    ['case', `Ana.Case-${suffix}@Example.ORG`, `ana.case-${suffix}@example.org`],
    ['surrounding spaces', `  spaces-${suffix}@example.org\t`, `spaces-${suffix}@example.org`],
    ['NFD vs NFC', `jose\u0301-${suffix}@example.org`, `jos\u00e9-${suffix}@example.org`],
    ['IDNA domain', `ana-${suffix}@exämple.org`, `ana-${suffix}@xn--exmple-cua.org`],
    ['IDNA domain, ASCII first', `bo-${suffix}@xn--exmple-cua.org`, `BO-${suffix}@EXÄMPLE.org`],
  ];
  const newcomer = await registerJson(app, session.slug, { name: 'Someone New', email: uniqueEmail('new'), consent: true });
  t.equal(newcomer.statusCode, 202);

  for (const [label, firstEmail, repeatEmail] of variants) {
    const first = await registerJson(app, session.slug, { name: 'First Try', email: firstEmail, consent: true });
    t.equal(first.statusCode, 202, `first (${label})`);
    const repeat = await registerJson(app, session.slug, { name: 'Second Try', email: repeatEmail, consent: true });
    t.equal(repeat.statusCode, 202, `repeat (${label})`);
    t.same(Object.keys(repeat.json()).sort(), Object.keys(newcomer.json()).sort(), `same shape as a new registration (${label})`);
    t.equal(repeat.body, first.body, `the repeat answers exactly like the first (${label})`);
    t.equal(repeat.body, newcomer.body, `and like the new person who took the seat (${label})`);

    const identity = normalizeEmail(firstEmail)!;
    t.equal(normalizeEmail(repeatEmail), identity, `both spellings are one identity (${label})`);
    t.equal(await count(pool, 'SELECT 1 FROM attendees WHERE email = $1', [identity]), 1, `one attendee row (${label})`);
    const { rows } = await pool.query<{ id: string; status: string; name: string }>(
      `SELECT r.id, r.status, r.name FROM registrations r JOIN attendees a ON a.id = r.attendee_id
       WHERE r.session_id = $1 AND a.email = $2 AND r.status <> 'cancelled'`,
      [session.id, identity],
    );
    t.equal(rows.length, 1, `one active registration (${label})`);
    t.equal(rows[0]!.name, 'First Try', `the repeat changes nothing stored (${label})`);
    const id = rows[0]!.id;
    const manageLinks = await notificationRows(pool, session.id, 'manage_link');
    const mine = manageLinks.filter((row) => row.registration_id === id);
    t.equal(mine.length, 1, `one manage_link row (${label})`);
    t.match(mine[0]?.dedupe_key, new RegExp(`^manage-link:${id}:`), `its dedupe key (${label})`);
    for (const secret of secretsOf(id)) t.notOk(repeat.body.includes(secret), `no token in the repeat answer (${label})`);

    const again = await registerJson(app, session.slug, { name: 'Third Try', email: repeatEmail, consent: true });
    t.equal(again.statusCode, 202);
    t.same(again.json(), first.json());
    const afterAgain = (await notificationRows(pool, session.id, 'manage_link')).filter((row) => row.registration_id === id);
    t.equal(afterAgain.length, 1, `a second repeat within 10 minutes adds no manage_link row (${label})`);
  }
  await assertCounters(t, pool, session.id);
});

t.test('a repeat of a confirmed person and of a waiting one keeps their status and place', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 1 });
  const confirmed = uniqueEmail('seat');
  const waiting = uniqueEmail('wait');
  const behind = uniqueEmail('behind');
  await registerJson(app, session.slug, { name: 'Seat', email: confirmed, consent: true });
  await registerJson(app, session.slug, { name: 'Wait', email: waiting, consent: true });
  await registerJson(app, session.slug, { name: 'Behind', email: behind, consent: true });

  const before = await registrationRows(pool, session.id);
  const waitingBefore = await waitingInOrder(pool, session.id);
  const seatAgain = await registerJson(app, session.slug, { name: 'Seat', email: confirmed.toUpperCase(), consent: true });
  t.equal(seatAgain.statusCode, 202);
  const waitAgain = await registerJson(app, session.slug, { name: 'Wait', email: ` ${waiting} `, consent: true });
  const behindAgain = await registerJson(app, session.slug, { name: 'Behind', email: behind, consent: true });
  t.same([waitAgain.statusCode, behindAgain.statusCode], [202, 202]);
  t.equal(waitAgain.body, seatAgain.body, 'the same answer for a seat and a waitlist place');
  t.equal(behindAgain.body, seatAgain.body);

  t.same(await registrationRows(pool, session.id), before, 'every status is as it was');
  t.same(await waitingInOrder(pool, session.id), waitingBefore, 'the waitlist keeps its order');
  t.equal((await notificationRows(pool, session.id, 'manage_link')).length, 3, 'one manage link each');
  await assertCounters(t, pool, session.id);
});

t.test('a person who cancelled may register again, as a new registration', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 5 });
  const email = uniqueEmail('back');
  await registerJson(app, session.slug, { name: 'Back Again', email, consent: true });
  const firstId = await registrationId(pool, session.id, email);
  const token = app.services.tokens.derive('manage', firstId, 0);
  const cancelled = await app.inject({ method: 'POST', url: `/api/v1/registrations/${token}/cancel` });
  t.equal(cancelled.statusCode, 200);
  const again = await registerJson(app, session.slug, { name: 'Back Again', email, consent: true });
  t.equal(again.statusCode, 202);
  const rows = await registrationRows(pool, session.id);
  t.same(rows.map((row) => row.status).sort(), ['cancelled', 'confirmed']);
  t.equal((await notificationRows(pool, session.id, 'manage_link')).length, 0, 'a new registration, not a repeat');
  t.equal((await notificationRows(pool, session.id, 'confirmation')).length, 2);
  await assertCounters(t, pool, session.id);
});

t.test('manage links are re-sent at most once in any 10 minutes, also across clock boundaries', async (t) => {
  const WINDOW = 10 * 60_000;
  // Just before a multiple of ten minutes: a bucketed window would reset two minutes later.
  const start = new Date(Math.floor(Date.now() / WINDOW) * WINDOW + WINDOW - 60_000);
  const clock = manualClock(start.toISOString());
  const ctx = await buildTestApp(t, { clock });
  const organizer = await signIn(ctx.app);
  const session = await createSession(ctx.app, organizer.headers, { capacity: 10 });
  const email = uniqueEmail('resend');
  const body = { name: 'Resend', email, consent: true };
  t.equal((await registerJson(ctx.app, session.slug, body)).statusCode, 202);
  const id = await registrationId(ctx.database.pool, session.id, email);
  const manageLinks = async () =>
    (await notificationRows(ctx.database.pool, session.id, 'manage_link')).filter((row) => row.registration_id === id).length;

  clock.advance(30_000);
  t.equal((await registerJson(ctx.app, session.slug, body)).statusCode, 202);
  t.equal(await manageLinks(), 1, 'the first repeat sends the manage link');
  clock.advance(2 * 60_000); // now past the ten-minute mark, 2 minutes after the first re-send
  t.equal((await registerJson(ctx.app, session.slug, body)).statusCode, 202);
  t.equal(await manageLinks(), 1, 'a repeat 2 minutes later adds nothing');
  clock.advance(7 * 60_000);
  t.equal((await registerJson(ctx.app, session.slug, body)).statusCode, 202);
  t.equal(await manageLinks(), 1, 'nor 9 minutes later');
  clock.advance(2 * 60_000);
  t.equal((await registerJson(ctx.app, session.slug, body)).statusCode, 202);
  t.equal(await manageLinks(), 2, 'more than 10 minutes after the last one, the link goes again');
  await assertCounters(t, ctx.database.pool, session.id);
});

t.test('Idempotency-Key: the same key and body replay the first answer', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 1, questions: CITY_QUESTIONS });
  const key = `key-${uniqueSuffix()}`;
  const email = uniqueEmail('idem');
  const body = { name: 'Idem Potent', email, consent: true, answers: { city: 'X', role: 'Staff' } };

  const first = await registerJson(app, session.slug, body, { 'idempotency-key': key });
  t.equal(first.statusCode, 202, first.body);
  t.equal(first.headers['idempotent-replayed'], undefined, 'the first answer is not a replay');
  const second = await registerJson(app, session.slug, { consent: true, answers: { role: 'Staff', city: 'X' }, email, name: 'Idem Potent' }, {
    'idempotency-key': key,
  });
  t.equal(second.statusCode, 202, 'same status (the same body in another key order)');
  t.equal(second.headers['idempotent-replayed'], 'true');
  t.match(String(second.headers['content-type']), /^application\/json/);
  t.same(second.json(), first.json(), 'equal parsed JSON');

  // Meanwhile someone else took the waitlist: a replay still says what the first answer said.
  await registerJson(app, session.slug, { name: 'Other', email: uniqueEmail('other'), consent: true, answers: { city: 'Y' } });
  const third = await registerJson(app, session.slug, body, { 'idempotency-key': key });
  t.equal(third.statusCode, 202);
  t.same(third.json(), first.json(), 'the stored answer, not a new one');

  const id = await registrationId(pool, session.id, email);
  t.equal(await count(pool, 'SELECT 1 FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE a.email = $1', [email]), 1, 'one row');
  const mine = (await notificationRows(pool, session.id)).filter((row) => row.registration_id === id);
  t.same(mine.map((row) => row.kind), ['confirmation'], 'one outbox row; a replay sends no manage link');
  t.equal(await count(pool, 'SELECT 1 FROM idempotency_keys WHERE key = $1', [key]), 1, 'the key is stored once');

  // The same key is scoped to the session: on another one it is a first request.
  const other = await createSession(app, owner.headers, { capacity: 1, questions: CITY_QUESTIONS });
  const elsewhere = await registerJson(app, other.slug, body, { 'idempotency-key': key });
  t.equal(elsewhere.statusCode, 202);
  t.equal(elsewhere.headers['idempotent-replayed'], undefined);
  await assertCounters(t, pool, session.id);
  await assertCounters(t, pool, other.id);
});

t.test('Idempotency-Key with a web form replays too', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 3, questions: CITY_QUESTIONS });
  const key = `form-${uniqueSuffix()}`;
  const payload = form({ name: 'Form Idem', email: uniqueEmail('fidem'), 'answers[city]': 'Z', consent: 'on' });
  const send = () =>
    app.inject({
      method: 'POST',
      url: `/api/v1/public/sessions/${session.slug}/registrations`,
      headers: { ...FORM, 'idempotency-key': key },
      payload,
    });
  const first = await send();
  const second = await send();
  t.equal(first.statusCode, 202, first.body);
  t.equal(second.statusCode, 202);
  t.equal(second.headers['idempotent-replayed'], 'true');
  t.same(second.json(), first.json());
  t.equal((await registrationRows(pool, session.id)).length, 1);
});

t.test('Idempotency-Key reused with another body is 422 and stores nothing', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 5 });
  const key = `reuse-${uniqueSuffix()}`;
  const first = await registerJson(app, session.slug, { name: 'One', email: uniqueEmail('one'), consent: true }, { 'idempotency-key': key });
  t.equal(first.statusCode, 202);
  const otherEmail = uniqueEmail('two');
  const notesBefore = (await notificationRows(pool, session.id)).length;
  const reused = await registerJson(app, session.slug, { name: 'Two', email: otherEmail, consent: true }, { 'idempotency-key': key });
  const problem = expectProblem(t, reused, 422);
  t.match(problem.detail, /Idempotency-Key/i);
  t.equal(await count(pool, 'SELECT 1 FROM attendees WHERE email = $1', [otherEmail]), 0, 'no attendee for the other body');
  t.equal((await registrationRows(pool, session.id)).length, 1, 'no second registration');
  t.equal((await notificationRows(pool, session.id)).length, notesBefore, 'no notification');
});

t.test('an invalid Idempotency-Key is 400 and stores nothing', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 5 });
  const cases: Array<[string, string]> = [
    ['300 characters', 'k'.repeat(300)],
    ['a space', 'has space'],
    ['non-ASCII', 'clé-ünïcode'],
  ];
  for (const [label, key] of cases) {
    const email = uniqueEmail('badkey');
    const res = await registerJson(app, session.slug, { name: 'Bad Key', email, consent: true }, { 'idempotency-key': key });
    const problem = expectProblem(t, res, 400, label);
    t.same(errorPaths(problem), ['/headers/idempotency-key'], `names the header (${label})`);
    t.equal(await count(pool, 'SELECT 1 FROM attendees WHERE email = $1', [email]), 0, `no attendee (${label})`);
  }
  t.equal((await registrationRows(pool, session.id)).length, 0, 'no registration');
  t.equal((await notificationRows(pool, session.id)).length, 0, 'no notification');
  t.equal(await count(pool, `SELECT 1 FROM idempotency_keys WHERE scope = $1`, [`register:${session.slug}`]), 0, 'no key stored');
});

t.test('the same person registering concurrently, in different spellings: one active registration', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 2 });
  const suffix = uniqueSuffix();
  const spellings = [`same-${suffix}@exämple.org`, `SAME-${suffix}@xn--exmple-cua.org`, ` same-${suffix}@EXÄMPLE.ORG `];
  const answers = await Promise.all(
    Array.from({ length: 12 }, (_, i) => registerJson(app, session.slug, { name: `Same ${i}`, email: spellings[i % spellings.length], consent: true })),
  );
  t.same(answers.map((res) => res.statusCode), Array(12).fill(202), 'every attempt is 202');
  t.equal(new Set(answers.map((res) => res.body)).size, 1, 'all answer the same bytes');
  const rows = await registrationRows(pool, session.id);
  t.equal(rows.length, 1, 'one registration');
  t.equal(await count(pool, 'SELECT 1 FROM attendees WHERE email = $1', [`same-${suffix}@xn--exmple-cua.org`]), 1, 'one attendee');
  t.equal((await notificationRows(pool, session.id, 'confirmation')).length, 1, 'one confirmation');
  t.ok((await notificationRows(pool, session.id, 'manage_link')).length <= 1, 'at most one manage link');
  await assertCounters(t, pool, session.id);
});

t.test('a new address refused by one session while registering for another at the same moment', async (t) => {
  // The refused attempt removes the attendee row it created; the other attempt must not fail on it.
  const full = await createSession(app, owner.headers, { capacity: 0, waitlist: { enabled: false } });
  const open = await createSession(app, owner.headers, { capacity: null });
  const statuses: number[] = [];
  for (let round = 0; round < 40; round += 1) {
    const email = uniqueEmail('race');
    const [refusedA, accepted, refusedB] = await Promise.all([
      registerJson(app, full.slug, { name: 'Refused', email, consent: true }),
      registerJson(app, open.slug, { name: 'Accepted', email, consent: true }),
      registerJson(app, full.slug, { name: 'Refused', email, consent: true }),
    ]);
    statuses.push(accepted.statusCode);
    if (refusedA.statusCode !== 409 || refusedB.statusCode !== 409) t.fail(`refused attempts answer 409, got ${refusedA.statusCode}/${refusedB.statusCode}`);
  }
  t.same(statuses, Array(40).fill(202), 'the open session always answers 202');
  t.equal((await registrationRows(pool, open.id)).length, 40);
  t.equal((await registrationRows(pool, full.id)).length, 0);
  await assertCounters(t, pool, open.id);
});
