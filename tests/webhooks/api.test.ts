import t from 'tap';
import { buildTestApp, uniqueEmail } from '../helpers/app.js';
import { expectProblem } from '../helpers/http.js';
import { createSession, registered, registrationId } from '../helpers/registrations.js';
import { makeOrganizer } from '../console/support.js';

/**
 * Issue #22: webhook endpoints through the API (the caller's own; an admin's, all), their
 * secrets (shown once, stored encrypted), and the outbox rows the triggers write for each change
 * of a registration or a session, for the endpoints whose owner may see the session.
 */

const { app, database } = await buildTestApp(t);
const owner = await makeOrganizer(app, 'organizer', 'Webhook owner');
const stranger = await makeOrganizer(app, 'organizer', 'Stranger');
const admin = await makeOrganizer(app, 'admin', 'Webhook admin');
const headersOf = (organizer: typeof owner) => ({ authorization: `Bearer ${app.issueToken(organizer).token}` });
const ownerHeaders = headersOf(owner);
const strangerHeaders = headersOf(stranger);
const adminHeaders = headersOf(admin);

const created: string[] = [];
t.teardown(async () => {
  // This file shares the test database: its endpoints must not collect the events of other files.
  await database.pool.query('DELETE FROM webhook_endpoints WHERE id = ANY($1::uuid[])', [created]);
});

async function addEndpoint(headers: Record<string, string>, payload: Record<string, unknown>) {
  const res = await app.inject({ method: 'POST', url: '/api/v1/webhooks', headers, payload });
  if (res.statusCode === 201) created.push(res.json().id);
  return res;
}

t.test('created with a secret shown once and stored encrypted; listed without it', async (t) => {
  const res = await addEndpoint(ownerHeaders, { url: 'https://crm.example.org/hooks/convene', events: ['registration.created'], description: 'Our CRM' });
  t.equal(res.statusCode, 201);
  const body = res.json();
  t.match(body.secret, /^whsec_[A-Za-z0-9+/]{43}=$/, 'whsec_ and base64 of 32 bytes');
  t.match(body, { url: 'https://crm.example.org/hooks/convene', events: ['registration.created'], description: 'Our CRM', enabled: true, disabledReason: null });
  const { rows } = await database.pool.query('SELECT secret_ciphertext FROM webhook_endpoints WHERE id = $1', [body.id]);
  t.notOk(String(rows[0].secret_ciphertext).includes(body.secret.slice(6)), 'not stored as it was shown');
  const list = await app.inject({ method: 'GET', url: '/api/v1/webhooks', headers: ownerHeaders });
  t.equal(list.statusCode, 200);
  t.ok(list.json().items.some((item: { id: string }) => item.id === body.id));
  t.notOk(list.body.includes('whsec_'), 'never the secret again');
  const { rows: audit } = await database.pool.query(`SELECT action FROM audit_log WHERE subject_id = $1`, [body.id]);
  t.same(audit.map((row) => row.action), ['webhook.create']);
});

t.test('bad input: 400 at the field; http and private addresses refused without WEBHOOK_ALLOW_PRIVATE', async (t) => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['http', { url: 'http://crm.example.org/hook', events: ['registration.created'] }, '/url'],
    ['loopback', { url: 'https://127.0.0.1/hook', events: ['registration.created'] }, '/url'],
    ['private', { url: 'https://10.1.2.3/hook', events: ['registration.created'] }, '/url'],
    ['IPv6 loopback', { url: 'https://[::1]/hook', events: ['registration.created'] }, '/url'],
    ['mapped', { url: 'https://[::ffff:127.0.0.1]/hook', events: ['registration.created'] }, '/url'],
    ['credentials', { url: 'https://user:pass@crm.example.org/hook', events: ['registration.created'] }, '/url'],
    ['not a URL', { url: 'crm.example.org', events: ['registration.created'] }, '/url'],
    ['unknown event', { url: 'https://crm.example.org/hook', events: ['registration.deleted'] }, '/events/0'],
    ['no event', { url: 'https://crm.example.org/hook', events: [] }, '/events'],
    ['ping', { url: 'https://crm.example.org/hook', events: ['ping'] }, '/events/0'],
  ];
  for (const [label, payload, path] of cases) {
    const res = await addEndpoint(ownerHeaders, payload);
    expectProblem(t, res, 400, label);
    t.ok(res.json().errors?.some((error: { path: string }) => error.path === path), `${label}: the error at ${path} (${res.body})`);
  }
  const unauthenticated = await app.inject({ method: 'POST', url: '/api/v1/webhooks', payload: { url: 'https://crm.example.org/hook', events: ['ping'] } });
  expectProblem(t, unauthenticated, 401, 'no token');
});

