import t from 'tap';
import type { Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { buildTestApp, manualClock, signIn, uniqueEmail, uniqueSuffix, type TestContext } from '../helpers/app.js';
import { errorPaths, expectProblem } from '../helpers/http.js';
import { CITY_QUESTIONS, count, createSession, registerJson, assertCounters, type SessionJson } from '../helpers/registrations.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

const ctx = await buildTestApp(t);
const { app } = ctx;
const owner = await signIn(app);

interface Snapshot {
  registrations: number;
  attendees: number;
  notifications: number;
  idempotencyKeys: number;
}

async function snapshot(context: TestContext, session: { id: string; slug: string } | null, email: string | null): Promise<Snapshot> {
  const { pool } = context.database;
  return {
    registrations: session ? await count(pool, 'SELECT 1 FROM registrations WHERE session_id = $1', [session.id]) : 0,
    attendees: email ? await count(pool, 'SELECT 1 FROM attendees WHERE email = lower(trim($1))', [email]) : 0,
    notifications: session ? await count(pool, 'SELECT 1 FROM notifications WHERE session_id = $1', [session.id]) : 0,
    idempotencyKeys: session ? await count(pool, 'SELECT 1 FROM idempotency_keys WHERE scope = $1', [`register:${session.slug}`]) : 0,
  };
}

/**
 * Sends a bad request and checks the problem answer and that nothing was stored: no
 * registration and no notification for the session, no attendee with the e-mail.
 */
async function refused(
  t: Test,
  label: string,
  send: () => Promise<LightMyRequestResponse>,
  expected: { status: number; paths?: string[]; detail?: RegExp; session: { id: string; slug: string } | null; email: string | null; context?: TestContext },
): Promise<void> {
  const context = expected.context ?? ctx;
  const before = await snapshot(context, expected.session, expected.email);
  const res = await send();
  const problem = expectProblem(t, res, expected.status, label);
  if (expected.paths) {
    for (const path of expected.paths) t.ok(errorPaths(problem).includes(path), `errors name ${path} (${label}): ${JSON.stringify(problem.errors)}`);
  }
  if (expected.detail) t.match(problem.detail, expected.detail, `a clear detail (${label})`);
  t.notMatch(res.body, /at \w+ \(|node_modules|\.ts:\d+/, `no internals (${label})`);
  const after = await snapshot(context, expected.session, expected.email);
  t.same(after, before, `nothing stored (${label})`);
  if (expected.email && expected.session === null) t.equal(after.attendees, 0, `no attendee (${label})`);
}

const valid = (email: string) => ({
  name: 'Valid Person',
  email,
  consent: true,
  answers: { city: 'Springfield', role: 'Staff', agree: true },
});

function without<T extends Record<string, unknown>>(body: T, key: keyof T): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...body };
  delete copy[key as string];
  return copy;
}

