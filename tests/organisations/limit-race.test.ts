import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import t from 'tap';
import type { Database } from '../../db/client.js';
import { lockSession, takeSeatStatement, type SeatRequest } from '../../src/services/capacity.js';
import { buildTestApp, signIn, uniqueSuffix, type TestContext } from '../helpers/app.js';
import { createSession, registerJson, type SessionJson } from '../helpers/registrations.js';

/**
 * The per-organisation limit of a members-only session under concurrent registrations, as
 * tests/services/capacity.test.ts does for capacity: the burst through the real path holds the
 * limit exactly, and the control shows the same count-then-insert without the session lock
 * letting more in, so what holds the limit is the lock (capacity.ts, takeSeatWithinLimit).
 * Organisations and domains are this file's own (the test database is shared).
 */

const LIMIT = 3;
const BURST = 40;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const ctx = await buildTestApp(t, { poolSize: 40 });
const { app } = ctx;
const { db } = ctx.database;
const owner = await signIn(app);

async function memberOrganisation(label: string) {
  const domain = `${label}-${uniqueSuffix()}.test`;
  const organisation = await app.services.organisations.create({ name: `Race ${label} ${uniqueSuffix()}`, domains: [domain] }, null);
  return { id: organisation.id, at: (i: number) => `${label}-${i}-${uniqueSuffix()}@${domain}` };
}

function membersSession(c: TestContext, overrides: Record<string, unknown> = {}): Promise<SessionJson> {
  return createSession(c.app, owner.headers, { audience: { kind: 'members', perOrganisationLimit: LIMIT }, capacity: 1000, ...overrides });
}

/** Active registrations of a session per organisation, from the rows. */
async function activeByOrganisation(database: Database, sessionId: string): Promise<Map<string, number>> {
  const { rows } = await database.execute<{ organisation_id: string; n: number }>(sql`
    SELECT organisation_id, count(*)::int AS n FROM registrations
    WHERE session_id = ${sessionId} AND status IN ('confirmed', 'waitlisted', 'pending', 'offered')
    GROUP BY organisation_id`);
  return new Map(rows.map((row) => [row.organisation_id, row.n]));
}

/** The session's counters beside a count of its rows: the limit's early exit must leave them alone. */
async function countersAndRows(database: Database, sessionId: string) {
  const { rows } = await database.execute<{ confirmed_count: number; waitlisted_count: number; confirmed: number; waitlisted: number }>(sql`
    SELECT s.confirmed_count, s.waitlisted_count,
      (SELECT count(*)::int FROM registrations WHERE session_id = s.id AND status = 'confirmed') AS confirmed,
      (SELECT count(*)::int FROM registrations WHERE session_id = s.id AND status = 'waitlisted') AS waitlisted
    FROM sessions s WHERE s.id = ${sessionId}`);
  return rows[0]!;
}

t.test(`${BURST} concurrent registrations of one organisation: exactly ${LIMIT} get in, the rest 409, others unaffected`, async (t) => {
  const crowded = await memberOrganisation('crowded');
  const calm = await memberOrganisation('calm');
  const quiet = await memberOrganisation('quiet');
  const session = await membersSession(ctx);

  const attempts = [
    ...range(BURST).map((i) => ({ who: 'crowded', email: crowded.at(i) })),
    ...range(LIMIT).map((i) => ({ who: 'calm', email: calm.at(i) })),
    ...range(LIMIT).map((i) => ({ who: 'quiet', email: quiet.at(i) })),
  ];
  // Interleaved, so no organisation gets a head start in the queue for connections.
  const shuffled = attempts.map((attempt) => ({ attempt, key: Math.random() })).sort((a, b) => a.key - b.key).map(({ attempt }) => attempt);
  const answers = await Promise.all(
    shuffled.map(async ({ who, email }) => ({ who, answer: await registerJson(app, session.slug, { name: 'Race Person', email, consent: true }) })),
  );
  const statuses = (who: string) => answers.filter((a) => a.who === who).map((a) => a.answer.statusCode).sort();

  t.same(answers.filter((a) => a.answer.statusCode >= 500).map((a) => a.answer.body), [], 'no 5xx');
  t.same(statuses('crowded'), [...range(LIMIT).map(() => 202), ...range(BURST - LIMIT).map(() => 409)], `${LIMIT} accepted, ${BURST - LIMIT} refused`);
  const refusals = new Set(answers.filter((a) => a.answer.statusCode === 409).map((a) => a.answer.body));
  t.equal(refusals.size, 1, `every refusal is the same bytes: ${[...refusals][0]}`);
  t.same(statuses('calm'), range(LIMIT).map(() => 202), 'another organisation gets all its places');
  t.same(statuses('quiet'), range(LIMIT).map(() => 202), 'and a third');

  const active = await activeByOrganisation(db, session.id);
  t.equal(active.get(crowded.id), LIMIT, `exactly ${LIMIT} active registrations of the crowded organisation`);
  t.equal(active.get(calm.id), LIMIT);
  t.equal(active.get(quiet.id), LIMIT);
  const counters = await countersAndRows(db, session.id);
  t.equal(counters.confirmed_count, counters.confirmed, 'the confirmed counter equals the rows');
  t.equal(counters.confirmed, 3 * LIMIT);

  // The burst again, now that the organisation is at its limit: nobody more, whether registered or not.
  const registeredAlready = await db.execute<{ email: string }>(sql`
    SELECT a.email FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE r.session_id = ${session.id} AND r.organisation_id = ${crowded.id}`);
  const again = await Promise.all([
    ...registeredAlready.rows.map((row) => registerJson(app, session.slug, { name: 'Race Person', email: row.email, consent: true })),
    ...range(10).map((i) => registerJson(app, session.slug, { name: 'Race Person', email: crowded.at(100 + i), consent: true })),
  ]);
  t.same([...new Set(again.map((answer) => answer.statusCode))], [409], 'every later attempt of the organisation is refused');
  t.equal(new Set(again.map((answer) => answer.body)).size, 1, 'alike for the registered and the new');
  t.equal((await activeByOrganisation(db, session.id)).get(crowded.id), LIMIT);
});

