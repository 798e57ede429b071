import t, { type Test } from 'tap';
import { buildTestApp, manualClock, signIn, uniqueEmail } from '../helpers/app.js';
import { isolatedDatabaseUrl } from '../helpers/isolated-app.js';
import { startRedisProcess } from '../helpers/processes.js';
import {
  assertCounters,
  createSessionWithBody,
  kindsOf,
  manageTokenFor,
  notificationRows,
  registeredAs,
  registrationId,
  registrationsById,
  sessionCounts,
  waitingInOrder,
  type SessionJson,
} from '../helpers/registrations.js';
import { minuteAfter, sessionAt } from '../reminders/support.js';

/**
 * Waitlist offers (waitlist mode 'offer'): a freed seat is held for the first waiting person until
 * a deadline, then accepted, declined or expired, and the next person gets it. The clock is a
 * ManualClock, so deadlines are reached by moving it.
 *
 * The file has a database and a Redis of its own: sweepExpiredOffers expires every due offer of
 * its database, and with this file's clock hours ahead it would expire the offers of other test
 * files running beside it (and theirs ours).
 */

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const redis = await startRedisProcess(t);
const clock = manualClock();
const { app, database } = await buildTestApp(t, {
  clock,
  env: { DATABASE_URL: isolatedDatabaseUrl('workflow_offers'), REDIS_URL: redis.url },
});
const { pool } = database;
const owner = await signIn(app);

const OFFER_WAITLIST = { enabled: true, limit: null, mode: 'offer', offerMinutes: 60 };

/** A published session with one seat in offer mode, starting `startsIn` after the clock's now (on a whole minute). */
async function offerSession(overrides: Record<string, unknown> = {}, startsIn = 3 * DAY): Promise<SessionJson> {
  const start = minuteAfter(clock.now(), startsIn);
  return createSessionWithBody(app, owner.headers, sessionAt(start, { capacity: 1, waitlist: OFFER_WAITLIST, ...overrides }));
}

/** Registers each name in turn (a new address each) and returns their registration ids with the status each got. */
async function registerPeople(session: SessionJson, names: string[]): Promise<Array<{ id: string; status: string }>> {
  const people: Array<{ id: string; status: string }> = [];
  for (const name of names) {
    const email = uniqueEmail(name.toLowerCase());
    const status = await registeredAs(app, pool, session, { name, email });
    people.push({ id: await registrationId(pool, session.id, email), status });
  }
  return people;
}

async function cancelByOrganizer(sessionId: string, id: string): Promise<void> {
  const res = await app.inject({ method: 'POST', url: `/api/v1/sessions/${sessionId}/registrations/${id}/cancel`, headers: owner.headers });
  if (res.statusCode !== 200) throw new Error(`cancel failed: ${res.statusCode} ${res.body}`);
}

const accept = (id: string) => app.inject({ method: 'POST', url: `/api/v1/registrations/${manageTokenFor(app, id)}/accept` });
const cancelByToken = (id: string) => app.inject({ method: 'POST', url: `/api/v1/registrations/${manageTokenFor(app, id)}/cancel` });

async function statusesOf(session: SessionJson, ids: string[]): Promise<string[]> {
  const byId = await registrationsById(app, owner.headers, session.id);
  return ids.map((id) => byId.get(id)?.status ?? 'missing');
}

