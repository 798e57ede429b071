import { createHmac, randomUUID } from 'node:crypto';
import t from 'tap';
import { buildTestApp, signIn, testConfig, uniqueEmail } from '../helpers/app.js';
import { expectProblem } from '../helpers/http.js';

const PASSWORD = 'a-long-test-password'; // the password signIn gives its organizers
const config = testConfig();

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT built by hand, so the tests control every header field and claim. */
function handToken(
  claims: Record<string, unknown>,
  { secret = config.jwtSecret, header = { alg: 'HS256', typ: 'JWT' } as Record<string, unknown> } = {},
): string {
  const unsigned = `${b64(header)}.${b64(claims)}`;
  if (header.alg === 'none') return `${unsigned}.`;
  const signature = createHmac('sha256', secret).update(unsigned).digest('base64url');
  return `${unsigned}.${signature}`;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

const { app } = await buildTestApp(t);
const organizer = await signIn(app, 'organizer');
const admin = await signIn(app, 'admin');

function claimsFor(id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const iat = nowSeconds();
  return { sub: id, role: 'organizer', ver: 0, iat, exp: iat + 600, iss: config.jwtIssuer, aud: config.jwtAudience, ...overrides };
}

const me = (token: string) => app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } });

t.test('login returns a token, its expiry and the organizer', async (t) => {
  const before = Date.now();
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: organizer.organizer.email, password: PASSWORD },
  });
  t.equal(res.statusCode, 200);
  const body = res.json();
  t.type(body.token, 'string');
  t.match(body.token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
  const expiresAt = Date.parse(body.expiresAt);
  t.ok(Math.abs(expiresAt - (before + 12 * 3600 * 1000)) < 60_000, 'expires in 12 h');
  t.match(body.expiresAt, /Z$/);
  t.same(body.organizer, {
    id: organizer.organizer.id,
    email: organizer.organizer.email,
    name: 'Test organizer',
    role: 'organizer',
    disabled: false,
    createdAt: organizer.organizer.createdAt.toISOString(),
  });
  t.notOk('passwordHash' in body.organizer, 'no password hash');

  const claims = app.jwt.decode<Record<string, unknown>>(body.token)!;
  t.equal(claims.sub, organizer.organizer.id);
  t.equal(claims.iss, config.jwtIssuer);
  t.equal(claims.aud, config.jwtAudience);
  t.equal(claims.exp, expiresAt / 1000);

  const who = await me(body.token);
  t.equal(who.statusCode, 200, 'the token works');
  t.equal(who.json().id, organizer.organizer.id);
});

t.test('login ignores the case of the e-mail', async (t) => {
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: `  ${organizer.organizer.email.toUpperCase()} `, password: PASSWORD },
  });
  t.equal(res.statusCode, 200);
  t.equal(res.json().organizer.id, organizer.organizer.id);
});

t.test('a wrong password and an unknown e-mail get the same answer', async (t) => {
  const wrongPassword = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: organizer.organizer.email, password: 'not-the-password' },
  });
  const unknownEmail = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: uniqueEmail('nobody'), password: PASSWORD },
  });
  expectProblem(t, wrongPassword, 401);
  expectProblem(t, unknownEmail, 401);
  t.equal(wrongPassword.body, unknownEmail.body, 'identical bodies');
  t.same(wrongPassword.json(), unknownEmail.json());
  t.equal(wrongPassword.headers['content-type'], unknownEmail.headers['content-type']);
  t.equal(wrongPassword.headers['www-authenticate'], unknownEmail.headers['www-authenticate']);
  t.notMatch(wrongPassword.body, organizer.organizer.email, 'the e-mail is not echoed');
});

t.test('login input is validated', async (t) => {
  const missing = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: organizer.organizer.email } });
  t.same(expectProblem(t, missing, 400).errors?.map((e) => e.path), ['/password']);
  const extra = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/login',
    payload: { email: organizer.organizer.email, password: PASSWORD, role: 'admin' },
  });
  t.same(expectProblem(t, extra, 400).errors?.map((e) => e.path), ['/role']);
});

t.test('a hand-built valid token is accepted (control for the tests below)', async (t) => {
  const res = await me(handToken(claimsFor(organizer.organizer.id)));
  t.equal(res.statusCode, 200);
  t.equal(res.json().email, organizer.organizer.email);
});

t.test('bad tokens are 401', async (t) => {
  const id = organizer.organizer.id;
  const now = nowSeconds();
  const { exp: _exp, ...withoutExp } = claimsFor(id);
  const { iss: _iss, ...withoutIss } = claimsFor(id);
  const { aud: _aud, ...withoutAud } = claimsFor(id);
  const cases: Array<[string, string]> = [
    ['expired (hand-built)', handToken(claimsFor(id, { iat: now - 7200, exp: now - 3600 }))],
    ['expired (signed by the app)', app.jwt.sign({ sub: id, role: 'organizer', ver: 0 }, { expiresIn: 1, clockTimestamp: Date.now() - 60_000 } as never)],
    ['alg none', handToken(claimsFor(id), { header: { alg: 'none', typ: 'JWT' } })],
    ['alg none with a signature', `${b64({ alg: 'none' })}.${b64(claimsFor(id))}.${handToken(claimsFor(id)).split('.')[2]}`],
    ['another key', handToken(claimsFor(id), { secret: 'another-secret-that-is-long-enough-0123456789' })],
    ['no exp', handToken(withoutExp)],
    ['no iss', handToken(withoutIss)],
    ['no aud', handToken(withoutAud)],
    ['wrong audience', handToken(claimsFor(id, { aud: 'someone-else' }))],
    ['wrong issuer', handToken(claimsFor(id, { iss: 'evil' }))],
    ['unknown organizer', handToken(claimsFor(randomUUID()))],
    ['tampered payload', (() => {
      const [header, , signature] = handToken(claimsFor(id)).split('.');
      return `${header}.${b64(claimsFor(admin.organizer.id))}.${signature}`;
    })()],
    ['garbage', 'not-a-token'],
  ];
  for (const [label, token] of cases) {
    const res = await me(token);
    expectProblem(t, res, 401, label);
    t.equal(res.headers['www-authenticate'], 'Bearer', `${label}: WWW-Authenticate`);
  }

  const basic = await app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: 'Basic dXNlcjpwYXNz' } });
  expectProblem(t, basic, 401, 'basic scheme');
});

