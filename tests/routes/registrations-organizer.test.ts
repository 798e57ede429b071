import { randomUUID } from 'node:crypto';
import t from 'tap';
import { buildTestApp, manualClock, signIn, uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { errorPaths, expectProblem } from '../helpers/http.js';
import {
  assertCounters,
  count,
  createSession,
  notificationRows,
  registered,
  registrationId,
  registrationRows,
  waitingInOrder,
} from '../helpers/registrations.js';

const { app, database } = await buildTestApp(t);
const { pool } = database;
const owner = await signIn(app);

type Item = Record<string, any> & { id: string; name: string; email: string; status: string };

const listUrl = (sessionId: string) => `/api/v1/sessions/${sessionId}/registrations`;
const list = (sessionId: string, query: Record<string, string> = {}, headers: Record<string, string> = owner.headers) =>
  app.inject({ method: 'GET', url: listUrl(sessionId), headers, query });
const add = (sessionId: string, payload: Record<string, unknown>, headers: Record<string, string> = owner.headers) =>
  app.inject({ method: 'POST', url: listUrl(sessionId), headers, payload });
const cancelFor = (sessionId: string, id: string, headers: Record<string, string> = owner.headers) =>
  app.inject({ method: 'POST', url: `${listUrl(sessionId)}/${id}/cancel`, headers });
const checkIn = (sessionId: string, id: string, headers: Record<string, string> = owner.headers) =>
  app.inject({ method: 'POST', url: `${listUrl(sessionId)}/${id}/check-in`, headers });

async function items(sessionId: string, query: Record<string, string> = {}): Promise<Item[]> {
  const res = await list(sessionId, { limit: '500', ...query });
  if (res.statusCode !== 200) throw new Error(`list failed: ${res.statusCode} ${res.body}`);
  return res.json().items;
}

/** capacity 2: Alpha and Bravo confirmed, Charlie, Delta and Echo waiting, then Bravo cancelled (Charlie promoted). */
async function fiveRegistered() {
  const suffix = uniqueSuffix();
  const session = await createSession(app, owner.headers, { capacity: 2 });
  const people = ['Alpha Able', 'Bravo Baker', 'Charlie Cole', 'Delta Dunn', 'Echo Eames'].map((name) => ({
    name,
    email: `${name.split(' ')[0]!.toLowerCase()}-${suffix}@Example.org`,
  }));
  for (const person of people) await registered(app, session.slug, person);
  const ids = await Promise.all(people.map((person) => registrationId(pool, session.id, person.email)));
  const res = await cancelFor(session.id, ids[1]!);
  if (res.statusCode !== 200) throw new Error(`cancel failed: ${res.body}`);
  return { session, people, ids, suffix };
}

t.test('list: every registration with its fields, filtered by status', async (t) => {
  const { session, ids, people } = await fiveRegistered();
  const all = await items(session.id);
  t.same(all.map((item) => item.id), ids, 'oldest first');
  t.same(all.map((item) => item.status), ['confirmed', 'cancelled', 'confirmed', 'waitlisted', 'waitlisted']);
  t.same(all.map((item) => item.waitlistPosition), [null, null, null, 1, 2]);
  const first = all[0]!;
  t.equal(first.email, people[0]!.email.toLowerCase(), 'the stored (normalised) e-mail');
  t.equal(first.sessionId, session.id);
  t.equal(first.source, 'public');
  t.equal(first.forced, false);
  t.ok(first.consentVersion);
  for (const key of ['id', 'sessionId', 'name', 'email', 'organization', 'jobTitle', 'answers', 'status', 'waitlistPosition', 'registeredAt', 'confirmedAt', 'cancelledAt', 'checkedInAt', 'firstJoinedAt', 'consentVersion']) {
    t.ok(key in first, `a registration has ${key}`);
  }
  t.notOk(JSON.stringify(all).includes('TokenHash'), 'no token hashes');

  t.same((await items(session.id, { status: 'confirmed' })).map((item) => item.id), [ids[0], ids[2]]);
  t.same((await items(session.id, { status: 'waitlisted' })).map((item) => item.id), [ids[3], ids[4]]);
  t.same((await items(session.id, { status: 'cancelled' })).map((item) => item.id), [ids[1]]);
  t.same((await items(session.id, { status: 'confirmed,waitlisted' })).map((item) => item.id), [ids[0], ids[2], ids[3], ids[4]]);
  t.same((await items(session.id, { status: 'waitlisted,cancelled' })).map((item) => item.id), [ids[1], ids[3], ids[4]]);

  for (const [label, query] of [
    ['unknown status', { status: 'maybe' }],
    ['trailing comma', { status: 'confirmed,' }],
    ['limit 0', { limit: '0' }],
    ['limit 501', { limit: '501' }],
    ['limit not a number', { limit: 'ten' }],
    ['empty q', { q: '' }],
    ['unknown parameter', { order: 'name' }],
  ] as const) {
    const problem = expectProblem(t, await list(session.id, query), 400, label);
    t.ok(errorPaths(problem).length > 0, `names the parameter (${label})`);
  }
  await assertCounters(t, pool, session.id);
});

t.test('list: q searches name and e-mail case-insensitively; % and _ are literal', async (t) => {
  const { session, ids, suffix } = await fiveRegistered();
  const byQ = async (q: string) => (await items(session.id, { q })).map((item) => item.id);
  t.same(await byQ('CHARLIE'), [ids[2]], 'name, upper case');
  t.same(await byQ('dunn'), [ids[3]], 'part of a name');
  t.same(await byQ(`ECHO-${suffix.toUpperCase()}`), [ids[4]], 'e-mail, upper case');
  t.same(await byQ(`-${suffix}@example`), ids, 'every e-mail of the session');
  t.same(await byQ('  alpha  '), [ids[0]], 'surrounding spaces ignored');
  t.same(await byQ('nobody-here'), []);
  t.same(await byQ('%'), [], '% matches only a literal %');
  t.same(await byQ('_'), [], '_ matches only a literal _');
  t.same(await byQ('\\'), [], 'a backslash is literal too');

  const percent = await add(session.id, { name: '100% Sure', email: `pct-${suffix}@example.org`, force: true });
  t.equal(percent.statusCode, 201, percent.body);
  const underscore = await add(session.id, { name: 'Under_Score', email: `us-${suffix}@example.org`, force: true });
  t.equal(underscore.statusCode, 201);
  t.same(await byQ('%'), [percent.json().id], 'now the one name with %');
  t.same(await byQ('0% s'), [percent.json().id]);
  t.same(await byQ('r_s'), [underscore.json().id], '_ is not a wildcard');
  t.same(await byQ('charlie'), [ids[2]]);
  t.same((await items(session.id, { q: 'e', status: 'waitlisted' })).map((item) => item.id), [ids[3], ids[4]], 'q with a status filter');
});

t.test('list: cursor pagination with limit 2 visits every row once', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 3 });
  for (let i = 0; i < 7; i += 1) await registered(app, session.slug, { name: `Page Person ${i}`, email: uniqueEmail(`page${i}`) });
  const expected = (await items(session.id)).map((item) => item.id);
  t.equal(expected.length, 7);

  const seen: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query: Record<string, string> = { limit: '2' };
    if (cursor) query.cursor = cursor;
    const res = await list(session.id, query);
    t.equal(res.statusCode, 200);
    const page = res.json();
    t.ok(page.items.length <= 2, 'at most limit items');
    seen.push(...page.items.map((item: Item) => item.id));
    cursor = page.nextCursor;
    pages += 1;
    if (pages > 10) break;
  } while (cursor);
  t.equal(pages, 4, 'four pages of 2, 2, 2, 1');
  t.same(seen, expected, 'no duplicates, no gaps, in order');
  t.equal(new Set(seen).size, seen.length);

  // An exact multiple: the last full page says there is no more.
  const two = (await list(session.id, { limit: '7' })).json();
  t.equal(two.items.length, 7);
  t.equal(two.nextCursor, null, 'nextCursor null at the end');

  // Pagination combined with a filter.
  const waiting: string[] = [];
  cursor = null;
  do {
    const query: Record<string, string> = { limit: '2', status: 'waitlisted' };
    if (cursor) query.cursor = cursor;
    const page = (await list(session.id, query)).json();
    waiting.push(...page.items.map((item: Item) => item.id));
    cursor = page.nextCursor;
  } while (cursor);
  t.same(waiting, await waitingInOrder(pool, session.id));

  const badCursors: Array<[string, string]> = [
    ['garbage', 'not-a-cursor'],
    ['base64 of an object', Buffer.from('{}').toString('base64url')],
    ['base64 of a bad date', Buffer.from(JSON.stringify(['yesterday', randomUUID()])).toString('base64url')],
    ['base64 of a bad id', Buffer.from(JSON.stringify([new Date().toISOString(), "1' OR '1'='1"])).toString('base64url')],
    ['base64 of null', Buffer.from('null').toString('base64url')],
    ['over 200 characters', 'a'.repeat(201)],
  ];
  for (const [label, bad] of badCursors) {
    const problem = expectProblem(t, await list(session.id, { limit: '2', cursor: bad }), 400, label);
    t.ok(errorPaths(problem).some((path) => path.includes('cursor')), `names the cursor (${label})`);
  }
});

