import t from 'tap';
import { buildTestApp, manualClock, signIn, uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { expectProblem } from '../helpers/http.js';
import { CITY_QUESTIONS, createSession, registered, registerJson, type SessionJson } from '../helpers/registrations.js';
import { emptySessions, expectPage, ownDatabaseUrl, postForm } from './support.js';

// The attendee's side of issue 18 (pages): the zone kept, the confirmation page, add to calendar,
// badges, closed sessions that explain themselves, and HTML (never JSON) outside /api/.
const clock = manualClock();
const { app, database } = await buildTestApp(t, { clock, env: { DATABASE_URL: ownDatabaseUrl('experience') } });
const { pool } = database;
await emptySessions(pool);
const owner = await signIn(app);

const page = (url: string, headers: Record<string, string> = {}) => app.inject({ method: 'GET', url, headers });
const form = (email: string, extra: Record<string, string> = {}) => ({ name: 'Ana Pérez', email, 'answers[city]': 'Springfield', consent: 'on', ...extra });

async function storedZone(session: SessionJson, email: string): Promise<string | null | undefined> {
  const { rows } = await pool.query<{ zone: string | null }>(
    `SELECT r.attendee_timezone AS zone FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE r.session_id = $1 AND a.email = $2`,
    [session.id, email.toLowerCase()],
  );
  return rows[0]?.zone;
}

/** The cookie's `name=value` from a Set-Cookie header, to send back as a browser would. */
function cookieOf(res: { headers: Record<string, unknown> }): string {
  return String(res.headers['set-cookie'] ?? '').split(';')[0]!;
}

t.test('the hidden zone field: a known zone is kept on a new registration, anything else is ignored', async (t) => {
  const session = await createSession(app, owner.headers, { questions: CITY_QUESTIONS });
  const body = expectPage(t, await page(`/s/${session.slug}`), 200, 'session page');
  t.match(body, '<input type="hidden" name="timezone" value="" data-attendee-zone>', 'the hidden field, empty without the script');

  const newYork = uniqueEmail('zone');
  t.equal((await postForm(app, `/s/${session.slug}/register`, form(newYork, { timezone: 'America/New_York' }))).statusCode, 303);
  t.equal(await storedZone(session, newYork), 'America/New_York', 'the form: kept');

  for (const [label, timezone] of [
    ['empty (no script)', ''],
    ['not a zone', 'Mars/Olympus_Mons'],
    ['markup', '<script>alert(1)</script>'],
    ['very long', `America/${'x'.repeat(5000)}`],
  ] as const) {
    const email = uniqueEmail('nozone');
    const res = await postForm(app, `/s/${session.slug}/register`, form(email, { timezone }));
    t.equal(res.statusCode, 303, `${label}: registered all the same`);
    t.equal(await storedZone(session, email), null, `${label}: no zone stored`);
  }
  const twice = uniqueEmail('twice');
  const sentTwice = await postForm(app, `/s/${session.slug}/register`, [
    ...Object.entries(form(twice)),
    ['timezone', 'Europe/Paris'],
    ['timezone', 'Asia/Tokyo'],
  ]);
  t.equal(sentTwice.statusCode, 303, 'the field sent twice: registered all the same');
  t.equal(await storedZone(session, twice), null, 'and no zone');

  const api = uniqueEmail('apizone');
  const res = await registerJson(app, session.slug, { name: 'Api Zone', email: api, consent: true, answers: { city: 'X' }, timezone: 'Europe/Berlin' });
  t.equal(res.statusCode, 202);
  t.equal(await storedZone(session, api), 'Europe/Berlin', 'the JSON API: kept');
  const apiBad = uniqueEmail('apibad');
  t.equal((await registerJson(app, session.slug, { name: 'Api Bad', email: apiBad, consent: true, answers: { city: 'X' }, timezone: 'Nowhere/Land' })).statusCode, 202);
  t.equal(await storedZone(session, apiBad), null, 'the JSON API: an unknown zone is ignored');

  // A known address again: nothing changes on the registration, and the answer is the same.
  const again = await registerJson(app, session.slug, { name: 'Api Zone', email: api, consent: true, answers: { city: 'X' }, timezone: 'Asia/Tokyo' });
  t.equal(again.body, res.body, 'byte for byte the same answer');
  t.equal(await storedZone(session, api), 'Europe/Berlin', 'the zone of a registration is set once, by the new registration');
});

t.test('the uniform answer: the same redirect, cookie and body for a new and a known address', async (t) => {
  const session = await createSession(app, owner.headers, { questions: CITY_QUESTIONS });
  const email = uniqueEmail('uniform');
  const first = await postForm(app, `/s/${session.slug}/register`, form(email, { timezone: 'America/New_York' }));
  const repeat = await postForm(app, `/s/${session.slug}/register`, form(email, { timezone: 'America/New_York' }));
  for (const res of [first, repeat]) t.equal(res.statusCode, 303);
  t.equal(repeat.headers.location, first.headers.location, 'the same location');
  t.equal(repeat.headers['set-cookie'], first.headers['set-cookie'], 'the same cookie');
  t.equal(repeat.body, first.body, 'the same body');
  t.same(Object.keys(repeat.headers).sort(), Object.keys(first.headers).sort(), 'the same headers');
  const json = (address: string) => registerJson(app, session.slug, { name: 'Ana', email: address, consent: true, answers: { city: 'X' }, timezone: 'America/New_York' });
  const newOne = await json(uniqueEmail('uniform-new'));
  const known = await json(email);
  t.equal(newOne.statusCode, 202);
  t.equal(known.statusCode, 202);
  t.equal(known.body, newOne.body, 'the API: byte for byte the same');
});

t.test('the confirmation page: check your inbox, the masked address, what happens next, add to calendar', async (t) => {
  const session = await createSession(app, owner.headers, { questions: CITY_QUESTIONS, title: `Budget basics ${uniqueSuffix()}` });
  const email = `ana.perez-${uniqueSuffix()}@CityOfX.gov`;
  const res = await postForm(app, `/s/${session.slug}/register`, form(` ${email} `));
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, `/s/${session.slug}/registered`, 'no address in the URL');
  t.notMatch(String(res.headers.location), /cityofx/i);
  const setCookie = String(res.headers['set-cookie']);
  t.match(setCookie, /^convene-sent-to=a\*\*\*@cityofx\.gov; /, 'the cookie carries only the masked address');
  t.match(setCookie, `Path=/s/${session.slug}/registered`, 'scoped to the confirmation page');
  t.match(setCookie, /Max-Age=\d+/, 'short-lived');
  t.match(setCookie, 'HttpOnly');
  t.match(setCookie, 'SameSite=Lax');
  t.notMatch(setCookie, /ana\.perez/i, 'never the address itself');

  const body = expectPage(t, await page(String(res.headers.location), { cookie: cookieOf(res) }), 200, 'confirmation');
  t.equal(res.headers['cache-control'], 'no-store');
  t.match(body, '<h1>Check your inbox</h1>');
  t.match(body, '<strong class="sent-to">a***@cityofx.gov</strong>', 'the masked address, to catch a typo');
  t.notMatch(body, /ana\.perez/i, 'not the whole address');
  t.match(body, '<h2>What happens next</h2>');
  t.match(body, /The e-mail comes from <strong>[^<]+<\/strong>/, 'who the e-mail comes from');
  t.match(body, /calendar invite/);
  t.match(body, /place on the waitlist/);
  t.match(body, /spam/);
  t.match(body, `<a href="/s/${session.slug}">Back to the session</a>`);
  t.match(body, 'Google Calendar');
  t.match(body, 'Apple / other (.ics)');

  const plain = expectPage(t, await page(String(res.headers.location)), 200, 'without the cookie');
  t.match(plain, 'We are sending an e-mail to the address you gave.', 'without the cookie: no address at all');
  const forged = expectPage(t, await page(String(res.headers.location), { cookie: 'convene-sent-to=%3Cb%3Eevil%3C%2Fb%3E' }), 200, 'a forged cookie');
  t.notMatch(forged, /evil/, 'a cookie that is not a masked address is ignored');

  const embed = await postForm(app, `/embed/${session.slug}/register`, form(uniqueEmail('embed')));
  t.match(String(embed.headers['set-cookie']), `Path=/embed/${session.slug}/registered`, 'the embed confirmation has its own path');
});

