import t from 'tap';
import { buildTestApp, signIn, uniqueEmail } from '../helpers/app.js';
import { expectProblem } from '../helpers/http.js';
import {
  assertCounters,
  createSession,
  notificationRows,
  registered,
  registrationId,
  registrationRows,
  waitingInOrder,
  type SessionJson,
} from '../helpers/registrations.js';

const { app, database } = await buildTestApp(t);
const { pool } = database;
const owner = await signIn(app);

const patch = (id: string, payload: Record<string, unknown>) =>
  app.inject({ method: 'PATCH', url: `/api/v1/sessions/${id}`, headers: owner.headers, payload });
const manageView = (id: string) => app.inject({ method: 'GET', url: `/api/v1/registrations/${app.services.tokens.derive('manage', id, 0)}` });

/** A session of the given capacity with `confirmed` people seated and `waiting` people in line, in order. */
async function filled(capacity: number, confirmed: number, waiting: number, overrides: Record<string, unknown> = {}) {
  const session: SessionJson = await createSession(app, owner.headers, { capacity, ...overrides });
  const ids: string[] = [];
  for (let i = 0; i < confirmed + waiting; i += 1) {
    const email = uniqueEmail(`p${i}`);
    await registered(app, session.slug, { name: `Person ${i}`, email });
    ids.push(await registrationId(pool, session.id, email));
  }
  return { session, seated: ids.slice(0, confirmed), waiting: ids.slice(confirmed) };
}

t.test('raising capacity by k promotes exactly the first k waiting, in order', async (t) => {
  const { session, seated, waiting } = await filled(2, 2, 5);
  t.same(await waitingInOrder(pool, session.id), waiting);

  const res = await patch(session.id, { capacity: 4 });
  t.equal(res.statusCode, 200, res.body);
  t.same(res.json().counts, { confirmed: 4, waitlisted: 3, cancelled: 0, pending: 0, offered: 0 }, 'the answer shows the new counts');
  t.equal(res.json().sequence, session.sequence, 'capacity is not an invite change');

  const promoted = await notificationRows(pool, session.id, 'promoted');
  t.same(promoted.map((row) => row.registration_id).sort(), waiting.slice(0, 2).sort(), 'promoted rows for the first two only');
  t.same(promoted.map((row) => row.dedupe_key).sort(), waiting.slice(0, 2).map((id) => `promoted:${id}`).sort());
  const rows = await registrationRows(pool, session.id);
  const statusOf = (id: string) => rows.find((row) => row.id === id)?.status;
  t.same([...seated, ...waiting].map(statusOf), ['confirmed', 'confirmed', 'confirmed', 'confirmed', 'waitlisted', 'waitlisted', 'waitlisted']);
  t.same(await waitingInOrder(pool, session.id), waiting.slice(2), 'the rest keep their order');
  const positions = await Promise.all(waiting.slice(2).map(async (id) => (await manageView(id)).json().registration.waitlistPosition));
  t.same(positions, [1, 2, 3], 'their positions close up');
  t.equal((await notificationRows(pool, session.id, 'session_updated')).length, 0, 'no invite update for a capacity change');
  await assertCounters(t, pool, session.id, 'after raising by 2');

  const same = await patch(session.id, { capacity: 4 });
  t.equal(same.statusCode, 200);
  t.equal((await notificationRows(pool, session.id, 'promoted')).length, 2, 'the same capacity again promotes nobody');

  const unlimited = await patch(session.id, { capacity: null });
  t.equal(unlimited.statusCode, 200);
  t.same(unlimited.json().counts, { confirmed: 7, waitlisted: 0, cancelled: 0, pending: 0, offered: 0 }, 'unlimited capacity seats everyone');
  t.equal((await notificationRows(pool, session.id, 'promoted')).length, 5);
  await assertCounters(t, pool, session.id, 'after unlimited');
});

t.test('raising capacity by more than the line seats the whole line', async (t) => {
  const { session, waiting } = await filled(1, 1, 2);
  const res = await patch(session.id, { capacity: 10 });
  t.equal(res.statusCode, 200);
  t.same(res.json().counts, { confirmed: 3, waitlisted: 0, cancelled: 0, pending: 0, offered: 0 });
  t.same((await notificationRows(pool, session.id, 'promoted')).map((row) => row.registration_id).sort(), [...waiting].sort());
  const after = uniqueEmail('after');
  await registered(app, session.slug, { name: 'After', email: after });
  const next = (await registrationRows(pool, session.id)).find((row) => row.email === after);
  t.equal(next?.status, 'confirmed', 'new registrations take the free seats');
  await assertCounters(t, pool, session.id);
});

t.test('lowering capacity under the confirmed count is 409 and changes nothing', async (t) => {
  const { session } = await filled(3, 3, 1);
  const res = await patch(session.id, { capacity: 2 });
  const problem = expectProblem(t, res, 409);
  t.match(problem.detail, /confirmed/);
  const { rows } = await pool.query('SELECT capacity, confirmed_count, waitlisted_count FROM sessions WHERE id = $1', [session.id]);
  t.same(rows[0], { capacity: 3, confirmed_count: 3, waitlisted_count: 1 });
  t.equal((await registrationRows(pool, session.id)).filter((row) => row.status === 'cancelled').length, 0, 'nobody bumped');

  const zero = await patch(session.id, { capacity: 0 });
  expectProblem(t, zero, 409, 'capacity 0');
  const equal = await patch(session.id, { capacity: 3 });
  t.equal(equal.statusCode, 200, 'lowering to exactly the confirmed count is allowed');
  await assertCounters(t, pool, session.id);
});