t.test('invalid bodies: 400 naming the field, nothing stored', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 10, questions: CITY_QUESTIONS });
  const cases: Array<[string, (email: string) => unknown, string]> = [
    ['missing consent', (email) => without(valid(email), 'consent'), '/consent'],
    ['consent false', (email) => ({ ...valid(email), consent: false }), '/consent'],
    ['consent "yes" as a JSON string', (email) => ({ ...valid(email), consent: 'yes' }), '/consent'],
    ['consent "on" as a JSON string', (email) => ({ ...valid(email), consent: 'on' }), '/consent'],
    ['missing name', (email) => without(valid(email), 'name'), '/name'],
    ['name of 10,000 characters', (email) => ({ ...valid(email), name: 'N'.repeat(10_000) }), '/name'],
    ['name of only spaces', (email) => ({ ...valid(email), name: '     ' }), '/name'],
    ['name of only control characters', (email) => ({ ...valid(email), name: '\r\n\t' }), '/name'],
    ['name as a number', (email) => ({ ...valid(email), name: 42 }), '/name'],
    ['missing email', (email) => without(valid(email), 'email'), '/email'],
    ['email "not-an-email"', () => ({ ...valid('x'), email: 'not-an-email' }), '/email'],
    ['email of 300 characters', () => ({ ...valid('x'), email: `${'a'.repeat(288)}@example.org` }), '/email'],
    ['email with a header injection', () => ({ ...valid('x'), email: 'a@example.org\r\nBcc: b@evil.example' }), '/email'],
    ['email with two @', () => ({ ...valid('x'), email: 'a@b@example.org' }), '/email'],
    ['missing required answer', (email) => ({ ...valid(email), answers: { role: 'Staff' } }), '/answers/city'],
    ['required answer of spaces', (email) => ({ ...valid(email), answers: { city: '   ' } }), '/answers/city'],
    ['no answers at all', (email) => without(valid(email), 'answers'), '/answers/city'],
    ['select answer not among options', (email) => ({ ...valid(email), answers: { city: 'X', role: 'King' } }), '/answers/role'],
    ['answer for an unknown question', (email) => ({ ...valid(email), answers: { city: 'X', shoeSize: '44' } }), '/answers/shoeSize'],
    ['checkbox answer "maybe"', (email) => ({ ...valid(email), answers: { city: 'X', agree: 'maybe' } }), '/answers/agree'],
    ['text answer as a number', (email) => ({ ...valid(email), answers: { city: 12345 } }), '/answers/city'],
    ['text answer as true', (email) => ({ ...valid(email), answers: { city: true } }), '/answers/city'],
    ['text answer of 600 characters', (email) => ({ ...valid(email), answers: { city: 'c'.repeat(600) } }), '/answers/city'],
    ['answers as an array', (email) => ({ ...valid(email), answers: ['X'] }), '/answers'],
    ['unknown top-level field', (email) => ({ ...valid(email), status: 'confirmed' }), '/status'],
    ['mass assignment of forced', (email) => ({ ...valid(email), force: true }), '/force'],
    ['organization of 1,000 characters', (email) => ({ ...valid(email), organization: 'o'.repeat(1000) }), '/organization'],
  ];
  for (const [label, body, path] of cases) {
    const email = uniqueEmail('bad');
    await refused(t, label, () => registerJson(app, session.slug, body(email)), { status: 400, paths: [path], session, email });
  }
  await assertCounters(t, ctx.database.pool, session.id);
});

t.test('several problems at once are all named', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 10, questions: CITY_QUESTIONS });
  const email = uniqueEmail('many');
  await refused(
    t,
    'name, email, consent and an answer',
    () => registerJson(app, session.slug, { name: '  ', email: 'nope', consent: false, answers: { role: 'King' } }),
    { status: 400, paths: ['/name', '/email', '/consent', '/answers/city', '/answers/role'], session, email },
  );
});

t.test('broken, empty or wrongly typed bodies', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 10, questions: CITY_QUESTIONS });
  const url = `/api/v1/public/sessions/${session.slug}/registrations`;
  const email = uniqueEmail('raw');
  const json = { 'content-type': 'application/json' };
  await refused(t, 'broken JSON', () => app.inject({ method: 'POST', url, headers: json, payload: `{"name": "X", "email": "${email}",` }), {
    status: 400,
    session,
    email,
  });
  await refused(t, 'empty JSON body', () => app.inject({ method: 'POST', url, headers: json, payload: '' }), { status: 400, session, email });
  await refused(t, 'JSON array', () => app.inject({ method: 'POST', url, headers: json, payload: '[]' }), { status: 400, session, email });
  await refused(t, 'JSON null', () => app.inject({ method: 'POST', url, headers: json, payload: 'null' }), { status: 400, session, email });
  await refused(
    t,
    '__proto__ in the body',
    () =>
      app.inject({
        method: 'POST',
        url,
        headers: json,
        payload: `{"name":"P","email":"${email}","consent":true,"answers":{"city":"X"},"__proto__":{"forced":true}}`,
      }),
    { status: 400, session, email },
  );
  await refused(
    t,
    'text/plain',
    () => app.inject({ method: 'POST', url, headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(valid(email)) }),
    { status: 415, session, email, detail: /content type/i },
  );
  await refused(
    t,
    'multipart',
    () => app.inject({ method: 'POST', url, headers: { 'content-type': 'multipart/form-data; boundary=x' }, payload: '--x--' }),
    { status: 415, session, email },
  );
  await refused(
    t,
    'a form without consent',
    () =>
      app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `name=Form&email=${encodeURIComponent(email)}&answers[city]=X`,
      }),
    { status: 400, paths: ['/consent'], session, email },
  );
  await refused(
    t,
    'a form with consent=off',
    () =>
      app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `name=Form&email=${encodeURIComponent(email)}&answers[city]=X&consent=off`,
      }),
    { status: 400, paths: ['/consent'], session, email },
  );
  await refused(
    t,
    'a form with an unknown field',
    () =>
      app.inject({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `name=Form&email=${encodeURIComponent(email)}&answers[city]=X&consent=on&forced=true`,
      }),
    { status: 400, paths: ['/forced'], session, email },
  );
});