t.test('add to calendar: Google and Outlook for this session at the right UTC instants, the .ics, subscriptions under More', async (t) => {
  const session = await createSession(app, owner.headers, { joinUrl: 'https://zoom.us/j/999888777?pwd=secret', summary: 'Plan the year.' });
  const body = expectPage(t, await page(`/s/${session.slug}`), 200, 'session page');
  const start = new Date(session.startsAt as string);
  const end = new Date(session.endsAt as string);
  const basic = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/[-:]/g, '');
  const hrefOf = (text: string) => {
    const match = new RegExp(`<a class="button secondary" href="([^"]+)"[^>]*>${text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}</a>`).exec(body);
    return match ? match[1]!.replace(/&amp;/g, '&') : '';
  };

  const google = new URL(hrefOf('Google Calendar'));
  t.equal(google.origin + google.pathname, 'https://calendar.google.com/calendar/render');
  t.equal(google.searchParams.get('action'), 'TEMPLATE', 'an event, not a subscription');
  t.equal(google.searchParams.get('text'), session.title);
  t.equal(google.searchParams.get('dates'), `${basic(start)}/${basic(end)}`, 'the session in UTC');
  t.match(google.searchParams.get('details'), `/s/${session.slug}`, 'the details link to the session page');

  const outlook = new URL(hrefOf('Outlook.com'));
  t.equal(outlook.origin + outlook.pathname, 'https://outlook.live.com/calendar/0/action/compose');
  t.equal(outlook.searchParams.get('subject'), session.title);
  t.equal(new Date(outlook.searchParams.get('startdt')!).getTime(), start.getTime(), 'Outlook: the start instant');
  t.equal(new Date(outlook.searchParams.get('enddt')!).getTime(), end.getTime(), 'Outlook: the end instant');
  t.match(outlook.searchParams.get('startdt'), /Z$/, 'in UTC, no zone guessed');

  const ics = hrefOf('Apple / other \\(\\.ics\\)') || /href="([^"]+)" download>Apple \/ other \(\.ics\)/.exec(body)?.[1];
  t.equal(ics, `/feeds/sessions/${session.slug}.ics`, 'the public .ics of this session');
  t.equal((await page(String(ics))).statusCode, 200, 'which answers');
  t.match(body, /<details class="calendar-more">\s*<summary>More<\/summary>/, 'subscriptions under More');
  t.match(body, /Subscribe to all sessions of [^<]+ in your calendar app/, 'in plain words');
  t.notMatch(body, /webcal\)|Subscribe to your sessions \(webcal\)/, 'no jargon');
  t.notMatch(body, /zoom\.us|999888777|pwd=/, 'never the meeting URL');
  t.match(body, /How to join/, 'the session page says how people join');
  t.match(body, /Online on Zoom/, 'online, on which platform');
});

