import pg from 'pg';
import t from 'tap';
import { DateTime } from 'luxon';
import { withDefaultUser } from '../../db/client.js';
import { migrateDatabase } from '../../db/migrate.js';
import type { App } from '../../src/app.js';
import type { Organizer } from '../../src/services/organizers.service.js';
import { buildTestApp, TEST_DATABASE_URL, uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { consoleSignIn, form, makeOrganizer, PASSWORD, type ConsoleBrowser, tableRows as rowsOf } from './support.js';

const { app, database } = await buildTestApp(t);

const admin = await consoleSignIn(app, await makeOrganizer(app, 'admin', 'Admin Pages Tester'));
const adminApi = { authorization: `Bearer ${app.issueToken(admin.organizer).token}` };
const plain = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'Plain Organizer'));
const plainApi = { authorization: `Bearer ${app.issueToken(plain.organizer).token}` };
const HOSTILE = '<img src=x onerror=alert(1)>';
const NEW_PASSWORD = 'a-long-enough-new-password';

interface AuditEntry {
  action: string;
  actor_id: string | null;
  actor_email: string | null;
  details: Record<string, unknown>;
}

async function auditOf(subjectId: string): Promise<AuditEntry[]> {
  const { rows } = await database.pool.query<AuditEntry>(
    'SELECT action, actor_id, actor_email, details FROM audit_log WHERE subject_id = $1 ORDER BY at, id',
    [subjectId],
  );
  return rows;
}

async function accountOf(email: string): Promise<{ id: string; name: string; role: string; disabled_at: Date | null } | undefined> {
  const { rows } = await database.pool.query('SELECT id, name, role, disabled_at FROM organizers WHERE lower(email) = lower($1)', [email]);
  return rows[0];
}

async function accountById(id: string): Promise<{ role: string; disabled_at: Date | null }> {
  const { rows } = await database.pool.query('SELECT role, disabled_at FROM organizers WHERE id = $1', [id]);
  return rows[0];
}

const tableRows = (html: string) => rowsOf(html, 'admin-table', ' ');

function fieldError(html: string, id: string): string | null {
  const match = new RegExp(`<p class="field-error" id="${id}-error"><span class="visually-hidden">Error: </span>([^<]*)</p>`).exec(html);
  return match ? match[1]! : null;
}

const decode = (href: string) => href.replace(/&amp;/g, '&');
const rowOf = (html: string, email: string) => tableRows(html).find((row) => row[1] === email);
const navHas = (html: string, text: string) => new RegExp(`<nav class="console-nav"[\\s\\S]*?>${text}</a>[\\s\\S]*?</nav>`).test(html);

/** A valid add form, with a fresh e-mail. */
const newOrganizer = (overrides: Record<string, string> = {}) => ({ name: 'Nora New', email: uniqueEmail('console-new'), password: NEW_PASSWORD, role: 'organizer', ...overrides });

t.test('signed out: every admin page and action leads to the login page', async (t) => {
  const target = await makeOrganizer(app);
  for (const url of ['/console/organizers', '/console/audit', `/console/organizers/${target.id}/disable`]) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 303, `GET ${url}`);
    t.match(res.headers.location, /^\/console\/login\?next=/);
  }
  const post = await app.inject({ method: 'POST', url: '/console/organizers', ...form(newOrganizer()) });
  t.equal(post.statusCode, 303, 'POST');
  t.match(post.headers.location, /^\/console\/login/);
});

