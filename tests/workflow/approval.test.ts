import type { LightMyRequestResponse } from 'fastify';
import t from 'tap';
import { buildTestApp, signIn, uniqueEmail } from '../helpers/app.js';
import { expectProblem } from '../helpers/http.js';
import {
  assertCounters,
  createSession,
  kindsOf,
  manageTokenFor,
  notificationRows,
  registerJson,
  registeredAs,
  registrationId,
  registrationRows,
  registrationsById,
  sessionCounts,
  type SessionJson,
} from '../helpers/registrations.js';

/**
 * Sessions with approval: a public registration is a request (`pending`, no seat) until an
 * organizer approves it (a seat, or the waitlist) or declines it; the person may withdraw it.
 * Nobody learns from the public answer whether an address already asked.
 */

const { app, database } = await buildTestApp(t);
const { pool } = database;
const owner = await signIn(app);

async function approvalSession(overrides: Record<string, unknown> = {}): Promise<SessionJson> {
  return createSession(app, owner.headers, { capacity: 2, approval: true, waitlist: { enabled: true, limit: null }, ...overrides });
}

/** Registers each name through the public API (a new address each); returns their registration ids. */
async function request(session: SessionJson, ...names: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const name of names) {
    const email = uniqueEmail(name.toLowerCase());
    const status = await registeredAs(app, pool, session, { name, email });
    if (status !== 'pending') throw new Error(`${name} is ${status}, not pending`);
    ids.push(await registrationId(pool, session.id, email));
  }
  return ids;
}

const approve = (sessionId: string, id: string, headers = owner.headers) =>
  app.inject({ method: 'POST', url: `/api/v1/sessions/${sessionId}/registrations/${id}/approve`, headers });
const decline = (sessionId: string, id: string, payload?: Record<string, unknown>, headers = owner.headers) =>
  app.inject({ method: 'POST', url: `/api/v1/sessions/${sessionId}/registrations/${id}/decline`, headers, ...(payload ? { payload } : {}) });
const approveAll = (sessionId: string, ids: string[], headers = owner.headers) =>
  app.inject({ method: 'POST', url: `/api/v1/sessions/${sessionId}/registrations/approve`, headers, payload: { ids } });

async function seatsLeft(session: SessionJson): Promise<number | null> {
  return (await app.inject({ method: 'GET', url: `/api/v1/public/sessions/${session.slug}` })).json().seatsLeft;
}

async function statusesOf(session: SessionJson, ids: string[]): Promise<string[]> {
  const byId = await registrationsById(app, owner.headers, session.id);
  return ids.map((id) => byId.get(id)?.status ?? 'missing');
}

t.test('a public registration becomes a pending request that holds no seat', async (t) => {
  const session = await approvalSession();
  t.equal(session.approval, true);
  t.equal(await seatsLeft(session), 2);
  const [ana] = await request(session, 'Ana');
  t.same(await statusesOf(session, [ana!]), ['pending']);
  t.same(await sessionCounts(app, owner.headers, session.id), { confirmed: 0, waitlisted: 0, cancelled: 0, pending: 1, offered: 0 });
  t.equal(await seatsLeft(session), 2, 'seatsLeft unchanged by the request');
  t.same(await kindsOf(pool, session.id, ana!), ['request_received'], 'the "request received" e-mail');
  const manage = await app.inject({ method: 'GET', url: `/api/v1/registrations/${manageTokenFor(app, ana!)}` });
  t.equal(manage.json().registration.status, 'pending');
  t.equal(manage.json().joinLink, null, 'no join link for a request');
  t.equal((await app.inject({ method: 'GET', url: `/api/v1/registrations/${manageTokenFor(app, ana!)}/invite.ics` })).statusCode, 409, 'no invite for a request');
  await assertCounters(t, pool, session.id, 'one request');
});

t.test('the public answer is the same bytes for a new address, a pending one and a confirmed one', async (t) => {
  const session = await approvalSession();
  const pendingEmail = uniqueEmail('pending');
  const confirmedEmail = uniqueEmail('confirmed');
  t.equal(await registeredAs(app, pool, session, { name: 'Probe Person', email: pendingEmail }), 'pending');
  t.equal(await registeredAs(app, pool, session, { name: 'Probe Person', email: confirmedEmail }), 'pending');
  const confirmedId = await registrationId(pool, session.id, confirmedEmail);
  t.equal((await approve(session.id, confirmedId)).statusCode, 200);

  const probe = (email: string) => registerJson(app, session.slug, { name: 'Probe Person', email, consent: true });
  const visible = (res: LightMyRequestResponse) => ({ status: res.statusCode, type: res.headers['content-type'], body: res.body });
  const answers = { new: await probe(uniqueEmail('new')), pending: await probe(pendingEmail), confirmed: await probe(confirmedEmail) };
  t.equal(answers.new.statusCode, 202);
  t.same(visible(answers.pending), visible(answers.new), 'a pending address answers exactly like a new one');
  t.same(visible(answers.confirmed), visible(answers.new), 'a confirmed address answers exactly like a new one');

  // What differs goes by e-mail: a repeat of a request gets its manage link again, not a second request.
  const pendingId = await registrationId(pool, session.id, pendingEmail);
  const rowsOf = async (email: string) => (await registrationRows(pool, session.id)).filter((row) => row.email === email);
  t.equal((await rowsOf(pendingEmail)).length, 1, 'still one registration for the pending address');
  t.same(await kindsOf(pool, session.id, pendingId), ['request_received', 'manage_link'], 'the repeat writes the manage-link row, not a second request');
  t.same(await kindsOf(pool, session.id, confirmedId), ['request_received', 'confirmation', 'manage_link']);
  t.has(await sessionCounts(app, owner.headers, session.id), { pending: 2, confirmed: 1 }, 'the new address is pending; the repeat added nothing');
  await assertCounters(t, pool, session.id, 'after the probes');
});

