import t from 'tap';
import { buildTestApp } from '../helpers/app.js';
import { consoleSignIn, cookieFrom, COOKIE, form, makeOrganizer, PASSWORD } from './support.js';

const { app, database } = await buildTestApp(t);
const NEW_PASSWORD = 'a-brand-new-long-password';

async function auditOf(subjectId: string, action: string) {
  const { rows } = await database.pool.query<{ actor_id: string | null; details: unknown }>(
    'SELECT actor_id, details FROM audit_log WHERE subject_id = $1 AND action = $2 ORDER BY at',
    [subjectId, action],
  );
  return rows;
}

t.test('the account page: e-mail, role, the name and password forms', async (t) => {
  const organizer = await makeOrganizer(app, 'organizer', 'Dana Officer');
  const browser = await consoleSignIn(app, organizer);
  const res = await browser.get('/console/account');
  t.equal(res.statusCode, 200);
  t.equal(res.headers['cache-control'], 'no-store');
  t.match(res.body, /<h1>Account<\/h1>/);
  t.match(res.body, organizer.email);
  t.match(res.body, /<label for="f-name">Name[\s\S]*value="Dana Officer"/);
  for (const label of ['Current password', 'New password', 'Repeat the new password']) t.match(res.body, `>${label} <span class="req">`, label);
  t.match(res.body, /<a href="\/console\/account" aria-current="page">Account<\/a>/);
  t.equal(res.body.match(/name="_csrf"/g)?.length, 3, 'both forms and Sign out carry the token');
  t.notMatch(res.body, /type="password"[^>]*value=/, 'passwords are never written back');
});

