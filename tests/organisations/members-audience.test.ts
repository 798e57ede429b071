import { DateTime } from 'luxon';
import t from 'tap';
import { consoleSignIn, formFields, makeOrganizer, unescape } from '../console/support.js';
import { buildTestApp, signIn, uniqueSuffix } from '../helpers/app.js';
import { expectProblem } from '../helpers/http.js';
import { createSession, manageTokenFor, registered, registerJson, registrationId, type SessionJson } from '../helpers/registrations.js';
import { expectPage, postForm, storedFor } from '../pages/support.js';

/**
 * The members-only audience (issue 21): only addresses of active member organisations register,
 * the refusal names no organisation and is the same for everyone refused, a lapsed organisation's
 * people keep what they had, and the per-organisation limit answers a new address and a
 * registered one alike. Every organisation and domain here is this file's own (the test database
 * is shared), and non-member addresses are at a domain of their own, whose only parent (`test`)
 * no organisation can list.
 */

const { app, database } = await buildTestApp(t);
const { pool } = database;
const owner = await signIn(app);
const organisations = app.services.organisations;

/** A member organisation with one domain of its own; `at(local)` is an address there. */
async function memberOrganisation(label: string, status: 'active' | 'lapsed' = 'active') {
  const domain = `${label}-${uniqueSuffix()}.test`;
  const organisation = await organisations.create({ name: `City of ${label} ${uniqueSuffix()}`, domains: [domain], status }, null);
  return { ...organisation, domain, at: (local: string) => `${local}-${uniqueSuffix()}@${domain}` };
}

const outsider = (local = 'outsider') => `${local}-${uniqueSuffix()}@nm-${uniqueSuffix()}.test`;

function membersSession(perOrganisationLimit?: number, overrides: Record<string, unknown> = {}): Promise<SessionJson> {
  const audience = perOrganisationLimit === undefined ? { kind: 'members' } : { kind: 'members', perOrganisationLimit };
  return createSession(app, owner.headers, { audience, capacity: 100, ...overrides });
}

const person = (email: string) => ({ name: 'Member Person', email, consent: true });
const formOf = (email: string) => ({ name: 'Member Person', email, consent: 'on' });

async function organisationOf(sessionId: string, email: string): Promise<string | null> {
  const { rows } = await pool.query<{ organisation_id: string | null }>(
    `SELECT r.organisation_id FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE r.session_id = $1 AND a.email = $2`,
    [sessionId, email.toLowerCase()],
  );
  if (rows.length !== 1) throw new Error(`expected one registration of ${email}, found ${rows.length}`);
  return rows[0]!.organisation_id;
}

async function statusOf(id: string): Promise<string> {
  const { rows } = await pool.query<{ status: string }>('SELECT status::text FROM registrations WHERE id = $1', [id]);
  return rows[0]!.status;
}

