import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { sql, type SQL } from 'drizzle-orm';
import t, { type Test } from 'tap';
import type { Database } from '../../db/client.js';
import type { ManualClock } from '../../src/clock.js';
import { offerExpiryJobId, QUEUES } from '../../src/queues.js';
import { createRedis } from '../../src/redis.js';
import { takeSeatStatement } from '../../src/services/capacity.js';
import { buildTestApp, manualClock, signIn, uniqueEmail, type TestContext } from '../helpers/app.js';
import { isolatedDatabaseUrl } from '../helpers/isolated-app.js';
import { createSession, registerJson, type SessionJson } from '../helpers/registrations.js';
import { waitFor } from '../helpers/waiting.js';

/**
 * A database of this file's own: the race sweeps expired offers with a clock an hour ahead, and
 * on the shared test database that sweep would end the offers of other test files under their feet.
 */
const DATABASE_URL = isolatedDatabaseUrl('capacity_race');
const HOUR = 3_600_000;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

async function raceApp(t: Test, clock: ManualClock): Promise<TestContext> {
  return buildTestApp(t, { clock, poolSize: 40, env: { DATABASE_URL } });
}

/** A published session in offer mode three days ahead, an offer held for an hour. */
function offerSession(ctx: TestContext, headers: Record<string, string>, overrides: Record<string, unknown>): Promise<SessionJson> {
  return createSession(ctx.app, headers, { waitlist: { enabled: true, limit: null, mode: 'offer', offerMinutes: 60 }, ...overrides }, { daysAhead: 3 });
}

type Status = 'confirmed' | 'waitlisted' | 'pending' | 'offered' | 'cancelled' | 'declined' | 'expired';

interface SessionFacts {
  capacity: number;
  /** A count of the registration rows in each status. */
  rows: Record<Status, number>;
  /** The counters kept on the session row. */
  counters: Pick<Record<Status, number>, 'confirmed' | 'waitlisted' | 'pending' | 'offered' | 'cancelled'>;
}

async function sessionFacts(db: Database, sessionId: string): Promise<SessionFacts> {
  const { rows } = await db.execute<{ capacity: number; confirmed_count: number; waitlisted_count: number; pending_count: number; offered_count: number; cancelled_count: number }>(sql`
    SELECT capacity, confirmed_count, waitlisted_count, pending_count, offered_count, cancelled_count FROM sessions WHERE id = ${sessionId}`);
  const { rows: counted } = await db.execute<{ status: Status; n: number }>(sql`
    SELECT status::text AS status, count(*)::int AS n FROM registrations WHERE session_id = ${sessionId} GROUP BY status`);
  const of = (status: Status) => counted.find((row) => row.status === status)?.n ?? 0;
  const session = rows[0]!;
  return {
    capacity: session.capacity,
    rows: {
      confirmed: of('confirmed'),
      waitlisted: of('waitlisted'),
      pending: of('pending'),
      offered: of('offered'),
      cancelled: of('cancelled'),
      declined: of('declined'),
      expired: of('expired'),
    },
    counters: {
      confirmed: session.confirmed_count,
      waitlisted: session.waitlisted_count,
      pending: session.pending_count,
      offered: session.offered_count,
      cancelled: session.cancelled_count,
    },
  };
}

async function idsWith(db: Database, sessionId: string, status: Status, order: SQL = sql`registered_at, id`): Promise<string[]> {
  const { rows } = await db.execute<{ id: string }>(sql`
    SELECT id FROM registrations WHERE session_id = ${sessionId} AND status = ${status}::registration_status ORDER BY ${order}`);
  return rows.map((row) => row.id);
}

async function emailsOf(db: Database, registrationIds: string[]): Promise<string[]> {
  const { rows } = await db.execute<{ email: string }>(sql`
    SELECT a.email FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE r.id IN ${registrationIds}`);
  return rows.map((row) => row.email);
}