t.test('a non-admin: the API answers 403, so does the console (pages and POSTs), and no nav entries', async (t) => {
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/organizers', headers: plainApi })).statusCode, 403, 'the API');
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/audit', headers: plainApi })).statusCode, 403, 'the API');
  const target = await makeOrganizer(app);
  for (const url of ['/console/organizers', '/console/audit', '/console/audit?action=organizer.create', `/console/organizers/${target.id}/disable`, '/console/organizers/not-a-uuid/disable']) {
    const res = await plain.get(url);
    t.equal(res.statusCode, 403, `GET ${url}`);
    t.match(res.body, /<h1>Not allowed<\/h1>/);
    t.match(res.body, /Only an admin may/);
    t.notOk(res.body.includes(target.email), 'nothing about the accounts');
  }
  const added = newOrganizer();
  const posts: Array<[string, Record<string, string>]> = [
    ['/console/organizers', added],
    [`/console/organizers/${target.id}/role`, { role: 'admin' }],
    [`/console/organizers/${target.id}/disable`, {}],
    [`/console/organizers/${plain.organizer.id}/role`, { role: 'admin' }],
    ['/console/organizers/not-a-uuid/role', { role: 'nonsense' }],
  ];
  for (const [url, fields] of posts) {
    const res = await plain.post(url, fields);
    t.equal(res.statusCode, 403, `POST ${url}`);
    t.match(res.body, /Not allowed/);
  }
  t.equal(await accountOf(added.email), undefined, 'nobody added');
  t.same(await accountById(target.id), { role: 'organizer', disabled_at: null }, 'the target unchanged');
  t.equal((await accountById(plain.organizer.id)).role, 'organizer', 'no promotion of oneself');

  const dashboard = await plain.get('/console');
  t.equal(dashboard.statusCode, 200);
  t.notOk(dashboard.body.includes('href="/console/organizers"'), 'no Organizers entry');
  t.notOk(dashboard.body.includes('href="/console/audit"'), 'no Audit log entry');
  const adminDashboard = await admin.get('/console');
  t.ok(navHas(adminDashboard.body, 'Organizers'), 'an admin sees Organizers');
  t.ok(navHas(adminDashboard.body, 'Audit log'), 'an admin sees Audit log');
});

t.test('CSRF and Origin: a POST without or with a wrong _csrf, or from another site, is 403 and changes nothing', async (t) => {
  const added = newOrganizer();
  const body = form(added);
  const missing = await app.inject({ method: 'POST', url: '/console/organizers', payload: body.payload, headers: { ...body.headers, ...admin.headers } });
  t.equal(missing.statusCode, 403, 'no _csrf');
  const wrongBody = form({ ...added, _csrf: 'not-the-token' });
  const wrong = await app.inject({ method: 'POST', url: '/console/organizers', payload: wrongBody.payload, headers: { ...wrongBody.headers, ...admin.headers } });
  t.equal(wrong.statusCode, 403, 'a wrong _csrf');
  const foreign = await admin.post('/console/organizers', added, { origin: 'https://evil.example' });
  t.equal(foreign.statusCode, 403, 'a foreign Origin');
  const target = await makeOrganizer(app);
  const foreignDisable = await admin.post(`/console/organizers/${target.id}/disable`, {}, { origin: 'https://evil.example' });
  t.equal(foreignDisable.statusCode, 403, 'a foreign Origin on disable');
  t.equal(await accountOf(added.email), undefined, 'nobody added');
  t.equal((await accountById(target.id)).disabled_at, null, 'nobody disabled');
});