async function activeOf(sessionId: string, organisationId: string): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM registrations WHERE session_id = $1 AND organisation_id = $2 AND status IN ('confirmed', 'waitlisted', 'pending', 'offered')`,
    [sessionId, organisationId],
  );
  return rows[0]!.n;
}

async function notificationsOf(email: string): Promise<number> {
  return (await storedFor(pool, email)).notifications;
}

/** A form page with what the visitor typed taken out: what is left is the answer itself. */
const withoutTyped = (html: string, email: string) => html.split(email).join('EMAIL');

t.test('a member address registers through the API and the form, subdomains too, its organisation recorded', async (t) => {
  const city = await memberOrganisation('memberton');
  const session = await membersSession();

  const ana = city.at('ana');
  const answer = await registerJson(app, session.slug, person(ana));
  t.equal(answer.statusCode, 202, answer.body);
  t.equal(await organisationOf(session.id, ana), city.id, 'the registration records the organisation');

  const subdomain = `bo-${uniqueSuffix()}@Mail.${city.domain.toUpperCase()}`;
  t.equal((await registerJson(app, session.slug, person(subdomain))).statusCode, 202, 'an address at a subdomain of a listed domain');
  t.equal(await organisationOf(session.id, subdomain), city.id);

  const viaForm = city.at('cy');
  const posted = await postForm(app, `/s/${session.slug}/register`, formOf(viaForm));
  t.equal(posted.statusCode, 303, 'the form registers a member');
  t.equal(posted.headers.location, `/s/${session.slug}/registered`);
  t.equal(await organisationOf(session.id, viaForm), city.id);
});

t.test('the public page says who may register, with the limit when there is one', async (t) => {
  const unlimited = expectPage(t, await app.inject({ url: `/s/${(await membersSession()).slug}` }), 200, 'members page');
  t.match(unlimited, 'Open to people of the network&#39;s member organisations: register with your work address.');
  t.notMatch(unlimited, /per organisation/, 'no limit, no words about one');

  const limited = (await app.inject({ url: `/s/${(await membersSession(3)).slug}` })).body;
  t.match(limited, 'register with your work address. At most 3 places per organisation.');
  const single = (await app.inject({ url: `/s/${(await membersSession(1)).slug}` })).body;
  t.match(single, 'At most 1 place per organisation.');
  const embed = (await app.inject({ url: `/embed/${(await membersSession(3)).slug}` })).body;
  t.match(embed, 'At most 3 places per organisation.', 'the embed says it too');
});

t.test('a non-member is refused with 403 through the API and the form, naming no organisation, storing nothing', async (t) => {
  const city = await memberOrganisation('refuseville');
  const session = await membersSession(3);
  const stranger = outsider();

  const problem = expectProblem(t, await registerJson(app, session.slug, person(stranger)), 403, 'API');
  t.equal(problem.detail, 'This session is open only to people of member organisations');
  t.notMatch(JSON.stringify(problem), city.name, 'no organisation named');

  const page = expectPage(t, await postForm(app, `/s/${session.slug}/register`, formOf(stranger)), 403, 'form');
  t.match(page, '<a href="#f-email">This session is open only to people of member organisations</a>', 'the refusal at the e-mail field');
  t.match(page, /<p class="field-error" id="f-email-error"><span class="visually-hidden">Error: <\/span>This session is open only to people of member organisations<\/p>/);
  t.notMatch(page, city.name);
  t.notMatch(page, city.domain, 'no member domain on the page');
  t.same(await storedFor(pool, stranger), { attendees: 0, registrations: 0, notifications: 0 }, 'nothing stored');

  // A look-alike of a member's domain is not the member's.
  const lookAlike = `eve-${uniqueSuffix()}@${city.domain}.evil.test`;
  t.equal((await registerJson(app, session.slug, person(lookAlike))).statusCode, 403, 'a look-alike domain is refused');
});

t.test('a lapsed organisation: new registrations refused, the registered keep theirs, can see and cancel it', async (t) => {
  const city = await memberOrganisation('lapseburg');
  const session = await membersSession(5);
  const earlier = city.at('early');
  await registered(app, session.slug, { name: 'Early Member', email: earlier });
  const earlierId = await registrationId(pool, session.id, earlier);
  t.equal(await statusOf(earlierId), 'confirmed');

  await organisations.update(city.id, { status: 'lapsed' }, null);

  const late = city.at('late');
  const refused = expectProblem(t, await registerJson(app, session.slug, person(late)), 403, 'a new address of the lapsed organisation');
  t.equal(refused.detail, 'This session is open only to people of member organisations');
  t.equal((await postForm(app, `/s/${session.slug}/register`, formOf(late))).statusCode, 403, 'and through the form');
  t.same(await storedFor(pool, late), { attendees: 0, registrations: 0, notifications: 0 });

  // The registration made before the lapse stands.
  t.equal(await statusOf(earlierId), 'confirmed', 'the earlier registration is kept');
  t.equal(await organisationOf(session.id, earlier), city.id, 'and keeps its organisation');
  const token = manageTokenFor(app, earlierId);
  const manageJson = await app.inject({ method: 'GET', url: `/api/v1/registrations/${token}` });
  t.equal(manageJson.statusCode, 200, 'the manage API answers');
  t.equal(manageJson.json().registration.status, 'confirmed');
  const managePage = await app.inject({ method: 'GET', url: `/m/${token}` });
  t.equal(managePage.statusCode, 200, 'the manage page answers');
  t.match(managePage.body, session.title);
  const cancelled = await app.inject({ method: 'POST', url: `/api/v1/registrations/${token}/cancel` });
  t.equal(cancelled.statusCode, 200, cancelled.body);
  t.equal(await statusOf(earlierId), 'cancelled', 'and can cancel it');

  // Active again: its people register again.
  await organisations.update(city.id, { status: 'active' }, null);
  t.equal((await registerJson(app, session.slug, person(late))).statusCode, 202, 'an organisation made active again admits its people');
});

t.test('the 403 is the same bytes for a non-member and a lapsed member, registered anywhere or not', async (t) => {
  const lapsed = await memberOrganisation('samebytes');
  const session = await membersSession(3);
  const elsewhere = await createSession(app, owner.headers, { capacity: 100 });

  const lapsedRegistered = lapsed.at('was-here');
  await registered(app, session.slug, { name: 'Was Here', email: lapsedRegistered });
  await organisations.update(lapsed.id, { status: 'lapsed' }, null);
  const strangerRegisteredElsewhere = outsider('elsewhere');
  await registered(app, elsewhere.slug, { name: 'Elsewhere', email: strangerRegisteredElsewhere });
  const lapsedRegisteredElsewhere = lapsed.at('elsewhere');
  await registered(app, elsewhere.slug, { name: 'Elsewhere', email: lapsedRegisteredElsewhere });

  const addresses = {
    'a stranger': outsider(),
    'a stranger registered for another session': strangerRegisteredElsewhere,
    'a new address of a lapsed organisation': lapsed.at('new'),
    'a lapsed member registered for another session': lapsedRegisteredElsewhere,
    'a lapsed member registered for this session': lapsedRegistered,
  };
  const apiBodies = new Map<string, string>();
  const pages = new Map<string, string>();
  for (const [who, email] of Object.entries(addresses)) {
    const before = await notificationsOf(email);
    const api = await registerJson(app, session.slug, person(email));
    t.equal(api.statusCode, 403, `${who}: API 403`);
    t.match(String(api.headers['content-type']), /^application\/problem\+json/);
    apiBodies.set(who, api.body);
    const page = await postForm(app, `/s/${session.slug}/register`, formOf(email));
    t.equal(page.statusCode, 403, `${who}: form 403`);
    pages.set(who, withoutTyped(page.body, email));
    t.equal(await notificationsOf(email), before, `${who}: nothing sent (not even the manage link again)`);
  }
  t.equal(new Set(apiBodies.values()).size, 1, `one API body for all: ${[...apiBodies.values()][0]}`);
  t.equal(new Set(pages.values()).size, 1, 'one page for all, but for the address typed');
});

t.test('the organisation limit: the same 409 for a new address and a registered one, other organisations unaffected', async (t) => {
  const city = await memberOrganisation('limitstad');
  const other = await memberOrganisation('otherham');
  const session = await membersSession(2);

  const first = city.at('first');
  const second = city.at('second');
  await registered(app, session.slug, { name: 'First', email: first });
  await registered(app, session.slug, { name: 'Second', email: second });
  t.equal(await activeOf(session.id, city.id), 2);

  const newcomer = city.at('third');
  const sentBefore = await notificationsOf(first);
  const full = await registerJson(app, session.slug, person(newcomer));
  const problem = expectProblem(t, full, 409, 'a new address beyond the limit');
  t.equal(problem.detail, 'The places for your organisation at this session are all taken');
  t.notMatch(full.body, city.name, 'the answer names no organisation');
  const repeat = await registerJson(app, session.slug, person(first));
  t.equal(repeat.statusCode, 409, 'a registered address of the organisation, again');
  t.equal(repeat.body, full.body, 'the same bytes for both');
  t.same(repeat.headers['content-type'], full.headers['content-type']);
  t.equal(await notificationsOf(first), sentBefore, 'the repeat at the limit writes nothing either');
  t.same(await storedFor(pool, newcomer), { attendees: 0, registrations: 0, notifications: 0 }, 'the newcomer left no row');

  const newcomerPage = await postForm(app, `/s/${session.slug}/register`, formOf(newcomer));
  const repeatPage = await postForm(app, `/s/${session.slug}/register`, formOf(first));
  expectPage(t, newcomerPage, 409, 'form at the limit');
  t.equal(repeatPage.statusCode, 409);
  t.match(newcomerPage.body, 'The places for your organisation at this session are all taken');
  t.equal(withoutTyped(repeatPage.body, first), withoutTyped(newcomerPage.body, newcomer), 'the form answers alike too');

  t.equal((await registerJson(app, session.slug, person(other.at('one')))).statusCode, 202, 'another organisation still registers');
  t.equal(await activeOf(session.id, city.id), 2, 'still 2 of the limited organisation');

  // A place given back is a place again.
  const firstId = await registrationId(pool, session.id, first);
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/registrations/${manageTokenFor(app, firstId)}/cancel` })).statusCode, 200);
  t.equal((await registerJson(app, session.slug, person(newcomer))).statusCode, 202, 'a cancellation frees a place of the organisation');
  t.equal(await activeOf(session.id, city.id), 2);
});