t.test('approve: a free seat makes it confirmed, with the confirmation and its invite', async (t) => {
  const session = await approvalSession();
  const [ana] = await request(session, 'Ana');
  const approved = await approve(session.id, ana!);
  t.equal(approved.statusCode, 200, approved.body);
  t.equal(approved.json().status, 'confirmed');
  t.ok(approved.json().confirmedAt, 'confirmedAt set');
  t.same(await kindsOf(pool, session.id, ana!), ['request_received', 'confirmation']);
  const invite = await app.inject({ method: 'GET', url: `/api/v1/registrations/${manageTokenFor(app, ana!)}/invite.ics` });
  t.equal(invite.statusCode, 200, 'the invite is there now');
  t.match(String(invite.headers['content-type']), /method=REQUEST/);
  t.same(await sessionCounts(app, owner.headers, session.id), { confirmed: 1, waitlisted: 0, cancelled: 0, pending: 0, offered: 0 });
  t.equal(await seatsLeft(session), 1);
  expectProblem(t, await approve(session.id, ana!), 409, 'approving twice');
  t.same(await kindsOf(pool, session.id, ana!), ['request_received', 'confirmation'], 'no second confirmation');
  await assertCounters(t, pool, session.id, 'approved');
});

t.test('approve when full: the waitlist; when full and the waitlist is off: 409 and still pending', async (t) => {
  const withWaitlist = await approvalSession({ capacity: 1 });
  const [ana, bo] = await request(withWaitlist, 'Ana', 'Bo');
  t.equal((await approve(withWaitlist.id, ana!)).json().status, 'confirmed');
  const waitlisted = await approve(withWaitlist.id, bo!);
  t.equal(waitlisted.statusCode, 200, waitlisted.body);
  t.equal(waitlisted.json().status, 'waitlisted');
  t.equal(waitlisted.json().waitlistPosition, 1);
  t.same(await kindsOf(pool, withWaitlist.id, bo!), ['request_received', 'waitlisted'], 'the waitlist e-mail');
  t.has(await sessionCounts(app, owner.headers, withWaitlist.id), { confirmed: 1, waitlisted: 1, pending: 0 });
  await assertCounters(t, pool, withWaitlist.id, 'approved to the waitlist');

  const noWaitlist = await approvalSession({ capacity: 1, waitlist: { enabled: false } });
  const [cy, di] = await request(noWaitlist, 'Cy', 'Di');
  t.equal((await approve(noWaitlist.id, cy!)).json().status, 'confirmed');
  const refused = expectProblem(t, await approve(noWaitlist.id, di!), 409, 'no seat and no waitlist');
  t.match(refused.detail, /full/);
  t.same(await statusesOf(noWaitlist, [di!]), ['pending'], 'the request stays pending');
  t.same(await kindsOf(pool, noWaitlist.id, di!), ['request_received'], 'and nobody was told anything');
  t.has(await sessionCounts(app, owner.headers, noWaitlist.id), { confirmed: 1, waitlisted: 0, pending: 1 });
  const bulk = await approveAll(noWaitlist.id, [di!]);
  t.same(bulk.json().items, [{ registrationId: di, outcome: 'full' }], 'in bulk: outcome full');
  await assertCounters(t, pool, noWaitlist.id, 'refused for lack of room');
});

t.test('bulk approve follows the order given', async (t) => {
  const session = await approvalSession({ capacity: 2 });
  const [a, b, c] = await request(session, 'Ana', 'Bo', 'Cy');
  const res = await approveAll(session.id, [c!, a!, b!]);
  t.equal(res.statusCode, 200, res.body);
  t.same(res.json().items, [
    { registrationId: c, outcome: 'confirmed' },
    { registrationId: a, outcome: 'confirmed' },
    { registrationId: b, outcome: 'waitlisted' },
  ]);
  t.same(await statusesOf(session, [a!, b!, c!]), ['confirmed', 'waitlisted', 'confirmed'], 'c and a seated, b (approved last) waits');
  t.has(await sessionCounts(app, owner.headers, session.id), { confirmed: 2, waitlisted: 1, pending: 0 });
  await assertCounters(t, pool, session.id, 'bulk approval');

  // A confirmed id, and a pending id of another session: neither is a pending request of this session.
  const other = await approvalSession();
  const [elsewhere] = await request(other, 'Ed');
  const mixed = await approveAll(session.id, [a!, elsewhere!]);
  t.equal(mixed.statusCode, 200, mixed.body);
  t.same(mixed.json().items, [
    { registrationId: a, outcome: 'not-pending' },
    { registrationId: elsewhere, outcome: 'not-pending' },
  ]);
  t.same(await statusesOf(other, [elsewhere!]), ['pending'], "the other session's request is untouched");
  t.equal((await sessionCounts(app, owner.headers, other.id)).pending, 1);
  expectProblem(t, await approve(session.id, elsewhere!), 404, "approving another session's registration under this one");
  expectProblem(t, await decline(session.id, elsewhere!), 404, "declining another session's registration under this one");
  await assertCounters(t, pool, session.id, 'after the not-pending ids');
  await assertCounters(t, pool, other.id, 'the other session');
});