t.test('list: pagination is exact when many registrations share one timestamp', async (t) => {
  // The seat statement gives each registration of a session its own time (capacity.ts); rows
  // from before it, or written by hand, may still share one, so they are made to below.
  const clock = manualClock();
  const context = await buildTestApp(t, { clock });
  const organizer = await signIn(context.app);
  const session = await createSession(context.app, organizer.headers, { capacity: 4 });
  await Promise.all(
    Array.from({ length: 9 }, (_, i) =>
      context.app.inject({
        method: 'POST',
        url: `/api/v1/public/sessions/${session.slug}/registrations`,
        payload: { name: `Same Time ${i}`, email: uniqueEmail(`same${i}`), consent: true },
      }),
    ),
  );
  await context.database.pool.query('UPDATE registrations SET registered_at = $2 WHERE session_id = $1', [session.id, clock.now()]);
  const { rows } = await context.database.pool.query<{ id: string }>(
    'SELECT id FROM registrations WHERE session_id = $1 ORDER BY registered_at, id',
    [session.id],
  );
  t.equal(rows.length, 9);
  const { rows: distinct } = await context.database.pool.query<{ n: number }>(
    'SELECT count(DISTINCT registered_at)::int AS n FROM registrations WHERE session_id = $1',
    [session.id],
  );
  t.equal(distinct[0]!.n, 1, 'one timestamp for all');
  const seen: string[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 10; pages += 1) {
    const query: Record<string, string> = { limit: '2' };
    if (cursor) query.cursor = cursor;
    const page = (await context.app.inject({ method: 'GET', url: listUrl(session.id), headers: organizer.headers, query })).json();
    seen.push(...page.items.map((item: Item) => item.id));
    cursor = page.nextCursor;
    if (!cursor) break;
  }
  t.same(seen, rows.map((row) => row.id), 'ties broken by id: no duplicates, no gaps');
  const counts = await assertCounters(t, context.database.pool, session.id);
  t.same(counts, { confirmed: 4, waitlisted: 5, cancelled: 0 }, 'concurrent registrations never oversell');
});

