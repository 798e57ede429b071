import t from 'tap';
import type pg from 'pg';
import { buildTestApp, manualClock, uniqueSuffix } from '../helpers/app.js';
import { createSession, type SessionJson } from '../helpers/registrations.js';
import { consoleSignIn, makeOrganizer } from './support.js';

/**
 * Issue #17: "a registrations page of 500 people renders in one query per table, not one per
 * row". The statements the app's own pool sends while it answers the people page are counted
 * (a wrapper on each pooled client's `query`, so every statement of the request is seen, in
 * a transaction or not) for a session of 5 people and one of 150 (a full page of 100 shown),
 * for the table's views: the same count for both, whatever the rows hold (confirmed, checked
 * in, joined, waitlisted with their place, cancelled, forced beyond capacity).
 */

// The clock stands still: the console session's once-a-minute `last_seen_at` write never falls
// inside one request and not the other.
const clock = manualClock();
const { app, database } = await buildTestApp(t, { clock });

const counting = { on: false, statements: [] as string[] };
const wrapped = new WeakSet<pg.PoolClient>();
database.pool.on('acquire', (client: pg.PoolClient) => {
  if (wrapped.has(client)) return;
  wrapped.add(client);
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    if (counting.on) {
      const first = args[0] as string | { text?: string };
      counting.statements.push((typeof first === 'string' ? first : (first.text ?? '')).replace(/\s+/g, ' '));
    }
    return query(...args);
  };
});

const host = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'Query counter'));
const hostApi = { authorization: `Bearer ${app.issueToken(host.organizer).token}` };

/**
 * `count` people in one statement (as bench/console.ts seeds 5,000), the session's counters set
 * to match: every 5th cancelled, every 5th (offset) waitlisted, the rest confirmed, some of
 * them checked in, joined or forced beyond capacity.
 */
async function sessionOf(count: number): Promise<SessionJson> {
  const session = await createSession(app, hostApi, { capacity: null, waitlist: { enabled: true } });
  const tag = `people-queries-${uniqueSuffix()}`;
  await database.pool.query(
    `WITH people AS (SELECT gen_random_uuid() AS id, g FROM generate_series(1, $3::int) AS g),
     attendee_rows AS (INSERT INTO attendees (id, email) SELECT id, $2 || '-' || g || '@example.org' FROM people)
     INSERT INTO registrations (session_id, attendee_id, name, organization, answers, status, waitlist_ticket, forced,
       manage_token_hash, join_token_hash, registered_at, confirmed_at, cancelled_at, checked_in_at, first_joined_at, updated_at, source)
     SELECT $1::uuid, id, 'Counted Person ' || g, 'Town ' || g, '{}'::jsonb,
       CASE g % 5 WHEN 0 THEN 'cancelled' WHEN 1 THEN 'waitlisted' ELSE 'confirmed' END::registration_status,
       CASE WHEN g % 5 = 1 THEN g END, g % 7 = 0 AND g % 5 > 1,
       'm-' || id, 'j-' || id, $4::timestamptz - make_interval(secs => $3::int - g),
       CASE WHEN g % 5 > 1 THEN $4::timestamptz END, CASE WHEN g % 5 = 0 THEN $4::timestamptz END,
       CASE WHEN g % 5 = 2 THEN $4::timestamptz END, CASE WHEN g % 5 = 3 THEN $4::timestamptz END, $4::timestamptz, 'organizer'
     FROM people`,
    [session.id, tag, count, clock.now()],
  );
  await database.pool.query(
    `UPDATE sessions s SET confirmed_count = c.confirmed, waitlisted_count = c.waitlisted, cancelled_count = c.cancelled, waitlist_tickets = c.tickets
     FROM (SELECT count(*) FILTER (WHERE status = 'confirmed')::int AS confirmed, count(*) FILTER (WHERE status = 'waitlisted')::int AS waitlisted,
             count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled, coalesce(max(waitlist_ticket), 0)::int AS tickets
           FROM registrations WHERE session_id = $1) c
     WHERE s.id = $1`,
    [session.id],
  );
  return session;
}

/** The statements sent while the page answers, and the rows of its table. */
async function statementsOf(url: string): Promise<{ statements: string[]; rows: number }> {
  counting.statements = [];
  counting.on = true;
  let res;
  try {
    res = await host.get(url);
  } finally {
    counting.on = false;
  }
  if (res.statusCode !== 200) throw new Error(`${url} answered ${res.statusCode}`);
  const body = res.body.slice(res.body.indexOf('<tbody>'), res.body.indexOf('</tbody>'));
  // The sign-in check reads the console session and its account through a cache of about a
  // second of real time (src/services/console-sessions.ts): present or not by timing, and the
  // same for every page, so they are left out of the page's count.
  const statements = counting.statements.filter((text) => !/ from "(console_sessions|organizers)" /.test(text));
  return { statements, rows: body.split('<tr>').length - 1 };
}

const few = await sessionOf(5);
const many = await sessionOf(150);

const VIEWS = ['', '?status=all', '?status=waitlisted', '?status=cancelled', '?attendance=attended', '?q=counted+person+1', '?status=all&sort=name'];

for (const view of VIEWS) {
  t.test(`people page${view || ' (default)'}: as many statements for 150 people as for 5`, async (t) => {
    const small = await statementsOf(`/console/sessions/${few.id}/registrations${view}`);
    const large = await statementsOf(`/console/sessions/${many.id}/registrations${view}`);
    t.ok(large.rows > small.rows, `more rows on the larger page (${small.rows} and ${large.rows})`);
    t.ok(large.rows >= 20, `the larger page shows many rows (${large.rows})`);
    t.ok(small.statements.length > 0, 'the counter sees the page’s statements');
    t.equal(large.statements.length, small.statements.length, `statements: ${small.statements.length} for 5 people, ${large.statements.length} for 150`);
    if (large.statements.length !== small.statements.length) t.comment(['for 5:', ...small.statements, 'for 150:', ...large.statements].map((text) => text.slice(0, 120)).join('\n'));
  });
}

t.test('the full page of 100 shows every kind of row and needs no statement per row', async (t) => {
  const all = await statementsOf(`/console/sessions/${many.id}/registrations?status=all`);
  t.equal(all.rows, 100, 'a page of 100');
  t.ok(all.statements.length < 10, `${all.statements.length} statements for 100 rows`);
  const res = await host.get(`/console/sessions/${many.id}/registrations?status=all`);
  for (const text of ['Confirmed', 'Waitlisted', 'Cancelled', 'Checked in', 'Joined', '(beyond capacity)']) t.ok(res.body.includes(text), `shows ${text}`);
});