t.test('the list: statuses as badges with words', async (t) => {
  await emptySessions(pool);
  const open = await createSession(app, owner.headers, { capacity: 30 }, { daysAhead: 2 });
  const unlimited = await createSession(app, owner.headers, { capacity: null }, { daysAhead: 3 });
  const waitlist = await createSession(app, owner.headers, { capacity: 1, waitlist: { enabled: true, limit: null } }, { daysAhead: 4 });
  await registered(app, waitlist.slug, { name: 'Seat', email: uniqueEmail('seat') });
  const full = await createSession(app, owner.headers, { capacity: 1, waitlist: { enabled: false, limit: null } }, { daysAhead: 5 });
  await registered(app, full.slug, { name: 'Seat', email: uniqueEmail('seat') });
  const opensAt = new Date(clock.now().getTime() + 86_400_000);
  const later = await createSession(app, owner.headers, { registrationOpensAt: opensAt.toISOString() }, { daysAhead: 6 });

  const list = expectPage(t, await page('/'), 200, 'list');
  const itemOf = (s: SessionJson) => {
    const start = list.indexOf(`<a href="/s/${s.slug}">`);
    return list.slice(start, list.indexOf('</li>', start));
  };
  t.match(itemOf(open), '<span class="badge good">30 seats left</span>');
  t.match(itemOf(unlimited), '<span class="badge good">Open</span>');
  t.match(itemOf(waitlist), '<span class="badge wait">Waitlist open</span>');
  t.match(itemOf(full), '<span class="badge stop">Full</span>');
  t.match(
    itemOf(later),
    new RegExp(`<span class="badge info">Registration opens <time class="local-instant" datetime="${opensAt.toISOString().replace('.', '\\.')}" data-zone="America/Chicago">\\w+day, [^<]+ C[SD]T in Chicago</time></span>`),
    'when registration opens, as a time the script puts in the reader zone',
  );
});

