import t from 'tap';
import { parse } from 'csv-parse/sync';
import { buildTestApp, manualClock, uniqueEmail } from '../helpers/app.js';
import { createSession, registered, type SessionJson } from '../helpers/registrations.js';
import { consoleSignIn, form, makeOrganizer, type ConsoleBrowser, tableRows as rowsOf } from './support.js';

const clock = manualClock();
const { app, database } = await buildTestApp(t, { clock });

const QUESTIONS = [
  { id: 'city', label: 'Your city', type: 'text', required: true },
  { id: 'role', label: 'Role', type: 'select', options: ['Mayor', 'Staff'], required: false },
];
const HOSTILE = '<img src=x onerror=alert(1)>';

const host = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'People host'));
const hostApi = { authorization: `Bearer ${app.issueToken(host.organizer).token}` };
const stranger = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'Not a host'));

async function sessionWith(overrides: Record<string, unknown> = {}): Promise<SessionJson> {
  return createSession(app, hostApi, { capacity: 2, waitlist: { enabled: true }, questions: QUESTIONS, ...overrides });
}

async function people(session: SessionJson, names: string[]): Promise<Record<string, { id: string; email: string }>> {
  const byName: Record<string, { id: string; email: string }> = {};
  for (const name of names) {
    const email = uniqueEmail(name.replace(/[^a-z]/gi, '').toLowerCase() || 'hostile');
    await registered(app, session.slug, { name, email, answers: { city: 'Springfield' } });
    clock.advance(1000);
    const { rows } = await database.pool.query<{ id: string }>(
      'SELECT r.id FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE r.session_id = $1 AND a.email = $2',
      [session.id, email],
    );
    byName[name] = { id: rows[0]!.id, email };
  }
  return byName;
}

async function auditOf(subjectId: string, action: string): Promise<Array<{ actor_id: string | null; details: Record<string, any> }>> {
  const { rows } = await database.pool.query('SELECT actor_id, details FROM audit_log WHERE subject_id = $1 AND action = $2 ORDER BY at', [subjectId, action]);
  return rows;
}

async function statusOf(id: string): Promise<{ status: string; checked_in_at: Date | null }> {
  const { rows } = await database.pool.query('SELECT status, checked_in_at FROM registrations WHERE id = $1', [id]);
  return rows[0];
}

const tableRows = (html: string) => rowsOf(html, 'people-table');

const names = (html: string) => tableRows(html).map((row) => row[0]);

function fieldError(html: string, id: string): string | null {
  const match = new RegExp(`<p class="field-error" id="${id}-error"><span class="visually-hidden">Error: </span>([^<]*)</p>`).exec(html);
  return match ? match[1]! : null;
}

const session = await sessionWith();
const byName = await people(session, ['Ada Host', 'Ben Seat', 'Cleo Wait', 'Dan Wait', HOSTILE]);
const page = (browser: ConsoleBrowser, query = '') => browser.get(`/console/sessions/${session.id}/registrations${query}`);

t.test('signed out: to the login page; not a host: 404 on the page, every action and every export', async (t) => {
  const signedOut = await app.inject({ method: 'GET', url: `/console/sessions/${session.id}/registrations` });
  t.equal(signedOut.statusCode, 303);
  t.match(signedOut.headers.location, /^\/console\/login\?next=/);
  const base = `/console/sessions/${session.id}`;
  const ben = byName['Ben Seat']!.id;
  for (const url of [`${base}/registrations`, `${base}/registrations/${ben}/cancel`, `${base}/attendees.csv`, `${base}/attendees.xlsx`, `${base}/attendees.json`]) {
    const res = await stranger.get(url);
    t.equal(res.statusCode, 404, `GET ${url}`);
    t.notOk(res.body.includes('Ben Seat'), 'no attendee data');
  }
  for (const url of [`${base}/registrations`, `${base}/registrations/${ben}/cancel`, `${base}/registrations/${ben}/check-in`]) {
    const res = await stranger.post(url, { name: 'X', email: uniqueEmail('x') });
    t.equal(res.statusCode, 404, `POST ${url}`);
  }
  t.equal((await statusOf(ben)).status, 'confirmed', 'nothing changed');
  t.equal((await statusOf(ben)).checked_in_at, null);
});

t.test('the table: everyone but the cancelled, in registration order, waitlist positions, zone named, hostile name escaped', async (t) => {
  const res = await page(host);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  const rows = tableRows(res.body);
  t.same(rows.map((row) => row[4]), ['Confirmed', 'Confirmed', 'Waitlisted', 'Waitlisted', 'Waitlisted']);
  t.same(rows.map((row) => row[5]), ['', '', '1', '2', '3'], 'waitlist positions in order');
  t.ok(res.body.includes('Registered (America/Chicago)'), 'the zone is named');
  t.notOk(res.body.includes(HOSTILE), 'the hostile name is never markup');
  t.ok(res.body.includes('&lt;img src=x onerror=alert(1)&gt;'), 'it is shown escaped');
  t.ok(res.body.includes(`href="/console/sessions/${session.id}/attendees.csv"`), 'export links');
  const overview = await host.get(`/console/sessions/${session.id}`);
  t.ok(overview.body.includes(`href="/console/sessions/${session.id}/registrations">People</a>`), 'the overview links to the people');
});