t.test('the organizers page lists accounts with role, status and creation time in a named zone', async (t) => {
  const hostile = await makeOrganizer(app, 'organizer', HOSTILE);
  const res = await admin.get('/console/organizers');
  t.equal(res.statusCode, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  t.ok(navHas(res.body, 'Organizers'));
  t.match(res.body, /<a href="\/console\/organizers" aria-current="page">Organizers<\/a>/, 'the current nav entry');
  t.ok(res.body.includes('Created (UTC)'), 'the zone is named');
  const row = rowOf(res.body, hostile.email)!;
  t.ok(row, 'the new account is listed');
  t.same(row.slice(2, 5), ['Organizer', 'Enabled', DateTime.fromJSDate(hostile.createdAt, { zone: 'UTC' }).toFormat('yyyy-MM-dd HH:mm:ss')]);
  t.notOk(res.body.includes(HOSTILE), 'a hostile name is never markup');
  t.ok(res.body.includes('&lt;img src=x onerror=alert(1)&gt;'));
  const mine = rowOf(res.body, admin.organizer.email)!;
  t.match(mine[0], /\(you\)/);
  t.match(mine[6], /Your own account/, 'no Disable on your own row');
  t.ok(res.body.includes(`href="/console/organizers/${hostile.id}/disable"`), 'Disable for the others');
  for (const label of ['Name', 'E-mail', 'Password', 'Role']) t.match(res.body, new RegExp(`<label for="f-new-[a-z]+">${label} <span class="req">`), `a ${label} field`);
  t.match(res.body, /<button type="submit">Add organizer<\/button>/);
  // The same accounts as the API's list.
  const api = await app.inject({ method: 'GET', url: '/api/v1/organizers', headers: adminApi });
  const apiEmails = api.json<{ items: Array<{ email: string }> }>().items.map((item) => item.email);
  const pageEmails = tableRows((await admin.get('/console/organizers')).body).map((cells) => cells[1]);
  t.same(pageEmails.filter((email) => apiEmails.includes(email!)).length, apiEmails.length, 'every account the API lists');
});

t.test('add organizer: saved with the API audit entry, the new account can sign in', async (t) => {
  const added = newOrganizer({ role: 'admin', email: uniqueEmail('Console-New').toUpperCase() });
  const res = await admin.post('/console/organizers', added);
  t.equal(res.statusCode, 303, res.body.slice(0, 300));
  t.equal(res.headers.location, '/console/organizers?done=added');
  const account = (await accountOf(added.email))!;
  t.ok(account, 'saved');
  t.equal(account.role, 'admin');
  t.equal(account.name, 'Nora New');
  const after = await admin.get(res.headers.location!);
  t.match(after.body, /The organizer is added/);
  t.ok(rowOf(after.body, added.email.toLowerCase()), 'listed, e-mail normalised as the API does');

  // The API's create of another account, to compare the audit entries.
  const viaApi = await app.inject({ method: 'POST', url: '/api/v1/organizers', headers: adminApi, payload: { ...newOrganizer(), role: 'admin' } });
  t.equal(viaApi.statusCode, 201);
  const [consoleEntry] = await auditOf(account.id);
  const [apiEntry] = await auditOf(viaApi.json().id);
  t.match(consoleEntry, { action: 'organizer.create', actor_id: admin.organizer.id, actor_email: admin.organizer.email, details: { email: added.email.toLowerCase(), role: 'admin' } });
  t.same(
    { ...consoleEntry, details: Object.keys(consoleEntry!.details).sort() },
    { ...apiEntry, details: Object.keys(apiEntry!.details).sort() },
    'the same action, actor and detail fields as the API',
  );

  const signedIn = await consoleSignIn(app, { ...(await app.services.organizers.findById(account.id))! }, NEW_PASSWORD);
  t.equal((await signedIn.get('/console/organizers')).statusCode, 200, 'the new admin signs in and sees the page');
});

t.test('add organizer: bad input shows errors at their fields, status 400 or 409, nothing saved', async (t) => {
  const check = async (label: string, fields: Record<string, string>, status: number, id: string, error: RegExp) => {
    const res = await admin.post('/console/organizers', fields);
    t.equal(res.statusCode, status, `${label}: status`);
    t.match(fieldError(res.body, id), error, `${label}: the error at its field`);
    t.match(res.body, /There is a problem/, `${label}: the summary`);
    t.match(res.body, new RegExp(`<a href="#${id}">`), `${label}: the summary links to the field`);
    t.match(res.body, /<title>Error: Organizers/, `${label}: the title says so`);
    t.notOk(res.body.includes(NEW_PASSWORD), `${label}: the password is never shown again`);
    if (status === 400) t.equal(await accountOf(fields.email!), undefined, `${label}: nothing saved`);
    return res;
  };
  const taken = await check('e-mail taken', newOrganizer({ email: plain.organizer.email.toUpperCase() }), 409, 'f-new-email', /already exists/);
  t.ok(taken.body.includes(`value="${plain.organizer.email.toUpperCase()}"`), 'the e-mail typed is shown again');
  t.ok(taken.body.includes('value="Nora New"'), 'so is the name');
  t.equal((await accountById(plain.organizer.id)).role, 'organizer', 'the existing account unchanged');

  const empty = newOrganizer({ name: '   ' });
  await check('empty name', empty, 400, 'f-new-name', /^Name is required$/);
  await check('short password', newOrganizer({ password: 'short' }), 400, 'f-new-password', /^Password must be at least 12 characters$/);
  const long = await check('20,000-character name', newOrganizer({ name: 'N'.repeat(20_000) }), 400, 'f-new-name', /^Name must be at most 200 characters$/);
  t.notOk(long.body.includes('Internal'), 'no stack trace');
  await check('not an e-mail', newOrganizer({ email: `not-an-email-${uniqueSuffix()}` }), 400, 'f-new-email', /must be an e-mail address/);
  await check('unknown role', newOrganizer({ role: 'superuser' }), 400, 'f-new-role', /^Role must be Admin or Organizer$/);

  // Arrays for every field (repeated names).
  const email = uniqueEmail('console-array');
  const payload = new URLSearchParams([
    ['_csrf', admin.csrf],
    ['name', 'A'],
    ['name', 'B'],
    ['email', email],
    ['email', uniqueEmail('other')],
    ['password', NEW_PASSWORD],
    ['password', NEW_PASSWORD],
    ['role', 'admin'],
    ['role', 'organizer'],
  ]).toString();
  const arrays = await app.inject({ method: 'POST', url: '/console/organizers', payload, headers: { ...form({}).headers, ...admin.headers } });
  t.equal(arrays.statusCode, 400, 'arrays: 400');
  for (const [id, label] of [['f-new-name', 'Name'], ['f-new-email', 'E-mail'], ['f-new-password', 'Password']]) {
    t.equal(fieldError(arrays.body, id!), `${label} is required`, `arrays: ${label}`);
  }
  t.match(fieldError(arrays.body, 'f-new-role'), /Role must be/, 'arrays: Role');
  t.equal(await accountOf(email), undefined, 'arrays: nothing saved');
});

t.test('change role: both ways, the API audit entry, unknown and malformed ids', async (t) => {
  const target = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'Role Target'));
  t.notOk(navHas((await target.get('/console')).body, 'Organizers'), 'no admin nav before');
  const res = await admin.post(`/console/organizers/${target.organizer.id}/role`, { role: 'admin' });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/console/organizers?done=role');
  t.equal((await accountById(target.organizer.id)).role, 'admin');
  t.match(rowOf((await admin.get(res.headers.location!)).body, target.organizer.email)!.slice(2, 4), ['Admin', 'Enabled']);
  t.ok(navHas((await target.get('/console')).body, 'Organizers'), 'the new admin sees the entry at once');
  t.equal((await target.get('/console/organizers')).statusCode, 200, 'and the page');

  t.equal((await admin.post(`/console/organizers/${target.organizer.id}/role`, { role: 'organizer' })).statusCode, 303);
  t.equal((await accountById(target.organizer.id)).role, 'organizer');
  t.equal((await target.get('/console/organizers')).statusCode, 403, 'demoted: refused again');

  // The same change through the API, on another account, leaves the same entry.
  const other = await makeOrganizer(app);
  t.equal((await app.inject({ method: 'PATCH', url: `/api/v1/organizers/${other.id}`, headers: adminApi, payload: { role: 'admin' } })).statusCode, 200);
  const consoleEntries = (await auditOf(target.organizer.id)).filter((entry) => entry.action === 'organizer.update');
  t.same(consoleEntries, [
    { action: 'organizer.update', actor_id: admin.organizer.id, actor_email: admin.organizer.email, details: { role: 'admin' } },
    { action: 'organizer.update', actor_id: admin.organizer.id, actor_email: admin.organizer.email, details: { role: 'organizer' } },
  ]);
  const apiEntry = (await auditOf(other.id)).find((entry) => entry.action === 'organizer.update');
  t.same(apiEntry, consoleEntries[0], 'the same entry as PATCH /api/v1/organizers/{id}');

  const bad = await admin.post(`/console/organizers/${target.organizer.id}/role`, { role: 'superuser' });
  t.equal(bad.statusCode, 400, 'an unknown role');
  t.match(bad.body, /Choose a role/);
  t.equal((await accountById(target.organizer.id)).role, 'organizer');
  const unknown = await admin.post('/console/organizers/00000000-0000-4000-8000-000000000000/role', { role: 'admin' });
  t.equal(unknown.statusCode, 404, 'an unknown id');
  t.match(unknown.body, /Page not found/);
  t.equal((await admin.post('/console/organizers/not-a-uuid/role', { role: 'admin' })).statusCode, 400, 'a malformed id');
  t.equal((await admin.get('/console/organizers/not-a-uuid/disable')).statusCode, 400, 'a malformed id (GET)');
  t.equal((await admin.get('/console/organizers/00000000-0000-4000-8000-000000000000/disable')).statusCode, 404, 'an unknown id (GET)');
});

