import t from 'tap';
import { createSession } from '../helpers/registrations.js';
import { startBrandingTest, jpegBytes, pngImage, SVG } from './support.js';

/** GET|PATCH /api/v1/settings, PUT|DELETE /api/v1/settings/logo, /assets/logo and /assets/brand.css. */

const ctx = await startBrandingTest(t, 'settings_api');
const { app, admin, owner: organizer, config } = ctx;

async function auditEntries(action = 'settings.update') {
  const { rows } = await ctx.database.pool.query<{ actor_id: string | null; subject_type: string; details: { fields: string[] } }>(
    'SELECT actor_id, subject_type, details FROM audit_log WHERE action = $1 ORDER BY at, id',
    [action],
  );
  return rows;
}

t.test('any organizer reads the branding: the defaults before anything is set', async (t) => {
  const res = await app.inject({ method: 'GET', url: '/api/v1/settings', headers: organizer.headers });
  t.equal(res.statusCode, 200);
  t.same(res.json(), { name: 'Convene', website: null, accentColor: '#16325c', mailFromName: 'Convene Events', footer: null, privacyUrl: null, logoUrl: null });
  t.match(res.headers['cache-control'], /no-store/);
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/settings' })).statusCode, 401, 'no token: 401');
});

t.test('only an admin changes it', async (t) => {
  const res = await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: organizer.headers, payload: { name: 'Not allowed' } });
  t.equal(res.statusCode, 403);
  t.match(res.headers['content-type'], /application\/problem\+json/);
  const logo = await app.inject({ method: 'PUT', url: '/api/v1/settings/logo', headers: { ...organizer.headers, 'content-type': 'image/png' }, payload: pngImage() });
  t.equal(logo.statusCode, 403);
  t.equal((await app.inject({ method: 'DELETE', url: '/api/v1/settings/logo', headers: organizer.headers })).statusCode, 403);
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/settings', headers: organizer.headers })).json().name, 'Convene', 'nothing changed');
});

t.test('an admin sets any subset; null clears a field; the change is audited with the field names', async (t) => {
  const before = (await auditEntries()).length;
  const res = await app.inject({
    method: 'PATCH',
    url: '/api/v1/settings',
    headers: admin.headers,
    payload: { name: '  Acme Events  ', website: 'https://acme.example', accentColor: '#0B4FB3', footer: 'You get this because you registered.\r\nAcme Ltd', privacyUrl: 'https://acme.example/privacy' },
  });
  t.equal(res.statusCode, 200, res.body);
  t.same(res.json(), {
    name: 'Acme Events',
    website: 'https://acme.example',
    accentColor: '#0b4fb3',
    mailFromName: 'Acme Events',
    footer: 'You get this because you registered.\nAcme Ltd',
    privacyUrl: 'https://acme.example/privacy',
    logoUrl: null,
  });
  const entries = await auditEntries();
  t.equal(entries.length, before + 1);
  t.same(entries.at(-1), { actor_id: admin.organizer.id, subject_type: 'settings', details: { fields: ['name', 'website', 'accentColor', 'footer', 'privacyUrl'] } });

  const cleared = await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: admin.headers, payload: { footer: null, mailFromName: 'Acme team', website: 'https://acme.example' } });
  t.equal(cleared.statusCode, 200);
  t.equal(cleared.json().footer, null);
  t.equal(cleared.json().mailFromName, 'Acme team');
  t.same((await auditEntries()).at(-1)?.details, { fields: ['mailFromName', 'footer'] }, 'only the fields that changed');

  const same = await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: admin.headers, payload: { name: 'Acme Events' } });
  t.equal(same.statusCode, 200);
  t.equal((await auditEntries()).length, before + 2, 'no change, no entry');

  const read = await app.inject({ method: 'GET', url: '/api/v1/settings', headers: organizer.headers });
  t.equal(read.json().name, 'Acme Events', 'another organizer reads the change at once');
});