/**
 * Everything that must hold for a session after any interleaving: the seats (counted from the
 * rows, not the counters), the counters against the rows, one active registration per person,
 * distinct waitlist tickets, offers that end by the start with their e-mails, and no seat left
 * free while someone waits. Returns the facts for the caller's own expectations.
 */
async function assertHonest(t: Test, db: Database, session: { id: string }, now: Date, label: string): Promise<SessionFacts> {
  const facts = await sessionFacts(db, session.id);
  const { rows, counters, capacity } = facts;
  t.ok(rows.confirmed + rows.offered <= capacity, `${label}: confirmed ${rows.confirmed} + offered ${rows.offered} rows within capacity ${capacity}`);
  t.same(
    counters,
    { confirmed: rows.confirmed, waitlisted: rows.waitlisted, pending: rows.pending, offered: rows.offered, cancelled: rows.cancelled },
    `${label}: the session's counters equal its rows`,
  );
  if (rows.waitlisted > 0) t.equal(rows.confirmed + rows.offered, capacity, `${label}: no seat stays free while ${rows.waitlisted} wait`);

  const twice = await db.execute<{ attendee_id: string; n: number }>(sql`
    SELECT attendee_id, count(*)::int AS n FROM registrations
    WHERE session_id = ${session.id} AND status IN ('confirmed', 'waitlisted', 'pending', 'offered')
    GROUP BY attendee_id HAVING count(*) > 1`);
  t.same(twice.rows, [], `${label}: nobody holds two active registrations`);

  const tickets = await db.execute<{ n: number; distinct_tickets: number; without: number }>(sql`
    SELECT count(*)::int AS n, count(DISTINCT waitlist_ticket)::int AS distinct_tickets, count(*) FILTER (WHERE waitlist_ticket IS NULL)::int AS without
    FROM registrations WHERE session_id = ${session.id} AND status = 'waitlisted'`);
  t.same(tickets.rows[0], { n: rows.waitlisted, distinct_tickets: rows.waitlisted, without: 0 }, `${label}: waitlist tickets are distinct`);

  const badOffers = await db.execute<{ id: string; offer_expires_at: string | null }>(sql`
    SELECT r.id, r.offer_expires_at::text FROM registrations r JOIN sessions s ON s.id = r.session_id
    WHERE r.session_id = ${session.id} AND r.status = 'offered'
      AND (r.offer_expires_at IS NULL OR r.offer_expires_at > s.starts_at OR r.offer_expires_at <= ${now}::timestamptz)`);
  t.same(badOffers.rows, [], `${label}: every open offer ends after now and no later than the start`);

  const unmailed = await db.execute<{ id: string; status: string }>(sql`
    SELECT r.id, r.status::text FROM registrations r
    WHERE r.session_id = ${session.id} AND r.status IN ('offered', 'expired')
      AND NOT EXISTS (
        SELECT 1 FROM notifications n WHERE n.registration_id = r.id
          AND n.kind = CASE WHEN r.status = 'offered' THEN 'offered' ELSE 'offer_expired' END::notification_kind)`);
  t.same(unmailed.rows, [], `${label}: every offer and every expiry has its e-mail`);
  return facts;
}

interface Attempt {
  label: string;
  /** An HTTP request (its answer) or a service call. */
  run: () => Promise<unknown>;
}

interface Outcome {
  label: string;
  status: number;
  detail: string;
}

/** The HTTP status with the body of a 5xx; a service call that returned counts as 200, one that threw as 599. */
async function settle({ label, run }: Attempt): Promise<Outcome> {
  try {
    const result = await run();
    if (result && typeof result === 'object' && 'statusCode' in result) {
      const { statusCode, body } = result as { statusCode: number; body: string };
      return { label, status: statusCode, detail: statusCode >= 500 ? body : '' };
    }
    return { label, status: 200, detail: '' };
  } catch (error) {
    return { label, status: 599, detail: error instanceof Error ? error.message : String(error) };
  }
}

