import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import t from 'tap';
import type { Database } from '../../db/client.js';
import { takeSeatStatement } from '../../src/services/capacity.js';
import { buildTestApp, sessionBody, signIn, uniqueEmail, type TestContext } from '../helpers/app.js';

async function publishedSession(ctx: TestContext, overrides: Record<string, unknown>) {
  const { headers } = await signIn(ctx.app);
  const created = await ctx.app.inject({ method: 'POST', url: '/api/v1/sessions', headers, payload: sessionBody(overrides) });
  if (created.statusCode !== 201) throw new Error(`create failed: ${created.body}`);
  const session = created.json() as { id: string; slug: string };
  const published = await ctx.app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/publish`, headers });
  if (published.statusCode !== 200) throw new Error(`publish failed: ${published.body}`);
  return { ...session, headers };
}

function register(ctx: TestContext, slug: string, email = uniqueEmail(), name = 'Concurrent Person') {
  return ctx.app.inject({
    method: 'POST',
    url: `/api/v1/public/sessions/${slug}/registrations`,
    payload: { name, email, consent: true },
  });
}

interface Tally {
  confirmed: number;
  waitlisted: number;
  cancelled: number;
  counterConfirmed: number;
  counterWaitlisted: number;
  counterCancelled: number;
  capacity: number | null;
  positions: number[];
  notifications: number;
}

/** The session's counters beside a real count of its rows, and the waitlist positions derived from tickets. */
async function tally(db: Database, sessionId: string): Promise<Tally> {
  const { rows } = await db.execute<{
    confirmed: number;
    waitlisted: number;
    cancelled: number;
    counter_confirmed: number;
    counter_waitlisted: number;
    counter_cancelled: number;
    capacity: number | null;
    notifications: number;
  }>(sql`
    SELECT
      (SELECT count(*)::int FROM registrations WHERE session_id = s.id AND status = 'confirmed') AS confirmed,
      (SELECT count(*)::int FROM registrations WHERE session_id = s.id AND status = 'waitlisted') AS waitlisted,
      (SELECT count(*)::int FROM registrations WHERE session_id = s.id AND status = 'cancelled') AS cancelled,
      s.confirmed_count AS counter_confirmed, s.waitlisted_count AS counter_waitlisted, s.cancelled_count AS counter_cancelled,
      s.capacity,
      (SELECT count(*)::int FROM notifications WHERE session_id = s.id) AS notifications
    FROM sessions s WHERE s.id = ${sessionId}`);
  const row = rows[0]!;
  const positions = await db.execute<{ position: number }>(sql`
    SELECT row_number() OVER (ORDER BY waitlist_ticket)::int AS position
    FROM registrations WHERE session_id = ${sessionId} AND status = 'waitlisted'`);
  return {
    confirmed: row.confirmed,
    waitlisted: row.waitlisted,
    cancelled: row.cancelled,
    counterConfirmed: row.counter_confirmed,
    counterWaitlisted: row.counter_waitlisted,
    counterCancelled: row.counter_cancelled,
    capacity: row.capacity,
    positions: positions.rows.map((r) => r.position),
    notifications: row.notifications,
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

t.test('500 concurrent registrations for 50 seats', async (t) => {
  const ctx = await buildTestApp(t, { poolSize: 40 });
  const session = await publishedSession(ctx, { capacity: 50, waitlist: { enabled: true, limit: null } });
  const answers = await Promise.all(range(500).map(() => register(ctx, session.slug)));

  t.same([...new Set(answers.map((answer) => answer.statusCode))], [202], 'every request answered 202');
  t.equal(new Set(answers.map((answer) => answer.body)).size, 1, 'every answer is the same bytes, seat or waitlist');

  const counts = await tally(ctx.database.db, session.id);
  t.equal(counts.confirmed, 50);
  t.equal(counts.waitlisted, 450);
  t.equal(counts.counterConfirmed, counts.confirmed, 'confirmed counter equals the rows');
  t.equal(counts.counterWaitlisted, counts.waitlisted, 'waitlisted counter equals the rows');
  t.equal(counts.notifications, 500, 'one outbox row per registration');
  const tickets = await ctx.database.db.execute<{ n: number; distinct_tickets: number; min: number; max: number }>(sql`
    SELECT count(*)::int AS n, count(DISTINCT waitlist_ticket)::int AS distinct_tickets, min(waitlist_ticket)::int AS min, max(waitlist_ticket)::int AS max
    FROM registrations WHERE session_id = ${session.id} AND status = 'waitlisted'`);
  t.same(tickets.rows[0], { n: 450, distinct_tickets: 450, min: 1, max: 450 }, 'waitlist tickets have no gaps');
});

t.test('registeredAt follows the lock order: confirmed first, then the waitlist in ticket order', async (t) => {
  const ctx = await buildTestApp(t, { poolSize: 40 });
  const session = await publishedSession(ctx, { capacity: 5, waitlist: { enabled: true, limit: null } });
  const answers = await Promise.all(range(500).map(() => register(ctx, session.slug)));
  t.same([...new Set(answers.map((answer) => answer.statusCode))], [202]);

  // Seats first (nobody overtakes the waitlist), then the waiting people by ticket. Microseconds
  // as text: a JavaScript Date would round them away.
  const { rows } = await ctx.database.db.execute<{ status: string; ticket: number | null; at: string; confirmed_at: string | null }>(sql`
    SELECT status::text, waitlist_ticket::int AS ticket,
      to_char(registered_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS at,
      to_char(confirmed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS confirmed_at
    FROM registrations WHERE session_id = ${session.id}
    ORDER BY status = 'waitlisted', waitlist_ticket, registered_at`);
  t.equal(rows.filter((row) => row.status === 'confirmed').length, 5);
  t.same(rows.filter((row) => row.status === 'waitlisted').map((row) => row.ticket), range(495), 'tickets 1..495');
  const backwards = rows.slice(1).filter((row, i) => !(row.at > rows[i]!.at));
  t.same(backwards, [], 'each registeredAt is strictly later than the one before it in line');
  t.same(
    rows.filter((row) => row.status === 'confirmed' && row.confirmed_at !== row.at),
    [],
    'a seat taken at registration is confirmed at the same instant',
  );
});

t.test('control: the same statement without its guard oversells', async (t) => {
  const ctx = await buildTestApp(t, { poolSize: 40 });
  const session = await publishedSession(ctx, { capacity: 50 });
  const { db } = ctx.database;
  const run = randomUUID();
  const emails = range(300).map((i) => `race-${i}-${run}@example.org`);

  // Check in one round trip, write in another: the design the guard exists to prevent.
  const checkThenWrite = async (email: string) => {
    const { rows } = await db.execute<{ free: boolean }>(sql`
      SELECT (capacity IS NULL OR confirmed_count < capacity) AS free FROM sessions WHERE id = ${session.id}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const registrationId = randomUUID();
    await db.execute(
      takeSeatStatement(
        {
          registrationId,
          sessionId: session.id,
          email,
          name: 'Race',
          organization: null,
          jobTitle: null,
          answers: {},
          consentVersion: 'test',
          source: 'public',
          force: false,
          addedBy: null,
          manageTokenHash: `m-${registrationId}`,
          joinTokenHash: `j-${registrationId}`,
          now: new Date(),
          manageLinkResend: null,
        },
        sql`${rows[0]!.free}::boolean`,
      ),
    );
  };
  await Promise.all(emails.map((email) => checkThenWrite(email)));
  const counts = await tally(db, session.id);
  t.ok(counts.confirmed > 50, `without the guard ${counts.confirmed} people got 50 seats`);
});