t.test('disable after a confirmation: its console sessions and API tokens end; enable', async (t) => {
  const target = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'Disable Target'));
  const targetApi = { authorization: `Bearer ${app.issueToken(target.organizer).token}` };
  const me = () => app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: targetApi });
  t.equal((await target.get('/console')).statusCode, 200, 'signed in before');
  t.equal((await me()).statusCode, 200, 'the token works before');

  const confirm = await admin.get(`/console/organizers/${target.organizer.id}/disable`);
  t.equal(confirm.statusCode, 200);
  t.match(confirm.body, /<h1>Disable Disable Target\?<\/h1>/);
  t.match(confirm.body, new RegExp(`<form method="post" action="/console/organizers/${target.organizer.id}/disable">`));
  t.match(confirm.body, /<button type="submit" class="danger">Disable the account<\/button>/);
  t.equal((await accountById(target.organizer.id)).disabled_at, null, 'the confirmation page changes nothing');

  const res = await admin.post(`/console/organizers/${target.organizer.id}/disable`, {});
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/console/organizers?done=disabled');
  t.not((await accountById(target.organizer.id)).disabled_at, null, 'disabled');
  const listed = await admin.get(res.headers.location!);
  t.match(listed.body, /The account is disabled/);
  t.same(rowOf(listed.body, target.organizer.email)!.slice(3, 4), ['Disabled']);
  t.match(listed.body, new RegExp(`action="/console/organizers/${target.organizer.id}/enable"`), 'an Enable button');

  const ended = await target.get('/console');
  t.equal(ended.statusCode, 303, 'its console session ended');
  t.equal(ended.headers.location, '/console/login?m=ended');
  t.equal((await me()).statusCode, 401, 'its API token ended');
  const login = await app.inject({ method: 'POST', url: '/console/login', ...form({ email: target.organizer.email, password: PASSWORD }) });
  t.equal(login.statusCode, 401, 'it cannot sign in');
  t.equal((await admin.get(`/console/organizers/${target.organizer.id}/disable`)).statusCode, 409, 'no confirmation for a disabled account');

  const enabled = await admin.post(`/console/organizers/${target.organizer.id}/enable`, {});
  t.equal(enabled.statusCode, 303);
  t.equal(enabled.headers.location, '/console/organizers?done=enabled');
  t.equal((await accountById(target.organizer.id)).disabled_at, null, 'enabled');
  t.equal((await app.inject({ method: 'GET', url: '/console', headers: target.headers })).statusCode, 303, 'the old session stays ended');
  t.equal((await me()).statusCode, 401, 'so does the old token');
  const again = await consoleSignIn(app, target.organizer);
  t.equal((await again.get('/console')).statusCode, 200, 'it signs in anew');

  // The API's disable and enable of another account leave the same entries.
  const other = await makeOrganizer(app);
  for (const disabled of [true, false]) {
    t.equal((await app.inject({ method: 'PATCH', url: `/api/v1/organizers/${other.id}`, headers: adminApi, payload: { disabled } })).statusCode, 200);
  }
  const strip = (entries: AuditEntry[]) => entries.filter((entry) => entry.action === 'organizer.update');
  const consoleEntries = strip(await auditOf(target.organizer.id));
  t.same(consoleEntries, [
    { action: 'organizer.update', actor_id: admin.organizer.id, actor_email: admin.organizer.email, details: { disabled: true } },
    { action: 'organizer.update', actor_id: admin.organizer.id, actor_email: admin.organizer.email, details: { disabled: false } },
  ]);
  t.same(strip(await auditOf(other.id)), consoleEntries, 'the same entries as PATCH /api/v1/organizers/{id}');
});

