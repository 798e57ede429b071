import type { LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { safeNext } from '../../src/routes/console/session.js';
import { CONSOLE_IDLE_MS, CONSOLE_LIFETIME_MS } from '../../src/services/console-sessions.js';
import { buildTestApp, manualClock, uniqueEmail } from '../helpers/app.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { randomIp } from '../pages/support.js';
import { COOKIE, consoleSignIn, cookieFrom, form, makeOrganizer, PASSWORD } from './support.js';

const clock = manualClock();
const { app, database } = await buildTestApp(t, { clock });

const login = (fields: Record<string, string>, headers: Record<string, string> = {}) => {
  const body = form(fields);
  return app.inject({ method: 'POST', url: '/console/login', payload: body.payload, headers: { ...body.headers, ...headers }, remoteAddress: randomIp() });
};

function expectLoginRedirect(t: Test, res: LightMyRequestResponse, location: string | RegExp, label: string): void {
  t.equal(res.statusCode, 303, `${label}: 303`);
  if (typeof location === 'string') t.equal(res.headers.location, location, `${label}: to ${location}`);
  else t.match(res.headers.location, location, `${label}: to the login page`);
}

async function rowsOf(organizerId: string): Promise<number> {
  const { rows } = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM console_sessions WHERE organizer_id = $1', [organizerId]);
  return rows[0]!.n;
}

t.test('signed out: every console page leads to the login page, with a next that returns there', async (t) => {
  expectLoginRedirect(t, await app.inject({ method: 'GET', url: '/console' }), '/console/login', 'dashboard');
  expectLoginRedirect(t, await app.inject({ method: 'GET', url: '/console/account' }), '/console/login?next=%2Fconsole%2Faccount', 'account');
  expectLoginRedirect(
    t,
    await app.inject({ method: 'GET', url: '/console/sessions/123/registrations?q=ann&page=2' }),
    '/console/login?next=%2Fconsole%2Fsessions%2F123%2Fregistrations%3Fq%3Dann%26page%3D2',
    'a deeper page with its query',
  );
  expectLoginRedirect(t, await app.inject({ method: 'GET', url: '/console/no-such-page' }), '/console/login?next=%2Fconsole%2Fno-such-page', 'an unknown page');
  expectLoginRedirect(t, await app.inject({ method: 'POST', url: '/console/logout', ...form({ _csrf: 'x' }) }), '/console/login', 'a post');
  const bogus = await app.inject({ method: 'GET', url: '/console', headers: { cookie: `${COOKIE}=${'A'.repeat(43)}` } });
  expectLoginRedirect(t, bogus, '/console/login?m=ended', 'a cookie that names no session');
  t.match(String(bogus.headers['set-cookie']), new RegExp(`^${COOKIE}=;`), 'and the cookie is cleared');
  t.equal(bogus.headers['cache-control'], 'no-store', 'redirects are not stored');
});

t.test('the login page: labelled fields, headers of a console page', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/console/login?next=%2Fconsole%2Faccount' });
  t.equal(res.statusCode, 200);
  t.match(res.body, /<label for="f-email">E-mail/);
  t.match(res.body, /<label for="f-password">Password/);
  t.match(res.body, /<button type="submit">Sign in<\/button>/);
  t.match(res.body, /<input type="hidden" name="next" value="\/console\/account">/, 'next carried in the form');
  t.notMatch(res.body, /<script>|style=/, 'no inline script or style');
  t.equal(res.headers['cache-control'], 'no-store');
  t.equal(res.headers['x-frame-options'], 'DENY');
  t.match(res.headers['content-security-policy'], /script-src 'self'/);
  t.notMatch(res.headers['content-security-policy'], /unsafe-inline/);
  const bad = await app.inject({ method: 'GET', url: '/console/login?next=%2F%2Fevil.example' });
  t.notMatch(bad.body, /name="next"/, 'an unsafe next is dropped');
  const notice = await app.inject({ method: 'GET', url: '/console/login?m=%3Cscript%3E' });
  t.notMatch(notice.body, /script%3E|<script>/, 'no text from the address is shown');
});