t.test('add by hand: 201; full without force is 409; force confirms beyond capacity', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 1, waitlist: { enabled: false }, questions: [{ id: 'city', label: 'City', type: 'text', required: true }] });
  const first = await add(session.id, { name: 'By Hand', email: uniqueEmail('hand'), organization: 'Org', answers: { city: 'X' } });
  t.equal(first.statusCode, 201, first.body);
  const body = first.json();
  t.equal(body.status, 'confirmed');
  t.equal(body.source, 'organizer');
  t.equal(body.forced, false);
  t.equal(body.consentVersion, null, 'no consent given by the organizer');
  t.equal(body.organization, 'Org');
  t.same((await notificationRows(pool, session.id, 'confirmation')).map((row) => row.registration_id), [body.id]);
  const { rows } = await pool.query('SELECT added_by FROM registrations WHERE id = $1', [body.id]);
  t.equal(rows[0].added_by, owner.organizer.id, 'who added them is recorded');

  const fullEmail = uniqueEmail('full');
  const full = await add(session.id, { name: 'No Room', email: fullEmail, answers: { city: 'X' } });
  const problem = expectProblem(t, full, 409);
  t.match(problem.detail, /force/);
  t.equal(await count(pool, 'SELECT 1 FROM attendees WHERE email = $1', [fullEmail]), 0, 'nothing stored for the refused one');

  const forced = await add(session.id, { name: 'No Room', email: fullEmail, answers: { city: 'X' }, force: true });
  t.equal(forced.statusCode, 201);
  t.equal(forced.json().status, 'confirmed');
  t.equal(forced.json().forced, true);
  const counts = await assertCounters(t, pool, session.id);
  t.same(counts, { confirmed: 2, waitlisted: 0, cancelled: 0 }, 'confirmed beyond capacity');

  const again = await add(session.id, { name: 'No Room', email: fullEmail.toUpperCase(), answers: { city: 'X' }, force: true });
  expectProblem(t, again, 409, 'already registered');
  const invalid = await add(session.id, { name: 'No City', email: uniqueEmail('nocity') });
  t.same(errorPaths(expectProblem(t, invalid, 400, 'missing required answer')), ['/answers/city']);
  const unknownField = await add(session.id, { name: 'X', email: uniqueEmail('x'), answers: { city: 'X' }, status: 'confirmed' });
  t.same(errorPaths(expectProblem(t, unknownField, 400, 'unknown field')), ['/status']);
  t.equal((await registrationRows(pool, session.id)).length, 2);
});