t.test('search and filters: the API list\'s rows', async (t) => {
  t.same(names((await page(host, '?q=cleo')).body), ['Cleo Wait']);
  t.same(names((await page(host, `?q=${encodeURIComponent(byName['Dan Wait']!.email)}`)).body), ['Dan Wait'], 'by e-mail');
  t.same(names((await page(host, '?status=waitlisted')).body), ['Cleo Wait', 'Dan Wait', HOSTILE].map((n) => n.replace(/</g, '&lt;').replace(/>/g, '&gt;')));
  t.same(names((await page(host, '?status=confirmed')).body), ['Ada Host', 'Ben Seat']);
  t.same(names((await page(host, '?q=nobody-is-called-this')).body), []);
  t.ok((await page(host, '?q=nobody-is-called-this')).body.includes('Nobody matches.'));
  t.equal((await page(host, '?status=nonsense&attendance=sideways')).statusCode, 200, 'an unknown choice is no filter');
  t.equal((await page(host, '?cursor=not-a-cursor')).statusCode, 400, 'a broken cursor is a page saying so');
});

t.test('pagination: Next and First page links with the API cursor', async (t) => {
  const big = await sessionWith({ capacity: null });
  // 101 people straight through the public API would be slow; the service adds them (the same seat code).
  for (let i = 0; i < 101; i += 1) {
    await app.services.registrations.addByOrganizer(big.id, { name: `Person ${String(i).padStart(3, '0')}`, email: uniqueEmail(`p${i}`), answers: { city: 'X' } }, host.organizer.id, host.organizer);
    clock.advance(10);
  }
  const first = await host.get(`/console/sessions/${big.id}/registrations`);
  t.equal(first.statusCode, 200, `the first page: ${first.headers.location ?? first.body.replace(/\s+/g, ' ').slice(0, 600)}`);
  t.equal(tableRows(first.body).length, 100);
  const next = /<a href="([^"]+)" rel="next">Next page<\/a>/.exec(first.body)?.[1]?.replace(/&amp;/g, '&');
  t.ok(next, 'a Next page link');
  t.notOk(first.body.includes('First page'), 'no First page link on the first page');
  const second = await host.get(next!);
  t.same(names(second.body), ['Person 100']);
  t.ok(second.body.includes('First page'));
  t.notOk(second.body.includes('rel="next"'));
});

t.test('check in: POST with CSRF, the API\'s audit entry, only confirmed people', async (t) => {
  const ada = byName['Ada Host']!.id;
  const base = `/console/sessions/${session.id}/registrations`;
  const noCsrf = await app.inject({ method: 'POST', url: `${base}/${ada}/check-in`, payload: '', headers: { ...form({}).headers, ...host.headers } });
  t.equal(noCsrf.statusCode, 403, 'CSRF missing');
  const wrong = await app.inject({ method: 'POST', url: `${base}/${ada}/check-in`, ...form({ _csrf: 'wrong' }), headers: { ...form({}).headers, ...host.headers } });
  t.equal(wrong.statusCode, 403, 'CSRF wrong');
  const foreign = await host.post(`${base}/${ada}/check-in`, {}, { origin: 'https://evil.example' });
  t.equal(foreign.statusCode, 403, 'a foreign Origin');
  t.equal((await statusOf(ada)).checked_in_at, null, 'nothing checked in');

  const res = await host.post(`${base}/${ada}/check-in?status=confirmed`, {});
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, `${base}?status=confirmed&done=checked-in`, 'back to the same view');
  t.not((await statusOf(ada)).checked_in_at, null);
  const after = await host.get(res.headers.location as string);
  t.match(tableRows(after.body)[0]![7], /^Checked in \d{4}-\d\d-\d\d \d\d:\d\d$/);
  t.same(names((await page(host, '?attendance=attended')).body), ['Ada Host']);
  t.same(names((await page(host, '?attendance=no-show')).body), ['Ben Seat']);

  // The same entry as the API's check-in of another person.
  const other = await sessionWith({ capacity: 5 });
  const otherPeople = await people(other, ['Via Api']);
  const api = await app.inject({ method: 'POST', url: `/api/v1/sessions/${other.id}/registrations/${otherPeople['Via Api']!.id}/check-in`, headers: hostApi });
  t.equal(api.statusCode, 200);
  const [consoleEntry] = await auditOf(ada, 'registration.check_in');
  const [apiEntry] = await auditOf(otherPeople['Via Api']!.id, 'registration.check_in');
  t.equal(consoleEntry!.actor_id, host.organizer.id, 'the organizer is the actor');
  t.same({ ...consoleEntry!.details, sessionId: 'x' }, { ...apiEntry!.details, sessionId: 'x' }, 'the same details as the API');

  const waiting = await host.post(`${base}/${byName['Cleo Wait']!.id}/check-in`, {});
  t.equal(waiting.statusCode, 409, 'a waitlisted person is not checked in');
  t.ok(waiting.body.includes('cannot be checked in'));
});