t.test('disabling yourself is refused with a clear message', async (t) => {
  const res = await admin.post(`/console/organizers/${admin.organizer.id}/disable`, {});
  t.equal(res.statusCode, 409);
  t.match(res.body, /There is a problem/);
  t.match(res.body, /You cannot disable your own account/);
  t.match(res.body, /<h1>Organizers<\/h1>/, 'on the organizers page');
  t.equal((await accountById(admin.organizer.id)).disabled_at, null);
  t.equal((await admin.get('/console/organizers')).statusCode, 200, 'still signed in');
});

t.test('the audit page: filters, newest first, times in UTC, pagination with the API cursor', async (t) => {
  // An actor of this test alone, with entries at known times: the shared database holds many others.
  const actor = await makeOrganizer(app, 'organizer', 'Audit Actor');
  const base = DateTime.now().toUTC().minus({ days: 3 }).startOf('second');
  const at = (i: number) => base.plus({ seconds: i }).toJSDate();
  for (let i = 0; i < 55; i += 1) {
    await app.services.audit.record({ actor, action: i % 2 === 0 ? 'organizer.update' : 'session.update', subjectType: 'organizer', subjectId: actor.id, details: { n: i }, at: at(i) });
  }
  const page = (query: string) => admin.get(`/console/audit${query}`);
  const ns = (html: string) => tableRows(html).map((row) => Number(/&quot;n&quot;:(\d+)/.exec(row[4]!)?.[1]));

  const first = await page(`?actor=${actor.id}`);
  t.equal(first.statusCode, 200);
  t.match(first.body, /<a href="\/console\/audit" aria-current="page">Audit log<\/a>/);
  t.ok(first.body.includes('Time (UTC)'), 'the zone is named');
  t.same(ns(first.body), Array.from({ length: 50 }, (_, i) => 54 - i), 'newest first, 50 a page');
  const top = tableRows(first.body)[0]!;
  t.equal(top[0], base.plus({ seconds: 54 }).toFormat('yyyy-MM-dd HH:mm:ss'), 'the time in UTC');
  t.equal(top[1], actor.email, 'the actor');
  t.equal(top[2], 'organizer.update');
  t.match(top[3], new RegExp(`organizer ${actor.id}`));
  t.notOk(first.body.includes('First page'));
  const next = /<a href="([^"]+)" rel="next">Next page<\/a>/.exec(first.body)?.[1];
  t.ok(next, 'a Next page link');
  t.match(decode(next!), new RegExp(`actor=${actor.id}`), 'that keeps the filters');
  const second = await admin.get(decode(next!));
  t.same(ns(second.body), [4, 3, 2, 1, 0]);
  t.ok(second.body.includes('First page'));
  t.notOk(second.body.includes('rel="next"'));
  // The API's page for the same filter lists the same entries.
  const api = await app.inject({ method: 'GET', url: `/api/v1/audit?actor=${actor.id}&limit=50`, headers: adminApi });
  t.same(api.json<{ items: Array<{ details: { n: number } }> }>().items.map((item) => item.details.n), ns(first.body), 'the same as GET /api/v1/audit');

  t.same(ns((await page(`?actor=${encodeURIComponent(actor.email)}&action=session.update`)).body).slice(0, 3), [53, 51, 49], 'by e-mail and action');
  const from = base.plus({ seconds: 10 }).toFormat("yyyy-MM-dd'T'HH:mm:ss");
  const to = base.plus({ seconds: 20 }).toFormat("yyyy-MM-dd'T'HH:mm:ss");
  const ranged = await page(`?actor=${actor.id}&from=${from}&to=${to}`);
  t.same(ns(ranged.body), [19, 18, 17, 16, 15, 14, 13, 12, 11, 10], 'from (inclusive) and before (exclusive), read in UTC');
  t.ok(ranged.body.includes(`value="${from}"`), 'the filters are shown again');
  t.match(ranged.body, /Clear filters/);
  const minutes = base.plus({ minutes: 2 }).toFormat("yyyy-MM-dd'T'HH:mm");
  t.equal(ns((await page(`?actor=${actor.id}&to=${minutes}`)).body).length, 50, 'a time without seconds');

  // The entries this file's actions left, found by actor and action.
  const mine = await page(`?actor=${admin.organizer.id}&action=organizer.create`);
  t.ok(tableRows(mine.body).length >= 1, 'the admin’s organizer.create entries');
  t.ok(tableRows(mine.body).every((row) => row[1] === admin.organizer.email && row[2] === 'organizer.create'));

  const badAction = await page('?action=Session%20Create!');
  t.equal(badAction.statusCode, 400, 'an action that cannot exist');
  t.match(fieldError(badAction.body, 'f-action'), /^Action must be lower-case letters/);
  t.match(badAction.body, /Correct the filters/);
  const badTime = await page('?from=yesterday');
  t.equal(badTime.statusCode, 400);
  t.match(fieldError(badTime.body, 'f-from'), /Enter a date and time/);
  const badCursor = await page('?cursor=not-a-cursor');
  t.equal(badCursor.statusCode, 400, 'a broken cursor');
  t.match(badCursor.body, /The page link is not valid/);
  const longCursor = await page(`?cursor=${'a'.repeat(300)}`);
  t.equal(longCursor.statusCode, 400, 'an overlong cursor');
  t.equal((await page('?action=a&action=b')).statusCode, 200, 'a repeated filter is read as none');
  t.equal((await page(`?actor=${'x'.repeat(300)}`)).statusCode, 400, 'an overlong actor');
});