t.test('next only ever leads inside /console', async (t) => {
  for (const good of ['/console', '/console/account', '/console/sessions/abc?q=a%20b', '/console?x=1']) t.equal(safeNext(good), good, `kept: ${good}`);
  const bad = [
    '//evil.example',
    '//evil.example/console',
    'https://evil.example/console',
    '/console/../x',
    '/console/./account',
    '/console/%2e%2e/x',
    '/console/%2E%2E%2Fx',
    '/console\\..\\x',
    '/console/\\evil.example',
    '\\\\evil.example',
    '/console//evil.example',
    '/consolex',
    ' /console',
    '/console/\nx',
    'javascript:alert(1)',
    '/console/%5c%5cevil',
    '',
    42,
    undefined,
  ];
  for (const value of bad) t.equal(safeNext(value), null, `refused: ${JSON.stringify(value)}`);

  const organizer = await makeOrganizer(app);
  const ok = await login({ email: organizer.email, password: PASSWORD, next: '/console/account' });
  expectLoginRedirect(t, ok, '/console/account', 'a safe next is followed');
  for (const next of ['//evil.example', 'https://evil.example/', '/console/../x', '/console\\x']) {
    const res = await login({ email: organizer.email, password: PASSWORD, next });
    expectLoginRedirect(t, res, '/console', `next ${next} is replaced by /console`);
  }
});

t.test('a wrong password and an unknown e-mail get the same page; nothing is signed in', async (t) => {
  const organizer = await makeOrganizer(app);
  const unknown = uniqueEmail('nobody');
  const wrong = await login({ email: organizer.email, password: 'not-the-password' });
  const missing = await login({ email: unknown, password: 'not-the-password' });
  t.equal(wrong.statusCode, 401);
  t.equal(missing.statusCode, 401);
  t.match(wrong.body, /Wrong e-mail or password/);
  t.equal(wrong.body.replace(organizer.email, 'E'), missing.body.replace(unknown, 'E'), 'identical but for the e-mail typed back');
  t.equal(wrong.headers['set-cookie'], undefined, 'no cookie');
  const disabled = await makeOrganizer(app);
  const admin = await makeOrganizer(app, 'admin');
  await app.services.organizers.update(disabled.id, { disabled: true }, admin);
  const refused = await login({ email: disabled.email, password: PASSWORD });
  t.equal(refused.body.replace(disabled.email, 'E'), missing.body.replace(unknown, 'E'), 'a disabled account: the same page');

  const empty = await login({ email: '', password: '' });
  t.equal(empty.statusCode, 400);
  t.match(empty.body, /There is a problem[\s\S]*href="#f-email">Enter your e-mail address[\s\S]*href="#f-password">Enter your password/, 'errors on top, linked');
  t.match(empty.body, /id="f-email-error"[\s\S]*aria-invalid="true"/, 'and at the fields');
});

t.test('throttled as the API: the sixth attempt for an e-mail is a 429 page, the right password included', async (t) => {
  const organizer = await makeOrganizer(app);
  for (let i = 1; i <= 5; i += 1) t.equal((await login({ email: organizer.email, password: 'wrong-password' })).statusCode, 401, `failure ${i}`);
  const sixth = await login({ email: organizer.email, password: PASSWORD });
  t.equal(sixth.statusCode, 429, 'the sixth is 429');
  t.match(sixth.headers['content-type'], /text\/html/);
  t.match(sixth.body, /Too many failed sign-ins for this e-mail address/);
  t.ok(Number(sixth.headers['retry-after']) >= 1, 'with Retry-After');
  t.equal(sixth.headers['set-cookie'], undefined, 'no session');
  const api = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: organizer.email, password: PASSWORD } });
  t.equal(api.statusCode, 429, 'the same count as the API login');
});

