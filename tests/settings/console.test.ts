import t from 'tap';
import { consoleSignIn, makeOrganizer } from '../console/support.js';
import { jpegBytes, multipartBody, pngImage, startBrandingTest, SVG } from './support.js';

/** The console's Branding page (admin): the settings form, the preview, the logo's upload and removal, CSRF. */

const ctx = await startBrandingTest(t, 'settings_console');
const { app, config } = ctx;
const admin = await consoleSignIn(app, await makeOrganizer(app, 'admin', 'Branding Admin'));
const organizer = await consoleSignIn(app, await makeOrganizer(app, 'organizer', 'Plain Organizer'));

const FIELDS = { name: '', website: '', accentColor: '', mailFromName: '', footer: '', privacyUrl: '' };

function upload(csrf: string | null, file: { type: string; bytes: Buffer } | null, headers: Record<string, string> = admin.headers) {
  const body = multipartBody(csrf === null ? {} : { _csrf: csrf }, file ? [{ name: 'logo', filename: 'logo.img', ...file }] : []);
  return app.inject({ method: 'POST', url: '/console/branding/logo', payload: body.payload, headers: { ...body.headers, ...headers } });
}

const branding = async () => (await app.inject({ method: 'GET', url: '/api/v1/settings', headers: ctx.admin.headers })).json();

t.test('admins find the page in the nav; organizers neither see nor reach it', async (t) => {
  const page = await admin.get('/console/branding');
  t.equal(page.statusCode, 200);
  t.match(page.body, /<a href="\/console\/branding" aria-current="page">Branding<\/a>/);
  t.match(page.body, /<h1>Branding<\/h1>/);
  for (const name of Object.keys(FIELDS)) t.match(page.body, new RegExp(`name="${name}"`), `${name} field`);
  t.match(page.body, /enctype="multipart\/form-data"/);
  t.match(page.body, /class="brand-preview"/);
  t.match(page.body, /href="\/assets\/brand.css\?v=16325c"/, 'the preview takes its colour from the brand stylesheet');

  const dashboard = await organizer.get('/console');
  t.notMatch(dashboard.body, /\/console\/branding/);
  t.equal((await organizer.get('/console/branding')).statusCode, 403);
  t.equal((await organizer.post('/console/branding', { ...FIELDS, name: 'Taken over' })).statusCode, 403);
  t.equal((await upload(organizer.csrf, { type: 'image/png', bytes: pngImage() }, organizer.headers)).statusCode, 403);
  t.equal((await branding()).name, 'Convene');
});

t.test('form errors: summarised at the top and at their fields, the typed values kept, nothing saved', async (t) => {
  const res = await admin.post('/console/branding', { ...FIELDS, name: 'Half Saved', accentColor: '#999999', mailFromName: 'Acme\r\nBcc: x@example.org', website: 'not a url' });
  t.equal(res.statusCode, 400);
  t.match(res.body, /<title>Error: Branding/);
  t.match(res.body, /class="error-summary"/);
  t.match(res.body, /<a href="#f-accentColor">Accent colour #999999 has a contrast of 2\.84:1 against white; it needs at least 4\.5:1/);
  t.match(res.body, /<a href="#f-mailFromName">E-mail sender name must be one line of text<\/a>/);
  t.match(res.body, /<a href="#f-website">Website must be a web address/);
  t.match(res.body, /id="f-accentColor-error"/, 'the error at its field too');
  t.match(res.body, /value="Half Saved"/, 'what was typed is kept');
  t.equal((await branding()).name, 'Convene', 'nothing saved');
});

t.test('saving: every field, then the page shows them; an empty field clears its setting', async (t) => {
  const res = await admin.post('/console/branding', {
    name: 'Acme Events',
    website: 'https://acme.example',
    accentColor: '#5B2A86',
    mailFromName: 'Acme team',
    footer: 'Acme Ltd, 1 Road, Town',
    privacyUrl: 'https://acme.example/privacy',
  });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, '/console/branding?done=saved');
  t.same(await branding(), {
    name: 'Acme Events',
    website: 'https://acme.example',
    accentColor: '#5b2a86',
    mailFromName: 'Acme team',
    footer: 'Acme Ltd, 1 Road, Town',
    privacyUrl: 'https://acme.example/privacy',
    logoUrl: null,
  });
  const { rows } = await ctx.database.pool.query("SELECT actor_id, details FROM audit_log WHERE action = 'settings.update' ORDER BY at DESC, id DESC LIMIT 1");
  t.same(rows[0], { actor_id: admin.organizer.id, details: { fields: ['name', 'website', 'accentColor', 'mailFromName', 'footer', 'privacyUrl'] } });

  const page = await admin.get('/console/branding?done=saved');
  t.match(page.body, /The branding is saved/);
  t.match(page.body, /value="Acme Events"/);
  t.match(page.body, /href="\/assets\/brand.css\?v=5b2a86"/);

  const cleared = await admin.post('/console/branding', { ...FIELDS, name: 'Acme Events', accentColor: '#5b2a86' });
  t.equal(cleared.statusCode, 303);
  const now = await branding();
  t.equal(now.website, null);
  t.equal(now.footer, null);
  t.equal(now.mailFromName, 'Acme Events', 'an empty sender name falls back to the name');
});

