import { randomUUID } from 'node:crypto';
import { fixed, median, report, startServer, type BenchContext } from './lib.js';

/**
 * The console's people page against the API's JSON list of the same rows (issue #17: "the
 * registrations page of a session with 5,000 registrations ... page time at most 1.5x the JSON
 * list"). One session of PEOPLE registrations (confirmed, waitlisted and cancelled, some with a
 * searchable name), one signed-in host on both sides (a console cookie, an API token); for each
 * case the page and the list with the same filter and the same page size (100), one request at a
 * time over keep-alive sockets, timed until the last byte. The two sides alternate inside each
 * round and which goes first alternates between rounds, so drift of the machine falls on both.
 */

const PEOPLE = Number(process.env.BENCH_CONSOLE_PEOPLE ?? 5_000);
const ROUNDS = Number(process.env.BENCH_CONSOLE_ROUNDS ?? 100);
const WARMUP = 20;
const PAGE_SIZE = 100;
const TARGET = 1.5;
const PASSWORD = 'bench-console-password-0123';
/** One person in SEARCH_EVERY is named "Lovelace": the search case matches a few hundred of PEOPLE. */
const SEARCH_EVERY = 15;

interface Case {
  name: string;
  /** The console page's query string. */
  console: string;
  /** The API's equivalent (the console's default status filter is confirmed and waitlisted). */
  api: string;
}

const CASES: Case[] = [
  { name: 'first page of 100', console: '', api: `?status=confirmed,waitlisted&limit=${PAGE_SIZE}` },
  { name: 'search q=lovelace', console: '?q=lovelace', api: `?status=confirmed,waitlisted&q=lovelace&limit=${PAGE_SIZE}` },
  { name: 'status waitlisted', console: '?status=waitlisted', api: `?status=waitlisted&limit=${PAGE_SIZE}` },
];

/**
 * PEOPLE registrations in one INSERT ... SELECT generate_series (as bench/export.ts seeds), the
 * session's counters set to match: 80% confirmed (a third checked in), 12% waitlisted, 8% cancelled.
 */
async function fill(ctx: BenchContext, host: { id: string; name: string; email: string }): Promise<{ sessionId: string; tag: string }> {
  const start = new Date(Date.now() + 30 * 86_400_000);
  const session = await ctx.services.sessions.create(
    {
      title: `Console bench ${randomUUID().slice(0, 8)}`,
      startsAt: start.toISOString(),
      endsAt: new Date(start.getTime() + 3_600_000).toISOString(),
      timezone: 'America/Chicago',
      capacity: null,
      contact: { name: 'Bench', email: 'bench@example.org' },
    },
    host,
  );
  await ctx.services.sessions.publish(session.id);
  const tag = `console-bench-${randomUUID().slice(0, 8)}`;
  await ctx.database.pool.query(
    `WITH people AS (SELECT gen_random_uuid() AS id, g FROM generate_series(1, $3::int) AS g),
     attendee_rows AS (INSERT INTO attendees (id, email) SELECT id, $2 || '-' || g || '@example.org' FROM people)
     INSERT INTO registrations (session_id, attendee_id, name, organization, job_title, answers, status, waitlist_ticket,
       manage_token_hash, join_token_hash, registered_at, confirmed_at, cancelled_at, checked_in_at, updated_at, source)
     SELECT $1::uuid, id, CASE WHEN g % $4::int = 0 THEN 'Ada Lovelace ' ELSE 'Person ' END || g, 'City of Example ' || g, 'Mayor', '{}'::jsonb,
       CASE WHEN g % 25 IN (3, 11) THEN 'cancelled' WHEN g % 25 IN (5, 13, 21) THEN 'waitlisted' ELSE 'confirmed' END::registration_status,
       CASE WHEN g % 25 IN (5, 13, 21) THEN g END,
       'm-' || id, 'j-' || id, now() - make_interval(secs => $3::int - g),
       CASE WHEN g % 25 NOT IN (5, 13, 21) THEN now() END, CASE WHEN g % 25 IN (3, 11) THEN now() END,
       CASE WHEN g % 3 = 0 AND g % 25 NOT IN (3, 5, 11, 13, 21) THEN now() END, now(), 'organizer'
     FROM people`,
    [session.id, tag, PEOPLE, SEARCH_EVERY],
  );
  await ctx.database.pool.query(
    `UPDATE sessions s SET confirmed_count = c.confirmed, waitlisted_count = c.waitlisted, cancelled_count = c.cancelled, waitlist_tickets = c.tickets
     FROM (SELECT count(*) FILTER (WHERE status = 'confirmed')::int AS confirmed, count(*) FILTER (WHERE status = 'waitlisted')::int AS waitlisted,
             count(*) FILTER (WHERE status = 'cancelled')::int AS cancelled, coalesce(max(waitlist_ticket), 0)::int AS tickets
           FROM registrations WHERE session_id = $1) c
     WHERE s.id = $1`,
    [session.id],
  );
  await ctx.database.pool.query('ANALYZE registrations');
  await ctx.database.pool.query('ANALYZE attendees');
  return { sessionId: session.id, tag };
}