t.test('cancel: a confirmation page, then POST; the first waiting person gets the seat', async (t) => {
  const ben = byName['Ben Seat']!.id;
  const base = `/console/sessions/${session.id}/registrations`;
  const confirm = await host.get(`${base}/${ben}/cancel`);
  t.equal(confirm.statusCode, 200);
  t.ok(confirm.body.includes('Cancel the registration of Ben Seat?'));
  t.ok(confirm.body.includes('first person on the waitlist'));
  t.equal((await statusOf(ben)).status, 'confirmed', 'the GET changed nothing');

  const noCsrf = await app.inject({ method: 'POST', url: `${base}/${ben}/cancel`, payload: '', headers: { ...form({}).headers, ...host.headers } });
  t.equal(noCsrf.statusCode, 403);
  t.equal((await statusOf(ben)).status, 'confirmed');

  const res = await host.post(`${base}/${ben}/cancel`, {});
  t.equal(res.statusCode, 303);
  t.equal((await statusOf(ben)).status, 'cancelled');
  const after = await host.get(res.headers.location as string);
  t.ok(after.body.includes('the first person waiting, if any, got the seat'));
  const rows = tableRows(after.body);
  t.same(rows.map((row) => [row[0], row[4], row[5]]), [
    ['Ada Host', 'Confirmed', ''],
    ['Cleo Wait', 'Confirmed', ''],
    ['Dan Wait', 'Waitlisted', '1'],
    ['&lt;img src=x onerror=alert(1)&gt;', 'Waitlisted', '2'],
  ]);
  t.same(names((await page(host, '?status=cancelled')).body), ['Ben Seat']);

  // The same audit entry as the API's cancel.
  const other = await sessionWith({ capacity: 5 });
  const otherPeople = await people(other, ['Api Cancel']);
  const api = await app.inject({ method: 'POST', url: `/api/v1/sessions/${other.id}/registrations/${otherPeople['Api Cancel']!.id}/cancel`, headers: hostApi });
  t.equal(api.statusCode, 200);
  const consoleEntries = await database.pool.query('SELECT action, actor_id FROM audit_log WHERE subject_id = $1 ORDER BY at', [ben]);
  const apiEntries = await database.pool.query('SELECT action, actor_id FROM audit_log WHERE subject_id = $1 ORDER BY at', [otherPeople['Api Cancel']!.id]);
  t.ok(consoleEntries.rows.length > 0);
  t.same(consoleEntries.rows, apiEntries.rows, 'the same entries, the organizer as actor');

  const again = await host.get(`${base}/${ben}/cancel`);
  t.equal(again.statusCode, 409, 'already cancelled');
  const foreignRegistration = await host.get(`${base}/${otherPeople['Api Cancel']!.id}/cancel`);
  t.equal(foreignRegistration.statusCode, 404, 'a registration of another session');
});

