import { randomUUID } from 'node:crypto';
import t from 'tap';
import { buildTestApp, sessionBody, signIn, uniqueEmail } from '../helpers/app.js';

/** Messages to attendees through the API: recipients by audience, test sends, the list and a message's delivery log. */
const ctx = await buildTestApp(t);
const owner = await signIn(ctx.app);
const headers = owner.headers;

async function sessionWithPeople(people: number, overrides: Record<string, unknown> = {}) {
  const s = (await ctx.app.inject({ method: 'POST', url: '/api/v1/sessions', headers, payload: sessionBody({ capacity: 2, ...overrides }, 3) })).json();
  await ctx.app.inject({ method: 'POST', url: `/api/v1/sessions/${s.id}/publish`, headers });
  for (let i = 0; i < people; i++) {
    const res = await ctx.app.inject({ method: 'POST', url: `/api/v1/public/sessions/${s.slug}/registrations`, payload: { name: `Person ${i}`, email: uniqueEmail(), consent: true } });
    if (res.statusCode !== 202) throw new Error(`register: ${res.statusCode} ${res.body}`);
  }
  return s as { id: string; slug: string };
}

const post = (id: string, payload: Record<string, unknown>) => ctx.app.inject({ method: 'POST', url: `/api/v1/sessions/${id}/messages`, headers, payload });

t.test('each audience gets its people; attendance only after the start; the list and the log count them', async (t) => {
  const s = await sessionWithPeople(3);
  const confirmed = await post(s.id, { subject: 'Link changed', body: 'New link: https://meet.example.org/new', audience: 'confirmed' });
  t.equal(confirmed.statusCode, 202, confirmed.body);
  t.equal(confirmed.json().recipients, 2, 'two confirmed');
  t.equal((await post(s.id, { subject: 'x', body: 'y', audience: 'waitlisted' })).json().recipients, 1, 'one waiting');
  t.equal((await post(s.id, { subject: 'x', body: 'y', audience: 'all' })).json().recipients, 3, 'everyone active');
  t.equal((await post(s.id, { subject: 'x', body: 'y', audience: 'attended' })).statusCode, 409, 'attended before the start: 409');
  t.equal((await post(s.id, { subject: 'x', body: 'y', audience: 'no-show' })).statusCode, 409, 'no-show before the start: 409');

  const { rows } = await ctx.database.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM notifications WHERE session_message_id = $1 AND kind = 'message' AND registration_id IS NOT NULL`,
    [confirmed.json().id],
  );
  t.equal(rows[0]!.n, 2, 'one outbox row per recipient');

  const list = (await ctx.app.inject({ method: 'GET', url: `/api/v1/sessions/${s.id}/messages`, headers })).json();
  t.equal(list.items.length, 3, 'the 409s wrote nothing');
  t.same(list.items.map((m: { recipients: number }) => m.recipients), [3, 1, 2], 'newest first');
  t.equal(list.items[2].pending, 2, 'its rows are pending until the worker sends them');

  const log = await ctx.app.inject({ method: 'GET', url: `/api/v1/sessions/${s.id}/messages/${confirmed.json().id}/notifications`, headers });
  t.equal(log.statusCode, 200, log.body);
  t.equal(log.json().items.length, 2);
  t.ok(log.json().items.every((row: { kind: string }) => row.kind === 'message'));
});

t.test('a test goes to the organizer alone; the same id twice writes one message', async (t) => {
  const s = await sessionWithPeople(2);
  const test = await post(s.id, { subject: 'Draft', body: 'Check me', audience: 'all', test: true });
  t.equal(test.json().recipients, 1);
  const { rows } = await ctx.database.pool.query<{ registration_id: string | null; test_to: string }>(
    `SELECT n.registration_id, m.test_to FROM notifications n JOIN session_messages m ON m.id = n.session_message_id WHERE m.id = $1`,
    [test.json().id],
  );
  t.same(rows, [{ registration_id: null, test_to: owner.organizer.email }], 'one row, to the organizer');

  const id = randomUUID();
  const first = await post(s.id, { id, subject: 'Once', body: 'Only once', audience: 'confirmed' });
  const again = await post(s.id, { id, subject: 'Once', body: 'Only once', audience: 'confirmed' });
  t.equal(first.statusCode, 202);
  t.same(again.json(), first.json(), 'the retry answers the first message');
  const count = await ctx.database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM notifications WHERE session_message_id = $1`, [id]);
  t.equal(count.rows[0]!.n, 2, 'and writes nothing twice');
});

t.test('bad input is a 400 naming the field; the audit entry holds no recipient or words', async (t) => {
  const s = await sessionWithPeople(1);
  t.equal((await post(s.id, { subject: '', body: 'x', audience: 'all' })).statusCode, 400);
  t.equal((await post(s.id, { subject: 'x', body: '   ', audience: 'all' })).statusCode, 400);
  t.equal((await post(s.id, { subject: 'x', body: 'y', audience: 'everyone' })).statusCode, 400);
  t.equal((await post(s.id, { subject: 'x', body: 'y', audience: 'all', bcc: 'x@evil.example' })).statusCode, 400);
  const sent = await post(s.id, { subject: 'Secret words', body: 'Body words', audience: 'all' });
  const { rows } = await ctx.database.pool.query<{ details: Record<string, unknown> }>(
    `SELECT details FROM audit_log WHERE subject_id = $1 AND action = 'message.send'`,
    [sent.json().id],
  );
  t.same(rows[0]?.details, { sessionId: s.id, audience: 'all', recipients: 1, test: false });
  t.notMatch(JSON.stringify(rows), /Secret words|Body words|@/, 'no words or addresses in the audit log');
});