t.test('the limit holds where seats run out: a waitlist place counts, under the same burst', async (t) => {
  const crowded = await memberOrganisation('queue');
  const session = await membersSession(ctx, { capacity: 2, waitlist: { enabled: true, limit: null } });
  const answers = await Promise.all(range(BURST).map((i) => registerJson(app, session.slug, { name: 'Race Person', email: crowded.at(i), consent: true })));
  t.same(answers.map((answer) => answer.statusCode).sort(), [...range(LIMIT).map(() => 202), ...range(BURST - LIMIT).map(() => 409)]);
  const counters = await countersAndRows(db, session.id);
  t.same(
    { confirmed: counters.confirmed, waitlisted: counters.waitlisted },
    { confirmed: 2, waitlisted: LIMIT - 2 },
    'two seats and one waitlist place: three of the organisation in all',
  );
  t.equal(counters.confirmed_count, counters.confirmed);
  t.equal(counters.waitlisted_count, counters.waitlisted);
});

t.test('control: the same count then seat without the session lock lets more than the limit in', async (t) => {
  const run = randomUUID().slice(0, 8);

  /**
   * takeSeatWithinLimit's steps, with a pause between the count and the seat (the window a busy
   * server has anyway) and the session lock optional: the lock is the only difference.
   */
  const countThenSeat = (sessionId: string, organisationId: string, i: number, locked: boolean) =>
    db.transaction(async (tx) => {
      if (locked) await lockSession(tx, sessionId);
      const counted = await tx.execute<{ n: number }>(sql`
        SELECT count(*)::int AS n FROM registrations
        WHERE organisation_id = ${organisationId}::uuid AND session_id = ${sessionId}::uuid AND status IN ('confirmed', 'waitlisted', 'pending', 'offered')`);
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (counted.rows[0]!.n >= LIMIT) return;
      const registrationId = randomUUID();
      const request: SeatRequest = {
        registrationId,
        sessionId,
        email: `control-${i}-${run}-${sessionId.slice(0, 8)}@control-${run}.test`,
        name: 'Control',
        organization: null,
        jobTitle: null,
        answers: {},
        consentVersion: 'test',
        source: 'public',
        force: false,
        addedBy: null,
        organisationId,
        manageTokenHash: `m-${registrationId}`,
        joinTokenHash: `j-${registrationId}`,
        now: new Date(),
        manageLinkResend: null,
      };
      await tx.execute(takeSeatStatement(request));
    });

  const organisation = await memberOrganisation('control');
  const unlocked = await membersSession(ctx);
  await Promise.all(range(BURST).map((i) => countThenSeat(unlocked.id, organisation.id, i, false)));
  const overrun = (await activeByOrganisation(db, unlocked.id)).get(organisation.id) ?? 0;
  t.ok(overrun > LIMIT, `without the lock ${overrun} people of one organisation got ${LIMIT} places`);

  const locked = await membersSession(ctx);
  await Promise.all(range(BURST).map((i) => countThenSeat(locked.id, organisation.id, i, true)));
  t.equal((await activeByOrganisation(db, locked.id)).get(organisation.id), LIMIT, `with the lock, the same steps and pause admit exactly ${LIMIT}`);
});