t.test('the last enabled admin stays one (own database: the shared one has many admins)', async (t) => {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `${url.pathname.replace(/^\//, '')}_console_admin`;
  await migrateDatabase(url.toString());
  const reset = new pg.Client({ connectionString: withDefaultUser(url.toString()) });
  await reset.connect();
  await reset.query('TRUNCATE organizers CASCADE');
  await reset.end();

  const own = await buildTestApp(t, { env: { DATABASE_URL: url.toString() } });
  const only: ConsoleBrowser = await consoleSignIn(own.app, await makeOrganizer(own.app as App, 'admin', 'Only Admin'));
  const demote = await only.post(`/console/organizers/${only.organizer.id}/role`, { role: 'organizer' });
  t.equal(demote.statusCode, 409, 'demoting the only admin');
  t.match(demote.body, /This is the last enabled admin; make another admin first/);
  const { rows } = await own.database.pool.query("SELECT role FROM organizers WHERE id = $1", [only.organizer.id]);
  t.equal(rows[0].role, 'admin', 'still an admin');

  // With a second admin, demoting oneself works and leads out of the admin pages.
  const second: Organizer = await makeOrganizer(own.app as App, 'admin', 'Second Admin');
  const res = await only.post(`/console/organizers/${only.organizer.id}/role`, { role: 'organizer' });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/console', 'to the sessions, the admin pages being closed now');
  t.equal((await only.get('/console/organizers')).statusCode, 403);
  t.ok(second, 'the other admin remains');
});