t.test('each rule is a 400 in problem details, and nothing is saved', async (t) => {
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ accentColor: '#777777' }, '/accentColor', /contrast of 4\.47:1 against white; it needs at least 4\.5:1/],
    [{ accentColor: '#ffcc00' }, '/accentColor', /contrast of 1\.\d\d:1/],
    [{ accentColor: 'blue' }, '/accentColor', /pattern|#rrggbb/],
    [{ mailFromName: 'Acme\r\nBcc: victim@example.org' }, '/mailFromName', /one line/],
    [{ mailFromName: 'Acme <noreply@evil.example>' }, '/mailFromName', /<, > or "/],
    [{ mailFromName: 'x'.repeat(81) }, '/mailFromName', /at most 80/],
    [{ name: '' }, '/name', /required/],
    [{ name: '   ' }, '/name', /required/],
    [{ name: 'x'.repeat(121) }, '/name', /at most 120/],
    [{ name: 'Acme\nEvents' }, '/name', /one line/],
    [{ website: 'javascript:alert(1)' }, '/website', /https:\/\/ or http:\/\//],
    [{ website: 'ftp://acme.example' }, '/website', /https:\/\/ or http:\/\//],
    [{ website: 'acme.example' }, '/website', /https:\/\/ or http:\/\//],
    [{ privacyUrl: `https://acme.example/${'p'.repeat(500)}` }, '/privacyUrl', /at most 500/],
    [{ privacyUrl: 'https://user:secret@acme.example/' }, '/privacyUrl', /user name or password/],
    [{ footer: 'f'.repeat(1001) }, '/footer', /at most 1000/],
    [{ footer: 'bell\u0007' }, '/footer', /plain text/],
    [{ name: 'A', unknown: 'x' }, '/unknown', /not an allowed property/],
    [{ name: 42 }, '/name', /string/],
  ];
  for (const [payload, path, message] of cases) {
    const res = await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: admin.headers, payload });
    t.equal(res.statusCode, 400, `${JSON.stringify(payload).slice(0, 60)}: 400`);
    t.match(res.headers['content-type'], /application\/problem\+json/);
    const body = res.json() as { detail: string; errors?: Array<{ path: string; message: string }> };
    const error = body.errors?.find((e) => e.path === path);
    t.ok(error, `${path} named`);
    t.match(`${body.detail} ${error?.message}`, message);
  }
  const contrast = await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: admin.headers, payload: { accentColor: '#777777' } });
  t.match(contrast.json().detail, /4\.47:1/, 'the detail says the ratio');

  // Several errors at once: all are said, and the valid field is not saved either.
  const mixed = await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: admin.headers, payload: { name: 'Saved?', accentColor: '#eeeeee', website: 'nope' } });
  t.equal(mixed.statusCode, 400);
  t.same(mixed.json().errors.map((e: { path: string }) => e.path).sort(), ['/accentColor', '/website']);
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/settings', headers: admin.headers })).json().name, 'Acme Events', 'nothing saved');
  t.equal((await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: { ...admin.headers, 'content-type': 'text/plain' }, payload: 'name=x' })).statusCode, 415);
});

