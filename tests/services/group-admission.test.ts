import type { LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { withDefaultUser } from '../../db/client.js';
import { buildTestApp, signIn, TEST_DATABASE_URL, TEST_REDIS_URL, uniqueEmail, uniqueSuffix, type TestContext } from '../helpers/app.js';
import { spawnServerProcess } from '../helpers/processes.js';
import { assertCounters, createSession, notificationRows, registerJson, registrationRows } from '../helpers/registrations.js';
import { waitFor } from '../helpers/waiting.js';

/**
 * Group admission (issue #23): the registrations of one session that arrive while a claim runs
 * are admitted together by the next one. To build a group on purpose a test holds the session's
 * row lock from a connection of its own: the first request (alone, the one-statement path) waits
 * for it in Postgres, every request after it waits in the process for the next claim, and the
 * test lets go once they are all queued.
 */
async function holdSessionLock(ctx: TestContext, sessionId: string) {
  const client = await ctx.database.pool.connect();
  await client.query('BEGIN');
  await client.query('SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE', [sessionId]);
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const pid = rows[0]!.pid;
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    await client.query('COMMIT');
    client.release();
  };
  return {
    release,
    /** Waits until a connection of the app waits for this lock. */
    async blocking(): Promise<void> {
      await waitFor(async () => {
        const { rows: waiting } = await ctx.database.pool.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))',
          [pid],
        );
        return waiting[0]!.n > 0;
      }, 20_000, 'a registration waiting for the held lock');
    },
  };
}

/**
 * Sends `first` alone and waits until it waits for the held lock; then sends the group one by
 * one, each once the one before is queued for the next claim (or answered: a request refused
 * before it queues), so the queue's order is the order sent; lets go, and returns the answers.
 */
async function admitAsGroup(
  ctx: TestContext,
  session: { id: string; slug: string },
  first: Record<string, unknown>,
  group: Record<string, unknown>[],
): Promise<{ first: LightMyRequestResponse; group: LightMyRequestResponse[] }> {
  const lock = await holdSessionLock(ctx, session.id);
  try {
    const firstAnswer = registerJson(ctx.app, session.slug, first);
    await lock.blocking();
    const groupAnswers: Promise<LightMyRequestResponse>[] = [];
    let queued = 0;
    for (const payload of group) {
      let answered = false;
      const answer = registerJson(ctx.app, session.slug, payload).finally(() => {
        answered = true;
      });
      groupAnswers.push(answer);
      await waitFor(() => answered || ctx.app.services.registrations.admissionWaiting(session.id) === queued + 1, 20_000, 'the request queued');
      if (!answered) queued += 1;
    }
    await lock.release();
    return { first: await firstAnswer, group: await Promise.all(groupAnswers) };
  } finally {
    await lock.release();
  }
}

const person = (email: string, extra: Record<string, unknown> = {}) => ({ name: 'Group Person', email, consent: true, ...extra });

/** A trigger on registrations that raises `errcode` for a new row with this name: a fault only the database sees. */
async function failingName(t: Test, ctx: TestContext, errcode: string): Promise<string> {
  const suffix = uniqueSuffix();
  const name = `Fails ${suffix}`;
  const fn = `convene_test_fail_${suffix}`;
  await ctx.database.pool.query(`
    CREATE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'refused by the test' USING ERRCODE = '${errcode}'; END $$`);
  await ctx.database.pool.query(
    `CREATE TRIGGER ${fn} BEFORE INSERT ON registrations FOR EACH ROW WHEN (NEW.name = '${name}') EXECUTE FUNCTION ${fn}()`,
  );
  t.teardown(async () => {
    await ctx.database.pool.query(`DROP TRIGGER IF EXISTS ${fn} ON registrations`);
    await ctx.database.pool.query(`DROP FUNCTION IF EXISTS ${fn}()`);
  });
  return name;
}