t.test('the per-address limit of the API applies to console logins', async (t) => {
  const limited = await buildTestApp(t, { env: { RATE_LIMIT_LOGIN_PER_IP_PER_MINUTE: '2' } });
  // The producer connection does not queue commands: until it is up the limit lets logins through uncounted.
  while ((await limited.app.inject({ method: 'GET', url: '/readyz' })).statusCode !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
  const remoteAddress = randomIp();
  const statuses: number[] = [];
  for (let i = 0; i < 3; i += 1) {
    const body = form({ email: uniqueEmail('x'), password: 'whatever-password' });
    statuses.push((await limited.app.inject({ method: 'POST', url: '/console/login', payload: body.payload, headers: body.headers, remoteAddress })).statusCode);
  }
  t.same(statuses, [401, 401, 429]);
});

t.test('the cookie: random, HttpOnly, SameSite=Lax, Path=/, only its hash stored', async (t) => {
  const organizer = await makeOrganizer(app);
  const res = await login({ email: organizer.email, password: PASSWORD });
  expectLoginRedirect(t, res, '/console', 'signed in');
  const header = String(res.headers['set-cookie']);
  t.match(header, new RegExp(`^${COOKIE}=[A-Za-z0-9_-]{43};`), '256 random bits');
  t.match(header, /; HttpOnly/);
  t.match(header, /; SameSite=Lax/);
  t.match(header, /; Path=\//);
  t.notMatch(header, /; Secure/, 'not Secure over http');
  const value = cookieFrom(res.headers['set-cookie'])!;
  const { rows } = await database.pool.query<{ token_hash: string }>('SELECT token_hash FROM console_sessions WHERE organizer_id = $1', [organizer.id]);
  t.equal(rows.length, 1);
  t.not(rows[0]!.token_hash, value, 'the table holds no cookie value');
  const again = await login({ email: organizer.email, password: PASSWORD });
  t.not(cookieFrom(again.headers['set-cookie']), value, 'every sign-in gets a new id');

  const https = await buildTestApp(t, { env: { PUBLIC_BASE_URL: 'https://convene.example' } });
  const secureOrganizer = await makeOrganizer(https.app);
  const body = form({ email: secureOrganizer.email, password: PASSWORD });
  const secure = await https.app.inject({ method: 'POST', url: '/console/login', payload: body.payload, headers: body.headers });
  t.match(String(secure.headers['set-cookie']), /^__Host-convene-console=[^;]+;.*; Secure/, 'Secure and __Host- over https');
});

t.test('a session ends after 8 hours idle; seen at most once a minute', async (t) => {
  const organizer = await makeOrganizer(app);
  const browser = await consoleSignIn(app, organizer);
  const seen = async () =>
    (await database.pool.query<{ at: Date }>('SELECT last_seen_at AS at FROM console_sessions WHERE organizer_id = $1', [organizer.id])).rows[0]!.at.getTime();
  const first = await seen();
  clock.advance(30_000);
  t.equal((await browser.get('/console')).statusCode, 200);
  t.equal(await seen(), first, 'not written again within a minute');
  clock.advance(31_000);
  t.equal((await browser.get('/console')).statusCode, 200);
  t.equal(await seen(), clock.now().getTime(), 'written after a minute');
  clock.advance(CONSOLE_IDLE_MS - 60_000);
  t.equal((await browser.get('/console')).statusCode, 200, 'just under 8 hours idle: still signed in');
  clock.advance(CONSOLE_IDLE_MS);
  const ended = await browser.get('/console/account');
  expectLoginRedirect(t, ended, '/console/login?next=%2Fconsole%2Faccount&m=ended', '8 hours idle');
  t.equal(await rowsOf(organizer.id), 0, 'the row is gone');
  const page = await app.inject({ method: 'GET', url: '/console/login?next=%2Fconsole%2Faccount&m=ended' });
  t.match(page.body, /Your console session has ended/);
});

t.test('a session ends 7 days after it began, however active', async (t) => {
  const organizer = await makeOrganizer(app);
  const browser = await consoleSignIn(app, organizer);
  const step = CONSOLE_IDLE_MS - 60 * 60_000;
  let elapsed = 0;
  while (elapsed + step < CONSOLE_LIFETIME_MS) {
    clock.advance(step);
    elapsed += step;
    if ((await browser.get('/console')).statusCode !== 200) break;
  }
  t.equal((await browser.get('/console')).statusCode, 200, `active for ${Math.round(elapsed / 3_600_000)} hours: still signed in`);
  clock.advance(CONSOLE_LIFETIME_MS - elapsed);
  expectLoginRedirect(t, await browser.get('/console'), '/console/login?m=ended', 'after 7 days');
});

t.test('disabling the organizer, or logging out of the API everywhere, ends its console sessions', async (t) => {
  const admin = await makeOrganizer(app, 'admin');
  const organizer = await makeOrganizer(app);
  const browser = await consoleSignIn(app, organizer);
  await app.services.organizers.update(organizer.id, { disabled: true }, admin);
  expectLoginRedirect(t, await browser.get('/console'), '/console/login?m=ended', 'disabled');
  await app.services.organizers.update(organizer.id, { disabled: false }, admin);
  t.equal((await browser.get('/console')).statusCode, 303, 're-enabling does not bring the old session back');

  const other = await makeOrganizer(app);
  const second = await consoleSignIn(app, other);
  const { token } = app.issueToken((await app.services.organizers.findById(other.id))!);
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { authorization: `Bearer ${token}` } })).statusCode, 204);
  expectLoginRedirect(t, await second.get('/console'), '/console/login?m=ended', 'after the API logout');
});