t.test('the limit counts waitlisted people too', async (t) => {
  const city = await memberOrganisation('waitford');
  const session = await membersSession(2, { capacity: 1 });
  await registered(app, session.slug, { name: 'Seated', email: city.at('seated') });
  await registered(app, session.slug, { name: 'Waiting', email: city.at('waiting') });
  const { rows } = await pool.query<{ status: string }>('SELECT status::text FROM registrations WHERE session_id = $1 ORDER BY registered_at', [session.id]);
  t.same(rows.map((row) => row.status), ['confirmed', 'waitlisted']);
  t.equal((await registerJson(app, session.slug, person(city.at('third')))).statusCode, 409, 'the waitlist place counts against the limit');
});

t.test('an organizer adds beyond the limit only with force, recorded as forced', async (t) => {
  const city = await memberOrganisation('forceton');
  const session = await membersSession(1);
  const one = city.at('one');
  await registered(app, session.slug, { name: 'Only One', email: one });

  const extra = city.at('extra');
  const add = (body: Record<string, unknown>) =>
    app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations`, headers: owner.headers, payload: body });
  const refused = expectProblem(t, await add({ name: 'Extra', email: extra }), 409, 'without force');
  t.match(refused.detail, /all the places this session allows it; add them with "force": true/);
  t.same(await storedFor(pool, extra), { attendees: 0, registrations: 0, notifications: 0 }, 'nothing stored');
  const again = expectProblem(t, await add({ name: 'Only One', email: one }), 409, 'someone already there, at the limit');
  t.match(again.detail, /already registered/, 'the organizer is told they are registered, not to force it');

  const forced = await add({ name: 'Extra', email: extra, force: true });
  t.equal(forced.statusCode, 201, forced.body);
  const id = forced.json().id as string;
  const { rows } = await pool.query<{ forced: boolean; status: string; organisation_id: string; source: string }>(
    'SELECT forced, status::text, organisation_id, source FROM registrations WHERE id = $1',
    [id],
  );
  t.same(rows[0], { forced: true, status: 'confirmed', organisation_id: city.id, source: 'organizer' }, 'forced, confirmed, with its organisation');
  t.equal(await activeOf(session.id, city.id), 2, 'beyond the limit by the organizer’s choice');

  // An organizer may add someone of no member organisation (no audience check for organizers).
  const guest = outsider('guest');
  const addedGuest = await add({ name: 'Guest', email: guest });
  t.equal(addedGuest.statusCode, 201, 'an organizer adds a non-member');
  t.equal(await organisationOf(session.id, guest), null, 'with no organisation');
});

// ---------------------------------------------------------------------------------------------
// The console's session form

const consoleOrganizer = await makeOrganizer(app, 'organizer', 'Members Officer');
const browser = await consoleSignIn(app, consoleOrganizer);

/** The new-session form as the page offers it, filled in for a session three weeks ahead. */
async function newSessionFields(fill: Record<string, string>): Promise<Record<string, string>> {
  const page = await browser.get('/console/sessions/new');
  const { _csrf: _ignored, ...fields } = formFields(page.body, '/console/sessions/new');
  const day = DateTime.now().setZone('America/Chicago').plus({ days: 21 }).startOf('day');
  return {
    ...fields,
    title: `Members training ${uniqueSuffix()}`,
    startsAt: day.set({ hour: 14 }).toFormat("yyyy-MM-dd'T'HH:mm"),
    endsAt: day.set({ hour: 15 }).toFormat("yyyy-MM-dd'T'HH:mm"),
    timezone: 'America/Chicago',
    ...fill,
  };
}

async function createThroughConsole(fill: Record<string, string>): Promise<string> {
  const res = await browser.post('/console/sessions/new', await newSessionFields(fill));
  const id = /^\/console\/sessions\/([0-9a-f-]{36})\?done=created$/.exec(String(res.headers.location))?.[1];
  if (res.statusCode !== 303 || !id) throw new Error(`create failed: ${res.statusCode} ${res.body.slice(0, 2000)}`);
  return id;
}

async function audienceOfRow(id: string): Promise<unknown> {
  const { rows } = await pool.query('SELECT audience FROM sessions WHERE id = $1', [id]);
  return rows[0]!.audience;
}

function fieldError(html: string, id: string): string | null {
  const match = new RegExp(`<p class="field-error" id="${id}-error"><span class="visually-hidden">Error: </span>([^<]*)</p>`).exec(html);
  return match ? unescape(match[1]!) : null;
}

/** The overview's Details, term by term. */
function details(html: string): Record<string, string> {
  const start = html.indexOf('id="details-title"');
  const list = html.slice(start, html.indexOf('</dl>', start));
  return Object.fromEntries([...list.matchAll(/<dt>([^<]*)<\/dt><dd>([^<]*)<\/dd>/g)].map((match) => [unescape(match[1]!), unescape(match[2]!)]));
}

t.test('console: the fourth audience and its places per organisation', async (t) => {
  const form = await browser.get('/console/sessions/new');
  t.equal(form.statusCode, 200);
  t.match(form.body, '<input type="radio" id="f-audience-members" name="audience" value="members">', 'a fourth radio');
  t.match(form.body, '<label for="f-audience-members">Members of the network (active member organisations)</label>');
  t.match(form.body, /<label for="f-perOrganisationLimit">Places per organisation<\/label>/);
  t.match(form.body, /<input type="number" id="f-perOrganisationLimit" name="perOrganisationLimit" value=""/);

  const id = await createThroughConsole({ audience: 'members', perOrganisationLimit: '3' });
  t.same(await audienceOfRow(id), { kind: 'members', perOrganisationLimit: 3 }, 'saved as the API would');
  const overview = await browser.get(`/console/sessions/${id}`);
  t.equal(details(overview.body).Audience, 'Members only, at most 3 per organisation', 'the overview says who may register');

  // The edit form shows it as saved, and the same form again changes nothing: it stays members.
  const editUrl = `/console/sessions/${id}/edit`;
  const current = formFields((await browser.get(editUrl)).body, editUrl);
  t.equal(current.audience, 'members', 'the members radio is checked');
  t.equal(current.perOrganisationLimit, '3');
  const same = await browser.post(editUrl, current);
  t.equal(same.statusCode, 303);
  t.equal(same.headers.location, `/console/sessions/${id}?done=unchanged`, 'an unchanged form keeps the members audience');
  t.same(await audienceOfRow(id), { kind: 'members', perOrganisationLimit: 3 });

  // A new limit: the confirmation names it before and after, then it is applied.
  const preview = await browser.post(editUrl, { ...current, perOrganisationLimit: '5' });
  t.equal(preview.statusCode, 200);
  t.match(preview.body, '<li>Audience: Members only, at most 3 per organisation → Members only, at most 5 per organisation</li>');
  const applied = await browser.post(editUrl, { ...formFields(preview.body, editUrl), confirm: '1' });
  t.equal(applied.statusCode, 303, applied.body.slice(0, 400));
  t.same(await audienceOfRow(id), { kind: 'members', perOrganisationLimit: 5 });

  // Emptied: members without a limit.
  const unlimited = await browser.post(editUrl, { ...current, perOrganisationLimit: '' });
  t.match(unlimited.body, '<li>Audience: Members only, at most 5 per organisation → Members only</li>');
  await browser.post(editUrl, { ...formFields(unlimited.body, editUrl), confirm: '1' });
  t.same(await audienceOfRow(id), { kind: 'members' });
  t.equal(details((await browser.get(`/console/sessions/${id}`)).body).Audience, 'Members only');
  t.equal(formFields((await browser.get(editUrl)).body, editUrl).perOrganisationLimit, '', 'the field shows no limit');
});

t.test('console: a limit typed for another audience is not kept; a bad limit is refused at its field', async (t) => {
  const publicId = await createThroughConsole({ audience: 'public', perOrganisationLimit: '3' });
  t.same(await audienceOfRow(publicId), { kind: 'public' }, 'the limit belongs to the members audience only');

  const cases: Array<[string, string, string]> = [
    ['not a number', 'many', 'Places per organisation must be a whole number, or empty for no limit'],
    ['zero', '0', 'Places per organisation must be 1 or more'],
    ['too many', '100001', 'Places per organisation must be 100000 or less'],
  ];
  for (const [label, limit, message] of cases) {
    const fields = await newSessionFields({ audience: 'members', perOrganisationLimit: limit });
    const res = await browser.post('/console/sessions/new', fields);
    t.equal(res.statusCode, 400, `${label}: 400`);
    t.equal(fieldError(res.body, 'f-perOrganisationLimit'), message, `${label}: the message at the field`);
    t.match(res.body, `<a href="#f-perOrganisationLimit">${message}</a>`, `${label}: the summary links to the field`);
    const kept = formFields(res.body, '/console/sessions/new');
    t.equal(kept.audience, 'members', `${label}: the audience is kept`);
    t.equal(kept.perOrganisationLimit, limit, `${label}: what was typed is kept`);
  }
});
