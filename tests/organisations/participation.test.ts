import { parse } from 'csv-parse/sync';
import { DateTime } from 'luxon';
import t from 'tap';
import { buildTestApp, manualClock, signIn, uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { expectProblem, errorPaths } from '../helpers/http.js';
import { isolatedDatabaseUrl } from '../helpers/isolated-app.js';
import { startRedisProcess } from '../helpers/processes.js';
import { createSessionWithBody, registered, registrationId, type SessionJson } from '../helpers/registrations.js';
import { consoleSignIn, makeOrganizer, tableRows } from '../console/support.js';

/**
 * Issue #21, the participation report: per member organisation over the sessions starting in a
 * date range, against figures computed by hand below. The clock moves past the sessions, so the
 * file has its own database (emptied first: the report lists every organisation) and Redis.
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const redis = await startRedisProcess(t);
// T0: the top of the coming hour; every session and the report's time are days after it.
const T0 = new Date(Math.ceil(Date.now() / HOUR) * HOUR);
const clock = manualClock(T0.toISOString());
const { app, database } = await buildTestApp(t, { clock, env: { DATABASE_URL: isolatedDatabaseUrl('participation'), REDIS_URL: redis.url } });
await database.pool.query('TRUNCATE sessions, organisations, audit_log CASCADE');

const admin = await signIn(app, 'admin');
const organizer = await signIn(app);
const suffix = uniqueSuffix();
const day = (at: Date) => DateTime.fromJSDate(at, { zone: 'UTC' }).toISODate()!;

// Three organisations: Alpha active, Beta lapsed (after its people registered), Gamma with nobody.
// Gamma's name starts with @: it comes first by name, and its CSV cell is neutralised.
const alpha = await app.services.organisations.create({ name: `Alpha City ${suffix}`, domains: [`alpha-${suffix}.example`] }, null);
const beta = await app.services.organisations.create({ name: `Beta Town ${suffix}`, domains: [`beta-${suffix}.example`] }, null);
const gamma = await app.services.organisations.create({ name: `@Gamma Village ${suffix}`, domains: [`gamma-${suffix}.example`] }, null);
const a1 = `a1@alpha-${suffix}.example`;
const a2 = `a2@alpha-${suffix}.example`;
const a3 = `a3@alpha-${suffix}.example`;
const b1 = `b1@beta-${suffix}.example`;
const b2 = `b2@mail.beta-${suffix}.example`;
const nonMember = uniqueEmail('non-member');

async function sessionAt(startsAt: Date, overrides: Record<string, unknown> = {}, publish = true): Promise<SessionJson> {
  const body = {
    title: `Participation ${suffix} ${startsAt.toISOString()}`,
    startsAt: startsAt.toISOString(),
    endsAt: new Date(startsAt.getTime() + HOUR).toISOString(),
    timezone: 'Europe/Berlin',
    capacity: 10,
    joinUrl: 'https://meet.example.org/participation',
    ...overrides,
  };
  return createSessionWithBody(app, admin.headers, body, { publish });
}

const api = (method: 'GET' | 'POST', url: string, payload?: Record<string, unknown>) => app.inject({ method, url, headers: admin.headers, ...(payload ? { payload } : {}) });
async function checkIn(session: SessionJson, email: string): Promise<void> {
  const res = await api('POST', `/api/v1/sessions/${session.id}/registrations/${await registrationId(database.pool, session.id, email)}/check-in`);
  if (res.statusCode !== 200) throw new Error(`check-in answered ${res.statusCode}: ${res.body}`);
}
async function join(session: SessionJson, email: string): Promise<void> {
  const token = app.services.tokens.derive('join', await registrationId(database.pool, session.id, email), 0);
  const res = await app.inject({ method: 'GET', url: `/j/${token}` });
  if (res.statusCode !== 302) throw new Error(`the join link answered ${res.statusCode}`);
}
async function cancel(session: SessionJson, email: string): Promise<void> {
  const res = await api('POST', `/api/v1/sessions/${session.id}/registrations/${await registrationId(database.pool, session.id, email)}/cancel`);
  if (res.statusCode !== 200) throw new Error(`cancel answered ${res.statusCode}: ${res.body}`);
}
const register = (session: SessionJson, email: string) => registered(app, session.slug, { name: email.split('@')[0], email });

// In the range [day(T0), day(T0 + 30 days)]:
const s1 = await sessionAt(new Date(T0.getTime() + 2 * DAY), { capacity: 2, waitlist: { enabled: true } });
const s2 = await sessionAt(new Date(T0.getTime() + 4 * DAY));
// ...still to come when the report is made (its confirmed people are no no-shows yet).
const s3 = await sessionAt(new Date(T0.getTime() + 25 * DAY));
// Left out: one starting after the range, one cancelled, one never published.
const outside = await sessionAt(new Date(T0.getTime() + 40 * DAY));
const cancelled = await sessionAt(new Date(T0.getTime() + 3 * DAY));
const draft = await sessionAt(new Date(T0.getTime() + 3 * DAY), {}, false);

// s1 (2 seats): a1 and a2 confirmed, a3 waitlisted.
await register(s1, a1);
await register(s1, a2);
await register(s1, a3);
// s2: a1, b1, b2 (cancels) and someone of no member organisation.
for (const email of [a1, b1, b2, nonMember]) await register(s2, email);
await cancel(s2, b2);
// s3: a2 and b1 confirmed.
await register(s3, a2);
await register(s3, b1);
// Left-out sessions, with people who showed up.
await register(outside, a1);
await checkIn(outside, a1);
await register(cancelled, a1);
await checkIn(cancelled, a1);
// Setup steps insist on their answer (an assertion here, before the subtests, would end the file's plan).
const cancelledAnswer = await api('POST', `/api/v1/sessions/${cancelled.id}/cancel`, { reason: 'Left out of the report' });
if (cancelledAnswer.statusCode !== 200) throw new Error(`cancelling the session answered ${cancelledAnswer.statusCode}`);
const added = await api('POST', `/api/v1/sessions/${draft.id}/registrations`, { name: 'b1 in a draft', email: b1 });
if (added.statusCode !== 201) throw new Error(`adding to the draft answered ${added.statusCode}: ${added.body}`);
await checkIn(draft, b1);

// During s1: a1 checked in; a2 never comes. During s2: a1 opens the join link, b1 is checked in,
// the non-member is checked in too (in no row).
clock.set(new Date(s1.startsAt as string));
clock.advance(10 * 60_000);
await checkIn(s1, a1);
clock.set(new Date(s2.startsAt as string));
clock.advance(5 * 60_000);
await join(s2, a1);
await checkIn(s2, b1);
await checkIn(s2, nonMember);
await app.services.organisations.update(beta.id, { status: 'lapsed' }, null);
// The report is made ten days after T0: s1 and s2 have ended, s3 has not.
clock.set(new Date(T0.getTime() + 10 * DAY));

/*
 * By hand, over s1, s2 and s3 (3 sessions):
 *   Alpha: registrations a1@s1, a2@s1, a3@s1 (waitlisted), a1@s2, a2@s3 = 5; cancelled 0;
 *          attended a1@s1 (checked in), a1@s2 (joined) = 2; no-shows a2@s1 = 1 (a2@s3 has not
 *          taken place, a3 was waitlisted); sessions attended s1, s2 = 2.
 *   Beta (lapsed): registrations b1@s2, b2@s2 (cancelled), b1@s3 = 3; cancelled 1; attended
 *          b1@s2 = 1; no-shows 0; sessions attended 1.
 *   Gamma: nothing.
 * Over s1 and s2 only (2 sessions; the range ending before s3, or the default up to today):
 *   Alpha: registrations 4, cancelled 0, attended 2, no-shows 1, sessions attended 2.
 *   Beta: registrations 2, cancelled 1, attended 1, no-shows 0, sessions attended 1.
 */
const HEADER = ['Organisation', 'Status', 'Sessions attended', 'Registrations', 'Cancelled', 'Attended', 'No-shows'];
const ALL_THREE = [
  [`'${gamma.name}`, 'active', '0', '0', '0', '0', '0'],
  [alpha.name, 'active', '2', '5', '0', '2', '1'],
  [beta.name, 'lapsed', '1', '3', '1', '1', '0'],
];
const FIRST_TWO = [
  [`'${gamma.name}`, 'active', '0', '0', '0', '0', '0'],
  [alpha.name, 'active', '2', '4', '0', '2', '1'],
  [beta.name, 'lapsed', '1', '2', '1', '1', '0'],
];

const from = day(T0);
const to = day(new Date(T0.getTime() + 30 * DAY));
const csvUrl = (query: Record<string, string>) => `/api/v1/exports/participation.csv?${new URLSearchParams(query).toString()}`;
const parseCsv = (body: string) => parse(body, { record_delimiter: '\r\n', bom: true }) as string[][];

t.test('the CSV: every organisation, every figure as computed by hand', async (t) => {
  const res = await api('GET', csvUrl({ from, to }));
  t.equal(res.statusCode, 200, res.body);
  t.match(res.headers['content-type'], /^text\/csv; charset=utf-8/);
  t.equal(res.headers['content-disposition'], `attachment; filename="participation-${from}-to-${to}.csv"`);
  t.equal(res.headers['cache-control'], 'private, no-store');
  t.ok(res.body.endsWith('\r\n'), 'CRLF line ends');
  t.same(parseCsv(res.body), [HEADER, ...ALL_THREE]);

  // Date-times: `to` excluded, so a range ending at s3's start leaves it out.
  const instants = await api('GET', csvUrl({ from: T0.toISOString(), to: s3.startsAt as string }));
  t.equal(instants.statusCode, 200);
  t.same(parseCsv(instants.body), [HEADER, ...FIRST_TWO]);
  const justAfter = await api('GET', csvUrl({ from: T0.toISOString(), to: new Date(new Date(s3.startsAt as string).getTime() + 1000).toISOString() }));
  t.same(parseCsv(justAfter.body), [HEADER, ...ALL_THREE], 'a second later, s3 is in');
  // A date `to` holds its whole day: the range of s2's day alone.
  const s2Day = day(new Date(s2.startsAt as string));
  const oneDay = parseCsv((await api('GET', csvUrl({ from: s2Day, to: s2Day }))).body);
  t.same(oneDay.slice(1).map((row) => row.slice(2)), [
    ['0', '0', '0', '0', '0'],
    ['1', '1', '0', '1', '0'],
    ['1', '2', '1', '1', '0'],
  ], 'one day: s2 alone');

  const bom = await api('GET', `${csvUrl({ from, to })}&bom=1`);
  t.equal(bom.rawPayload.subarray(0, 3).toString('hex'), 'efbbbf', 'a BOM on request');
});

t.test('audited like the other exports: export.participation, the range and the rows, never a name', async (t) => {
  const { rows } = await database.pool.query<{ actor_id: string; subject_type: string; details: Record<string, unknown> }>(
    "SELECT actor_id, subject_type, details FROM audit_log WHERE action = 'export.participation' ORDER BY at, id",
  );
  // The clock stands still meanwhile: the entries share their time, so the first download is found by its range.
  const wholeRange = rows.filter((row) => row.details.from === `${from}T00:00:00.000Z` && row.details.to === `${day(new Date(T0.getTime() + 31 * DAY))}T00:00:00.000Z`);
  t.equal(wholeRange.length, 2, 'the download of the whole range, with and without a BOM');
  for (const entry of wholeRange) t.match(entry, { actor_id: admin.organizer.id, subject_type: 'export', details: { format: 'csv', sessions: 3, rows: 3, completed: true } });
  t.equal(rows.length, 5, 'and one per other download');
  t.notOk(JSON.stringify(rows).includes(alpha.name), 'no organisation data in the log');
});

t.test('admins only; bad ranges are 400 naming the parameter', async (t) => {
  expectProblem(t, await app.inject({ method: 'GET', url: csvUrl({ from, to }), headers: organizer.headers }), 403, 'an organizer');
  expectProblem(t, await app.inject({ method: 'GET', url: csvUrl({ from, to }) }), 401, 'no token');
  const refused = async (query: Record<string, string>, path: string, label: string) => {
    const body = expectProblem(t, await api('GET', csvUrl(query)), 400, label);
    t.same(errorPaths(body), [path], `${label}: at ${path}`);
    return body;
  };
  const later = day(new Date(T0.getTime() + 5 * DAY));
  const body = await refused({ from: later, to: from }, '/querystring/to', 'from after to');
  t.match(body.errors![0]!.message, /must not be before from/);
  await refused({ from: new Date(T0.getTime() + HOUR).toISOString(), to: T0.toISOString() }, '/querystring/to', 'date-times the wrong way');
  await refused({ from: 'yesterday', to }, '/querystring/from', 'not a date');
  await refused({ from, to: `${DateTime.fromJSDate(T0).year + 1}-02-30` }, '/querystring/to', 'no such day');
  await refused({ from, to: `${to}T10:00` }, '/querystring/to', 'a date-time without its offset');
  const fiveYears = DateTime.fromISO(from, { zone: 'UTC' }).plus({ years: 5 });
  const tooLong = await refused({ from, to: fiveYears.toISODate()! }, '/querystring/to', 'more than five years');
  t.match(tooLong.errors![0]!.message, /at most 5 years/);
  t.equal((await api('GET', csvUrl({ from, to: fiveYears.minus({ days: 1 }).toISODate()! }))).statusCode, 200, 'five years exactly');
  t.equal((await api('GET', csvUrl({ from: to, to }))).statusCode, 200, 'one day');
  const missing = expectProblem(t, await api('GET', `/api/v1/exports/participation.csv?from=${from}`), 400, 'to missing');
  t.ok(errorPaths(missing).some((path) => path.includes('to')));
  expectProblem(t, await api('GET', `${csvUrl({ from, to })}&sessions=all`), 400, 'an unknown parameter');
});

t.test('the console page: the same table from the same call, the last 12 months by default, the CSV link', async (t) => {
  // Signed in at the report's time: the console session lives by the clock.
  const adminConsole = await consoleSignIn(app, await makeOrganizer(app, 'admin', 'Report Admin'));
  const dashboard = await adminConsole.get('/console');
  t.match(dashboard.body, /<a href="\/console\/participation"[^>]*>Participation<\/a>/, 'a nav entry for admins');

  const cells = (html: string) => tableRows(html, 'participation-table');
  const shown = (rows: string[][]) => rows.map(([name, status, ...figures]) => [name!.replace(/^'/, ''), status === 'active' ? 'Active' : 'Lapsed', ...figures]);

  const page = await adminConsole.get(`/console/participation?from=${from}&to=${to}`);
  t.equal(page.statusCode, 200);
  t.match(page.body, /<th scope="col">Organisation<\/th><th scope="col">Status<\/th><th scope="col">Sessions attended<\/th><th scope="col">Registrations<\/th><th scope="col">Cancelled<\/th><th scope="col">Attended<\/th><th scope="col">No-shows<\/th>/);
  t.same(cells(page.body), shown(ALL_THREE), 'the CSV’s figures');
  t.match(page.body, new RegExp(`3 published sessions start in the range, from ${from} to ${to} \\(UTC\\)`));
  t.match(page.body, new RegExp(`href="/console/participation.csv\\?from=${from}&amp;to=${to}"`), 'the CSV link with the same range');
  t.match(page.body, /<td data-label="No-shows">/, 'each figure named on a phone’s card');

  // The default: a year back from today (the clock's), today included: s1 and s2.
  const byDefault = await adminConsole.get('/console/participation');
  t.equal(byDefault.statusCode, 200);
  const today = day(clock.now());
  const yearAgo = DateTime.fromJSDate(clock.now(), { zone: 'UTC' }).minus({ months: 12 }).toISODate()!;
  t.match(byDefault.body, new RegExp(`id="f-from"[^>]*value="${yearAgo}"`), 'From: a year ago');
  t.match(byDefault.body, new RegExp(`id="f-to"[^>]*value="${today}"`), 'To: today');
  t.same(cells(byDefault.body), shown(FIRST_TWO));
  t.match(byDefault.body, /2 published sessions start in the range, from /);

  // The download: the API's bytes, audited with the console's admin as actor.
  const csv = await adminConsole.get(`/console/participation.csv?from=${from}&to=${to}`);
  t.equal(csv.statusCode, 200);
  t.equal(csv.headers['content-disposition'], `attachment; filename="participation-${from}-to-${to}.csv"`);
  t.equal(csv.body, (await api('GET', csvUrl({ from, to }))).body, 'the same bytes as the API');
  const { rows } = await database.pool.query("SELECT 1 FROM audit_log WHERE action = 'export.participation' AND actor_id = $1", [adminConsole.organizer.id]);
  t.equal(rows.length, 1, 'recorded, the console’s admin as actor');

  // A bad range: errors at the fields, no table, no download.
  const bad = await adminConsole.get(`/console/participation?from=${to}&to=${from}`);
  t.equal(bad.statusCode, 400);
  t.match(bad.body, /<title>Error: Participation/);
  t.match(bad.body, /To must not be before from/);
  t.equal(cells(bad.body).length, 0);
  t.notOk(bad.body.includes('participation.csv'), 'no download link');
  t.equal((await adminConsole.get(`/console/participation.csv?from=${to}&to=${from}`)).statusCode, 400);

  // An organizer: neither the page, nor the download, nor the nav entry.
  const plain = await consoleSignIn(app, await makeOrganizer(app, 'organizer'));
  t.notMatch((await plain.get('/console')).body, /\/console\/participation/);
  const refusedPage = await plain.get('/console/participation');
  t.equal(refusedPage.statusCode, 403);
  t.notOk(refusedPage.body.includes(alpha.name), 'no figures');
  t.equal((await plain.get(`/console/participation.csv?from=${from}&to=${to}`)).statusCode, 403);
});

t.test('the organisation with nobody has its row; lapsing changes the status only', async (t) => {
  // Gamma's people never registered; Beta lapsed after its people registered and keeps its figures.
  const rows = parseCsv((await api('GET', csvUrl({ from, to }))).body);
  t.same(rows.find((row) => row[0] === `'${gamma.name}`), ALL_THREE[0]);
  t.same(rows.find((row) => row[0] === beta.name)?.slice(1, 2), ['lapsed']);
});
