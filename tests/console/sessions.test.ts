import t from 'tap';
import { DateTime } from 'luxon';
import { buildTestApp, manualClock, uniqueEmail } from '../helpers/app.js';
import { registered } from '../helpers/registrations.js';
import { gapTime } from '../helpers/zones.js';
import { consoleSignIn, form, formFields, makeOrganizer, unescape, type ConsoleBrowser } from './support.js';

const clock = manualClock();
const { app, database } = await buildTestApp(t, { clock });
const DAY = 86_400_000;
const CHICAGO = 'America/Chicago';

// ---------------------------------------------------------------------------------------------
// Helpers: a page's form read back as a browser would send it, and the database's view

/** The error shown at a field (by its id), or null. */
function fieldError(html: string, id: string): string | null {
  const match = new RegExp(`<p class="field-error" id="${id}-error"><span class="visually-hidden">Error: </span>([^<]*)</p>`).exec(html);
  return match ? unescape(match[1]!) : null;
}

function summaryLinks(html: string): string[] {
  const start = html.indexOf('class="error-summary"');
  if (start < 0) return [];
  const box = html.slice(start, html.indexOf('</div>', start));
  return [...box.matchAll(/<a href="#([^"]+)">/g)].map((match) => match[1]!);
}

async function countCreatedBy(organizerId: string): Promise<number> {
  const { rows } = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM sessions WHERE created_by = $1', [organizerId]);
  return rows[0]!.n;
}

async function sessionRow(id: string): Promise<Record<string, any> | undefined> {
  const { rows } = await database.pool.query('SELECT * FROM sessions WHERE id = $1', [id]);
  return rows[0];
}

async function auditOf(subjectId: string, action: string): Promise<Array<{ actor_id: string | null; details: Record<string, any> }>> {
  const { rows } = await database.pool.query('SELECT actor_id, details FROM audit_log WHERE subject_id = $1 AND action = $2 ORDER BY at', [subjectId, action]);
  return rows;
}

/** A day `days` from the clock's now, at a wall-clock time in Chicago, as the form's value and as the instant. */
function chicagoTime(days: number, hour: number, minute = 0): { local: string; instant: string } {
  const day = DateTime.fromJSDate(new Date(clock.now().getTime() + days * DAY), { zone: CHICAGO }).set({ hour, minute, second: 0, millisecond: 0 });
  return { local: day.toFormat("yyyy-MM-dd'T'HH:mm"), instant: day.toUTC().toISO()! };
}

/** The new-session form as the page offers it, with these fields filled in. */
async function newSessionForm(browser: ConsoleBrowser, fill: Record<string, string>): Promise<Record<string, string>> {
  const page = await browser.get('/console/sessions/new');
  const { _csrf: _ignored, ...fields } = formFields(page.body, '/console/sessions/new');
  return { ...fields, ...fill };
}

function idFromLocation(location: unknown): string {
  const id = /^\/console\/sessions\/([0-9a-f-]{36})\?done=created$/.exec(String(location))?.[1];
  if (!id) throw new Error(`unexpected location ${String(location)}`);
  return id;
}

async function createThroughConsole(browser: ConsoleBrowser, fill: Record<string, string> = {}): Promise<string> {
  const starts = chicagoTime(20, 14);
  const ends = chicagoTime(20, 15, 30);
  const fields = await newSessionForm(browser, { title: `Console session ${Math.random().toString(36).slice(2, 8)}`, startsAt: starts.local, endsAt: ends.local, capacity: '2', ...fill });
  const res = await browser.post('/console/sessions/new', fields);
  if (res.statusCode !== 303) throw new Error(`create failed: ${res.statusCode} ${res.body.slice(0, 2000)}`);
  return idFromLocation(res.headers.location);
}

const organizer = await makeOrganizer(app, 'organizer', 'Programme Officer');
const browser = await consoleSignIn(app, organizer);

// ---------------------------------------------------------------------------------------------