t.test('a title change writes one session_updated row per confirmed registration', async (t) => {
  const { session, seated, waiting } = await filled(3, 3, 2);
  // One confirmed person leaves first: the cancelled registration gets no update.
  const left = seated[2]!;
  const cancel = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${left}/cancel`, headers: owner.headers });
  t.equal(cancel.statusCode, 200);
  const confirmedNow = [seated[0]!, seated[1]!, waiting[0]!]; // the first waiting person took the seat

  const res = await patch(session.id, { title: `${session.title} (renamed)` });
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().sequence, session.sequence + 1, 'the invite SEQUENCE rises');
  const updates = await notificationRows(pool, session.id, 'session_updated');
  t.equal(updates.length, 3, 'one row per confirmed registration');
  t.same(updates.map((row) => row.registration_id).sort(), [...confirmedNow].sort());
  for (const row of updates) {
    t.equal(row.dedupe_key, `session-updated:${row.registration_id}:${session.sequence + 1}`);
    t.equal(row.payload.sequence, session.sequence + 1);
  }

  const joinOnly = await patch(session.id, { joinUrl: 'https://meet.example.org/j/other' });
  t.equal(joinOnly.statusCode, 200);
  t.equal(joinOnly.json().sequence, session.sequence + 1, 'a joinUrl change alone does not raise the SEQUENCE');
  t.equal((await notificationRows(pool, session.id, 'session_updated')).length, 3, 'and sends nothing');

  const again = await patch(session.id, { title: `${session.title} (renamed)` });
  t.equal(again.statusCode, 200);
  t.equal((await notificationRows(pool, session.id, 'session_updated')).length, 3, 'an unchanged title sends nothing');

  const second = await patch(session.id, { description: 'New description' });
  t.equal(second.statusCode, 200);
  t.equal(second.json().sequence, session.sequence + 2);
  t.equal((await notificationRows(pool, session.id, 'session_updated')).length, 6, 'a second change: one more row each');
  await assertCounters(t, pool, session.id);
});

t.test('cancelling the session cancels every registration and notifies each by status', async (t) => {
  const { session, seated, waiting } = await filled(2, 2, 3);
  // One already cancelled before: it is counted, but not notified again.
  const earlier = waiting[2]!;
  const left = await app.inject({ method: 'POST', url: `/api/v1/registrations/${app.services.tokens.derive('manage', earlier, 0)}/cancel` });
  t.equal(left.statusCode, 200);
  const stillWaiting = waiting.slice(0, 2);

  const res = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/cancel`, headers: owner.headers, payload: { reason: 'Speaker ill' } });
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().status, 'cancelled');
  t.same(res.json().counts, { confirmed: 0, waitlisted: 0, cancelled: 5, pending: 0, offered: 0 });

  const rows = await registrationRows(pool, session.id);
  t.ok(rows.every((row) => row.status === 'cancelled'), 'every registration cancelled');
  const { rows: times } = await pool.query('SELECT count(*)::int AS n FROM registrations WHERE session_id = $1 AND cancelled_at IS NULL', [session.id]);
  t.equal(times[0].n, 0, 'each has cancelledAt');
  const counts = await assertCounters(t, pool, session.id);
  t.same(counts, { confirmed: 0, waitlisted: 0, cancelled: 5 });

  const forConfirmed = await notificationRows(pool, session.id, 'session_cancelled');
  t.same(forConfirmed.map((row) => row.registration_id).sort(), [...seated].sort(), 'session_cancelled for the confirmed');
  const forWaiting = await notificationRows(pool, session.id, 'session_cancelled_waitlisted');
  t.same(forWaiting.map((row) => row.registration_id).sort(), [...stillWaiting].sort(), 'session_cancelled_waitlisted for the waiting');
  for (const row of [...forConfirmed, ...forWaiting]) {
    t.equal(row.dedupe_key, `session-cancelled:${row.registration_id}`);
    t.equal(row.payload.sequence, res.json().sequence, 'the cancellation SEQUENCE');
  }
  t.equal((await notificationRows(pool, session.id, 'promoted')).length, 0, 'nobody promoted while cancelling');
  t.notOk([...forConfirmed, ...forWaiting].some((row) => row.registration_id === earlier), 'the earlier cancellation is not notified again');

  const again = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/cancel`, headers: owner.headers, payload: {} });
  expectProblem(t, again, 409, 'cancelling twice');
  const capacity = await patch(session.id, { capacity: 10 });
  expectProblem(t, capacity, 409, 'a cancelled session cannot be changed');
  const register = await app.inject({
    method: 'POST',
    url: `/api/v1/public/sessions/${session.slug}/registrations`,
    payload: { name: 'Late', email: uniqueEmail('late'), consent: true },
  });
  expectProblem(t, register, 409, 'no registration after cancelling');
  const add = await app.inject({
    method: 'POST',
    url: `/api/v1/sessions/${session.id}/registrations`,
    headers: owner.headers,
    payload: { name: 'Forced', email: uniqueEmail('forced'), force: true },
  });
  expectProblem(t, add, 409, 'not even by hand');
  await assertCounters(t, pool, session.id, 'at the end');
});

t.test('cancelling a session without registrations', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 5 });
  const res = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/cancel`, headers: owner.headers, payload: {} });
  t.equal(res.statusCode, 200);
  t.same(res.json().counts, { confirmed: 0, waitlisted: 0, cancelled: 0, pending: 0, offered: 0 });
  t.equal((await notificationRows(pool, session.id)).length, 0);
});