interface Timed {
  ms: number;
  rows: number;
  bytes: number;
}

/** The rows a page shows (its people table's body rows). */
function pageRows(html: string): number {
  const start = html.indexOf('<tbody>');
  if (start < 0) return 0;
  return html.slice(start, html.indexOf('</tbody>', start)).split('<tr>').length - 1;
}

async function timed(url: string, headers: Record<string, string>, count: (body: string) => number): Promise<Timed> {
  const started = performance.now();
  const response = await fetch(url, { headers, redirect: 'manual' });
  const body = await response.text();
  const ms = performance.now() - started;
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${body.slice(0, 300)}`);
  return { ms, rows: count(body), bytes: Buffer.byteLength(body) };
}

const p95 = (values: number[]) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.ceil(values.length * 0.95) - 1)]!;

export async function consoleBench(ctx: BenchContext): Promise<void> {
  const host = await ctx.services.organizers.create({ email: `console-bench-${randomUUID().slice(0, 8)}@example.org`, name: 'Console Bench Host', password: PASSWORD, role: 'organizer' });
  const { sessionId, tag } = await fill(ctx, { id: host.id, name: host.name, email: host.email });
  const server = await startServer(ctx.env);
  try {
    const signIn = await fetch(`${server.url}/console/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      body: new URLSearchParams({ email: host.email, password: PASSWORD }).toString(),
    });
    const cookie = signIn.headers.getSetCookie().map((line) => line.split(';')[0]!).find((pair) => pair.startsWith('convene-console='));
    if (signIn.status !== 303 || !cookie) throw new Error(`console sign-in answered ${signIn.status}`);
    const login = await fetch(`${server.url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: host.email, password: PASSWORD }),
    });
    const { token } = (await login.json()) as { token: string };

    const pageUrl = (c: Case) => `${server.url}/console/sessions/${sessionId}/registrations${c.console}`;
    const apiUrl = (c: Case) => `${server.url}/api/v1/sessions/${sessionId}/registrations${c.api}`;
    const page = (c: Case) => timed(pageUrl(c), { cookie }, pageRows);
    const list = (c: Case) => timed(apiUrl(c), { authorization: `Bearer ${token}` }, (body) => (JSON.parse(body) as { items: unknown[] }).items.length);

    // Warm-up: compiles the templates and code paths of both sides and fills Postgres's caches.
    for (let i = 0; i < WARMUP; i += 1) {
      for (const c of CASES) {
        await page(c);
        await list(c);
      }
    }

    const times = CASES.map(() => ({ page: [] as number[], list: [] as number[], pageRows: 0, listRows: 0, pageBytes: 0, listBytes: 0 }));
    for (let round = 0; round < ROUNDS; round += 1) {
      for (const [index, c] of CASES.entries()) {
        const figures = times[index]!;
        const pageFirst = round % 2 === 0;
        const first = pageFirst ? await page(c) : await list(c);
        const second = pageFirst ? await list(c) : await page(c);
        const [ours, theirs] = pageFirst ? [first, second] : [second, first];
        figures.page.push(ours.ms);
        figures.list.push(theirs.ms);
        figures.pageRows = ours.rows;
        figures.listRows = theirs.rows;
        figures.pageBytes = ours.bytes;
        figures.listBytes = theirs.bytes;
      }
    }

    for (const [index, c] of CASES.entries()) {
      const figures = times[index]!;
      if (figures.pageRows !== figures.listRows) throw new Error(`${c.name}: the page shows ${figures.pageRows} rows, the list ${figures.listRows}`);
      const ratio = median(figures.page) / median(figures.list);
      report({
        bench: 'console',
        metric: `${c.name}, ms median`,
        ours: fixed(median(figures.page), 2),
        baseline: fixed(median(figures.list), 2),
        ratio: fixed(ratio, 2),
        target: `<= ${TARGET}x JSON list`,
        ok: ratio <= TARGET,
      });
      console.log(
        `      (${figures.pageRows} rows on both sides, page ${fixed(figures.pageBytes / 1024)} kB, list ${fixed(figures.listBytes / 1024)} kB; p95 page ${fixed(p95(figures.page), 2)} ms, list ${fixed(p95(figures.list), 2)} ms; ${ROUNDS} interleaved rounds)`,
      );
    }
  } finally {
    await server.stop();
    await ctx.database.pool.query('DELETE FROM sessions WHERE id = $1', [sessionId]);
    await ctx.database.pool.query('DELETE FROM attendees WHERE email LIKE $1', [`${tag}-%`]);
    await ctx.database.pool.query('DELETE FROM organizers WHERE id = $1', [host.id]);
  }
}