t.test('the name: saved with the audit entry of the API, errors at the field', async (t) => {
  const organizer = await makeOrganizer(app);
  const browser = await consoleSignIn(app, organizer);
  const empty = await browser.post('/console/account', { change: 'name', name: '   ' });
  t.equal(empty.statusCode, 400);
  t.match(empty.body, /There is a problem[\s\S]*<a href="#f-name">Enter your name<\/a>/, 'summary on top');
  t.match(empty.body, /id="f-name-error"><span class="visually-hidden">Error: <\/span>Enter your name/, 'at the field');
  t.match(empty.body, /id="f-name"[^>]*aria-invalid="true"[^>]*autofocus/);
  const long = await browser.post('/console/account', { change: 'name', name: 'x'.repeat(201) });
  t.equal(long.statusCode, 400);
  t.match(long.body, /Name must be at most 200 characters/);
  t.equal((await app.services.organizers.findById(organizer.id))!.name, organizer.name, 'nothing saved');

  const saved = await browser.post('/console/account', { change: 'name', name: '  Renamed Officer ' });
  t.equal(saved.statusCode, 303);
  t.equal(saved.headers.location, '/console/account?m=name-saved');
  t.equal((await app.services.organizers.findById(organizer.id))!.name, 'Renamed Officer');
  const page = await browser.get('/console/account?m=name-saved');
  t.match(page.body, /Your name has been saved/);
  t.match(page.body, /Signed in as <\/span>Renamed Officer/);

  // The API's own route for the same change leaves the same entry.
  const { token } = app.issueToken((await app.services.organizers.findById(organizer.id))!);
  const api = await app.inject({ method: 'PATCH', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` }, payload: { name: 'Via API' } });
  t.equal(api.statusCode, 200);
  t.equal(api.json().name, 'Via API');
  const entries = await auditOf(organizer.id, 'organizer.update');
  t.same(
    entries.map((e) => [e.actor_id, e.details]),
    [
      [organizer.id, { name: 'Renamed Officer' }],
      [organizer.id, { name: 'Via API' }],
    ],
    'console and API: organizer.update by the organizer',
  );
});

t.test('the password: each mistake at its field, nothing changed', async (t) => {
  const organizer = await makeOrganizer(app);
  const browser = await consoleSignIn(app, organizer);
  const wrong = await browser.post('/console/account', { change: 'password', currentPassword: 'not-my-password', newPassword: NEW_PASSWORD, repeatPassword: NEW_PASSWORD });
  t.equal(wrong.statusCode, 403);
  t.match(wrong.body, /<a href="#f-currentPassword">The current password is wrong<\/a>/);
  t.match(wrong.body, /id="f-currentPassword-error"/);
  const short = await browser.post('/console/account', { change: 'password', currentPassword: PASSWORD, newPassword: 'short', repeatPassword: 'short' });
  t.equal(short.statusCode, 400);
  t.match(short.body, /<a href="#f-newPassword">New password must be at least 12 characters<\/a>/);
  const mismatch = await browser.post('/console/account', { change: 'password', currentPassword: PASSWORD, newPassword: NEW_PASSWORD, repeatPassword: `${NEW_PASSWORD}x` });
  t.equal(mismatch.statusCode, 400);
  t.match(mismatch.body, /<a href="#f-repeatPassword">Repeat the new password exactly as above<\/a>/);
  const after = (await app.services.organizers.findById(organizer.id))!;
  t.equal(after.tokenVersion, organizer.tokenVersion, 'the password did not change');
  t.equal((await browser.get('/console')).statusCode, 200, 'still signed in');
  t.same(await auditOf(organizer.id, 'organizer.password'), []);
});

t.test('wrong current passwords count with failed sign-ins', async (t) => {
  const organizer = await makeOrganizer(app);
  const browser = await consoleSignIn(app, organizer);
  for (let i = 1; i <= 5; i += 1) {
    const res = await browser.post('/console/account', { change: 'password', currentPassword: 'wrong-password', newPassword: NEW_PASSWORD, repeatPassword: NEW_PASSWORD });
    t.equal(res.statusCode, 403, `wrong ${i}`);
  }
  const locked = await browser.post('/console/account', { change: 'password', currentPassword: PASSWORD, newPassword: NEW_PASSWORD, repeatPassword: NEW_PASSWORD });
  t.equal(locked.statusCode, 429);
  t.match(locked.body, /Too many failed sign-ins/);
  t.ok(Number(locked.headers['retry-after']) >= 1);
});

t.test('a password change ends every console session and API token of the account, this one included', async (t) => {
  const organizer = await makeOrganizer(app);
  const browser = await consoleSignIn(app, organizer);
  const elsewhere = await consoleSignIn(app, organizer);
  const { token } = app.issueToken(organizer);
  const changed = await browser.post('/console/account', { change: 'password', currentPassword: PASSWORD, newPassword: NEW_PASSWORD, repeatPassword: NEW_PASSWORD });
  t.equal(changed.statusCode, 303);
  t.equal(changed.headers.location, '/console/login?m=password');
  t.match(String(changed.headers['set-cookie']), new RegExp(`^${COOKIE}=;`), 'cookie cleared');
  t.equal((await browser.get('/console')).statusCode, 303, 'this browser is signed out');
  t.equal((await elsewhere.get('/console')).statusCode, 303, 'and every other one');
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { authorization: `Bearer ${token}` } })).statusCode, 401, 'and the API token');
  t.match((await app.inject({ method: 'GET', url: '/console/login?m=password' })).body, /Your password has been changed/);
  const old = await app.inject({ method: 'POST', url: '/console/login', ...form({ email: organizer.email, password: PASSWORD }) });
  t.equal(old.statusCode, 401, 'the old password no longer works');
  const fresh = await app.inject({ method: 'POST', url: '/console/login', ...form({ email: organizer.email, password: NEW_PASSWORD }) });
  t.equal(fresh.statusCode, 303, 'the new one does');
  t.ok(cookieFrom(fresh.headers['set-cookie']));
  t.same((await auditOf(organizer.id, 'organizer.password')).map((e) => e.actor_id), [organizer.id], 'the audit entry of POST /api/v1/auth/password');
});