t.test('logo: a PNG is stored, served with its type, versioned and cached', async (t) => {
  const png = pngImage();
  const res = await app.inject({ method: 'PUT', url: '/api/v1/settings/logo', headers: { ...admin.headers, 'content-type': 'image/png' }, payload: png });
  t.equal(res.statusCode, 200, res.body);
  const logoUrl = res.json().logoUrl as string;
  t.match(logoUrl, new RegExp(`^${config.publicBaseUrl}/assets/logo\\?v=[0-9a-z]+$`));
  t.same((await auditEntries()).at(-1)?.details, { fields: ['logo'] });

  const path = logoUrl.slice(config.publicBaseUrl.length);
  const served = await app.inject({ method: 'GET', url: path });
  t.equal(served.statusCode, 200);
  t.equal(served.headers['content-type'], 'image/png');
  t.equal(served.headers['x-content-type-options'], 'nosniff');
  t.match(served.headers['cache-control'], /max-age=31536000/);
  t.ok(served.rawPayload.equals(png), 'the same bytes');
  const etag = served.headers.etag as string;
  t.ok(etag);
  t.equal((await app.inject({ method: 'GET', url: path, headers: { 'if-none-match': etag } })).statusCode, 304);
  const unversioned = await app.inject({ method: 'GET', url: '/assets/logo' });
  t.equal(unversioned.statusCode, 200);
  t.match(unversioned.headers['cache-control'], /no-cache/, 'the unversioned address is revalidated');
  t.equal((await app.inject({ method: 'GET', url: '/assets/logo?v=old' })).headers['cache-control'], 'public, no-cache', 'an old version is not cached for good');

  const jpeg = await app.inject({ method: 'PUT', url: '/api/v1/settings/logo', headers: { ...admin.headers, 'content-type': 'image/jpeg' }, payload: jpegBytes() });
  t.equal(jpeg.statusCode, 200);
  t.not(jpeg.json().logoUrl, logoUrl, 'a new logo is a new address');
  t.equal((await app.inject({ method: 'GET', url: '/assets/logo' })).headers['content-type'], 'image/jpeg');
});

t.test('logo: SVG, other types, mismatched bytes are 415; over 200 KB is 413', async (t) => {
  const put = (type: string | undefined, payload: Buffer | string) =>
    app.inject({ method: 'PUT', url: '/api/v1/settings/logo', headers: { ...admin.headers, ...(type ? { 'content-type': type } : {}) }, payload });
  const before = (await app.inject({ method: 'GET', url: '/api/v1/settings', headers: admin.headers })).json().logoUrl;

  for (const [type, payload, label] of [
    ['image/svg+xml', SVG, 'SVG'],
    ['image/png', SVG, 'SVG bytes declared as PNG'],
    ['image/jpeg', pngImage(), 'PNG bytes declared as JPEG'],
    ['image/png', Buffer.from('just some text'), 'text declared as PNG'],
    ['application/pdf', Buffer.from('%PDF-1.4'), 'PDF'],
    ['application/json', '{"logo":"x"}', 'JSON'],
    ['text/plain', 'hello', 'text'],
    ['image/gif', Buffer.from('GIF89a'), 'GIF'],
    ['image/png', Buffer.alloc(0), 'empty'],
  ] as const) {
    const res = await put(type, payload);
    t.equal(res.statusCode, 415, `${label}: 415`);
    t.match(res.headers['content-type'], /application\/problem\+json/, `${label}: problem details`);
    t.match(res.json().detail, /PNG or JPEG|image\/png or image\/jpeg/);
  }
  const big = await put('image/png', pngImage(4, 4, [1, 2, 3], 204_800));
  t.equal(big.statusCode, 413);
  t.match(big.headers['content-type'], /application\/problem\+json/);
  const edge = pngImage(4, 4, [1, 2, 3], 0);
  const exact = await put('image/png', pngImage(4, 4, [1, 2, 3], 204_800 - edge.length - 12));
  t.equal(exact.statusCode, 200, 'exactly 204800 bytes is accepted');
  t.not(exact.json().logoUrl, before);
});

t.test('logo: removed with DELETE (204), then /assets/logo is a 404 page', async (t) => {
  const res = await app.inject({ method: 'DELETE', url: '/api/v1/settings/logo', headers: admin.headers });
  t.equal(res.statusCode, 204);
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/settings', headers: admin.headers })).json().logoUrl, null);
  const gone = await app.inject({ method: 'GET', url: '/assets/logo' });
  t.equal(gone.statusCode, 404);
  t.match(gone.headers['content-type'], /text\/html/);
  t.equal((await app.inject({ method: 'DELETE', url: '/api/v1/settings/logo', headers: admin.headers })).statusCode, 204, 'again: still 204');
});