t.test('audience rules: wrong access code and outside domains are 403', async (t) => {
  const coded = await createSession(app, owner.headers, { capacity: 10, audience: { kind: 'code', code: 'open-sesame' } });
  for (const [label, accessCode] of [
    ['wrong access code', 'open-sesame!'],
    ['empty access code', ''],
    ['missing access code', undefined],
  ] as const) {
    const email = uniqueEmail('code');
    await refused(t, label, () => registerJson(app, coded.slug, { name: 'Coder', email, consent: true, accessCode }), {
      status: 403,
      session: coded,
      email,
      detail: /access code/i,
    });
  }
  const right = await registerJson(app, coded.slug, { name: 'Coder', email: uniqueEmail('code'), consent: true, accessCode: 'open-sesame' });
  t.equal(right.statusCode, 202, 'the right code works');

  const domains = await createSession(app, owner.headers, { capacity: 10, audience: { kind: 'domains', domains: ['cityofx.gov'] } });
  const outsider = `mayor-${uniqueSuffix()}@cityofy.gov`;
  await refused(t, 'e-mail outside the allowed domains', () => registerJson(app, domains.slug, { name: 'Out', email: outsider, consent: true }), {
    status: 403,
    session: domains,
    email: outsider,
  });
  const lookalike = `mayor-${uniqueSuffix()}@evil-cityofx.gov`;
  await refused(t, 'a look-alike domain', () => registerJson(app, domains.slug, { name: 'Out', email: lookalike, consent: true }), {
    status: 403,
    session: domains,
    email: lookalike,
  });
  const insider = await registerJson(app, domains.slug, { name: 'In', email: `mayor-${uniqueSuffix()}@CityOfX.gov`, consent: true });
  t.equal(insider.statusCode, 202, 'an allowed domain works, whatever its case');
  await assertCounters(t, ctx.database.pool, coded.id);
  await assertCounters(t, ctx.database.pool, domains.id);
});

t.test('the session state: window not open, closed, draft, cancelled, full, waitlist full, unknown', async (t) => {
  const now = Date.now();
  const notYet = await createSession(app, owner.headers, { capacity: 10, registrationOpensAt: new Date(now + 3 * DAY).toISOString() });
  let email = uniqueEmail('early');
  await refused(t, 'registration window not open yet', () => registerJson(app, notYet.slug, { name: 'Early', email, consent: true }), {
    status: 409,
    session: notYet,
    email,
    detail: /opens/i,
  });

  const draft = await createSession(app, owner.headers, { capacity: 10 }, { publish: false });
  email = uniqueEmail('draft');
  await refused(t, 'draft session', () => registerJson(app, draft.slug, { name: 'Draft', email, consent: true }), {
    status: 404,
    session: draft,
    email,
  });

  const cancelled = await createSession(app, owner.headers, { capacity: 10 });
  const cancelledRes = await app.inject({ method: 'POST', url: `/api/v1/sessions/${cancelled.id}/cancel`, headers: owner.headers, payload: {} });
  t.equal(cancelledRes.statusCode, 200);
  email = uniqueEmail('cancelled');
  await refused(t, 'cancelled session', () => registerJson(app, cancelled.slug, { name: 'Late', email, consent: true }), {
    status: 409,
    session: cancelled,
    email,
    detail: /cancel/i,
  });

  const full = await createSession(app, owner.headers, { capacity: 1, waitlist: { enabled: false } });
  t.equal((await registerJson(app, full.slug, { name: 'Seat', email: uniqueEmail('seat'), consent: true })).statusCode, 202);
  email = uniqueEmail('full');
  await refused(t, 'full session with the waitlist off', () => registerJson(app, full.slug, { name: 'Full', email, consent: true }), {
    status: 409,
    session: full,
    email,
    detail: /full/i,
  });

  const zero = await createSession(app, owner.headers, { capacity: 0, waitlist: { enabled: false } });
  email = uniqueEmail('zero');
  await refused(t, 'capacity 0 with the waitlist off', () => registerJson(app, zero.slug, { name: 'Zero', email, consent: true }), {
    status: 409,
    session: zero,
    email,
  });

  const limited = await createSession(app, owner.headers, { capacity: 1, waitlist: { enabled: true, limit: 2 } });
  for (const name of ['Seat', 'Wait 1', 'Wait 2']) {
    t.equal((await registerJson(app, limited.slug, { name, email: uniqueEmail('lim'), consent: true })).statusCode, 202, name);
  }
  email = uniqueEmail('limit');
  await refused(t, 'waitlist limit reached', () => registerJson(app, limited.slug, { name: 'Limit', email, consent: true }), {
    status: 409,
    session: limited,
    email,
    detail: /waitlist/i,
  });

  email = uniqueEmail('nowhere');
  await refused(t, 'unknown slug', () => registerJson(app, `no-such-session-${uniqueSuffix()}`, { name: 'Lost', email, consent: true }), {
    status: 404,
    session: null,
    email,
  });
  await refused(t, 'a slug of 81 characters', () => registerJson(app, 'x'.repeat(81), { name: 'Lost', email, consent: true }), {
    status: 400,
    session: null,
    email,
  });

  for (const session of [notYet, cancelled, full, zero, limited]) await assertCounters(t, ctx.database.pool, session.id);
});