t.test('approvals, cancellations, registrations, accepts, expiries and capacity raises at once keep every seat honest', async (t) => {
  const clock = manualClock();
  const ctx = await raceApp(t, clock);
  const { app } = ctx;
  const { db } = ctx.database;
  const { headers } = await signIn(app);
  const inject = (method: 'POST' | 'PATCH', url: string, payload?: Record<string, unknown>) =>
    app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
  const manage = (registrationId: string, action: 'accept' | 'cancel') =>
    app.inject({ method: 'POST', url: `/api/v1/registrations/${app.services.tokens.derive('manage', registrationId, 0)}/${action}` });
  const cancelFor = (sessionId: string, registrationId: string) => inject('POST', `/api/v1/sessions/${sessionId}/registrations/${registrationId}/cancel`);
  const setupOk = async (what: string, answers: Array<Promise<{ statusCode: number; body: string }>>) => {
    for (const answer of await Promise.all(answers)) {
      if (answer.statusCode >= 300) throw new Error(`${what}: ${answer.statusCode} ${answer.body}`);
    }
  };
  const publicRegistration = (slug: string, email = uniqueEmail('race')) => registerJson(app, slug, { name: 'Race Person', email, consent: true });

  // Session A: first come, first served with offers. 30 seats taken, 40 waiting.
  const first = await offerSession(ctx, headers, { capacity: 30 });
  await setupOk('A registrations', range(70).map(() => publicRegistration(first.slug)));
  // Session B: approval on. 30 seats and 15 waitlist places added by the organizer, 40 requests.
  const second = await offerSession(ctx, headers, { capacity: 30, approval: true });
  await setupOk('B additions', range(30).map(() => inject('POST', `/api/v1/sessions/${second.id}/registrations`, { name: 'Added', email: uniqueEmail('added') })));
  await setupOk('B waitlist', range(15).map(() => inject('POST', `/api/v1/sessions/${second.id}/registrations`, { name: 'Added', email: uniqueEmail('added') })));
  await setupOk('B requests', range(40).map(() => publicRegistration(second.slug)));
  t.same((await sessionFacts(db, second.id)).rows, { confirmed: 30, waitlisted: 15, pending: 40, offered: 0, cancelled: 0, declined: 0, expired: 0 }, 'B: requests wait for approval');

  // Offers made an hour and a minute ago (overdue when the race starts), then fresh ones.
  const confirmedA = await idsWith(db, first.id, 'confirmed');
  const confirmedB = await idsWith(db, second.id, 'confirmed');
  await setupOk('early cancels', [...confirmedA.slice(0, 8).map((id) => cancelFor(first.id, id)), ...confirmedB.slice(0, 6).map((id) => cancelFor(second.id, id))]);
  const overdueA = await idsWith(db, first.id, 'offered');
  const overdueB = await idsWith(db, second.id, 'offered');
  clock.advance(HOUR + 60_000);
  await setupOk('later cancels', [...confirmedA.slice(8, 16).map((id) => cancelFor(first.id, id)), ...confirmedB.slice(6, 12).map((id) => cancelFor(second.id, id))]);
  const freshA = (await idsWith(db, first.id, 'offered')).filter((id) => !overdueA.includes(id));
  const freshB = (await idsWith(db, second.id, 'offered')).filter((id) => !overdueB.includes(id));
  t.same([overdueA.length, freshA.length, overdueB.length, freshB.length], [8, 8, 6, 6], 'overdue and fresh offers on both sessions');
  const before = { A: await sessionFacts(db, first.id), B: await sessionFacts(db, second.id) };
  t.same(before.A.rows, { confirmed: 14, waitlisted: 24, pending: 0, offered: 16, cancelled: 16, declined: 0, expired: 0 }, 'A before the race');
  t.same(before.B.rows, { confirmed: 18, waitlisted: 3, pending: 40, offered: 12, cancelled: 12, declined: 0, expired: 0 }, 'B before the race');

  const stillConfirmedA = confirmedA.slice(16);
  const waitingA = await idsWith(db, first.id, 'waitlisted', sql`waitlist_ticket`);
  const repeatEmails = await emailsOf(db, stillConfirmedA.slice(10));
  const pendingB = await idsWith(db, second.id, 'pending');
  const stillConfirmedB = confirmedB.slice(12);
  const declinedOffersA = freshA.slice(0, 3);

  const attempts: Attempt[] = [
    // Session A
    ...range(60).map((i) => ({ label: `A register ${i}`, run: () => publicRegistration(first.slug) })),
    ...repeatEmails.map((email) => ({ label: `A repeat ${email}`, run: () => publicRegistration(first.slug, email) })),
    ...stillConfirmedA.slice(0, 10).map((id) => ({ label: `A cancel confirmed ${id}`, run: () => cancelFor(first.id, id) })),
    ...waitingA.slice(-5).map((id) => ({ label: `A cancel waiting ${id}`, run: () => manage(id, 'cancel') })),
    ...freshA.map((id) => ({ label: `A accept fresh ${id}`, run: () => manage(id, 'accept') })),
    ...declinedOffersA.map((id) => ({ label: `A decline offer ${id}`, run: () => manage(id, 'cancel') })),
    ...overdueA.map((id) => ({ label: `A accept overdue ${id}`, run: () => manage(id, 'accept') })),
    ...overdueA.map((id) => ({ label: `A expire ${id}`, run: () => app.services.registrations.expireOffer(id) })),
    { label: 'A capacity 38', run: () => inject('PATCH', `/api/v1/sessions/${first.id}`, { capacity: 38 }) },
    { label: 'A capacity 34', run: () => inject('PATCH', `/api/v1/sessions/${first.id}`, { capacity: 34 }) },
    // Session B
    ...range(20).map((i) => ({ label: `B request ${i}`, run: () => publicRegistration(second.slug) })),
    ...[pendingB.slice(0, 15), pendingB.slice(10, 25), pendingB.slice(20, 35)].map((ids, i) => ({
      label: `B approve bulk ${i}`,
      run: () => inject('POST', `/api/v1/sessions/${second.id}/registrations/approve`, { ids }),
    })),
    ...pendingB.slice(30, 40).map((id) => ({ label: `B approve ${id}`, run: () => inject('POST', `/api/v1/sessions/${second.id}/registrations/${id}/approve`) })),
    ...pendingB.slice(35, 38).map((id) => ({
      label: `B decline ${id}`,
      run: () => inject('POST', `/api/v1/sessions/${second.id}/registrations/${id}/decline`, { reason: 'Race' }),
    })),
    ...stillConfirmedB.slice(0, 6).map((id) => ({ label: `B cancel confirmed ${id}`, run: () => cancelFor(second.id, id) })),
    ...freshB.map((id) => ({ label: `B accept fresh ${id}`, run: () => manage(id, 'accept') })),
    ...overdueB.map((id) => ({ label: `B accept overdue ${id}`, run: () => manage(id, 'accept') })),
    ...overdueB.map((id) => ({ label: `B expire ${id}`, run: () => app.services.registrations.expireOffer(id) })),
    { label: 'B capacity 36', run: () => inject('PATCH', `/api/v1/sessions/${second.id}`, { capacity: 36 }) },
    // Both: the worker's sweep, as if Redis had lost the timers.
    ...range(3).map((i) => ({ label: `sweep ${i}`, run: () => app.services.registrations.sweepExpiredOffers() })),
  ];
  // Interleaved, so no kind of attempt gets a head start in the queue for connections.
  const shuffled = attempts.map((attempt) => ({ attempt, key: Math.random() })).sort((a, b) => a.key - b.key).map(({ attempt }) => attempt);
  const outcomes = await Promise.all(shuffled.map(settle));
  const statusOf = (prefix: string) => outcomes.filter((outcome) => outcome.label.startsWith(prefix)).map((outcome) => outcome.status);

  t.same(outcomes.filter((outcome) => outcome.status >= 500), [], 'no attempt failed with a 5xx');
  t.same(outcomes.filter((outcome) => ![200, 202, 409].includes(outcome.status)), [], 'every answer is 200, 202 or 409');
  t.same([...new Set([...statusOf('A register'), ...statusOf('A repeat')])], [202], 'every registration, new or repeated, answers 202');
  t.same([...new Set(statusOf('A accept overdue'))], [409], 'an overdue offer cannot be accepted');
  t.same([...new Set(statusOf('B accept overdue'))], [409], 'an overdue offer cannot be accepted (B)');
  t.same([...new Set(statusOf('B accept fresh'))], [200], 'every fresh offer is accepted');
  const acceptedA = freshA.filter((id) => outcomes.find((outcome) => outcome.label === `A accept fresh ${id}`)?.status === 200);
  t.same(freshA.filter((id) => !declinedOffersA.includes(id) && !acceptedA.includes(id)), [], 'every fresh offer nobody declined is accepted');

  const now = clock.now();
  const A = await assertHonest(t, db, first, now, 'A');
  const B = await assertHonest(t, db, second, now, 'B');

  // A: 54 active before; 8 expired, 10 + 5 + 3 cancelled, 60 new (the repeats add nobody).
  t.equal(A.rows.confirmed + A.rows.waitlisted + A.rows.offered, 54 - 8 - 18 + 60, 'A: everyone is still accounted for');
  t.equal(A.rows.cancelled, 16 + 18, 'A: every cancellation counted once');
  t.equal(A.rows.expired, 8, 'A: every overdue offer expired');
  t.ok([34, 38].includes(A.capacity), `A: the capacity is one of the two asked for (${A.capacity})`);
  const overdueNow = await db.execute<{ status: string; n: number }>(sql`
    SELECT status::text, count(*)::int AS n FROM registrations WHERE id IN ${[...overdueA, ...overdueB]} GROUP BY status`);
  t.same(overdueNow.rows, [{ status: 'expired', n: 14 }], 'every overdue offer ended as expired, none accepted');
  const freshNow = await db.execute<{ id: string; status: string }>(sql`
    SELECT id, status::text FROM registrations WHERE id IN ${[...freshA, ...freshB]} AND status NOT IN ('confirmed', 'cancelled')`);
  t.same(freshNow.rows, [], 'every fresh offer was accepted or declined');

  // B: each of the 40 requests moved exactly once (approved in one of the overlapping calls, or declined).
  t.same(statusOf('B approve bulk'), [200, 200, 200], 'every bulk approval answers 200 with its outcomes');
  const approvalsAudited = await db.execute<{ subject_id: string; n: number }>(sql`
    SELECT subject_id, count(*)::int AS n FROM audit_log WHERE action = 'registration.approve' AND subject_id IN ${pendingB} GROUP BY subject_id`);
  const declined = await idsWith(db, second.id, 'declined');
  const approvedOnce = approvalsAudited.rows.filter((row) => row.n === 1).map((row) => row.subject_id);
  t.same(approvalsAudited.rows.filter((row) => row.n !== 1), [], 'no request was approved twice');
  t.same([...approvedOnce, ...declined].sort(), [...pendingB].sort(), 'each request was approved or declined, exactly once');
  t.same(declined.filter((id) => !pendingB.slice(35, 38).includes(id)), [], 'only the requests asked to be declined were declined');
  t.equal(statusOf('B decline').filter((status) => status === 200).length, declined.length, 'a 200 for each decline, a 409 for the others');
  t.equal(B.rows.pending, 20, 'B: the new requests wait for approval');
  t.equal(B.rows.expired, 6, 'B: every overdue offer expired');
  t.equal(B.rows.cancelled, 12 + 6, 'B: every cancellation counted once');
  t.equal(B.capacity, 36);
  t.equal(B.rows.confirmed + B.rows.waitlisted + B.rows.offered + B.rows.pending, 73 - 6 - 6 + 20 - declined.length, 'B: everyone is still accounted for');

  // Every open offer has its timer in Redis (the sweep covers a lost one, but none was lost here).
  const redis = createRedis(ctx.config.redisUrl, 'producer');
  const queue = new Queue(QUEUES.offerExpiry, { connection: redis, prefix: ctx.config.queuePrefix });
  t.teardown(async () => {
    await queue.close();
    redis.disconnect();
  });
  const open = [...(await idsWith(db, first.id, 'offered')), ...(await idsWith(db, second.id, 'offered'))];
  const jobStates = () => Promise.all(open.map(async (id) => (await queue.getJob(offerExpiryJobId(id)))?.getState() ?? 'missing'));
  // A change answers after at most 2 s of waiting for Redis, so a timer may land a moment later.
  const states: string[] = await waitFor(async () => {
    const found = await jobStates();
    return found.every((state) => state === 'delayed') ? found : null;
  }, 5_000, 'the expiry jobs').catch(() => jobStates());
  t.ok(open.length > 0, `${open.length} offers are open after the race`);
  t.same([...new Set(states)], ['delayed'], `each of the ${open.length} open offers has a delayed expiry job`);
});