t.test('signed out, every session page and action leads to the login page', async (t) => {
  const id = await createThroughConsole(browser);
  for (const url of ['/console/sessions/new', `/console/sessions/${id}`, `/console/sessions/${id}/edit`, `/console/sessions/${id}/cancel`, `/console/sessions/${id}/delete`]) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, 303, `GET ${url}`);
    t.match(String(res.headers.location), /^\/console\/login/, `GET ${url} goes to the login page`);
  }
  for (const url of ['/console/sessions/new', `/console/sessions/${id}/publish`, `/console/sessions/${id}/edit`, `/console/sessions/${id}/cancel`, `/console/sessions/${id}/delete`, `/console/sessions/${id}/hosts`]) {
    const res = await app.inject({ method: 'POST', url, ...form({ title: 'x' }) });
    t.equal(res.statusCode, 303, `POST ${url}`);
    t.match(String(res.headers.location), /^\/console\/login/);
  }
  t.equal((await sessionRow(id))?.status, 'draft', 'nothing changed');
});

t.test('the form: every field of the API with the labels of the contract, Save, the default zone', async (t) => {
  const res = await browser.get('/console/sessions/new');
  t.equal(res.statusCode, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  t.match(String(res.headers['content-security-policy']), /script-src 'self'/);
  for (const label of ['Title', 'Summary', 'Description', 'Starts', 'Ends', 'Time zone', 'Capacity', 'Waitlist', 'Waitlist limit', 'Registration opens', 'Registration closes', 'Anyone', 'E-mail domains', 'Access code', 'Question', 'Answer type', 'Reminders', 'Join URL', 'Join instructions', 'Contact name', 'Contact e-mail']) {
    t.match(res.body, new RegExp(`<label for="[^"]+">${label}( <span class="req">\\(required\\)</span>)?</label>`), `a field labelled ${label}`);
  }
  t.match(res.body, /<input type="datetime-local" id="f-startsAt" name="startsAt"/);
  t.match(res.body, /<button type="submit">Save<\/button>/);
  t.match(res.body, /<option value="America\/Chicago" selected>/, 'America/Chicago by default');
  const fields = formFields(res.body, '/console/sessions/new');
  t.equal(fields.contactName, 'Programme Officer', 'the contact starts as the organizer');
  t.equal(fields.contactEmail, organizer.email);
  t.equal(fields.reminders, '1440, 60');
  t.ok(['q0-label', 'q1-label', 'q2-label'].every((name) => name in fields), 'empty question rows without JavaScript');
});

t.test('create with two questions: a draft with UTC times read in the zone, the organizer as host, the API audit entry', async (t) => {
  const starts = chicagoTime(30, 14);
  const ends = chicagoTime(30, 15, 30);
  const opens = chicagoTime(2, 9);
  const fields = await newSessionForm(browser, {
    title: 'December 4 training',
    summary: 'For new council members',
    description: 'What every new member should know.\n\n- budgets\n- procurement',
    startsAt: starts.local,
    endsAt: ends.local,
    timezone: CHICAGO,
    capacity: '40',
    waitlistLimit: '10',
    registrationOpensAt: opens.local,
    audience: 'domains',
    audienceDomains: 'city.gov, county.gov',
    'q0-label': 'Your city',
    'q0-type': 'text',
    'q0-required': 'on',
    'q1-label': 'Your role',
    'q1-type': 'select',
    'q1-options': 'Mayor\nCouncil member\nStaff',
    reminders: '1440, 30',
    joinUrl: 'https://meet.example.org/dec4',
    joinInstructions: 'Dial 555-0100',
  });
  const res = await browser.post('/console/sessions/new', fields);
  t.equal(res.statusCode, 303, res.body.slice(0, 500));
  const id = idFromLocation(res.headers.location);
  const row = (await sessionRow(id))!;
  t.equal(row.status, 'draft');
  t.equal(row.starts_at.toISOString(), new Date(starts.instant).toISOString(), 'Starts read in America/Chicago');
  t.equal(row.ends_at.toISOString(), new Date(ends.instant).toISOString());
  t.equal(row.registration_opens_at.toISOString(), new Date(opens.instant).toISOString());
  t.equal(row.registration_closes_at, null);
  t.equal(row.timezone, CHICAGO);
  t.equal(row.capacity, 40);
  t.equal(row.waitlist_limit, 10);
  t.same(row.audience, { kind: 'domains', domains: ['city.gov', 'county.gov'] });
  t.same(row.questions, [
    { id: 'your-city', label: 'Your city', type: 'text', required: true },
    { id: 'your-role', label: 'Your role', type: 'select', options: ['Mayor', 'Council member', 'Staff'], required: false },
  ]);
  t.same(row.reminders, [1440, 30]);
  t.equal(row.contact_email, organizer.email);
  const hosts = await database.pool.query('SELECT organizer_id FROM session_hosts WHERE session_id = $1', [id]);
  t.same(hosts.rows.map((host) => host.organizer_id), [organizer.id], 'the creator hosts it');
  const audit = await auditOf(id, 'session.create');
  t.equal(audit.length, 1);
  t.equal(audit[0]!.actor_id, organizer.id, 'the organizer is the actor');

  // The overview: counts, the zone named, links to share, the actions of a draft.
  const overview = await browser.get(`/console/sessions/${id}?done=created`);
  t.equal(overview.statusCode, 200);
  t.match(overview.body, /saved as a draft/);
  t.match(overview.body, /\(America\/Chicago\)/, 'times in the session zone, named');
  t.match(overview.body, /0 of 40 seats/);
  t.match(overview.body, /<meter class="seats" min="0" max="40" value="0"/);
  // The test database is shared: the slug may carry a suffix.
  t.match(row.slug, /^december-4-training/);
  t.ok(overview.body.includes(`href="http://convene.test/s/${row.slug}"`), 'the public page link');
  t.ok(overview.body.includes(`&lt;iframe src=&quot;http://convene.test/embed/${row.slug}&quot;`), 'the embed snippet, escaped in its textarea');
  t.ok(overview.body.includes(`value="http://convene.test/feeds/sessions/${row.slug}.ics"`), 'the feed link');
  t.match(overview.body, /Programme Officer \(/, 'hosts by name');
  t.match(overview.body, /<button type="submit">Publish<\/button>/);
  t.match(overview.body, /href="\/console\/sessions\/[^"]+\/delete">Delete</);

  // The edit form shows the times in the session's zone.
  const edit = await browser.get(`/console/sessions/${id}/edit`);
  const editFields = formFields(edit.body, `/console/sessions/${id}/edit`);
  t.equal(editFields.startsAt, starts.local);
  t.equal(editFields.registrationOpensAt, opens.local);
  t.equal(editFields['q1-options'], 'Mayor\nCouncil member\nStaff');
  t.equal(editFields['q0-id'], 'your-city', 'existing questions keep their ids');
});

t.test('bad input: errors at the top and at their fields, the values kept, nothing saved', async (t) => {
  const before = await countCreatedBy(organizer.id);
  const starts = chicagoTime(20, 14);
  const ends = chicagoTime(20, 15);

  const cases: Array<[string, Record<string, string>, string, RegExp]> = [
    ['a description of 20,001 characters', { description: 'x'.repeat(20_001) }, 'f-description', /^Description must be at most 20000 characters$/],
    ['a time in the hour skipped at the next spring-forward', { startsAt: gapTime(CHICAGO, clock.now()), endsAt: `${gapTime(CHICAGO, clock.now()).slice(0, 10)}T05:00` }, 'f-startsAt', /does not exist in America\/Chicago: the clocks go forward then/],
    ['an invalid zone', { timezone: 'America/Atlantis' }, 'f-timezone', /“America\/Atlantis” is not a time zone we know/],
    ['the end before the start', { endsAt: chicagoTime(20, 13).local }, 'f-endsAt', /^Ends must be after Starts$/],
    ['an empty title', { title: '   ' }, 'f-title', /^Title is required$/],
    ['a capacity that is not a number', { capacity: 'many' }, 'f-capacity', /^Capacity must be a whole number, or empty for unlimited$/],
    ['a join URL that is not https', { joinUrl: 'http://meet.example.org/x' }, 'f-joinUrl', /^Join URL must be an https URL$/],
    ['a choice question without options', { 'q0-label': 'Pick one', 'q0-type': 'select' }, 'f-q0-options', /^Enter the options of a choice from a list, one per line$/],
    ['options without a question (its row moves up)', { 'q1-options': 'A\nB' }, 'f-q0-label', /^Question is required for a question with options$/],
    ['reminders that are not minutes', { reminders: '1 day' }, 'f-reminders', /is not a number of minutes/],
    ['the domains audience without domains', { audience: 'domains' }, 'f-audienceDomains', /^E-mail domains is required for this audience$/],
    ['an access code too short', { audience: 'code', audienceCode: 'abc' }, 'f-audienceCode', /^Access code must be at least 4 characters$/],
    ['a registration window closing after the end', { registrationClosesAt: chicagoTime(21, 9).local }, 'f-registrationClosesAt', /^Registration closes must not be after the session ends$/],
  ];
  for (const [name, fill, fieldId, message] of cases) {
    const fields = await newSessionForm(browser, { title: `Bad input ${name}`, startsAt: starts.local, endsAt: ends.local, ...fill });
    const res = await browser.post('/console/sessions/new', fields);
    t.equal(res.statusCode, 400, `${name}: 400`);
    t.match(fieldError(res.body, fieldId) ?? '', message, `${name}: the message at the field`);
    t.ok(summaryLinks(res.body).includes(fieldId), `${name}: the summary links to the field`);
    t.match(res.body, /<title>Error: /, `${name}: the title says there is an error`);
    const kept = formFields(res.body, '/console/sessions/new');
    t.equal(kept.title, fields.title, `${name}: what was typed is kept`);
  }
  t.equal(await countCreatedBy(organizer.id), before, 'nothing saved');
});

t.test('publish, then an edit shows what it will send before it is applied', async (t) => {
  const id = await createThroughConsole(browser, { capacity: '2' });
  const published = await browser.post(`/console/sessions/${id}/publish`, {});
  t.equal(published.statusCode, 303);
  t.equal(published.headers.location, `/console/sessions/${id}?done=published`);
  t.equal((await sessionRow(id))!.status, 'published');
  t.equal((await auditOf(id, 'session.publish'))[0]?.actor_id, organizer.id, 'the same audit entry as the API');
  const slug = (await sessionRow(id))!.slug as string;
  for (let i = 0; i < 3; i += 1) await registered(app, slug, { name: `Person ${i}`, email: uniqueEmail('console-edit') });
  const overview = await browser.get(`/console/sessions/${id}`);
  t.match(overview.body, /2 of 2 seats/);
  t.match(overview.body, /<dt>Waitlisted<\/dt><dd>1</);
  t.notMatch(overview.body, />Publish</, 'no Publish once published');

  const editUrl = `/console/sessions/${id}/edit`;
  const current = formFields((await browser.get(editUrl)).body, editUrl);
  const sequence = (await sessionRow(id))!.sequence as number;

  // Only the join URL: nothing is sent.
  const joinOnly = await browser.post(editUrl, { ...current, joinUrl: 'https://meet.example.org/new-room' });
  t.equal(joinOnly.statusCode, 200);
  t.match(joinOnly.body, /<li>Join URL: none → https:\/\/meet\.example\.org\/new-room<\/li>/);
  t.match(joinOnly.body, /Nothing is sent/);
  t.equal((await sessionRow(id))!.join_url, null, 'not applied before the confirmation');

  // A new title: the two confirmed people get invite updates.
  const retitled = await browser.post(editUrl, { ...current, title: 'Renamed in the console' });
  t.match(retitled.body, /Invite updates to 2 people/);
  t.notMatch(retitled.body, /Nothing is sent/);
  const confirmFields = formFields(retitled.body, editUrl);
  t.equal(confirmFields.title, 'Renamed in the console', 'the change is carried in hidden fields');
  const applied = await browser.post(editUrl, { ...confirmFields, confirm: '1' });
  t.equal(applied.statusCode, 303, applied.body.slice(0, 400));
  t.equal(applied.headers.location, `/console/sessions/${id}?done=updated`);
  const after = (await sessionRow(id))!;
  t.equal(after.title, 'Renamed in the console');
  t.equal(after.sequence, sequence + 1, 'the sequence rises, as with PATCH');
  const updates = await auditOf(id, 'session.update');
  t.equal(updates.length, 1);
  t.equal(updates[0]!.actor_id, organizer.id);
  t.same(updates[0]!.details, { fields: ['title'], sequenceRaised: true, capacityRaised: false }, 'the API audit entry for a PATCH of the title');
  const { rows: outbox } = await database.pool.query(`SELECT count(*)::int AS n FROM notifications WHERE session_id = $1 AND kind = 'session_updated'`, [id]);
  t.equal(outbox[0].n, 2, 'two invite updates written');

  // Raising the capacity promotes the waitlisted person.
  const now = formFields((await browser.get(editUrl)).body, editUrl);
  const raise = await browser.post(editUrl, { ...now, capacity: '5' });
  t.match(raise.body, /1 person promoted from the waitlist/);
  t.match(raise.body, /<li>Capacity: 2 → 5<\/li>/);

  // Another zone, the same wall clock: the times are named with their zones.
  const moved = await browser.post(editUrl, { ...now, timezone: 'America/New_York' });
  const startsLocal = now.startsAt!.replace('T', ' ');
  t.ok(moved.body.includes(`<li>Starts: ${startsLocal} America/Chicago → ${startsLocal} America/New_York</li>`), 'the zone named on each side');
  t.match(moved.body, /<li>Time zone: America\/Chicago → America\/New_York<\/li>/);
  t.match(moved.body, /Invite updates to 2 people/);

  // Back to the form: the typed values again, nothing applied.
  const back = await browser.post(editUrl, { ...formFields(raise.body, editUrl), back: '1' });
  t.equal(back.statusCode, 200);
  t.equal(formFields(back.body, editUrl).capacity, '5');
  t.equal((await sessionRow(id))!.capacity, 2);

  // Lowering it below the confirmed count: the API's 409, on the form.
  const lower = await browser.post(editUrl, { ...now, capacity: '1' });
  t.equal(lower.statusCode, 409);
  t.match(lower.body, /Capacity 1 is below the 2 confirmed registrations/);

  // The same form again: nothing to apply.
  const same = await browser.post(editUrl, now);
  t.equal(same.statusCode, 303);
  t.equal(same.headers.location, `/console/sessions/${id}?done=unchanged`);
});

t.test('a confirmation shown before the session changed is shown again, not applied', async (t) => {
  const id = await createThroughConsole(browser, { capacity: '1' });
  await browser.post(`/console/sessions/${id}/publish`, {});
  const editUrl = `/console/sessions/${id}/edit`;
  const current = formFields((await browser.get(editUrl)).body, editUrl);
  const preview = await browser.post(editUrl, { ...current, title: 'Changed twice' });
  t.match(preview.body, /Nothing is sent|The calendar invite changes/);
  const slug = (await sessionRow(id))!.slug as string;
  await registered(app, slug, { name: 'Late arrival', email: uniqueEmail('console-race') });
  const confirm = await browser.post(editUrl, { ...formFields(preview.body, editUrl), confirm: '1' });
  t.equal(confirm.statusCode, 200, 'shown again');
  t.match(confirm.body, /The session changed while you were confirming/);
  t.match(confirm.body, /Invite updates to 1 person/);
  t.not((await sessionRow(id))!.title, 'Changed twice');
});

t.test('cancel with a reason, after a confirmation page', async (t) => {
  const id = await createThroughConsole(browser);
  await browser.post(`/console/sessions/${id}/publish`, {});
  await registered(app, (await sessionRow(id))!.slug, { name: 'Someone', email: uniqueEmail('console-cancel') });
  const page = await browser.get(`/console/sessions/${id}/cancel`);
  t.equal(page.statusCode, 200);
  t.match(page.body, /1 person \(confirmed or waitlisted\) will get a cancellation e-mail/);
  t.equal((await sessionRow(id))!.status, 'published', 'the GET changes nothing');
  const tooLong = await browser.post(`/console/sessions/${id}/cancel`, { reason: 'x'.repeat(2001) });
  t.equal(tooLong.statusCode, 400);
  t.match(fieldError(tooLong.body, 'f-reason') ?? '', /at most 2000 characters/);
  t.equal((await sessionRow(id))!.status, 'published');
  const res = await browser.post(`/console/sessions/${id}/cancel`, { reason: 'The venue flooded' });
  t.equal(res.statusCode, 303);
  const row = (await sessionRow(id))!;
  t.equal(row.status, 'cancelled');
  t.equal(row.cancel_reason, 'The venue flooded');
  const audit = await auditOf(id, 'session.cancel');
  t.equal(audit[0]?.actor_id, organizer.id);
  t.same(audit[0]?.details, { registrationsCancelled: 1 });
  const overview = await browser.get(`/console/sessions/${id}?done=cancelled`);
  t.match(overview.body, /Cancelled: The venue flooded/);
  t.notMatch(overview.body, />Edit</);
  const edit = await browser.get(`/console/sessions/${id}/edit`);
  t.equal(edit.statusCode, 409, 'a cancelled session is not edited');
});

t.test('delete a draft, after a confirmation page; a published session cannot be', async (t) => {
  const id = await createThroughConsole(browser);
  const page = await browser.get(`/console/sessions/${id}/delete`);
  t.equal(page.statusCode, 200);
  t.match(page.body, /Delete the draft/);
  const res = await browser.post(`/console/sessions/${id}/delete`, {});
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/console');
  t.equal(await sessionRow(id), undefined, 'gone');
  t.equal((await auditOf(id, 'session.delete'))[0]?.actor_id, organizer.id);

  const published = await createThroughConsole(browser);
  await browser.post(`/console/sessions/${published}/publish`, {});
  t.equal((await browser.get(`/console/sessions/${published}/delete`)).statusCode, 409);
  const refused = await browser.post(`/console/sessions/${published}/delete`, {});
  t.equal(refused.statusCode, 409);
  t.match(refused.body, /Only a draft session can be deleted/);
  t.ok(await sessionRow(published));
});

t.test('an organizer that does not host the session gets 404 on every page and action; an admin does not', async (t) => {
  const id = await createThroughConsole(browser);
  const stranger = await consoleSignIn(app, await makeOrganizer(app));
  const { _csrf: _owners, ...fields } = formFields((await browser.get(`/console/sessions/${id}/edit`)).body, `/console/sessions/${id}/edit`);
  for (const path of ['', '/edit', '/cancel', '/delete']) {
    const res = await stranger.get(`/console/sessions/${id}${path}`);
    t.equal(res.statusCode, 404, `GET ${path || '/'}`);
    t.match(res.body, /Page not found/);
    t.notMatch(res.body, new RegExp(String((await sessionRow(id))!.title)));
  }
  for (const path of ['/publish', '/edit', '/cancel', '/delete', '/hosts']) {
    const res = await stranger.post(`/console/sessions/${id}${path}`, { ...fields, confirm: '1', reason: 'x', email: stranger.organizer.email });
    t.equal(res.statusCode, 404, `POST ${path}`);
  }
  const missing = await stranger.get('/console/sessions/00000000-0000-4000-8000-000000000000');
  t.equal(missing.statusCode, 404, 'the same answer as a session that does not exist');
  const row = (await sessionRow(id))!;
  t.equal(row.status, 'draft', 'nothing changed');
  t.equal(row.title, fields.title);

  const admin = await consoleSignIn(app, await makeOrganizer(app, 'admin'));
  t.equal((await admin.get(`/console/sessions/${id}`)).statusCode, 200, 'an admin sees every session');
});

t.test('CSRF: a POST without the token or with another one is 403, and so is a foreign Origin', async (t) => {
  const id = await createThroughConsole(browser);
  const fields = await newSessionForm(browser, { title: 'Forged', startsAt: chicagoTime(20, 14).local, endsAt: chicagoTime(20, 15).local });
  const before = await countCreatedBy(organizer.id);
  const missing = await app.inject({ method: 'POST', url: '/console/sessions/new', ...form(fields), headers: { ...form(fields).headers, ...browser.headers } });
  t.equal(missing.statusCode, 403, 'no _csrf');
  const wrong = await app.inject({
    method: 'POST',
    url: `/console/sessions/${id}/publish`,
    ...form({ _csrf: 'not-the-token' }),
    headers: { ...form({}).headers, ...browser.headers },
  });
  t.equal(wrong.statusCode, 403, 'another _csrf');
  const foreign = await browser.post(`/console/sessions/${id}/publish`, {}, { origin: 'https://evil.example' });
  t.equal(foreign.statusCode, 403, 'a foreign Origin');
  t.equal(await countCreatedBy(organizer.id), before);
  t.equal((await sessionRow(id))!.status, 'draft');
});

t.test('a malformed session id is refused before any lookup', async (t) => {
  const res = await browser.get('/console/sessions/not-a-uuid');
  t.equal(res.statusCode, 400);
  t.match(String(res.headers['content-type']), /text\/html/);
});

t.test('question rows: blank rows are not carried over, an emptied question is removed', async (t) => {
  const fields = await newSessionForm(browser, { title: 'Rows', startsAt: 'not a time', 'q0-label': 'First', 'q2-label': 'Third' });
  const res = await browser.post('/console/sessions/new', fields);
  t.equal(res.statusCode, 400);
  const labels = [...res.body.matchAll(/name="q(\d+)-label"/g)].map((match) => Number(match[1]));
  t.same(labels, [0, 1, 2, 3, 4], 'the two questions, then three blank rows');
  const kept = formFields(res.body, '/console/sessions/new');
  t.same([kept['q0-label'], kept['q1-label'], kept['q2-label']], ['First', 'Third', '']);

  const id = await createThroughConsole(browser, { 'q0-label': 'Keep me', 'q1-label': 'Drop me' });
  const editUrl = `/console/sessions/${id}/edit`;
  const current = formFields((await browser.get(editUrl)).body, editUrl);
  t.equal(current['q1-id'], 'drop-me');
  const preview = await browser.post(editUrl, { ...current, 'q1-label': '' });
  t.match(preview.body, /<li>Questions<\/li>/);
  const applied = await browser.post(editUrl, { ...formFields(preview.body, editUrl), confirm: '1' });
  t.equal(applied.statusCode, 303);
  t.same((await sessionRow(id))!.questions, [{ id: 'keep-me', label: 'Keep me', type: 'text', required: false }]);
});

t.test('the new form starts in the zone of the organizer’s next session, else America/Chicago', async (t) => {
  const newcomer = await consoleSignIn(app, await makeOrganizer(app));
  t.match((await newcomer.get('/console/sessions/new')).body, /<option value="America\/Chicago" selected>/);
  const actor = { id: newcomer.organizer.id, name: newcomer.organizer.name, email: newcomer.organizer.email };
  const start = new Date(clock.now().getTime() + 40 * DAY);
  await app.services.sessions.create(
    { title: 'In Tokyo', startsAt: start.toISOString(), endsAt: new Date(start.getTime() + 3_600_000).toISOString(), timezone: 'Asia/Tokyo' },
    actor,
  );
  t.match((await newcomer.get('/console/sessions/new')).body, /<option value="Asia\/Tokyo" selected>/);
});

t.test('an edit that changes nothing sends nothing, though the browser sends CRLF line breaks', async (t) => {
  const id = await createThroughConsole(browser, {
    description: 'First paragraph.\n\nSecond paragraph.',
    joinInstructions: 'Line one\nLine two',
    'q0-label': 'Pick one',
    'q0-type': 'select',
    'q0-options': 'A\nB',
    audience: 'domains',
    audienceDomains: 'City.gov',
    reminders: '60, 1440',
  });
  await browser.post(`/console/sessions/${id}/publish`, {});
  await registered(app, (await sessionRow(id))!.slug, { name: 'Someone', email: uniqueEmail('console-crlf').replace('example.org', 'city.gov'), answers: { 'pick-one': 'A' } });
  const editUrl = `/console/sessions/${id}/edit`;
  const current = formFields((await browser.get(editUrl)).body, editUrl);
  const crlf = Object.fromEntries(Object.entries(current).map(([name, value]) => [name, value.replace(/\n/g, '\r\n')]));
  t.match(crlf.description!, /\r\n/);
  const res = await browser.post(editUrl, crlf);
  t.equal(res.statusCode, 303, res.body.slice(0, 300));
  t.equal(res.headers.location, `/console/sessions/${id}?done=unchanged`);
  t.equal((await auditOf(id, 'session.update')).length, 0, 'no update recorded');
});

t.test('hosts: add one by e-mail, remove one; the API audit entry; the hosts rule follows', async (t) => {
  const id = await createThroughConsole(browser);
  const colleague = await makeOrganizer(app, 'organizer', 'Colleague');
  const colleagueBrowser = await consoleSignIn(app, colleague);
  t.equal((await colleagueBrowser.get(`/console/sessions/${id}`)).statusCode, 404, 'not a host yet');

  const unknown = await browser.post(`/console/sessions/${id}/hosts`, { email: 'nobody-here@example.org' });
  t.equal(unknown.statusCode, 400);
  t.match(fieldError(unknown.body, 'f-host-email') ?? '', /^No enabled organizer has the e-mail address nobody-here@example.org$/);
  t.ok(summaryLinks(unknown.body).includes('f-host-email'));
  const empty = await browser.post(`/console/sessions/${id}/hosts`, { email: '' });
  t.match(fieldError(empty.body, 'f-host-email') ?? '', /^Enter the e-mail address of an organizer$/);
  t.equal((await auditOf(id, 'session.hosts')).length, 0, 'nothing changed');

  const added = await browser.post(`/console/sessions/${id}/hosts`, { email: colleague.email.toUpperCase() });
  t.equal(added.statusCode, 303);
  t.equal(added.headers.location, `/console/sessions/${id}?done=hosts`);
  const audit = await auditOf(id, 'session.hosts');
  t.equal(audit.length, 1);
  t.equal(audit[0]!.actor_id, organizer.id);
  t.same(audit[0]!.details, { added: [colleague.id], removed: [] }, 'the audit entry of PUT /hosts');
  const page = await colleagueBrowser.get(`/console/sessions/${id}`);
  t.equal(page.statusCode, 200, 'the new host sees the session');
  t.match(page.body, /Colleague \(/);
  const twice = await browser.post(`/console/sessions/${id}/hosts`, { email: colleague.email });
  t.match(fieldError(twice.body, 'f-host-email') ?? '', /already hosts this session/);

  // The colleague removes the creator, then cannot remove itself, the last host.
  const removed = await colleagueBrowser.post(`/console/sessions/${id}/hosts`, { remove: organizer.id });
  t.equal(removed.statusCode, 303);
  t.equal((await browser.get(`/console/sessions/${id}`)).statusCode, 404, 'the removed host no longer sees it');
  const last = await colleagueBrowser.post(`/console/sessions/${id}/hosts`, { remove: colleague.id });
  t.equal(last.statusCode, 400);
  t.match(last.body, /A session needs at least one host/);
  const { rows } = await database.pool.query('SELECT organizer_id FROM session_hosts WHERE session_id = $1', [id]);
  t.same(rows.map((row) => row.organizer_id), [colleague.id]);
  t.equal((await browser.post(`/console/sessions/${id}/hosts`, { email: organizer.email })).statusCode, 404, 'a stranger cannot add itself back');
});