t.test('sign out: the row is deleted and the cookie opens nothing', async (t) => {
  const organizer = await makeOrganizer(app);
  const browser = await consoleSignIn(app, organizer);
  t.equal(await rowsOf(organizer.id), 1);
  const out = await browser.post('/console/logout', {});
  expectLoginRedirect(t, out, '/console/login?m=signed-out', 'signed out');
  t.match(String(out.headers['set-cookie']), new RegExp(`^${COOKIE}=;`), 'cookie cleared');
  t.equal(await rowsOf(organizer.id), 0, 'row deleted');
  expectLoginRedirect(t, await browser.get('/console'), '/console/login?m=ended', 'the old cookie');
  t.match((await app.inject({ method: 'GET', url: '/console/login?m=signed-out' })).body, /You have signed out/);
});

t.test('CSRF: a post without the session token, or with a wrong one, is a 403 page and changes nothing', async (t) => {
  const organizer = await makeOrganizer(app);
  const browser = await consoleSignIn(app, organizer);
  const other = await consoleSignIn(app, await makeOrganizer(app));
  const cases: Array<[string, Record<string, string>]> = [
    ['missing', {}],
    ['wrong', { _csrf: 'x'.repeat(43) }],
    ["another session's", { _csrf: other.csrf }],
  ];
  for (const [label, fields] of cases) {
    const body = form(fields);
    const res = await app.inject({ method: 'POST', url: '/console/logout', payload: body.payload, headers: { ...body.headers, ...browser.headers } });
    t.equal(res.statusCode, 403, `${label}: 403`);
    t.match(res.headers['content-type'], /text\/html/, `${label}: a page`);
    t.match(res.body, /Not allowed/);
    t.equal(res.headers['cache-control'], 'no-store');
  }
  const rename = form({ change: 'name', name: 'Renamed' });
  const refused = await app.inject({ method: 'POST', url: '/console/account', payload: rename.payload, headers: { ...rename.headers, ...browser.headers } });
  t.equal(refused.statusCode, 403);
  t.equal((await app.services.organizers.findById(organizer.id))!.name, organizer.name, 'the name did not change');
  t.equal((await browser.get('/console')).statusCode, 200, 'still signed in');
});