t.test('the caller’s own endpoints; an admin sees all; another’s is 404 everywhere', async (t) => {
  const res = await addEndpoint(ownerHeaders, { url: 'https://owner.example.org/hook', events: ['registration.cancelled'] });
  const id = res.json().id;
  const strangerList = await app.inject({ method: 'GET', url: '/api/v1/webhooks', headers: strangerHeaders });
  t.notOk(strangerList.json().items.some((item: { id: string }) => item.id === id), 'not in another organizer’s list');
  const adminList = await app.inject({ method: 'GET', url: '/api/v1/webhooks', headers: adminHeaders });
  t.ok(adminList.json().items.some((item: { id: string }) => item.id === id), 'in the admin’s');
  for (const [method, url] of [
    ['GET', `/api/v1/webhooks/${id}`],
    ['PATCH', `/api/v1/webhooks/${id}`],
    ['DELETE', `/api/v1/webhooks/${id}`],
    ['POST', `/api/v1/webhooks/${id}/test`],
    ['POST', `/api/v1/webhooks/${id}/rotate-secret`],
    ['GET', `/api/v1/webhooks/${id}/deliveries`],
  ] as const) {
    const answer = await app.inject({ method, url, headers: strangerHeaders, ...(method === 'PATCH' ? { payload: { enabled: false } } : {}) });
    expectProblem(t, answer, 404, `${method} ${url} by another organizer`);
  }
  const patched = await app.inject({ method: 'PATCH', url: `/api/v1/webhooks/${id}`, headers: ownerHeaders, payload: { events: ['registration.created', 'registration.created'], enabled: false } });
  t.equal(patched.statusCode, 200);
  t.match(patched.json(), { events: ['registration.created'], enabled: false });
  const emptyPatch = await app.inject({ method: 'PATCH', url: `/api/v1/webhooks/${id}`, headers: ownerHeaders, payload: {} });
  expectProblem(t, emptyPatch, 400, 'nothing to change');
  const deleted = await app.inject({ method: 'DELETE', url: `/api/v1/webhooks/${id}`, headers: ownerHeaders });
  t.equal(deleted.statusCode, 204);
  expectProblem(t, await app.inject({ method: 'GET', url: `/api/v1/webhooks/${id}`, headers: ownerHeaders }), 404, 'gone');
});

t.test('the triggers: one row per endpoint that wants the event and whose owner may see the session', async (t) => {
  const wants = await addEndpoint(ownerHeaders, { url: 'https://owner.example.org/all', events: ['registration.created', 'registration.confirmed', 'registration.cancelled', 'registration.checked_in', 'session.updated', 'session.cancelled'] });
  const other = await addEndpoint(strangerHeaders, { url: 'https://stranger.example.org/all', events: ['registration.created', 'session.updated'] });
  const everything = await addEndpoint(adminHeaders, { url: 'https://admin.example.org/all', events: ['registration.created'] });
  const session = await createSession(app, ownerHeaders, { capacity: 5, reminders: [] });
  const rowsOf = async (endpointId: string) =>
    (await database.pool.query('SELECT event_type, data FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY seq', [endpointId])).rows;

  const email = uniqueEmail('trigger');
  await registered(app, session.slug, { name: 'Trigger Person', email });
  const id = await registrationId(database.pool, session.id, email);
  const checkIn = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${id}/check-in`, headers: ownerHeaders, payload: {} });
  t.equal(checkIn.statusCode, 200, checkIn.body);
  const moved = await app.inject({ method: 'PATCH', url: `/api/v1/sessions/${session.id}`, headers: ownerHeaders, payload: { title: 'A new title' } });
  t.equal(moved.statusCode, 200, moved.body);
  const cancelled = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/cancel`, headers: ownerHeaders, payload: { reason: 'Weather' } });
  t.equal(cancelled.statusCode, 200, cancelled.body);

  const mine = await rowsOf(wants.json().id);
  t.same(
    mine.map((row) => row.event_type),
    ['registration.created', 'registration.checked_in', 'session.updated', 'session.cancelled', 'registration.cancelled'],
    'each change once, in order (a cancelled session, then its registrations); the counters a registration updates raise no session.updated',
  );
  t.same(mine[0].data, { sessionId: session.id, registrationId: id, status: 'confirmed' });
  t.same(Object.keys(mine[2].data).sort(), ['endsAt', 'sessionId', 'startsAt', 'status'], 'session events carry ids, status and times');
  t.same(await rowsOf(other.json().id), [], 'the stranger hosts nothing here');
  // Other files register in this database meanwhile: the admin's endpoint gets theirs too.
  const admins = (await rowsOf(everything.json().id)).filter((row) => row.data.sessionId === session.id);
  t.same(admins.map((row) => row.event_type), ['registration.created'], 'the admin sees every session');
});

t.test('a disabled owner, or a disabled endpoint, gets no rows written', async (t) => {
  const disabledOwner = await makeOrganizer(app, 'organizer', 'Soon disabled');
  const headers = headersOf(disabledOwner);
  const endpoint = (await addEndpoint(headers, { url: 'https://disabled.example.org/hook', events: ['registration.created'] })).json();
  const session = await createSession(app, headers, { capacity: 5, reminders: [] });
  const paused = (await addEndpoint(headers, { url: 'https://paused.example.org/hook', events: ['registration.created'] })).json();
  await app.inject({ method: 'PATCH', url: `/api/v1/webhooks/${paused.id}`, headers, payload: { enabled: false } });
  await database.pool.query('UPDATE organizers SET disabled_at = now() WHERE id = $1', [disabledOwner.id]);
  await registered(app, session.slug, { name: 'Nobody Told', email: uniqueEmail('disabled') });
  const { rows } = await database.pool.query('SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = ANY($1::uuid[])', [[endpoint.id, paused.id]]);
  t.equal(rows[0].n, 0);
});

t.test('at most 20 endpoints per organizer', async (t) => {
  const many = await makeOrganizer(app, 'organizer', 'Many hooks');
  const headers = headersOf(many);
  for (let i = 0; i < 20; i += 1) t.equal((await addEndpoint(headers, { url: `https://many.example.org/${i}`, events: ['registration.created'] })).statusCode, 201);
  expectProblem(t, await addEndpoint(headers, { url: 'https://many.example.org/21', events: ['registration.created'] }), 409, 'the 21st');
});
