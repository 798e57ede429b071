import { randomInt, randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import t from 'tap';
import { buildTestApp, signIn, uniqueEmail } from '../helpers/app.js';
import { errorPaths, expectProblem } from '../helpers/http.js';
import { createSession, registered, registrationId, registrationRows, type SessionJson } from '../helpers/registrations.js';

// Every export format is fetched back to back (HEAD too): a slot is freed only once its cursor closes.
const { app, database } = await buildTestApp(t, { env: { EXPORTS_MAX_CONCURRENT: '50' } });
const { pool } = database;
const owner = await signIn(app);
const stranger = await signIn(app);
const admin = await signIn(app, 'admin');

type Headers = Record<string, string>;
type Method = 'GET' | 'HEAD' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

const DAY = 86_400_000;

/** A session of `owner` with one confirmed registration, and the drafts that publish and delete need. */
/**
 * A start minute of its own, a year or two ahead: the session lists and the range export are read
 * around it, and other test files (and earlier runs) fill the shared database's near dates.
 */
function startOfItsOwn(): { startsAt: string; endsAt: string } {
  const start = Date.now() + 365 * DAY + randomInt(0, 365 * 24 * 60) * 60_000;
  const startsAt = new Date(start - (start % 60_000));
  return { startsAt: startsAt.toISOString(), endsAt: new Date(startsAt.getTime() + 90 * 60_000).toISOString() };
}

async function ownersSessions() {
  const session = await createSession(app, owner.headers, {
    ...startOfItsOwn(),
    capacity: 10,
    joinUrl: 'https://meet.example.org/j/owner',
    followUp: { message: 'Thank you for coming' },
  });
  const email = uniqueEmail('attendee');
  await registered(app, session.slug, { name: 'Ana Attendee', email });
  const registration = await registrationId(pool, session.id, email);
  const draft = await createSession(app, owner.headers, {}, { publish: false });
  const doomed = await createSession(app, owner.headers, {}, { publish: false });
  return { session, registration, draft, doomed };
}
type Fixture = Awaited<ReturnType<typeof ownersSessions>>;

interface RouteCase {
  /** As the API document writes the path. */
  method: Method;
  path: string;
  url: (fixture: Fixture, sessionId?: string) => string;
  payload?: (fixture: Fixture) => Record<string, unknown>;
  /** The status a host gets for this request on the fixture. */
  hostStatus: number;
}

const sessionUrl = (id: string) => `/api/v1/sessions/${id}`;

/** Every organizer route of a session, each with a request its host would be allowed to make. */
const ROUTES: RouteCase[] = [
  { method: 'GET', path: '/api/v1/sessions/{id}', url: (f, id = f.session.id) => sessionUrl(id), hostStatus: 200 },
  { method: 'HEAD', path: '/api/v1/sessions/{id}', url: (f, id = f.session.id) => sessionUrl(id), hostStatus: 200 },
  {
    method: 'PATCH',
    path: '/api/v1/sessions/{id}',
    url: (f, id = f.session.id) => sessionUrl(id),
    payload: () => ({ joinUrl: 'https://attacker.example/steal' }),
    hostStatus: 200,
  },
  { method: 'POST', path: '/api/v1/sessions/{id}/publish', url: (f, id = f.draft.id) => `${sessionUrl(id)}/publish`, hostStatus: 200 },
  // A session that has not ended yet: the host gets past the rule and meets the 409 of the follow-up's own rule.
  { method: 'POST', path: '/api/v1/sessions/{id}/follow-up', url: (f, id = f.session.id) => `${sessionUrl(id)}/follow-up`, hostStatus: 409 },
  {
    method: 'PUT',
    path: '/api/v1/sessions/{id}/hosts',
    url: (f, id = f.session.id) => `${sessionUrl(id)}/hosts`,
    payload: () => ({ organizerIds: [owner.organizer.id, stranger.organizer.id] }),
    hostStatus: 200,
  },
  {
    method: 'GET',
    path: '/api/v1/sessions/{id}/registrations',
    url: (f, id = f.session.id) => `${sessionUrl(id)}/registrations`,
    hostStatus: 200,
  },
  {
    method: 'HEAD',
    path: '/api/v1/sessions/{id}/registrations',
    url: (f, id = f.session.id) => `${sessionUrl(id)}/registrations`,
    hostStatus: 200,
  },
  {
    method: 'POST',
    path: '/api/v1/sessions/{id}/registrations',
    url: (f, id = f.session.id) => `${sessionUrl(id)}/registrations`,
    payload: () => ({ name: 'Added By Hand', email: uniqueEmail('by-hand') }),
    hostStatus: 201,
  },
  {
    method: 'POST',
    path: '/api/v1/sessions/{id}/registrations/{registrationId}/check-in',
    url: (f, id = f.session.id) => `${sessionUrl(id)}/registrations/${f.registration}/check-in`,
    hostStatus: 200,
  },
  // The fixture's registration is confirmed: the host gets past the rule and meets the 409 of "not pending".
  {
    method: 'POST',
    path: '/api/v1/sessions/{id}/registrations/{registrationId}/approve',
    url: (f, id = f.session.id) => `${sessionUrl(id)}/registrations/${f.registration}/approve`,
    hostStatus: 409,
  },
  {
    method: 'POST',
    path: '/api/v1/sessions/{id}/registrations/{registrationId}/decline',
    url: (f, id = f.session.id) => `${sessionUrl(id)}/registrations/${f.registration}/decline`,
    payload: () => ({ reason: 'Not a member' }),
    hostStatus: 409,
  },
  {
    method: 'POST',
    path: '/api/v1/sessions/{id}/registrations/approve',
    url: (f, id = f.session.id) => `${sessionUrl(id)}/registrations/approve`,
    payload: (f) => ({ ids: [f.registration] }),
    hostStatus: 200,
  },
  {
    method: 'POST',
    path: '/api/v1/sessions/{id}/registrations/{registrationId}/cancel',
    url: (f, id = f.session.id) => `${sessionUrl(id)}/registrations/${f.registration}/cancel`,
    hostStatus: 200,
  },
  {
    method: 'POST',
    path: '/api/v1/sessions/{id}/messages',
    url: (f, id = f.session.id) => `${sessionUrl(id)}/messages`,
    payload: () => ({ subject: 'From a stranger?', body: 'Never sent by a non-host', audience: 'all' }),
    hostStatus: 202,
  },
  { method: 'GET', path: '/api/v1/sessions/{id}/messages', url: (f, id = f.session.id) => `${sessionUrl(id)}/messages`, hostStatus: 200 },
  { method: 'HEAD', path: '/api/v1/sessions/{id}/messages', url: (f, id = f.session.id) => `${sessionUrl(id)}/messages`, hostStatus: 200 },
  // No message of that id in the host's session: the host gets past the rule and meets the message's own 404.
  {
    method: 'GET',
    path: '/api/v1/sessions/{id}/messages/{messageId}/notifications',
    url: (f, id = f.session.id) => `${sessionUrl(id)}/messages/${randomUUID()}/notifications`,
    hostStatus: 404,
  },
  {
    method: 'HEAD',
    path: '/api/v1/sessions/{id}/messages/{messageId}/notifications',
    url: (f, id = f.session.id) => `${sessionUrl(id)}/messages/${randomUUID()}/notifications`,
    hostStatus: 404,
  },
  {
    method: 'GET',
    path: '/api/v1/sessions/{id}/notifications',
    url: (f, id = f.session.id) => `${sessionUrl(id)}/notifications`,
    hostStatus: 200,
  },
  ...(['csv', 'json', 'xlsx'] as const).flatMap((format): RouteCase[] => [
    { method: 'GET', path: `/api/v1/sessions/{id}/attendees.${format}`, url: (f, id = f.session.id) => `${sessionUrl(id)}/attendees.${format}`, hostStatus: 200 },
    { method: 'HEAD', path: `/api/v1/sessions/{id}/attendees.${format}`, url: (f, id = f.session.id) => `${sessionUrl(id)}/attendees.${format}`, hostStatus: 200 },
  ]),
  {
    method: 'POST',
    path: '/api/v1/sessions/{id}/cancel',
    url: (f, id = f.session.id) => `${sessionUrl(id)}/cancel`,
    payload: () => ({ reason: 'Taken over' }),
    hostStatus: 200,
  },
  { method: 'DELETE', path: '/api/v1/sessions/{id}', url: (f, id = f.doomed.id) => sessionUrl(id), hostStatus: 204 },
];

function send(route: RouteCase, fixture: Fixture, headers: Headers, sessionId?: string): Promise<LightMyRequestResponse> {
  const payload = route.payload?.(fixture);
  return app.inject({ method: route.method, url: route.url(fixture, sessionId), headers, ...(payload ? { payload } : {}) });
}

async function sessionRow(id: string) {
  const { rows } = await pool.query<{ status: string; join_url: string | null }>('SELECT status::text, join_url FROM sessions WHERE id = $1', [id]);
  return rows[0];
}

async function hostRows(sessionId: string) {
  const { rows } = await pool.query<{ organizer_id: string; added_at: Date }>(
    'SELECT organizer_id, added_at FROM session_hosts WHERE session_id = $1 ORDER BY added_at, organizer_id',
    [sessionId],
  );
  return rows;
}

const putHosts = (sessionId: string, organizerIds: unknown, headers: Headers = owner.headers) =>
  app.inject({ method: 'PUT', url: `${sessionUrl(sessionId)}/hosts`, headers, payload: { organizerIds } });

/**
 * The ids in the caller's session list at the given session's start minute: other test files
 * share the database, so an unfiltered first page may hold only their sessions.
 */
const listIds = async (headers: Headers, around: SessionJson): Promise<string[]> => {
  const from = new Date(Date.parse(around.startsAt) - 30_000).toISOString();
  const to = new Date(Date.parse(around.startsAt) + 30_000).toISOString();
  const res = await app.inject({ method: 'GET', url: '/api/v1/sessions', headers, query: { limit: '500', from, to } });
  if (res.statusCode !== 200) throw new Error(`list failed: ${res.statusCode} ${res.body}`);
  return res.json<{ items: SessionJson[] }>().items.map((session) => session.id);
};

/** The cross-session export of the day the session starts on. */
const rangeExport = (session: SessionJson, headers: Headers) => {
  const from = new Date(Date.parse(session.startsAt) - DAY / 2).toISOString();
  const to = new Date(Date.parse(session.startsAt) + DAY / 2).toISOString();
  return app.inject({ method: 'GET', url: '/api/v1/exports/registrations.csv', headers, query: { from, to, status: 'confirmed,waitlisted,cancelled' } });
};

t.test('the creator is the first host, in the answer and in the database', async (t) => {
  const session = await createSession(app, owner.headers, {}, { publish: false });
  t.same(session.hosts, [owner.organizer.id], 'hosts in the create answer');
  t.same((await hostRows(session.id)).map((row) => row.organizer_id), [owner.organizer.id], 'one session_hosts row');
  const read = await app.inject({ method: 'GET', url: sessionUrl(session.id), headers: owner.headers });
  t.same(read.json().hosts, [owner.organizer.id], 'hosts when read back');
  const listed = (await app.inject({ method: 'GET', url: '/api/v1/sessions', headers: owner.headers, query: { limit: '500' } })).json<{ items: SessionJson[] }>();
  t.same(listed.items.find((item) => item.id === session.id)?.hosts, [owner.organizer.id], 'hosts in the list');
  const changed = await app.inject({ method: 'PATCH', url: sessionUrl(session.id), headers: owner.headers, payload: { capacity: 200 } });
  t.same(changed.json().hosts, [owner.organizer.id], 'hosts in the answer of a change (capacity raised: the row is read again)');
  const published = await app.inject({ method: 'POST', url: `${sessionUrl(session.id)}/publish`, headers: owner.headers });
  t.same(published.json().hosts, [owner.organizer.id], 'of publishing');
  const cancelled = await app.inject({ method: 'POST', url: `${sessionUrl(session.id)}/cancel`, headers: owner.headers, payload: {} });
  t.same(cancelled.json().hosts, [owner.organizer.id], 'and of cancelling');
  const publicView = await app.inject({ method: 'GET', url: `/api/v1/public/sessions/${(await createSession(app, owner.headers)).slug}` });
  t.notOk('hosts' in publicView.json(), 'the public view shows no hosts');
});

t.test('a second organizer gets the "no such session" 404 on every route of a session it does not host, and changes nothing', async (t) => {
  const fixture = await ownersSessions();
  for (const route of ROUTES) {
    const label = `${route.method} ${route.path}`;
    const foreign = await send(route, fixture, stranger.headers);
    const missing = await send(route, fixture, stranger.headers, randomUUID());
    t.equal(foreign.statusCode, 404, `${label}: 404`);
    t.equal(missing.statusCode, 404, `${label}: 404 for a missing id too`);
    if (route.method !== 'HEAD') {
      expectProblem(t, foreign, 404, label);
      t.equal(foreign.body, missing.body, `${label}: the same problem as a session that does not exist`);
    }
  }
  t.same(await sessionRow(fixture.session.id), { status: 'published', join_url: 'https://meet.example.org/j/owner' }, 'joinUrl and status untouched');
  t.same(await sessionRow(fixture.draft.id), { status: 'draft', join_url: null }, 'the draft is still a draft');
  t.ok(await sessionRow(fixture.doomed.id), 'the draft was not deleted');
  const rows = await registrationRows(pool, fixture.session.id);
  t.same(
    rows.map((row) => [row.status, row.checked_in_at]),
    [['confirmed', null]],
    'no registration added, cancelled or checked in',
  );
  t.same((await hostRows(fixture.session.id)).map((row) => row.organizer_id), [owner.organizer.id], 'hosts unchanged');
  const { rows: followUp } = await pool.query('SELECT follow_up_sent_at FROM sessions WHERE id = $1', [fixture.session.id]);
  t.equal(followUp[0].follow_up_sent_at, null);

  t.notOk((await listIds(stranger.headers, fixture.session)).includes(fixture.session.id), 'the list leaves it out');
  const exported = await rangeExport(fixture.session, stranger.headers);
  t.equal(exported.statusCode, 200, 'the cross-session export answers');
  t.notOk(exported.body.includes(fixture.session.title), 'but without the session');
  t.notOk(exported.body.includes(fixture.registration), 'or its registrations');
});

t.test('made a host, the second organizer may use every route; its own sessions stay its own', async (t) => {
  const fixture = await ownersSessions();
  const theirs = await createSession(app, stranger.headers, startOfItsOwn());
  t.notOk((await listIds(owner.headers, theirs)).includes(theirs.id), "the stranger's session is not in the owner's list");

  const made = await putHosts(fixture.session.id, [owner.organizer.id, stranger.organizer.id]);
  t.equal(made.statusCode, 200, made.body);
  t.same(made.json().hosts, [owner.organizer.id, stranger.organizer.id], 'the creator first, then the new host');
  for (const id of [fixture.draft.id, fixture.doomed.id]) t.equal((await putHosts(id, [stranger.organizer.id])).statusCode, 200);

  t.ok((await listIds(stranger.headers, fixture.session)).includes(fixture.session.id), 'now in its list');
  const exported = await rangeExport(fixture.session, stranger.headers);
  t.ok(exported.body.includes(fixture.session.title), 'and in its cross-session export');
  t.ok(exported.body.includes(fixture.registration));

  for (const route of ROUTES) {
    const res = await send(route, fixture, stranger.headers);
    t.equal(res.statusCode, route.hostStatus, `${route.method} ${route.path}: ${route.hostStatus}`);
  }
  t.same(await sessionRow(fixture.session.id), { status: 'cancelled', join_url: 'https://attacker.example/steal' }, 'its changes took effect');
  t.notOk(await sessionRow(fixture.doomed.id), 'the draft was deleted');
});

t.test('an admin who hosts nothing sees and changes every session', async (t) => {
  const fixture = await ownersSessions();
  t.ok((await listIds(admin.headers, fixture.session)).includes(fixture.session.id), 'in the list');
  const exported = await rangeExport(fixture.session, admin.headers);
  t.ok(exported.body.includes(fixture.session.title), 'in the cross-session export');
  for (const route of ROUTES) {
    const res = await send(route, fixture, admin.headers);
    // The admin's PUT makes the stranger a host; every other route answers as it does to a host.
    t.equal(res.statusCode, route.hostStatus, `${route.method} ${route.path}: ${route.hostStatus}`);
  }
  t.same(
    (await hostRows(fixture.session.id)).map((row) => row.organizer_id),
    [owner.organizer.id, stranger.organizer.id],
    'the admin did not become a host by acting',
  );
});

t.test('a malformed session id is 400 for anyone, before the hosts rule reaches the database', async (t) => {
  const session = await createSession(app, owner.headers, {}, { publish: false });
  for (const id of [`urn:uuid:${session.id}`, 'not-a-uuid', `${session.id}0`]) {
    for (const [who, headers] of [['a stranger', stranger.headers], ['the host', owner.headers], ['an admin', admin.headers]] as const) {
      expectProblem(t, await app.inject({ method: 'GET', url: sessionUrl(id), headers }), 400, `${id}, ${who}`);
    }
  }
  expectProblem(t, await putHosts(session.id, [`urn:uuid:${stranger.organizer.id}`]), 400, 'a urn: host id');
});

t.test('PUT hosts: validation', async (t) => {
  const session = await createSession(app, owner.headers, {}, { publish: false });
  const disabled = await signIn(app);
  await pool.query('UPDATE organizers SET disabled_at = now() WHERE id = $1', [disabled.organizer.id]);

  t.same(errorPaths(expectProblem(t, await putHosts(session.id, []), 400, 'empty list')), ['/organizerIds']);
  expectProblem(t, await app.inject({ method: 'PUT', url: `${sessionUrl(session.id)}/hosts`, headers: owner.headers, payload: {} }), 400, 'no list');
  expectProblem(t, await putHosts(session.id, ['not-a-uuid']), 400, 'not a uuid');
  expectProblem(
    t,
    await app.inject({ method: 'PUT', url: `${sessionUrl(session.id)}/hosts`, headers: owner.headers, payload: { organizerIds: [owner.organizer.id], extra: 1 } }),
    400,
    'an unknown property',
  );
  const unknown = expectProblem(t, await putHosts(session.id, [owner.organizer.id, randomUUID()]), 400, 'an unknown organizer');
  t.same(errorPaths(unknown), ['/organizerIds/1'], 'names the field');
  const off = expectProblem(t, await putHosts(session.id, [disabled.organizer.id, owner.organizer.id]), 400, 'a disabled organizer');
  t.same(errorPaths(off), ['/organizerIds/0'], 'names the field');
  expectProblem(t, await putHosts(randomUUID(), [owner.organizer.id]), 404, 'a missing session');
  expectProblem(t, await putHosts(session.id, [stranger.organizer.id], stranger.headers), 404, 'a caller who is not a host');
  expectProblem(t, await app.inject({ method: 'PUT', url: `${sessionUrl(session.id)}/hosts`, payload: { organizerIds: [owner.organizer.id] } }), 401, 'no token');
  t.same((await hostRows(session.id)).map((row) => row.organizer_id), [owner.organizer.id], 'nothing changed');

  const doubled = await putHosts(session.id, [owner.organizer.id, stranger.organizer.id, owner.organizer.id.toUpperCase(), stranger.organizer.id]);
  t.equal(doubled.statusCode, 200, 'duplicates collapse');
  t.same(doubled.json().hosts, [owner.organizer.id, stranger.organizer.id]);
});

t.test('PUT hosts: hosts who stay keep their place, new ones follow in the order given, and it is audited', async (t) => {
  const session = await createSession(app, owner.headers, startOfItsOwn(), { publish: false });
  const third = await signIn(app);
  const fourth = await signIn(app);
  const [creatorRow] = await hostRows(session.id);

  const first = await putHosts(session.id, [fourth.organizer.id, third.organizer.id, owner.organizer.id]);
  t.equal(first.statusCode, 200, first.body);
  t.same(first.json().hosts, [owner.organizer.id, fourth.organizer.id, third.organizer.id], 'the creator stays first; the others as given');
  t.same((await hostRows(session.id))[0], creatorRow, "the creator's added_at is kept");

  const second = await putHosts(session.id, [third.organizer.id, stranger.organizer.id], fourth.headers);
  t.equal(second.statusCode, 200, 'a host (not the creator) may change the hosts');
  t.same(second.json().hosts, [third.organizer.id, stranger.organizer.id], 'removed hosts are gone; the one who stayed keeps its place');

  expectProblem(t, await app.inject({ method: 'GET', url: sessionUrl(session.id), headers: owner.headers }), 404, 'the creator, no longer a host');
  expectProblem(t, await app.inject({ method: 'GET', url: sessionUrl(session.id), headers: fourth.headers }), 404, 'a host that removed itself');
  t.notOk((await listIds(owner.headers, session)).includes(session.id), "and out of the creator's list");

  const audit = await app.inject({ method: 'GET', url: '/api/v1/audit', headers: admin.headers, query: { action: 'session.hosts', actor: fourth.organizer.id } });
  const [entry] = audit.json<{ items: Array<Record<string, any>> }>().items;
  t.match(entry, {
    subjectType: 'session',
    subjectId: session.id,
    actor: { id: fourth.organizer.id },
    details: { added: [stranger.organizer.id], removed: [owner.organizer.id, fourth.organizer.id] },
  });
});

t.test('every route under /api/v1/sessions/{id} in the API document is in this test', async (t) => {
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json<{ paths: Record<string, Record<string, unknown>> }>();
  const documented = Object.entries(document.paths)
    .filter(([path]) => path.startsWith('/api/v1/sessions/{id}'))
    .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
  const covered = new Set(ROUTES.map((route) => `${route.method} ${route.path}`));
  t.ok(documented.length >= 10, 'the document lists the session routes');
  t.same(documented.filter((route) => !covered.has(route)), [], 'none is missing from ROUTES');
});