t.test('add by hand: errors at fields and nothing saved; full without force; force beyond capacity', async (t) => {
  const full = await sessionWith({ capacity: 1, waitlist: { enabled: false } });
  await people(full, ['Seat Taken']);
  const url = `/console/sessions/${full.id}/registrations`;
  const count = async () => (await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM registrations WHERE session_id = $1', [full.id])).rows[0]!.n;

  const bad = await host.post(url, { name: '', email: 'not-an-address', organization: 'x'.repeat(10), 'answer-role': 'Emperor' });
  t.equal(bad.statusCode, 400);
  t.match(bad.body, /<title>Error: People/);
  t.ok(bad.body.includes('There is a problem'));
  t.equal(fieldError(bad.body, 'f-add-name'), 'Name is required');
  t.equal(fieldError(bad.body, 'f-add-email'), 'E-mail must be an e-mail address');
  t.equal(fieldError(bad.body, 'f-add-answer-city'), 'Your city is required');
  t.match(fieldError(bad.body, 'f-add-answer-role'), /^Role must be one of: Mayor, Staff/);
  t.ok(bad.body.includes('value="xxxxxxxxxx"'), 'what was typed is kept');
  const tooLong = await host.post(url, { name: 'n'.repeat(201), email: uniqueEmail('long') });
  t.equal(tooLong.statusCode, 400);
  t.equal(fieldError(tooLong.body, 'f-add-name'), 'Name must be at most 200 characters (it has 201)');
  t.equal(await count(), 1, 'nothing saved');

  const email = uniqueEmail('byhand');
  const fullRes = await host.post(url, { name: 'By Hand', email, 'answer-city': 'Austin' });
  t.equal(fullRes.statusCode, 409);
  t.ok(fullRes.body.includes('Confirm even if the session is full'), 'says how to go beyond capacity');
  t.equal(await count(), 1, 'nothing saved');

  const forced = await host.post(url, { name: 'By Hand', email, organization: 'City of Austin', 'answer-city': 'Austin', force: 'on' });
  t.equal(forced.statusCode, 303);
  t.equal(forced.headers.location, `${url}?done=added`);
  const listed = tableRows((await host.get(`${url}?q=by%20hand`)).body);
  t.same(listed.map((row) => [row[0], row[2], row[4]]), [['By Hand', 'City of Austin', 'Confirmed (beyond capacity)']]);
  const { rows } = await database.pool.query<{ id: string }>('SELECT r.id FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE r.session_id = $1 AND a.email = $2', [full.id, email]);
  const entries = await auditOf(rows[0]!.id, 'registration.add');
  t.equal(entries.length, 1);
  t.equal(entries[0]!.actor_id, host.organizer.id);
  t.same(entries[0]!.details, { sessionId: full.id, status: 'confirmed', forced: true }, 'the API\'s entry, force stated');

  const twice = await host.post(url, { name: 'By Hand', email, 'answer-city': 'Austin', force: 'on' });
  t.equal(twice.statusCode, 409);
  t.ok(twice.body.includes('already registered'));
});

t.test('exports: the API\'s bytes and audit entry, under the console session', async (t) => {
  const waitForExports = async (count: number) => {
    for (let i = 0; i < 50; i += 1) {
      const { rows } = await database.pool.query<{ actor_id: string; details: Record<string, any> }>(
        "SELECT actor_id, details FROM audit_log WHERE subject_id = $1 AND action = 'export.attendees' ORDER BY at, id",
        [session.id],
      );
      if (rows.length >= count) return rows;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('the export was not recorded');
  };
  const fromConsole = await host.get(`/console/sessions/${session.id}/attendees.csv`);
  t.equal(fromConsole.statusCode, 200);
  t.match(fromConsole.headers['content-type'], /^text\/csv/);
  t.equal(fromConsole.headers['content-disposition'], `attachment; filename="${session.slug}-attendees.csv"`);
  const [consoleEntry] = await waitForExports(1);
  const fromApi = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.csv`, headers: hostApi });
  t.equal(fromConsole.body, fromApi.body, 'the same bytes as the API');
  const records = parse(fromConsole.body) as string[][];
  t.equal(records.length, 1 + 4, 'a header and the confirmed and waitlisted');
  t.ok(records.some((record) => record.includes(HOSTILE)), 'the name as it was given, in the CSV');
  const [, apiEntry] = await waitForExports(2);
  t.equal(consoleEntry!.actor_id, host.organizer.id);
  t.same(consoleEntry!.details, apiEntry!.details, 'the same audit entry as the API');

  const xlsx = await host.get(`/console/sessions/${session.id}/attendees.xlsx`);
  t.equal(xlsx.statusCode, 200);
  t.equal(xlsx.rawPayload.subarray(0, 2).toString(), 'PK', 'a workbook');
  const json = await host.get(`/console/sessions/${session.id}/attendees.json`);
  t.equal(json.statusCode, 200);
  t.equal(JSON.parse(json.body).items.length, 4);
  await waitForExports(4);
});

t.test('a finished session: no add form, the table still shown', async (t) => {
  const past = await sessionWith({ capacity: 5 });
  await people(past, ['Was There']);
  // The session moves into the past (the console session would expire if the clock moved a month).
  const now = clock.now().getTime();
  await database.pool.query('UPDATE sessions SET starts_at = $2, ends_at = $3 WHERE id = $1', [past.id, new Date(now - 2 * 3_600_000), new Date(now - 3_600_000)]);
  const res = await host.get(`/console/sessions/${past.id}/registrations`);
  t.equal(res.statusCode, 200);
  t.same(names(res.body), ['Was There']);
  t.notOk(res.body.includes('Add person'));
  t.ok(res.body.includes('The session has ended: nobody can be added.'));
  const added = await host.post(`/console/sessions/${past.id}/registrations`, { name: 'Too Late', email: uniqueEmail('late'), 'answer-city': 'X' });
  t.equal(added.statusCode, 409, 'the service refuses it too');
});
