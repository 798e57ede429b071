import { sql } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import pg from 'pg';
import t from 'tap';
import { availabilityOf, placeAfter, SEAT_IS_FREE, WAITLIST_HAS_ROOM } from '../../src/services/availability.js';
import { withDefaultUser } from '../../db/client.js';
import { TEST_DATABASE_URL } from '../helpers/app.js';

// The seat statement's guard and availabilityOf are one rule in two forms: over a grid of
// settings and counters, Postgres and TypeScript must give the same answers.
const pool = new pg.Pool({ connectionString: withDefaultUser(TEST_DATABASE_URL), max: 1 });
t.teardown(() => pool.end());
const dialect = new PgDialect();
const now = new Date('2026-12-01T12:00:00.000Z');

t.test('SEAT_IS_FREE and WAITLIST_HAS_ROOM agree with availabilityOf', async (t) => {
  const cases: { capacity: number | null; waitlistEnabled: boolean; waitlistLimit: number | null; confirmed: number; waitlisted: number; offered: number }[] = [];
  for (const capacity of [null, 0, 1, 2])
    for (const waitlistEnabled of [false, true])
      for (const waitlistLimit of [null, 0, 1])
        for (const confirmed of [0, 1, 2, 3])
          for (const waitlisted of [0, 1, 2])
            for (const offered of [0, 1]) cases.push({ capacity, waitlistEnabled, waitlistLimit, confirmed, waitlisted, offered });

  const rows = sql.join(
    cases.map((c) => sql`(${c.capacity}::int, ${c.waitlistEnabled}::boolean, ${c.waitlistLimit}::int, ${c.confirmed}::int, ${c.waitlisted}::int, ${c.offered}::int)`),
    sql`, `,
  );
  const query = dialect.sqlToQuery(sql`
    SELECT (${SEAT_IS_FREE}) AS seat_free, (${WAITLIST_HAS_ROOM}) AS waitlist_open
    FROM (VALUES ${rows}) AS s(capacity, waitlist_enabled, waitlist_limit, confirmed_count, waitlisted_count, offered_count)`);
  const { rows: answers } = await pool.query<{ seat_free: boolean; waitlist_open: boolean }>(query.sql, query.params);

  let disagreements = 0;
  cases.forEach((c, index) => {
    const availability = availabilityOf(
      { status: 'published', endsAt: new Date(now.getTime() + 86_400_000), registrationOpensAt: null, registrationClosesAt: null, ...c },
      { confirmedCount: c.confirmed, waitlistedCount: c.waitlisted, offeredCount: c.offered },
      now,
    );
    const inSql = answers[index]!;
    const seatFree = availability.reason === 'open';
    if (seatFree !== inSql.seat_free || availability.waitlistOpen !== inSql.waitlist_open) {
      disagreements += 1;
      t.fail(`disagree on ${JSON.stringify(c)}: sql ${JSON.stringify(inSql)}, availability ${availability.reason}/${availability.waitlistOpen}`);
    }
  });
  t.equal(disagreements, 0, `${cases.length} cases, one answer`);
});

t.test('placeAfter: the k-th newcomer of a group gets what it would get after k - 1 registered one by one', async (t) => {
  const cases: { capacity: number | null; waitlistEnabled: boolean; waitlistLimit: number | null; confirmed: number; waitlisted: number; offered: number; ahead: number }[] = [];
  for (const capacity of [null, 0, 1, 3])
    for (const waitlistEnabled of [false, true])
      for (const waitlistLimit of [null, 0, 2])
        for (const confirmed of [0, 1, 3])
          for (const waitlisted of [0, 1])
            for (const offered of [0, 1])
              for (const ahead of [0, 1, 2, 4, 7]) cases.push({ capacity, waitlistEnabled, waitlistLimit, confirmed, waitlisted, offered, ahead });

  const rows = sql.join(
    cases.map(
      (c) =>
        sql`(${c.capacity}::int, ${c.waitlistEnabled}::boolean, ${c.waitlistLimit}::int, ${c.confirmed}::int, ${c.waitlisted}::int, ${c.offered}::int, ${c.ahead}::int)`,
    ),
    sql`, `,
  );
  const query = dialect.sqlToQuery(sql`
    SELECT ${placeAfter(sql`s.ahead`)} AS place
    FROM (VALUES ${rows}) AS s(capacity, waitlist_enabled, waitlist_limit, confirmed_count, waitlisted_count, offered_count, ahead)`);
  const { rows: answers } = await pool.query<{ place: string }>(query.sql, query.params);

  let disagreements = 0;
  cases.forEach((c, index) => {
    const rules = { status: 'published' as const, endsAt: new Date(now.getTime() + 86_400_000), registrationOpensAt: null, registrationClosesAt: null, ...c };
    const counts = { confirmedCount: c.confirmed, waitlistedCount: c.waitlisted, offeredCount: c.offered };
    const placeOf = () => {
      const { reason } = availabilityOf(rules, counts, now);
      return reason === 'open' ? 'confirmed' : reason === 'waitlist' ? 'waitlisted' : 'none';
    };
    for (let registered = 0; registered < c.ahead; registered += 1) {
      const place = placeOf();
      if (place === 'confirmed') counts.confirmedCount += 1;
      if (place === 'waitlisted') counts.waitlistedCount += 1;
    }
    const expected = placeOf();
    if (answers[index]!.place !== expected) {
      disagreements += 1;
      t.fail(`disagree on ${JSON.stringify(c)}: sql ${answers[index]!.place}, one by one ${expected}`);
    }
  });
  t.equal(disagreements, 0, `${cases.length} cases, one answer`);
});