t.test('control: a seat statement that forgets the offered seats sells them again', async (t) => {
  const clock = manualClock();
  const ctx = await raceApp(t, clock);
  const { db } = ctx.database;
  const { headers } = await signIn(ctx.app);
  const now = clock.now();

  /** 10 seats, 5 held by offers to everyone who was waiting: waitlisted_count is 0. */
  const heldSession = async () => {
    const session = await offerSession(ctx, headers, { capacity: 10 });
    for (const _ of range(15)) {
      const answer = await registerJson(ctx.app, session.slug, { name: 'Control', email: uniqueEmail('control'), consent: true });
      if (answer.statusCode !== 202) throw new Error(`register: ${answer.statusCode} ${answer.body}`);
    }
    for (const id of (await idsWith(db, session.id, 'confirmed')).slice(0, 5)) {
      const answer = await ctx.app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${id}/cancel`, headers });
      if (answer.statusCode !== 200) throw new Error(`cancel: ${answer.statusCode} ${answer.body}`);
    }
    const facts = await sessionFacts(db, session.id);
    t.same([facts.rows.confirmed, facts.rows.offered, facts.rows.waitlisted], [5, 5, 0], 'five confirmed, five offered, nobody waiting');
    return session;
  };

  const run = randomUUID().slice(0, 8);
  const racers = (sessionId: string, seatIsFree?: SQL) =>
    Promise.all(
      range(40).map((i) => {
        const registrationId = randomUUID();
        const request = {
          registrationId,
          sessionId,
          email: `control-${i}-${run}-${sessionId.slice(0, 8)}@example.org`,
          name: 'Control',
          organization: null,
          jobTitle: null,
          answers: {},
          consentVersion: 'test',
          source: 'public' as const,
          force: false,
          addedBy: null,
          manageTokenHash: `m-${registrationId}`,
          joinTokenHash: `j-${registrationId}`,
          now,
          manageLinkResend: null,
        };
        return db.execute(seatIsFree ? takeSeatStatement(request, seatIsFree) : takeSeatStatement(request));
      }),
    );

  const unguarded = await heldSession();
  await racers(unguarded.id, sql`(s.capacity IS NULL OR s.confirmed_count < s.capacity) AND s.waitlisted_count = 0`);
  const oversold = await sessionFacts(db, unguarded.id);
  t.ok(
    oversold.rows.confirmed + oversold.rows.offered > oversold.capacity,
    `without the offered seats in the guard, confirmed ${oversold.rows.confirmed} + offered ${oversold.rows.offered} exceed ${oversold.capacity}`,
  );

  const guarded = await heldSession();
  await racers(guarded.id);
  const held = await assertHonest(t, db, guarded, now, 'guarded');
  t.same([held.rows.confirmed, held.rows.offered, held.rows.waitlisted], [5, 5, 40], 'with the guard the 40 newcomers wait behind the offers');
});