t.test('closed sessions explain themselves and offer the others', async (t) => {
  await emptySessions(pool);
  const other = await createSession(app, owner.headers, { title: `Another session ${uniqueSuffix()}` }, { daysAhead: 9 });

  const cancelled = await createSession(app, owner.headers, {});
  const res = await app.inject({ method: 'POST', url: `/api/v1/sessions/${cancelled.id}/cancel`, headers: owner.headers, payload: { reason: 'The speaker is ill <sadly>.' } });
  t.equal(res.statusCode, 200);
  const cancelledPage = expectPage(t, await page(`/s/${cancelled.slug}`), 200, 'cancelled');
  t.match(cancelledPage, 'This session has been cancelled.');
  t.match(cancelledPage, 'The speaker is ill &lt;sadly&gt;.', 'the reason, escaped');
  t.match(cancelledPage, `<a href="/s/${other.slug}">`, 'the other upcoming sessions');
  t.notMatch(cancelledPage, /Google Calendar/, 'nothing to add to a calendar');

  const full = await createSession(app, owner.headers, { capacity: 1, waitlist: { enabled: false, limit: null } });
  await registered(app, full.slug, { name: 'Only', email: uniqueEmail('only') });
  const fullPage = expectPage(t, await page(`/s/${full.slug}`), 200, 'full');
  t.match(fullPage, 'This session is full.');
  t.match(fullPage, '<h2>Other upcoming sessions</h2>', 'not a dead end');
  t.match(fullPage, `<a href="/s/${other.slug}">${other.title}</a>`);
  t.notMatch(fullPage, new RegExp(`<a href="/s/${full.slug}">`), 'not itself');
  t.notMatch(fullPage, /How to join|Google Calendar/, 'no joining or calendar for a session nobody can get into');

  const finished = await createSession(
    app,
    owner.headers,
    { followUp: { message: 'Thank you for coming.\n\nThe slides: https://example.org/slides', recordingUrl: 'https://video.example.org/rec/1' } },
    { daysAhead: 1 },
  );
  clock.set(new Date(new Date(finished.endsAt as string).getTime() + 60_000));
  try {
    const before = expectPage(t, await page(`/s/${finished.slug}`), 200, 'finished, follow-up not sent');
    t.match(before, 'This session has ended.');
    t.notMatch(before, /Watch the recording|Thank you for coming/, 'nothing before the follow-up is sent');
    const sent = await app.inject({ method: 'POST', url: `/api/v1/sessions/${finished.id}/follow-up`, headers: owner.headers });
    t.equal(sent.statusCode, 202, sent.body);
    const after = expectPage(t, await page(`/s/${finished.slug}`), 200, 'finished, follow-up sent');
    t.match(after, '<p>Thank you for coming.</p>', 'the follow-up message');
    t.match(after, '<a href="https://example.org/slides" rel="noopener noreferrer nofollow">', 'its links');
    t.match(after, '<a class="button" href="https://video.example.org/rec/1" rel="noopener noreferrer">Watch the recording</a>');
    t.match(after, `<a href="/s/${other.slug}">`, 'and the upcoming sessions');
  } finally {
    clock.set(new Date());
  }
});

t.test('HTML pages outside /api/, JSON inside; a GET of a form post leads back to the form', async (t) => {
  const session = await createSession(app, owner.headers, {});
  for (const url of ['/s/', '/s', '/sessions', '/nope', '/nope/deeper?email=a@example.org', '/embed/', `/s/${session.slug}/nothing`, '/m/']) {
    const body = expectPage(t, await page(url), 404, url, url.startsWith('/m/') ? { token: true } : {});
    t.match(body, '<h1>Page not found</h1>', `${url}: the friendly page`);
    t.notMatch(body, /about:blank|"title"/, `${url}: no JSON`);
    t.notMatch(body, /a@example\.org/, `${url}: nothing of the query echoed`);
  }
  const postUnknown = await app.inject({ method: 'POST', url: '/nope', payload: {} });
  t.equal(postUnknown.statusCode, 404);
  t.match(String(postUnknown.headers['content-type']), /^text\/html/, 'a POST to an unknown page: HTML too');

  for (const [url, target] of [
    [`/s/${session.slug}/register`, `/s/${session.slug}`],
    [`/embed/${session.slug}/register`, `/embed/${session.slug}`],
  ] as const) {
    const res = await page(url);
    t.equal(res.statusCode, 303, `GET ${url}: 303`);
    t.equal(res.headers.location, target, 'to the page that holds the form');
  }
  expectPage(t, await page('/s/NOT_A_SLUG/register'), 404, 'GET of a post to a malformed slug');

  expectProblem(t, await page('/api/v1/nope'), 404, 'under /api/: problem details');
  expectProblem(t, await page('/api/nope'), 404, '/api/ itself');
  expectProblem(t, await page('/feeds/nope'), 404, 'feeds: for programs');
  expectProblem(t, await app.inject({ method: 'DELETE', url: '/healthz' }), 404, 'probes: for programs');
});