t.test('brand.css carries the accent colour; a versioned address is cached for good', async (t) => {
  await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: admin.headers, payload: { accentColor: '#5b2a86' } });
  const current = await app.inject({ method: 'GET', url: '/assets/brand.css' });
  t.equal(current.statusCode, 200);
  t.match(current.headers['content-type'], /text\/css/);
  t.match(current.body, /--accent: #5b2a86;/);
  t.match(current.headers['cache-control'], /no-cache/);
  const versioned = await app.inject({ method: 'GET', url: '/assets/brand.css?v=0b4fb3' });
  t.match(versioned.body, /--accent: #0b4fb3;/);
  t.match(versioned.headers['cache-control'], /immutable/);
  t.equal((await app.inject({ method: 'GET', url: '/assets/brand.css?v=0b4fb3', headers: { 'if-none-match': versioned.headers.etag as string } })).statusCode, 304);
  const refused = await app.inject({ method: 'GET', url: '/assets/brand.css?v=ffff00' });
  t.match(refused.body, /--accent: #5b2a86;/, 'a colour without enough contrast is never served: the saved one instead');
  const odd = await app.inject({ method: 'GET', url: '/assets/brand.css?v=%7D%20body%7Bdisplay:none' });
  t.match(odd.body, /--accent: #5b2a86;/);
});

t.test('the public pages show the name, the logo, the accent stylesheet and the privacy link', async (t) => {
  const session = await createSession(app, organizer.headers);
  const png = pngImage();
  await app.inject({ method: 'PUT', url: '/api/v1/settings/logo', headers: { ...admin.headers, 'content-type': 'image/png' }, payload: png });
  const patched = await app.inject({
    method: 'PATCH',
    url: '/api/v1/settings',
    headers: admin.headers,
    payload: { name: 'Acme <Events> & Co', website: 'https://acme.example', accentColor: '#0b4fb3', privacyUrl: 'https://acme.example/privacy' },
  });
  const brand = patched.json();
  t.ok(brand.logoUrl);
  const escapedName = 'Acme &lt;Events&gt; &amp; Co';

  const pages = [
    ['/', 200],
    [`/s/${session.slug}`, 200],
    [`/s/${session.slug}/registered`, 200],
    ['/s/no-such-session', 404],
    ['/j/not-a-real-join-token', 404],
    ['/no/such/page', 404],
  ] as const;
  for (const [url, status] of pages) {
    const res = await app.inject({ method: 'GET', url });
    t.equal(res.statusCode, status, `${url}: ${status}`);
    t.match(res.headers['content-type'], /text\/html/, `${url}: a page`);
    t.match(res.body, `<title>`, url);
    t.match(res.body, ` · ${escapedName}</title>`, `${url}: the name in the title`);
    t.match(res.body, `<a class="brand" href="https://acme.example"><img class="brand-logo" src="${brand.logoUrl}" alt="${escapedName}">`, `${url}: logo, alt = name, linked to the website`);
    t.match(res.body, '<link rel="stylesheet" href="/assets/brand.css?v=0b4fb3">', `${url}: the accent stylesheet`);
    t.match(res.body, '<footer class="site"><p><a href="https://acme.example/privacy">Privacy notice</a></p></footer>', `${url}: the privacy link`);
    t.notMatch(res.body, /Acme <Events>/, `${url}: the name is escaped`);
  }
  const embed = await app.inject({ method: 'GET', url: `/embed/${session.slug}` });
  t.equal(embed.statusCode, 200);
  t.notMatch(embed.body, /class="brand"/, 'the embed has no header');
  t.match(embed.body, /href="https:\/\/acme.example\/privacy" target="_blank" rel="noopener">Privacy notice/, 'but keeps the privacy link, opening outside the frame');

  // Without a logo, website or privacy notice: the name alone, linking home, no footer.
  await app.inject({ method: 'DELETE', url: '/api/v1/settings/logo', headers: admin.headers });
  await app.inject({ method: 'PATCH', url: '/api/v1/settings', headers: admin.headers, payload: { website: null, privacyUrl: null, name: 'Acme Events' } });
  const plain = await app.inject({ method: 'GET', url: '/' });
  t.match(plain.body, '<header class="site"><a class="brand" href="/">Acme Events</a></header>');
  t.notMatch(plain.body, /<footer/);
  t.notMatch(plain.body, /<img/);
});