t.test('a group holding the same person twice gives one registration, seats and tickets in arrival order', async (t) => {
  const ctx = await buildTestApp(t, { poolSize: 20 });
  const { headers } = await signIn(ctx.app);
  const session = await createSession(ctx.app, headers, { capacity: 3, waitlist: { enabled: true, limit: null } });
  const suffix = uniqueSuffix();
  const pat = `pat-${suffix}@example.org`;
  const emails = [uniqueEmail('first'), `Pat-${suffix}@Example.ORG`, uniqueEmail('q'), pat, uniqueEmail('r'), uniqueEmail('s')];
  const answers = await admitAsGroup(ctx, session, person(emails[0]!), emails.slice(1).map((email) => person(email)));

  const all = [answers.first, ...answers.group];
  t.same(all.map((answer) => answer.statusCode), [202, 202, 202, 202, 202, 202], 'every request answered 202');
  t.equal(new Set(all.map((answer) => answer.body)).size, 1, 'the repeat in the group gets the same bytes');

  const rows = await registrationRows(ctx.database.pool, session.id);
  t.same(
    rows.map((row) => [row.email, row.status, row.waitlist_ticket]),
    [
      [emails[0], 'confirmed', null],
      [pat, 'confirmed', null],
      [emails[2], 'confirmed', null],
      [emails[4], 'waitlisted', '1'],
      [emails[5], 'waitlisted', '2'],
    ],
    'one registration for Pat; seats, then tickets, in arrival order (registered_at order)',
  );
  await assertCounters(t, ctx.database.pool, session.id);
  const patId = rows[1]!.id;
  const patMail = (await notificationRows(ctx.database.pool, session.id)).filter((row) => row.registration_id === patId).map((row) => row.kind);
  t.same(patMail.sort(), ['confirmation', 'manage_link'], 'Pat: the confirmation, and the manage link again for the repeat');
});

t.test('a group mixing valid, invalid and duplicate registrations: each fails or succeeds alone', async (t) => {
  const ctx = await buildTestApp(t, { poolSize: 20 });
  const { headers } = await signIn(ctx.app);
  const session = await createSession(ctx.app, headers, { capacity: 3, waitlist: { enabled: true, limit: 4 } });
  const existing = uniqueEmail('existing');
  t.equal((await registerJson(ctx.app, session.slug, person(existing))).statusCode, 202, 'registered before');
  const unstorable = await failingName(t, ctx, '22021');
  const [v1, v2, v3, v4, v5, v6] = ['v1', 'v2', 'v3', 'v4', 'v5', 'v6'].map((prefix) => uniqueEmail(prefix)) as [string, string, string, string, string, string];
  const group = [
    person(v1),
    person(uniqueEmail('no-consent'), { consent: false }),
    person(v2),
    person(v1.toUpperCase()),
    person(existing),
    person('not an address'),
    person(uniqueEmail('unstorable'), { name: unstorable }),
    person(v3),
    person(v4),
    person(v5),
    person(v6),
  ];
  const answers = await admitAsGroup(ctx, session, person(uniqueEmail('first')), group);
  t.same(
    answers.group.map((answer) => answer.statusCode),
    [202, 400, 202, 202, 202, 400, 400, 202, 202, 202, 409],
    'valid ones and repeats 202, invalid ones 400 (the one only Postgres refuses too), the one past the waitlist 409',
  );
  t.match(answers.group[1]!.json(), { errors: [{ path: '/consent' }] });
  t.match(answers.group[5]!.json(), { errors: [{ path: '/email' }] });
  t.equal(answers.group[4]!.body, answers.group[0]!.body, 'the registered address gets the bytes of a new one');

  const rows = await registrationRows(ctx.database.pool, session.id);
  t.same(
    rows.map((row) => [row.email, row.status]),
    [
      [existing, 'confirmed'],
      [rows[1]!.email, 'confirmed'],
      [v1, 'confirmed'],
      [v2, 'waitlisted'],
      [v3, 'waitlisted'],
      [v4, 'waitlisted'],
      [v5, 'waitlisted'],
    ],
    'the valid newcomers in arrival order, until the waitlist (4) is full; nothing of the others',
  );
  t.ok(!rows.some((row) => row.name === unstorable), 'the refused row is not stored');
  await assertCounters(t, ctx.database.pool, session.id);
  const resent = await notificationRows(ctx.database.pool, session.id, 'manage_link');
  t.same(
    resent.map((row) => row.registration_id).sort(),
    [rows[0]!.id, rows[2]!.id].sort(),
    'the manage link again for the registered address and for the repeat of v1, nobody else',
  );
});