t.test('an invalid body is 400 even for a full or closed session, and an invalid session state is not hidden by it', async (t) => {
  const full = await createSession(app, owner.headers, { capacity: 0, waitlist: { enabled: false } });
  const email = uniqueEmail('both');
  await refused(t, 'missing consent on a full session', () => registerJson(app, full.slug, { name: 'Both', email }), {
    status: 400,
    paths: ['/consent'],
    session: full,
    email,
  });
});

t.test('closed and finished sessions are 409 (clock moved)', async (t) => {
  const clock = manualClock();
  const context = await buildTestApp(t, { clock });
  const organizer = await signIn(context.app);
  const closing = await createSession(context.app, organizer.headers, {
    capacity: 10,
    registrationClosesAt: new Date(clock.now().getTime() + HOUR).toISOString(),
  });
  const finishing = await createSession(context.app, organizer.headers, { capacity: 10 }, { daysAhead: 1 });
  const early = await registerJson(context.app, finishing.slug, { name: 'Early Bird', email: uniqueEmail('bird'), consent: true });
  t.equal(early.statusCode, 202);

  clock.advance(2 * HOUR);
  let email = uniqueEmail('closed');
  await refused(t, 'registration window closed', () => registerJson(context.app, closing.slug, { name: 'Closed', email, consent: true }), {
    status: 409,
    session: closing,
    email,
    detail: /closed/i,
    context,
  });

  clock.advance(3 * DAY);
  email = uniqueEmail('finished');
  await refused(t, 'finished session', () => registerJson(context.app, finishing.slug, { name: 'Too Late', email, consent: true }), {
    status: 409,
    session: finishing,
    email,
    detail: /ended/i,
    context,
  });
  const publicView = await context.app.inject({ method: 'GET', url: `/api/v1/public/sessions/${finishing.slug}` });
  t.equal(publicView.json().status, 'finished');
  t.equal(publicView.json().registrationOpen, false);
  await assertCounters(t, context.database.pool, finishing.id);
});

t.test('a body over the limit is 413 and stores nothing', async (t) => {
  const context = await buildTestApp(t, { env: { BODY_LIMIT_BYTES: '1024' } });
  const organizer = await signIn(context.app);
  const session: SessionJson = await createSession(context.app, organizer.headers, { capacity: 10, questions: CITY_QUESTIONS });
  const email = uniqueEmail('huge');
  await refused(
    t,
    'JSON body over BODY_LIMIT_BYTES',
    () => registerJson(context.app, session.slug, { ...valid(email), organization: 'o'.repeat(150), jobTitle: 'j'.repeat(150), answers: { city: 'c'.repeat(900) } }),
    { status: 413, session, email, context, detail: /too large/i },
  );
  await refused(
    t,
    'form body over BODY_LIMIT_BYTES',
    () =>
      context.app.inject({
        method: 'POST',
        url: `/api/v1/public/sessions/${session.slug}/registrations`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `name=Big&email=${encodeURIComponent(email)}&consent=on&answers[city]=${'c'.repeat(2000)}`,
      }),
    { status: 413, session, email, context },
  );
  const fine = await registerJson(context.app, session.slug, valid(uniqueEmail('small')));
  t.equal(fine.statusCode, 202, 'a body under the limit still works');
});