t.test('CSRF: a missing or wrong _csrf is 403 for the form and for the upload; a foreign Origin too', async (t) => {
  const noToken = await app.inject({
    method: 'POST',
    url: '/console/branding',
    payload: new URLSearchParams({ ...FIELDS, name: 'Forged' }).toString(),
    headers: { ...admin.headers, 'content-type': 'application/x-www-form-urlencoded' },
  });
  t.equal(noToken.statusCode, 403);
  t.equal((await admin.post('/console/branding', { ...FIELDS, name: 'Forged', _csrf: 'wrong' })).statusCode, 403);
  t.equal((await admin.post('/console/branding', { ...FIELDS, name: 'Forged' }, { origin: 'https://evil.example' })).statusCode, 403);

  const png = { type: 'image/png', bytes: pngImage() };
  t.equal((await upload(null, png)).statusCode, 403, 'upload without _csrf');
  t.equal((await upload('wrong', png)).statusCode, 403, 'upload with a wrong _csrf');
  const foreign = await upload(admin.csrf, png, { ...admin.headers, origin: 'https://evil.example' });
  t.equal(foreign.statusCode, 403, 'upload from another origin');
  t.match(foreign.headers['content-type'], /text\/html/);
  const twice = multipartBody({ _csrf: admin.csrf }, [{ name: '_csrf', filename: 'x.png', ...png }]);
  t.equal((await app.inject({ method: 'POST', url: '/console/branding/logo', payload: twice.payload, headers: { ...twice.headers, ...admin.headers } })).statusCode, 403, 'a file named _csrf');
  const anonymous = await upload(admin.csrf, png, {});
  t.equal(anonymous.statusCode, 303, 'signed out: to the login page');
  t.equal((await branding()).name, 'Acme Events');
  t.equal((await branding()).logoUrl, null, 'no logo stored');
  t.equal((await admin.post('/console/branding/logo/remove', { _csrf: 'wrong' })).statusCode, 403);
});

t.test('logo upload: PNG and JPEG saved; SVG, non-images and oversize files refused on the page', async (t) => {
  const saved = await upload(admin.csrf, { type: 'image/png', bytes: pngImage() });
  t.equal(saved.statusCode, 303, saved.body.slice(0, 300));
  t.equal(saved.headers.location, '/console/branding?done=logo');
  const logoUrl = (await branding()).logoUrl as string;
  t.match(logoUrl, /\/assets\/logo\?v=/);
  const page = await admin.get('/console/branding?done=logo');
  t.match(page.body, /The logo is saved/);
  t.match(page.body, new RegExp(`<img class="current-logo" src="${logoUrl.replace(/[.?]/g, '\\$&')}"`));
  t.match(page.body, /Remove the logo/);

  t.equal((await upload(admin.csrf, { type: 'image/jpeg', bytes: jpegBytes() })).statusCode, 303);
  t.equal((await app.inject({ method: 'GET', url: '/assets/logo' })).headers['content-type'], 'image/jpeg');
  const before = (await branding()).logoUrl;

  for (const [file, status, words] of [
    [{ type: 'image/svg+xml', bytes: SVG }, 415, /PNG or JPEG/],
    [{ type: 'image/png', bytes: SVG }, 415, /declared as image\/png but is not a PNG or JPEG image/],
    [{ type: 'text/plain', bytes: Buffer.from('hello') }, 415, /PNG or JPEG/],
    [{ type: 'image/png', bytes: pngImage(4, 4, [1, 2, 3], 210_000) }, 413, /at most 200 KB/],
  ] as const) {
    const res = await upload(admin.csrf, file);
    t.equal(res.statusCode, status, `${file.type}: ${status}`);
    t.match(res.body, /class="error-summary"/);
    t.match(res.body, /<a href="#f-logo">/);
    t.match(res.body, words);
    t.match(res.body, /aria-invalid="true"/);
  }
  const none = await upload(admin.csrf, null);
  t.equal(none.statusCode, 400);
  t.match(none.body, /Choose a PNG or JPEG file/);
  t.equal((await branding()).logoUrl, before, 'the logo is unchanged');

  const removed = await admin.post('/console/branding/logo/remove', {});
  t.equal(removed.statusCode, 303);
  t.equal(removed.headers.location, '/console/branding?done=logo-removed');
  t.equal((await branding()).logoUrl, null);
  t.match((await admin.get('/console/branding')).body, /No logo yet/);
  t.ok(config.publicBaseUrl);
});