t.test('concurrent cancellations and registrations keep capacity and the waitlist honest', async (t) => {
  const ctx = await buildTestApp(t, { poolSize: 30 });
  const session = await publishedSession(ctx, { capacity: 20 });
  const first = await Promise.all(range(40).map(() => register(ctx, session.slug)));
  t.same([...new Set(first.map((answer) => answer.statusCode))], [202]);
  const { rows: existing } = await ctx.database.db.execute<{ id: string }>(sql`
    SELECT id FROM registrations WHERE session_id = ${session.id} ORDER BY random() LIMIT 15`);

  const cancels = existing.map((row) =>
    ctx.app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${row.id}/cancel`, headers: session.headers }),
  );
  const registrationsDuring = range(30).map(() => register(ctx, session.slug));
  const answers = await Promise.all([...cancels, ...registrationsDuring]);
  t.same([...new Set(answers.map((answer) => answer.statusCode))].sort(), [200, 202]);

  const counts = await tally(ctx.database.db, session.id);
  t.ok(counts.confirmed <= 20, `confirmed ${counts.confirmed} never above capacity`);
  if (counts.waitlisted > 0) t.equal(counts.confirmed, 20, 'no seat stays free while someone waits');
  t.equal(counts.cancelled, 15);
  t.equal(counts.confirmed + counts.waitlisted, 40 - 15 + 30);
  t.same(counts.positions, range(counts.waitlisted), 'waitlist positions close up');
  t.equal(counts.counterConfirmed, counts.confirmed);
  t.equal(counts.counterWaitlisted, counts.waitlisted);
  t.equal(counts.counterCancelled, counts.cancelled);
});

t.test('the same person twice at once, in different spellings, has one registration', async (t) => {
  const ctx = await buildTestApp(t);
  const session = await publishedSession(ctx, { capacity: 10 });
  const local = `jos\u00e9-${randomUUID().slice(0, 8)}`;
  const spellings = [
    `${local}@exämple.org`,
    `  ${local.toUpperCase()}@EXÄMPLE.ORG `,
    `${local.normalize('NFD')}@xn--exmple-cua.org`,
    `${local}@XN--EXMPLE-CUA.org`,
  ];
  const answers = await Promise.all(spellings.map((email) => register(ctx, session.slug, email, 'José')));
  t.same([...new Set(answers.map((answer) => answer.statusCode))], [202]);
  const bodies = answers.map((answer) => answer.json());
  for (const body of bodies.slice(1)) t.same(body, bodies[0], 'every answer is identical');
  const { rows } = await ctx.database.db.execute<{ n: number }>(sql`
    SELECT count(*)::int AS n FROM registrations WHERE session_id = ${session.id} AND status <> 'cancelled'`);
  t.equal(rows[0]!.n, 1, 'one active registration');
  const attendee = await ctx.database.db.execute<{ email: string }>(sql`
    SELECT a.email FROM attendees a JOIN registrations r ON r.attendee_id = a.id WHERE r.session_id = ${session.id}`);
  t.equal(attendee.rows[0]!.email, `${local}@xn--exmple-cua.org`, 'stored in normal form');
});