async function offerExpiresAt(session: SessionJson, id: string): Promise<string | null> {
  return (await registrationsById(app, owner.headers, session.id)).get(id)?.offerExpiresAt ?? null;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A, B, C in a one-seat offer session; A cancels, so B is offered the seat until now + 60 minutes. */
async function bOffered(t: Test) {
  const session = await offerSession();
  const people = await registerPeople(session, ['Ana', 'Bo', 'Cy']);
  t.same(people.map((p) => p.status), ['confirmed', 'waitlisted', 'waitlisted'], 'A seated, B and C waiting');
  clock.advance(MINUTE);
  const offeredAt = clock.now().getTime();
  await cancelByOrganizer(session.id, people[0]!.id);
  t.equal(await offerExpiresAt(session, people[1]!.id), iso(offeredAt + 60 * MINUTE), 'B is offered until now + offerMinutes');
  return { session, people, offeredAt };
}

t.test('offered, then accepted: the held seat becomes a confirmed one with the invite', async (t) => {
  const session = await offerSession();
  t.same(session.waitlist, { enabled: true, limit: null, mode: 'offer', offerMinutes: 60 }, 'the session JSON carries the mode');
  const [a, b] = await registerPeople(session, ['Ana', 'Bo']);
  t.same([a!.status, b!.status], ['confirmed', 'waitlisted']);
  await assertCounters(t, pool, session.id, 'A seated, B waiting');

  clock.advance(MINUTE);
  const cancelledAt = clock.now().getTime();
  await cancelByOrganizer(session.id, a!.id);
  t.same(await statusesOf(session, [a!.id, b!.id]), ['cancelled', 'offered']);
  t.equal(await offerExpiresAt(session, b!.id), iso(cancelledAt + 60 * MINUTE), 'offerExpiresAt = now + 60 min');
  t.has(await sessionCounts(app, owner.headers, session.id), { confirmed: 0, offered: 1, waitlisted: 0 });
  const page = await app.inject({ method: 'GET', url: `/api/v1/public/sessions/${session.slug}` });
  t.equal(page.json().seatsLeft, 0, 'the held seat is not free for anyone else');
  await assertCounters(t, pool, session.id, 'B offered');

  const manage = await app.inject({ method: 'GET', url: `/api/v1/registrations/${manageTokenFor(app, b!.id)}` });
  t.equal(manage.json().registration.status, 'offered', 'the manage view shows the offer');
  t.equal(manage.json().registration.offerExpiresAt, iso(cancelledAt + 60 * MINUTE), 'with its deadline');

  clock.advance(10 * MINUTE);
  const accepted = await accept(b!.id);
  t.equal(accepted.statusCode, 200, accepted.body);
  t.equal(accepted.json().registration.status, 'confirmed');
  t.equal(accepted.json().registration.offerExpiresAt, null, 'no deadline once the seat is taken');
  t.ok(accepted.json().joinLink, 'the join link comes with the seat');
  t.has(await sessionCounts(app, owner.headers, session.id), { confirmed: 1, offered: 0, waitlisted: 0 });
  t.same(await kindsOf(pool, session.id, b!.id), ['waitlisted', 'offered', 'confirmation'], 'B: waitlisted, then offered, then the confirmation');
  await assertCounters(t, pool, session.id, 'B accepted');

  const again = await accept(b!.id);
  t.equal(again.statusCode, 409, 'accepting twice: nothing is on offer any more');
  t.same(await kindsOf(pool, session.id, b!.id), ['waitlisted', 'offered', 'confirmation'], 'and no second confirmation');
  t.equal((await accept(a!.id)).statusCode, 409, 'a cancelled registration has nothing to accept');
});

t.test('offered, expired (the expiry job): the seat goes to the next person with a new deadline', async (t) => {
  const { session, people, offeredAt } = await bOffered(t);
  const [, b, c] = people;
  await assertCounters(t, pool, session.id, 'B offered');

  clock.advance(59 * MINUTE);
  t.equal(await app.services.registrations.expireOffer(b!.id), 'not-due', 'a minute before the deadline the job is early');
  t.same(await statusesOf(session, [b!.id, c!.id]), ['offered', 'waitlisted'], 'an early job changes nothing');
  t.same(await kindsOf(pool, session.id, b!.id), ['waitlisted', 'offered']);

  clock.set(new Date(offeredAt + 60 * MINUTE));
  t.equal((await accept(b!.id)).statusCode, 409, 'at the deadline the offer can no longer be accepted');
  clock.advance(1_000);
  t.equal(await app.services.registrations.expireOffer(b!.id), 'expired');
  t.same(await statusesOf(session, [b!.id, c!.id]), ['expired', 'offered']);
  t.same(await kindsOf(pool, session.id, b!.id), ['waitlisted', 'offered', 'offer_expired'], 'B is told the offer ran out');
  t.equal(await offerExpiresAt(session, c!.id), iso(clock.now().getTime() + 60 * MINUTE), 'C gets a deadline of its own');
  t.same(await kindsOf(pool, session.id, c!.id), ['waitlisted', 'offered']);
  t.has(await sessionCounts(app, owner.headers, session.id), { confirmed: 0, offered: 1, waitlisted: 0 });
  await assertCounters(t, pool, session.id, 'B expired, C offered');

  const late = await accept(b!.id);
  t.equal(late.statusCode, 409, 'B accepting after the expiry: 409');
  t.match(late.json().detail, /expired/);
  t.equal(await app.services.registrations.expireOffer(b!.id), 'gone', 'a second run of the job finds nothing to do');
  t.same(await statusesOf(session, [b!.id, c!.id]), ['expired', 'offered'], 'and changes nothing');
  t.equal((await notificationRows(pool, session.id, 'offer_expired')).length, 1, 'one offer_expired row');
  await assertCounters(t, pool, session.id, 'after the late accept');
});

t.test('offered, expired (the sweep): an offer whose job was lost ends all the same', async (t) => {
  const { session, people, offeredAt } = await bOffered(t);
  const [, b, c] = people;
  await app.services.registrations.sweepExpiredOffers();
  t.same(await statusesOf(session, [b!.id, c!.id]), ['offered', 'waitlisted'], 'before the deadline the sweep leaves the offer alone');

  clock.set(new Date(offeredAt + 61 * MINUTE));
  t.ok((await app.services.registrations.sweepExpiredOffers()) >= 1, 'the sweep expires the due offers');
  t.same(await statusesOf(session, [b!.id, c!.id]), ['expired', 'offered']);
  t.equal(await offerExpiresAt(session, c!.id), iso(clock.now().getTime() + 60 * MINUTE), 'C offered with a new deadline');
  t.same(await kindsOf(pool, session.id, b!.id), ['waitlisted', 'offered', 'offer_expired']);
  t.equal((await accept(b!.id)).statusCode, 409, 'B accepting afterwards: 409');
  await app.services.registrations.sweepExpiredOffers();
  t.same(await statusesOf(session, [b!.id, c!.id]), ['expired', 'offered'], "a second sweep leaves C's fresh offer alone");
  await assertCounters(t, pool, session.id, 'after the sweep');
});

t.test('declined: the offered person cancels through the manage link and the next person is offered', async (t) => {
  const { session, people } = await bOffered(t);
  const [, b, c] = people;
  clock.advance(5 * MINUTE);
  const declined = await cancelByToken(b!.id);
  t.equal(declined.statusCode, 200, declined.body);
  t.equal(declined.json().registration.status, 'cancelled');
  t.same(await statusesOf(session, [b!.id, c!.id]), ['cancelled', 'offered']);
  t.equal(await offerExpiresAt(session, c!.id), iso(clock.now().getTime() + 60 * MINUTE), 'C: a full offer period from the decline');
  const [cancellation] = (await notificationRows(pool, session.id, 'registration_cancelled')).filter((row) => row.registration_id === b!.id);
  t.same(cancellation?.payload, { previousStatus: 'offered' }, 'B is told the seat was declined');
  t.has(await sessionCounts(app, owner.headers, session.id), { confirmed: 0, offered: 1, waitlisted: 0, cancelled: 2 });
  await assertCounters(t, pool, session.id, 'B declined, C offered');
  t.equal((await accept(b!.id)).statusCode, 409, 'a declined offer cannot be accepted');
});

t.test('capacity raised by k: k seats offered in waitlist order', async (t) => {
  const session = await offerSession();
  const people = await registerPeople(session, ['Ana', 'Bo', 'Cy', 'Di', 'Ed']);
  const [a, b, c, d, e] = people;
  t.same(await waitingInOrder(pool, session.id), [b!.id, c!.id, d!.id, e!.id]);
  clock.advance(MINUTE);
  const raised = await app.inject({ method: 'PATCH', url: `/api/v1/sessions/${session.id}`, headers: owner.headers, payload: { capacity: 4 } });
  t.equal(raised.statusCode, 200, raised.body);
  t.same(await statusesOf(session, [a!.id, b!.id, c!.id, d!.id, e!.id]), ['confirmed', 'offered', 'offered', 'offered', 'waitlisted'], 'the first three waiting are offered');
  const deadline = iso(clock.now().getTime() + 60 * MINUTE);
  for (const person of [b, c, d]) t.equal(await offerExpiresAt(session, person!.id), deadline);
  t.equal(await offerExpiresAt(session, e!.id), null, 'the fourth waits without an offer');
  t.has(await sessionCounts(app, owner.headers, session.id), { confirmed: 1, offered: 3, waitlisted: 1 });
  t.equal((await notificationRows(pool, session.id, 'offered')).length, 3, 'three offered rows');
  await assertCounters(t, pool, session.id, 'three offers');

  // One of them accepts, one declines: the declined seat goes to the fourth.
  t.equal((await accept(c!.id)).statusCode, 200);
  t.equal((await cancelByToken(d!.id)).statusCode, 200);
  t.same(await statusesOf(session, [b!.id, c!.id, d!.id, e!.id]), ['offered', 'confirmed', 'cancelled', 'offered']);
  t.has(await sessionCounts(app, owner.headers, session.id), { confirmed: 2, offered: 2, waitlisted: 0 });
  await assertCounters(t, pool, session.id, 'accept and decline');
});

t.test('less than offerMinutes before the start: the seat is given at once', async (t) => {
  const session = await offerSession({}, 30 * MINUTE);
  const [a, b] = await registerPeople(session, ['Ana', 'Bo']);
  clock.advance(MINUTE);
  await cancelByOrganizer(session.id, a!.id);
  t.same(await statusesOf(session, [b!.id]), ['confirmed'], '30 minutes before a 60-minute offer could end: promoted');
  t.equal(await offerExpiresAt(session, b!.id), null, 'no offer was made');
  t.same(await kindsOf(pool, session.id, b!.id), ['waitlisted', 'promoted'], 'the promoted e-mail (with the invite)');
  t.has(await sessionCounts(app, owner.headers, session.id), { confirmed: 1, offered: 0, waitlisted: 0 });
  await assertCounters(t, pool, session.id, 'promoted near the start');
});

t.test('after the start nobody is promoted or offered: the seat stays free, the waitlist stays', async (t) => {
  const session = await offerSession();
  const [a, b, c] = await registerPeople(session, ['Ana', 'Bo', 'Cy']);
  clock.set(new Date(new Date(session.startsAt).getTime() + 5 * MINUTE));
  await cancelByOrganizer(session.id, a!.id);
  t.same(await statusesOf(session, [a!.id, b!.id, c!.id]), ['cancelled', 'waitlisted', 'waitlisted']);
  t.same(await waitingInOrder(pool, session.id), [b!.id, c!.id], 'the waitlist keeps its order');
  t.same(await kindsOf(pool, session.id, b!.id), ['waitlisted'], 'no e-mail to the waiting');
  t.has(await sessionCounts(app, owner.headers, session.id), { confirmed: 0, offered: 0, waitlisted: 2 });
  await app.services.registrations.sweepExpiredOffers();
  t.same(await statusesOf(session, [b!.id, c!.id]), ['waitlisted', 'waitlisted'], 'nor by the sweep');
  await assertCounters(t, pool, session.id, 'cancelled after the start');
});

t.test('an offer never runs past the start', async (t) => {
  t.test('offerMinutes 1440 with the start 23 hours away: promoted at once', async (t) => {
    const session = await offerSession({ waitlist: { ...OFFER_WAITLIST, offerMinutes: 1440 } }, 23 * HOUR);
    clock.set(new Date(new Date(session.startsAt).getTime() - 23 * HOUR));
    const [a, b] = await registerPeople(session, ['Ana', 'Bo']);
    clock.advance(MINUTE);
    await cancelByOrganizer(session.id, a!.id);
    t.same(await statusesOf(session, [b!.id]), ['confirmed'], '23 hours (less than a day) before the start');
    t.same(await kindsOf(pool, session.id, b!.id), ['waitlisted', 'promoted']);
    await assertCounters(t, pool, session.id, 'promoted 23 hours before');
  });

  t.test('exactly offerMinutes before the start: offered until the start, and at the start nobody else', async (t) => {
    const session = await offerSession({}, 2 * HOUR);
    const startsAt = new Date(session.startsAt).getTime();
    const [a, b, c] = await registerPeople(session, ['Ana', 'Bo', 'Cy']);
    clock.set(new Date(startsAt - 60 * MINUTE));
    await cancelByOrganizer(session.id, a!.id);
    t.same(await statusesOf(session, [b!.id, c!.id]), ['offered', 'waitlisted']);
    t.equal(await offerExpiresAt(session, b!.id), session.startsAt, 'the offer ends at the start');
    await assertCounters(t, pool, session.id, 'offered until the start');

    clock.set(new Date(startsAt));
    t.equal(await app.services.registrations.expireOffer(b!.id), 'expired');
    t.same(await statusesOf(session, [b!.id, c!.id]), ['expired', 'waitlisted'], 'at the start the seat is offered to nobody');
    t.same(await kindsOf(pool, session.id, c!.id), ['waitlisted']);
    t.has(await sessionCounts(app, owner.headers, session.id), { confirmed: 0, offered: 0, waitlisted: 1 });
    await assertCounters(t, pool, session.id, 'expired at the start');
  });

  t.test('an offer that ends less than offerMinutes before the start: the next person is promoted', async (t) => {
    const session = await offerSession({}, 2 * HOUR);
    const startsAt = new Date(session.startsAt).getTime();
    const [a, b, c] = await registerPeople(session, ['Ana', 'Bo', 'Cy']);
    clock.set(new Date(startsAt - 90 * MINUTE));
    await cancelByOrganizer(session.id, a!.id);
    t.equal(await offerExpiresAt(session, b!.id), iso(startsAt - 30 * MINUTE), 'B: a full hour, ending 30 minutes before the start');
    clock.set(new Date(startsAt - 30 * MINUTE));
    t.equal(await app.services.registrations.expireOffer(b!.id), 'expired');
    t.same(await statusesOf(session, [b!.id, c!.id]), ['expired', 'confirmed'], 'C gets the seat outright');
    t.same(await kindsOf(pool, session.id, c!.id), ['waitlisted', 'promoted']);
    await assertCounters(t, pool, session.id, 'promoted after an expiry');
  });
});

t.test('a session moved to start before an offer ends shortens the offer to the new start', async (t) => {
  const session = await offerSession();
  const [a, b] = await registerPeople(session, ['Ana', 'Bo']);
  clock.advance(MINUTE);
  await cancelByOrganizer(session.id, a!.id);
  const deadline = await offerExpiresAt(session, b!.id);
  const newStart = minuteAfter(clock.now(), 30 * MINUTE);
  const moved = await app.inject({
    method: 'PATCH',
    url: `/api/v1/sessions/${session.id}`,
    headers: owner.headers,
    payload: { startsAt: newStart.toISOString(), endsAt: new Date(newStart.getTime() + HOUR).toISOString() },
  });
  t.equal(moved.statusCode, 200, moved.body);
  t.ok(Date.parse(deadline!) > newStart.getTime(), 'the offer would have run past the new start');
  t.equal(await offerExpiresAt(session, b!.id), newStart.toISOString(), 'it now ends at the start');
  clock.set(newStart);
  t.equal(await app.services.registrations.sweepExpiredOffers(), 1, 'and the sweep ends it then');
  t.same(await statusesOf(session, [b!.id]), ['expired']);
  await assertCounters(t, pool, session.id, 'offer shortened and expired');
});

t.test('auto mode is unchanged: a cancellation promotes the first waiting person at once', async (t) => {
  const session = await offerSession({ waitlist: { enabled: true, limit: null } });
  t.equal(session.waitlist.mode, 'auto', 'auto is the default');
  const [a, b, c] = await registerPeople(session, ['Ana', 'Bo', 'Cy']);
  clock.advance(MINUTE);
  await cancelByOrganizer(session.id, a!.id);
  t.same(await statusesOf(session, [b!.id, c!.id]), ['confirmed', 'waitlisted']);
  t.equal(await offerExpiresAt(session, b!.id), null);
  t.same(await kindsOf(pool, session.id, b!.id), ['waitlisted', 'promoted']);
  t.has(await sessionCounts(app, owner.headers, session.id), { confirmed: 1, offered: 0, waitlisted: 1 });
  t.equal((await accept(c!.id)).statusCode, 409, 'nothing to accept while waiting');
  await assertCounters(t, pool, session.id, 'auto promotion');
});