t.test('the app-signed expired token really is expired, not malformed', async (t) => {
  // If fast-jwt ignored clockTimestamp this token would be valid and the case above meaningless.
  const token = app.jwt.sign({ sub: organizer.organizer.id, role: 'organizer', ver: 0 }, { expiresIn: 1, clockTimestamp: Date.now() - 60_000 } as never);
  const claims = app.jwt.decode<{ exp: number }>(token)!;
  t.ok(claims.exp < nowSeconds(), 'exp is in the past');
});

t.test('a missing Authorization header is 401 problem+json', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/api/v1/auth/me' });
  const body = expectProblem(t, res, 401);
  t.equal(body.title, 'Unauthorized');
  t.equal(res.headers['www-authenticate'], 'Bearer');
  const sessions = await app.inject({ method: 'GET', url: '/api/v1/sessions' });
  expectProblem(t, sessions, 401, 'sessions need a token too');
});

t.test('/auth/me returns the caller', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: admin.headers });
  t.equal(res.statusCode, 200);
  t.same(res.json(), {
    id: admin.organizer.id,
    email: admin.organizer.email,
    name: 'Test admin',
    role: 'admin',
    disabled: false,
    createdAt: admin.organizer.createdAt.toISOString(),
  });
});

t.test('an organizer may not manage organizers', async (t) => {
  const create = await app.inject({
    method: 'POST',
    url: '/api/v1/organizers',
    headers: organizer.headers,
    payload: { email: uniqueEmail('x'), name: 'X', password: 'a-long-enough-password', role: 'admin' },
  });
  t.equal(expectProblem(t, create, 403).title, 'Forbidden');
  const list = await app.inject({ method: 'GET', url: '/api/v1/organizers', headers: organizer.headers });
  expectProblem(t, list, 403);

  // The role comes from the account, not from the token: a token claiming admin changes nothing.
  const claimsAdmin = handToken(claimsFor(organizer.organizer.id, { role: 'admin' }));
  const forged = await app.inject({ method: 'GET', url: '/api/v1/organizers', headers: { authorization: `Bearer ${claimsAdmin}` } });
  expectProblem(t, forged, 403, 'role claim ignored');

  const anonymous = await app.inject({ method: 'GET', url: '/api/v1/organizers' });
  expectProblem(t, anonymous, 401, 'no token is 401, not 403');
});

t.test('an admin creates and lists organizers', async (t) => {
  const email = uniqueEmail('Created');
  const create = await app.inject({
    method: 'POST',
    url: '/api/v1/organizers',
    headers: admin.headers,
    payload: { email, name: '  New Organizer ', password: 'a-long-enough-password' },
  });
  t.equal(create.statusCode, 201);
  const created = create.json();
  t.match(created, { email: email.toLowerCase(), name: 'New Organizer', role: 'organizer' });
  t.match(created.id, /^[0-9a-f-]{36}$/);
  t.notOk('password' in created || 'passwordHash' in created, 'no password in the answer');

  const duplicate = await app.inject({
    method: 'POST',
    url: '/api/v1/organizers',
    headers: admin.headers,
    payload: { email: email.toUpperCase(), name: 'Again', password: 'another-long-password' },
  });
  expectProblem(t, duplicate, 409, 'same e-mail in another case');

  const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password: 'a-long-enough-password' } });
  t.equal(login.statusCode, 200, 'the new organizer can log in');
  const secondLogin = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password: 'another-long-password' } });
  t.equal(secondLogin.statusCode, 401, 'the duplicate did not replace the password');

  const list = await app.inject({ method: 'GET', url: '/api/v1/organizers', headers: admin.headers });
  t.equal(list.statusCode, 200);
  const items = list.json().items as Array<{ id: string; email: string }>;
  t.ok(items.some((item) => item.id === created.id), 'the new organizer is listed');
  t.ok(items.some((item) => item.id === admin.organizer.id), 'the admin is listed');
  t.notOk(JSON.stringify(items).includes('scrypt$'), 'no password hashes in the list');
});

t.test('organizer input is validated', async (t) => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['/email', { email: 'not-an-email', name: 'X', password: 'a-long-enough-password' }],
    ['/password', { email: uniqueEmail(), name: 'X', password: 'short' }],
    ['/role', { email: uniqueEmail(), name: 'X', password: 'a-long-enough-password', role: 'owner' }],
    ['/name', { email: uniqueEmail(), password: 'a-long-enough-password' }],
    ['/isAdmin', { email: uniqueEmail(), name: 'X', password: 'a-long-enough-password', isAdmin: true }],
  ];
  for (const [path, payload] of cases) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/organizers', headers: admin.headers, payload });
    const body = expectProblem(t, res, 400, path);
    t.ok(body.errors?.some((error) => error.path === path), `${path} is named (${JSON.stringify(body.errors)})`);
  }
});
