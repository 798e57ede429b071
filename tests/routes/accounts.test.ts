import { createHmac, randomUUID } from 'node:crypto';
import pg from 'pg';
import type { InjectOptions } from 'fastify';
import t from 'tap';
import { withDefaultUser } from '../../db/client.js';
import { migrateDatabase } from '../../db/migrate.js';
import { buildTestApp, signIn, TEST_DATABASE_URL, uniqueEmail, type SignedInOrganizer } from '../helpers/app.js';
import { expectProblem } from '../helpers/http.js';
import { createSession } from '../helpers/registrations.js';

const PASSWORD = 'a-long-test-password'; // the password signIn gives its organizers

const { app, config } = await buildTestApp(t);
const admin = await signIn(app, 'admin');

const me = (headers: Record<string, string>) => app.inject({ method: 'GET', url: '/api/v1/auth/me', headers });
const login = (email: string, password = PASSWORD) => app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
const patch = (id: string, payload: Record<string, unknown>, headers = admin.headers) =>
  app.inject({ method: 'PATCH', url: `/api/v1/organizers/${id}`, headers, payload });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A token of a fresh login, beside the one signIn made: a revocation must end both. */
async function secondToken(who: SignedInOrganizer): Promise<string> {
  const res = await login(who.organizer.email);
  t.equal(res.statusCode, 200, 'a second login');
  return res.json().token as string;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
function signedToken(claims: Record<string, unknown>): string {
  const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${unsigned}.${createHmac('sha256', config.jwtSecret).update(unsigned).digest('base64url')}`;
}
function claims(sub: unknown, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = Math.floor(Date.now() / 1000);
  return { sub, role: 'organizer', ver: 0, iat, exp: iat + 600, iss: config.jwtIssuer, aud: config.jwtAudience, ...overrides };
}

t.test('disabling an organizer ends its tokens at once, and its login answers like a wrong password', async (t) => {
  const target = await signIn(app);
  const other = await secondToken(target);
  t.equal((await me(target.headers)).statusCode, 200, 'the token works before');

  const res = await patch(target.organizer.id, { disabled: true });
  t.equal(res.statusCode, 200);
  t.match(res.json(), { id: target.organizer.id, disabled: true, role: 'organizer' });

  expectProblem(t, await me(target.headers), 401, 'the first token, right after');
  expectProblem(t, await me(bearer(other)), 401, 'the second token, right after');

  const disabledLogin = await login(target.organizer.email);
  const wrongPassword = await login(admin.organizer.email, 'not-the-password');
  expectProblem(t, disabledLogin, 401, 'the right password of a disabled account');
  t.equal(disabledLogin.body, wrongPassword.body, 'the same body as a wrong password');
  t.equal(disabledLogin.headers['www-authenticate'], wrongPassword.headers['www-authenticate']);

  const list = await app.inject({ method: 'GET', url: '/api/v1/organizers', headers: admin.headers });
  t.match(list.json().items.find((item: { id: string }) => item.id === target.organizer.id), { disabled: true });

  const enabled = await patch(target.organizer.id, { disabled: false });
  t.equal(enabled.json().disabled, false, 'enabled again');
  expectProblem(t, await me(target.headers), 401, 'enabling again does not bring old tokens back');
  t.equal((await login(target.organizer.email)).statusCode, 200, 'but the organizer can log in again');
});

t.test('an admin renames and promotes; the change is audited', async (t) => {
  const target = await signIn(app);
  const res = await patch(target.organizer.id, { name: '  Renamed Person ', role: 'admin' });
  t.equal(res.statusCode, 200);
  t.match(res.json(), { name: 'Renamed Person', role: 'admin', disabled: false });
  t.equal((await me(target.headers)).statusCode, 200, 'a role change does not end tokens');
  const organizers = await app.inject({ method: 'GET', url: '/api/v1/organizers', headers: target.headers });
  t.equal(organizers.statusCode, 200, 'the role comes from the account: the promoted organizer is an admin now');

  const audit = await app.inject({ method: 'GET', url: `/api/v1/audit?actor=${admin.organizer.id}&action=organizer.update`, headers: admin.headers });
  t.equal(audit.statusCode, 200);
  const entry = audit.json().items.find((item: { subjectId: string }) => item.subjectId === target.organizer.id);
  t.match(entry, { action: 'organizer.update', subjectType: 'organizer', details: { role: 'admin' } }, 'organizer.update in the audit log');
});

t.test('PATCH /organizers/{id}: who may, and what is refused', async (t) => {
  const organizer = await signIn(app);
  expectProblem(t, await patch(admin.organizer.id, { name: 'x' }, organizer.headers), 403, 'an organizer');
  expectProblem(t, await app.inject({ method: 'PATCH', url: `/api/v1/organizers/${organizer.organizer.id}`, payload: { name: 'x' } }), 401, 'nobody');
  expectProblem(t, await patch(randomUUID(), { name: 'x' }), 404, 'an unknown id');
  expectProblem(t, await patch('not-a-uuid', { name: 'x' }), 400, 'a malformed id');
  for (const payload of [{}, { role: 'owner' }, { disabled: 'yes' }, { email: 'x@example.org' }, { password: 'a-new-long-password' }, { name: '' }]) {
    expectProblem(t, await patch(organizer.organizer.id, payload), 400, JSON.stringify(payload));
  }
  const self = await patch(admin.organizer.id, { disabled: true });
  t.match(expectProblem(t, self, 409, 'disabling yourself').detail, /your own account/);
  t.equal((await me(admin.headers)).statusCode, 200, 'and nothing changed');
});

t.test('changing the password ends every earlier token; the old password stops working', async (t) => {
  const who = await signIn(app);
  const other = await secondToken(who);
  const change = (payload: Record<string, unknown>, headers = who.headers) =>
    app.inject({ method: 'POST', url: '/api/v1/auth/password', headers, payload });

  const wrong = await change({ currentPassword: 'not-the-password', newPassword: 'a-brand-new-password' });
  expectProblem(t, wrong, 403, 'a wrong current password');
  t.equal((await me(who.headers)).statusCode, 200, 'a refused change ends nothing');
  const short = await change({ currentPassword: PASSWORD, newPassword: 'too-short' });
  t.same(expectProblem(t, short, 400, 'a short new password').errors?.map((e) => e.path), ['/newPassword']);
  expectProblem(t, await change({ currentPassword: PASSWORD }), 400, 'no new password');

  const ok = await change({ currentPassword: PASSWORD, newPassword: 'a-brand-new-password' });
  t.equal(ok.statusCode, 204);
  t.equal(ok.body, '');
  expectProblem(t, await me(who.headers), 401, 'the token that changed it');
  expectProblem(t, await me(bearer(other)), 401, 'another earlier token');
  expectProblem(t, await login(who.organizer.email), 401, 'the old password');
  const fresh = await login(who.organizer.email, 'a-brand-new-password');
  t.equal(fresh.statusCode, 200, 'the new password');
  t.equal((await me(bearer(fresh.json().token))).statusCode, 200, 'and its token works');
});

t.test('logout ends every earlier token of the caller, and only the caller', async (t) => {
  const who = await signIn(app);
  const bystander = await signIn(app);
  const other = await secondToken(who);
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: who.headers });
  t.equal(res.statusCode, 204);
  expectProblem(t, await me(who.headers), 401, 'the token that logged out');
  expectProblem(t, await me(bearer(other)), 401, 'another earlier token');
  t.equal((await me(bystander.headers)).statusCode, 200, 'another organizer is untouched');
  const fresh = await login(who.organizer.email);
  t.equal((await me(bearer(fresh.json().token))).statusCode, 200, 'a later login works');
  expectProblem(t, await app.inject({ method: 'POST', url: '/api/v1/auth/logout' }), 401, 'logout without a token');
});

t.test('a token whose sub is not a current organizer is 401, whatever its shape', async (t) => {
  const who = await signIn(app);
  const cases: Array<[string, string]> = [
    ['an unknown uuid', signedToken(claims(randomUUID()))],
    ['not a uuid', signedToken(claims('admin'))],
    ['36 dashes', signedToken(claims('-'.repeat(36)))],
    ['a uuid with a NUL', signedToken(claims(`${randomUUID().slice(0, 35)}\u0000`))],
    ['a number', signedToken(claims(42))],
    ['an object', signedToken(claims({ id: who.organizer.id }))],
    ['an array', signedToken(claims([who.organizer.id]))],
    ['a very long string', signedToken(claims('a'.repeat(10_000)))],
    ['no token version', signedToken(claims(who.organizer.id, { ver: undefined }))],
    ['another token version', signedToken(claims(who.organizer.id, { ver: 1 }))],
    ['a token version as text', signedToken(claims(who.organizer.id, { ver: '0' }))],
  ];
  t.equal((await me(bearer(signedToken(claims(who.organizer.id))))).statusCode, 200, 'control: the same claims with its own sub work');
  for (const [label, token] of cases) {
    const res = await me(bearer(token));
    expectProblem(t, res, 401, label);
    t.equal(res.headers['www-authenticate'], 'Bearer', `${label}: WWW-Authenticate`);
  }
});

t.test('another instance sees a revocation within about a second', async (t) => {
  const elsewhere = await buildTestApp(t);
  const who = await signIn(app);
  const there = () => elsewhere.app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: who.headers });
  t.equal((await there()).statusCode, 200, 'the other instance has read the account');
  t.equal((await patch(who.organizer.id, { disabled: true })).statusCode, 200);
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  expectProblem(t, await there(), 401, 'refused there a second later');
});

t.test('every organizer answer carries Cache-Control: no-store', async (t) => {
  const who = await signIn(app);
  const session = await createSession(app, who.headers, {});
  const cases: Array<[string, InjectOptions, number]> = [
    ['login', { method: 'POST', url: '/api/v1/auth/login', payload: { email: who.organizer.email, password: PASSWORD } }, 200],
    ['a failed login', { method: 'POST', url: '/api/v1/auth/login', payload: { email: uniqueEmail('nobody'), password: PASSWORD } }, 401],
    ['an invalid login', { method: 'POST', url: '/api/v1/auth/login', payload: { email: 'x' } }, 400],
    ['me', { method: 'GET', url: '/api/v1/auth/me', headers: who.headers }, 200],
    ['me without a token', { method: 'GET', url: '/api/v1/auth/me' }, 401],
    ['organizers', { method: 'GET', url: '/api/v1/organizers', headers: admin.headers }, 200],
    ['organizers, refused', { method: 'GET', url: '/api/v1/organizers', headers: who.headers }, 403],
    ['sessions', { method: 'GET', url: '/api/v1/sessions', headers: who.headers }, 200],
    ['a session', { method: 'GET', url: `/api/v1/sessions/${session.id}`, headers: who.headers }, 200],
    ['an unknown session', { method: 'GET', url: `/api/v1/sessions/${randomUUID()}`, headers: who.headers }, 404],
    ['registrations', { method: 'GET', url: `/api/v1/sessions/${session.id}/registrations`, headers: who.headers }, 200],
    ['an export', { method: 'GET', url: `/api/v1/sessions/${session.id}/attendees.json`, headers: who.headers }, 200],
    ['the audit log', { method: 'GET', url: '/api/v1/audit', headers: admin.headers }, 200],
  ];
  for (const [label, request, status] of cases) {
    const res = await app.inject(request);
    t.equal(res.statusCode, status, `${label}: status`);
    t.match(String(res.headers['cache-control']), /\bno-store\b/, `${label}: no-store`);
  }
  const page = await app.inject({ method: 'GET', url: `/api/v1/public/sessions/${session.slug}` });
  t.notMatch(String(page.headers['cache-control'] ?? ''), /no-store/, 'a public answer keeps its own caching');
});

t.test('the last enabled admin stays an enabled admin (own database: the shared one has many admins)', async (t) => {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `${url.pathname.replace(/^\//, '')}_accounts`;
  await migrateDatabase(url.toString());
  const reset = new pg.Client({ connectionString: withDefaultUser(url.toString()) });
  await reset.connect();
  await reset.query('TRUNCATE organizers CASCADE');
  await reset.end();

  const own = await buildTestApp(t, { env: { DATABASE_URL: url.toString() } });
  const first = await signIn(own.app, 'admin');
  const organizer = await signIn(own.app);
  const change = (id: string, payload: Record<string, unknown>, headers = first.headers) =>
    own.app.inject({ method: 'PATCH', url: `/api/v1/organizers/${id}`, headers, payload });

  t.match(expectProblem(t, await change(first.organizer.id, { role: 'organizer' }), 409, 'demoting the only admin').detail, /last enabled admin/);
  expectProblem(t, await change(first.organizer.id, { disabled: true }), 409, 'disabling the only admin (yourself)');
  t.equal((await change(organizer.organizer.id, { disabled: true })).statusCode, 200, 'an organizer can be disabled');

  const second = await signIn(own.app, 'admin');
  t.equal((await change(second.organizer.id, { disabled: true })).statusCode, 200, 'one of two admins can be disabled');
  expectProblem(t, await change(first.organizer.id, { role: 'organizer' }), 409, 'a disabled admin does not count');
  t.equal((await change(second.organizer.id, { disabled: false })).statusCode, 200);
  const relogin = await own.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: second.organizer.email, password: PASSWORD } });
  const secondHeaders = bearer(relogin.json().token);

  // Two admins demoting each other at once: one wins, the other is 409, one admin remains.
  const [a, b] = await Promise.all([
    change(second.organizer.id, { role: 'organizer' }, first.headers),
    change(first.organizer.id, { role: 'organizer' }, secondHeaders),
  ]);
  // The loser is 409, or 403 when the winner's change reached it before its own check of the caller.
  const statuses = [a.statusCode, b.statusCode];
  t.equal(statuses.filter((status) => status === 200).length, 1, `exactly one demotion (${statuses.join(', ')})`);
  t.ok(statuses.every((status) => status === 200 || status === 409 || status === 403), `the other refused (${statuses.join(', ')})`);
  const { rows } = await own.database.pool.query("SELECT count(*)::int AS n FROM organizers WHERE role = 'admin' AND disabled_at IS NULL");
  t.equal(rows[0].n, 1, 'one enabled admin left');
});