t.test('a foreign Origin is 403, on the login form too', async (t) => {
  const organizer = await makeOrganizer(app);
  const browser = await consoleSignIn(app, organizer);
  const foreign = await browser.post('/console/logout', {}, { origin: 'https://evil.example' });
  t.equal(foreign.statusCode, 403);
  t.match(foreign.body, /sent from another site/);
  t.equal((await browser.post('/console/logout', {}, { origin: 'null' })).statusCode, 403, 'Origin: null');
  t.equal((await browser.post('/console/logout', {}, { 'sec-fetch-site': 'cross-site' })).statusCode, 403, 'cross-site without Origin');
  t.equal((await browser.get('/console')).statusCode, 200, 'still signed in');
  const crossLogin = await login({ email: organizer.email, password: PASSWORD }, { origin: 'https://evil.example' });
  t.equal(crossLogin.statusCode, 403, 'login CSRF refused');
  t.equal(crossLogin.headers['set-cookie'], undefined);
  const sameOrigin = await browser.post('/console/logout', {}, { origin: 'http://convene.test', 'sec-fetch-site': 'same-origin' });
  expectLoginRedirect(t, sameOrigin, '/console/login?m=signed-out', 'our own origin is fine');
});

t.test('no GET changes anything', async (t) => {
  const organizer = await makeOrganizer(app);
  const browser = await consoleSignIn(app, organizer);
  const logoutByGet = await browser.get('/console/logout');
  t.equal(logoutByGet.statusCode, 404, 'sign-out is not a GET');
  t.match(logoutByGet.headers['content-type'], /text\/html/);
  t.match(logoutByGet.body, /Page not found/);
  await browser.get('/console/account?change=name&name=Changed');
  await browser.get(`/console/account?change=password&currentPassword=${PASSWORD}&newPassword=another-long-password&repeatPassword=another-long-password`);
  const after = (await app.services.organizers.findById(organizer.id))!;
  t.equal(after.name, organizer.name);
  t.equal(after.tokenVersion, organizer.tokenVersion);
  t.equal(await rowsOf(organizer.id), 1);
  expectLoginRedirect(t, await browser.get('/console/login'), '/console', 'the login page sends a signed-in browser on');
  t.equal((await browser.get('/console')).statusCode, 200, 'still signed in');
});

t.test('purgeEnded deletes the rows of ended sessions only', async (t) => {
  // On a database of its own: purgeEnded deletes every ended row, and with this clock eight
  // hours ahead that would be the console sessions of every test file running beside this one.
  const ownClock = manualClock();
  const own = await startMailTest(t, { name: 'console_purge', redisDb: 2, smtp: false, worker: false, clock: ownClock });
  const ownRows = async (organizerId: string) =>
    (await own.database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM console_sessions WHERE organizer_id = $1', [organizerId])).rows[0]!.n;
  const admin = await makeOrganizer(own.app, 'admin');
  const idle = await makeOrganizer(own.app);
  const live = await makeOrganizer(own.app);
  const disabled = await makeOrganizer(own.app);
  await consoleSignIn(own.app, idle);
  await consoleSignIn(own.app, disabled);
  ownClock.advance(CONSOLE_IDLE_MS - 60_000);
  await consoleSignIn(own.app, live);
  await own.app.services.organizers.update(disabled.id, { disabled: true }, admin);
  ownClock.advance(2 * 60_000);
  t.ok((await own.app.services.consoleSessions.purgeEnded()) >= 2, 'it reports what it deleted');
  t.equal(await ownRows(idle.id), 0, 'idle for 8 hours: deleted');
  t.equal(await ownRows(disabled.id), 0, 'disabled: deleted');
  t.equal(await ownRows(live.id), 1, 'a live session stays');
});

t.test("a session's row is trusted for about a second: a purge by another process is seen that late", async (t) => {
  const organizer = await makeOrganizer(app);
  const browser = await consoleSignIn(app, organizer);
  t.equal((await browser.get('/console')).statusCode, 200, 'signed in');
  // As the worker's purge would: the row goes, outside this process's sign-out (which forgets it at once: see above).
  await database.pool.query('DELETE FROM console_sessions WHERE organizer_id = $1', [organizer.id]);
  await new Promise((resolve) => setTimeout(resolve, 1_100));
  expectLoginRedirect(t, await browser.get('/console'), '/console/login?m=ended', 'a second later the cookie opens nothing');
});