t.test('add by hand to a full session with a waitlist puts them on it', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 1 });
  await registered(app, session.slug, { name: 'Seat', email: uniqueEmail('seat') });
  const res = await add(session.id, { name: 'Waits', email: uniqueEmail('waits') });
  t.equal(res.statusCode, 201);
  t.equal(res.json().status, 'waitlisted');
  t.equal(res.json().waitlistPosition, 1);
  await assertCounters(t, pool, session.id);
});

t.test('cancel for someone promotes the first waiting person; check-in', async (t) => {
  const { session, ids } = await fiveRegistered(); // Alpha, Charlie confirmed; Delta, Echo waiting; Bravo cancelled
  const res = await cancelFor(session.id, ids[0]!);
  t.equal(res.statusCode, 200);
  t.equal(res.json().status, 'cancelled');
  t.ok(res.json().cancelledAt);
  const statuses = Object.fromEntries((await registrationRows(pool, session.id)).map((row) => [row.id, row.status]));
  t.equal(statuses[ids[3]!], 'confirmed', 'Delta, first waiting, promoted');
  t.equal(statuses[ids[4]!], 'waitlisted');
  t.same(
    (await notificationRows(pool, session.id, 'promoted')).map((row) => row.registration_id),
    [ids[2], ids[3]],
    'promoted rows for Charlie (earlier) and Delta',
  );
  const again = await cancelFor(session.id, ids[0]!);
  t.equal(again.statusCode, 200, 'again is a no-op');
  t.equal(again.json().cancelledAt, res.json().cancelledAt);

  const checked = await checkIn(session.id, ids[2]!);
  t.equal(checked.statusCode, 200);
  t.ok(checked.json().checkedInAt, 'checkedInAt set');
  const { rows } = await pool.query('SELECT checked_in_at FROM registrations WHERE id = $1', [ids[2]]);
  t.ok(rows[0].checked_in_at, 'stored');
  const twice = await checkIn(session.id, ids[2]!);
  t.equal(twice.statusCode, 200);
  t.equal(twice.json().checkedInAt, checked.json().checkedInAt, 'a second check-in keeps the first time');

  expectProblem(t, await checkIn(session.id, ids[4]!), 409, 'waitlisted cannot be checked in');
  expectProblem(t, await checkIn(session.id, ids[0]!), 409, 'cancelled cannot be checked in');
  const attended = await items(session.id, { attendance: 'attended' });
  t.same(attended.map((item) => item.id), [ids[2]]);
  const counts = await assertCounters(t, pool, session.id);
  t.same(counts, { confirmed: 2, waitlisted: 1, cancelled: 2 });
});

t.test('a registration of another session, or an unknown one, is 404', async (t) => {
  const one = await fiveRegistered();
  const other = await createSession(app, owner.headers, { capacity: 5 });
  const foreign = one.ids[0]!;
  expectProblem(t, await cancelFor(other.id, foreign), 404, 'cancel through another session');
  expectProblem(t, await checkIn(other.id, foreign), 404, 'check-in through another session');
  expectProblem(t, await cancelFor(one.session.id, randomUUID()), 404, 'unknown registration');
  expectProblem(t, await checkIn(one.session.id, randomUUID()), 404, 'unknown registration check-in');
  expectProblem(t, await list(randomUUID()), 404, 'list of an unknown session');
  expectProblem(t, await add(randomUUID(), { name: 'X', email: uniqueEmail('x') }), 404, 'add to an unknown session');
  expectProblem(t, await cancelFor(one.session.id, 'not-a-uuid'), 400, 'registration id not a uuid');
  const statuses = (await registrationRows(pool, one.session.id)).find((row) => row.id === foreign)?.status;
  t.equal(statuses, 'confirmed', 'the foreign registration is untouched');
  await assertCounters(t, pool, one.session.id);
});

t.test('organizer routes without a valid token are 401', async (t) => {
  const { session, ids } = await fiveRegistered();
  const before = (await registrationRows(pool, session.id)).map((row) => [row.id, row.status, row.checked_in_at]);
  for (const [label, headers] of [
    ['no token', {}],
    ['garbage token', { authorization: 'Bearer not.a.jwt' }],
    ['not bearer', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
  ] as const) {
    const answers = [
      await list(session.id, {}, headers),
      await add(session.id, { name: 'Sneaky', email: uniqueEmail('sneaky'), force: true }, headers),
      await cancelFor(session.id, ids[0]!, headers),
      await checkIn(session.id, ids[0]!, headers),
    ];
    for (const [index, res] of answers.entries()) {
      expectProblem(t, res, 401, `${label} #${index}`);
      t.equal(res.headers['www-authenticate'], 'Bearer');
    }
  }
  t.same(
    (await registrationRows(pool, session.id)).map((row) => [row.id, row.status, row.checked_in_at]),
    before,
    'nothing changed',
  );
});