t.test('a database error in the middle of a group: all of it 503, none stored, the next group fine', async (t) => {
  const ctx = await buildTestApp(t, { poolSize: 20 });
  const { headers } = await signIn(ctx.app);
  const session = await createSession(ctx.app, headers, { capacity: 10, waitlist: { enabled: true, limit: null } });
  const failing = await failingName(t, ctx, 'P0001');
  const emails = [uniqueEmail('g1'), uniqueEmail('g2'), uniqueEmail('g3')];
  const group = [person(emails[0]!), person(emails[1]!), person(uniqueEmail('boom'), { name: failing }), person(emails[2]!)];
  const answers = await admitAsGroup(ctx, session, person(uniqueEmail('first')), group);
  t.equal(answers.first.statusCode, 202, 'the claim before it is untouched');
  t.same(answers.group.map((answer) => answer.statusCode), [503, 503, 503, 503], 'every request of the group answered 503');
  t.match(answers.group[0]!.json(), { status: 503, detail: /nothing was registered/ });
  t.equal(answers.group[0]!.headers['retry-after'], '5', 'with Retry-After');
  t.equal((await registrationRows(ctx.database.pool, session.id)).length, 1, 'nothing of the group was stored');
  t.equal((await notificationRows(ctx.database.pool, session.id)).length, 1, 'nor any of its e-mails');
  await assertCounters(t, ctx.database.pool, session.id);

  const again = await admitAsGroup(ctx, session, person(uniqueEmail('second')), emails.map((email) => person(email)));
  t.same([again.first, ...again.group].map((answer) => answer.statusCode), [202, 202, 202, 202], 'the next group is admitted');
  t.equal((await registrationRows(ctx.database.pool, session.id)).length, 5);
  await assertCounters(t, ctx.database.pool, session.id);
});

t.test('two API processes hammering one session: exact capacity, positions without gaps', async (t) => {
  const ctx = await buildTestApp(t);
  const { headers } = await signIn(ctx.app);
  const session = await createSession(ctx.app, headers, { capacity: 120, waitlist: { enabled: true, limit: 150 } });
  const env = { DATABASE_URL: withDefaultUser(TEST_DATABASE_URL), REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: `two-api-${uniqueSuffix()}` };
  const processes = await Promise.all([spawnServerProcess(t, env), spawnServerProcess(t, env)]);

  const perProcess = 200;
  const inFlight = 50;
  async function hammer(url: string): Promise<number[]> {
    const statuses: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < perProcess) {
          next += 1;
          const res = await fetch(`${url}/api/v1/public/sessions/${session.slug}/registrations`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(person(uniqueEmail('hammer'))),
          });
          await res.arrayBuffer();
          statuses.push(res.status);
        }
      }),
    );
    return statuses;
  }
  const statuses = (await Promise.all(processes.map((api) => hammer(api.url)))).flat();
  const tally = (code: number) => statuses.filter((status) => status === code).length;
  t.same({ accepted: tally(202), full: tally(409), other: statuses.length - tally(202) - tally(409) }, { accepted: 270, full: 130, other: 0 });

  const counted = await assertCounters(t, ctx.database.pool, session.id);
  t.same(counted, { confirmed: 120, waitlisted: 150, cancelled: 0 }, 'exactly the capacity and the waitlist limit');
  const { rows } = await ctx.database.pool.query<{ tickets: string[]; distinct_times: number; n: number }>(
    `SELECT array_agg(waitlist_ticket::text ORDER BY waitlist_ticket) FILTER (WHERE status = 'waitlisted') AS tickets,
       count(DISTINCT registered_at)::int AS distinct_times, count(*)::int AS n
     FROM registrations WHERE session_id = $1`,
    [session.id],
  );
  t.same(rows[0]!.tickets, Array.from({ length: 150 }, (_, i) => String(i + 1)), 'tickets 1..150 without gaps');
  t.equal(rows[0]!.distinct_times, rows[0]!.n, 'no two registrations share a time');
  const order = await ctx.database.pool.query<{ status: string; waitlist_ticket: string | null }>(
    'SELECT status::text, waitlist_ticket FROM registrations WHERE session_id = $1 ORDER BY registered_at',
    [session.id],
  );
  const statusesInTime = order.rows.map((row) => row.status);
  t.equal(statusesInTime.lastIndexOf('confirmed'), 119, 'every seat was taken before the first person waited');
  const ticketsInTime = order.rows.filter((row) => row.status === 'waitlisted').map((row) => Number(row.waitlist_ticket));
  t.same(ticketsInTime, [...ticketsInTime].sort((a, b) => a - b), 'tickets follow the registration times');
});