t.test('decline: declined, with an e-mail that carries the reason; twice is 409', async (t) => {
  const session = await approvalSession();
  const [ana, bo] = await request(session, 'Ana', 'Bo');
  const reason = 'This briefing is for member councils only.';
  const declined = await decline(session.id, ana!, { reason });
  t.equal(declined.statusCode, 200, declined.body);
  t.equal(declined.json().status, 'declined');
  t.ok(declined.json().declinedAt, 'declinedAt set');
  const [row] = (await notificationRows(pool, session.id, 'request_declined')).filter((n) => n.registration_id === ana);
  t.same(row?.payload, { reason }, 'the reason is in the e-mail row');
  t.same(await sessionCounts(app, owner.headers, session.id), { confirmed: 0, waitlisted: 0, cancelled: 0, pending: 1, offered: 0 });
  t.equal(await seatsLeft(session), 2);
  expectProblem(t, await decline(session.id, ana!, { reason }), 409, 'declining twice');
  expectProblem(t, await approve(session.id, ana!), 409, 'approving a declined request');
  t.equal((await notificationRows(pool, session.id, 'request_declined')).length, 1, 'one e-mail');

  const withoutReason = await decline(session.id, bo!);
  t.equal(withoutReason.statusCode, 200, withoutReason.body);
  const [plain] = (await notificationRows(pool, session.id, 'request_declined')).filter((n) => n.registration_id === bo);
  t.same(plain?.payload, { reason: null }, 'no reason: none in the row');
  await assertCounters(t, pool, session.id, 'declined');
});

t.test("another organizer's session: approve and decline are 404 and change nothing", async (t) => {
  const session = await approvalSession();
  const [ana] = await request(session, 'Ana');
  const stranger = await signIn(app);
  expectProblem(t, await approve(session.id, ana!, stranger.headers), 404, 'approve');
  expectProblem(t, await decline(session.id, ana!, { reason: 'no' }, stranger.headers), 404, 'decline');
  expectProblem(t, await approveAll(session.id, [ana!], stranger.headers), 404, 'bulk approve');
  t.same(await statusesOf(session, [ana!]), ['pending']);
  t.same(await kindsOf(pool, session.id, ana!), ['request_received']);
});

t.test('organizers add people straight to a seat or the waitlist, never as a request', async (t) => {
  const session = await approvalSession({ capacity: 1 });
  const add = (name: string) =>
    app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations`, headers: owner.headers, payload: { name, email: uniqueEmail(name.toLowerCase()) } });
  const first = await add('Ana');
  t.equal(first.statusCode, 201, first.body);
  t.equal(first.json().status, 'confirmed');
  const second = await add('Bo');
  t.equal(second.statusCode, 201, second.body);
  t.equal(second.json().status, 'waitlisted');
  t.same(await kindsOf(pool, session.id, first.json().id), ['confirmation']);
  t.has(await sessionCounts(app, owner.headers, session.id), { confirmed: 1, waitlisted: 1, pending: 0 });
  await assertCounters(t, pool, session.id, 'added by hand');
});

t.test('a pending person withdraws the request with the manage link', async (t) => {
  const session = await approvalSession();
  const [ana] = await request(session, 'Ana');
  t.equal((await sessionCounts(app, owner.headers, session.id)).pending, 1);
  const withdrawn = await app.inject({ method: 'POST', url: `/api/v1/registrations/${manageTokenFor(app, ana!)}/cancel` });
  t.equal(withdrawn.statusCode, 200, withdrawn.body);
  t.equal(withdrawn.json().registration.status, 'cancelled');
  t.same(await sessionCounts(app, owner.headers, session.id), { confirmed: 0, waitlisted: 0, cancelled: 1, pending: 0, offered: 0 });
  const [row] = (await notificationRows(pool, session.id, 'registration_cancelled')).filter((n) => n.registration_id === ana);
  t.same(row?.payload, { previousStatus: 'pending' }, 'the "request withdrawn" e-mail');
  expectProblem(t, await approve(session.id, ana!), 409, 'a withdrawn request cannot be approved');
  await assertCounters(t, pool, session.id, 'withdrawn');
});
