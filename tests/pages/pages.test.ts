import t from 'tap';
import { buildTestApp, manualClock, signIn, uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { CITY_QUESTIONS, createSession, registered, registrationId, type SessionJson } from '../helpers/registrations.js';
import { emptySessions, expectedCsp, expectPage, ownDatabaseUrl, postForm } from './support.js';

// One app on a clock the tests move (join window, finished sessions); every session is its own.
const clock = manualClock();
const env = { DATABASE_URL: ownDatabaseUrl('pages') };
const { app, database } = await buildTestApp(t, { clock, env });
const { pool } = database;
await emptySessions(pool);
const owner = await signIn(app);

const page = (url: string) => app.inject({ method: 'GET', url });
const manageToken = async (session: SessionJson, email: string) =>
  app.services.tokens.derive('manage', await registrationId(pool, session.id, email), 0);

/** Adds someone through the organizer route (works whatever the session's registration window). */
async function addByHand(session: SessionJson, name: string, email: string): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: `/api/v1/sessions/${session.id}/registrations`,
    headers: owner.headers,
    payload: { name, email, answers: { city: 'Springfield' } },
  });
  if (res.statusCode !== 201) throw new Error(`add failed: ${res.statusCode} ${res.body}`);
  return manageToken(session, email);
}

const hasForm = (body: string) => /<form method="post" action="\/s\/[a-z0-9-]+\/register"/.test(body);

t.test('open: the list, the session page with its form, the embed and the manage page', async (t) => {
  const session = await createSession(app, owner.headers, {
    title: `Online Privacy and Security for Mayors ${uniqueSuffix()}`,
    summary: 'Understand the threats and protect your personal information online.',
    description: 'Bring your phone.\nWe start on time.\n\n- passwords\n- phishing',
    questions: CITY_QUESTIONS,
    capacity: 100,
  });

  const list = expectPage(t, await page('/'), 200, 'list');
  t.match(list, `<a href="/s/${session.slug}">${session.title}</a>`, 'the list links to the session');
  t.match(list, '<span class="badge good">100 seats left</span>', 'the status as a badge with words');

  const body = expectPage(t, await page(`/s/${session.slug}`), 200, 'session page');
  t.match(body, `<h1>${session.title}</h1>`);
  t.match(body, /<p class="when" data-starts="[^"]+" data-ends="[^"]+" data-zone="America\/Chicago"><strong class="when-primary">\w+day, [^<]+ C[SD]T in Chicago<\/strong>/, 'the time in the session zone with its short name (the script puts the reader\'s first)');
  t.notMatch(body, /\(America\/Chicago\)/, 'no raw zone id for people');
  t.match(body, '<script src="/assets/convene.js" defer></script>', 'the script is a static file');
  t.match(body, '<link rel="stylesheet" href="/assets/convene.css">');
  t.match(body, '<p>Bring your phone.<br>\nWe start on time.</p>', 'the description as paragraphs');
  t.match(body, '<ul><li>passwords</li><li>phishing</li></ul>', 'and lists');
  t.ok(hasForm(body), 'the registration form');
  for (const [id, label] of [
    ['f-name', 'Full name'],
    ['f-email', 'E-mail address'],
    ['f-organization', 'Organisation'],
    ['f-jobTitle', 'Job title'],
    ['f-q-city', 'Your city'],
    ['f-q-role', 'Role'],
    ['f-q-agree', 'I agree to be recorded'],
  ]) {
    t.match(body, `<label for="${id}">${label}`, `a label for ${id}`);
  }
  t.match(body, /<label for="f-q-city">Your city <span class="req">\(required\)<\/span><\/label>/, 'required questions are marked');
  t.notMatch(body, /<label for="f-q-role">Role <span class="req">/, 'optional ones are not');
  t.match(body, /<select id="f-q-role" name="answers\[role\]">/, 'a select question is a select');
  t.match(body, /<input type="checkbox" id="f-q-agree" name="answers\[agree\]"/, 'a checkbox question is a checkbox');
  t.match(body, /<label for="f-consent">I agree that the organisers store/, 'the consent wording');
  t.notMatch(body, /Consent wording version|2026-11-26/, 'the consent version is recorded, not shown');
  t.notMatch(body, /f-accessCode/, 'no access code for a public session');
  t.match(body, /<div class="hp" aria-hidden="true">[\s\S]*<input type="text" id="f-website" name="website" value="" tabindex="-1" autocomplete="off">/, 'the honeypot is hidden from people');
  t.match(body, '<button type="submit">Register</button>');

  const embed = expectPage(t, await page(`/embed/${session.slug}`), 200, 'embed');
  t.match(embed, '<body class="embed">', 'the embed layout');
  t.notMatch(embed, /<header class="site">/, 'without the site header');
  t.match(embed, `action="/embed/${session.slug}/register"`, 'the embedded form posts to the embed route');

  const email = uniqueEmail('ana');
  await registered(app, session.slug, { name: 'Ana Pérez', email, answers: { city: 'Springfield' } });
  const token = await manageToken(session, email);
  const manage = expectPage(t, await page(`/m/${token}`), 200, 'manage', { token: true });
  t.match(manage, '<meta name="referrer" content="no-referrer">');
  t.match(manage, '<h2>You are registered</h2>');
  t.match(manage, `href="/api/v1/registrations/${token}/invite.ics" download>`, 'the invite download');
  t.match(manage, /href="webcal:\/\/convene\.test\/feeds\/attendees\/[A-Za-z0-9_-]+\.ics"/, 'the webcal subscription');
  t.match(manage, /href="https:\/\/calendar\.google\.com\/[^"]+"/, 'the Google subscription');
  t.match(manage, `href="/m/${token}/cancel">Cancel my registration</a>`, 'cancel, through a confirmation step');
  t.match(manage, 'Ana Pérez');
});

t.test('full with a waitlist open: the form joins the waitlist; the manage page shows the position', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 1, waitlist: { enabled: true, limit: null } });
  await registered(app, session.slug, { name: 'First', email: uniqueEmail('first') });
  const body = expectPage(t, await page(`/s/${session.slug}`), 200, 'full with waitlist');
  t.match(body, 'All seats are taken. You can join the waitlist');
  t.ok(hasForm(body), 'the form is there');
  t.match(body, '<button type="submit">Join the waitlist</button>');

  const email = uniqueEmail('waiting');
  const res = await postForm(app, `/s/${session.slug}/register`, { name: 'Wai Ting', email, consent: 'on' });
  t.equal(res.statusCode, 303);
  t.equal(res.headers.location, `/s/${session.slug}/registered`, 'the same redirect as for a seat');
  const confirmation = expectPage(t, await page(String(res.headers.location)), 200, 'confirmation after joining the waitlist');
  t.match(confirmation, '<h1>Check your inbox</h1>');
  t.notMatch(confirmation, /waitlist place is|number 1/, 'the place is told by e-mail and on the manage page only');
  t.match(confirmation, 'What happens next');

  const manage = expectPage(t, await page(`/m/${await manageToken(session, email)}`), 200, 'manage (waitlisted)', { token: true });
  t.match(manage, '<h2>You are on the waitlist</h2>');
  t.match(manage, 'You are number 1.');
  t.notMatch(manage, /invite\.ics/, 'no invite while waiting');
  t.match(manage, '>Leave the waitlist</a>');
  t.notMatch(manage, /First/, 'never another attendee');
});

t.test('full without a waitlist, or with a full one: no form, a clear message', async (t) => {
  const closedList = await createSession(app, owner.headers, { capacity: 1, waitlist: { enabled: false, limit: null } });
  await registered(app, closedList.slug, { name: 'Only', email: uniqueEmail('only') });
  const body = expectPage(t, await page(`/s/${closedList.slug}`), 200, 'full, no waitlist');
  t.match(body, 'This session is full.');
  t.notOk(hasForm(body), 'no form');
  const embed = expectPage(t, await page(`/embed/${closedList.slug}`), 200, 'embed, full');
  t.notMatch(embed, /<form/, 'no form in the embed either');

  const fullList = await createSession(app, owner.headers, { capacity: 1, waitlist: { enabled: true, limit: 1 } });
  await registered(app, fullList.slug, { name: 'Seat', email: uniqueEmail('seat') });
  await registered(app, fullList.slug, { name: 'Wait', email: uniqueEmail('wait') });
  const full = expectPage(t, await page(`/s/${fullList.slug}`), 200, 'full waitlist');
  t.match(full, 'This session is full, and so is its waitlist.');
  t.notOk(hasForm(full));

  // A post anyway (an old tab): 409 with the page as it is now, and nothing stored.
  const late = await postForm(app, `/s/${fullList.slug}/register`, { name: 'Late', email: uniqueEmail('late'), consent: 'on' });
  const lateBody = expectPage(t, late, 409, 'post to a full session');
  t.match(lateBody, 'This session is full, and so is its waitlist.');
});

t.test('registration not open yet, and closed', async (t) => {
  const opensAt = new Date(clock.now().getTime() + 3 * 86_400_000);
  const notYet = await createSession(app, owner.headers, { registrationOpensAt: opensAt.toISOString(), questions: CITY_QUESTIONS });
  const body = expectPage(t, await page(`/s/${notYet.slug}`), 200, 'not open yet');
  t.match(body, /Registration opens on <time class="local-instant" datetime="[^"]+" data-zone="America\/Chicago">\w+day, \w+ \d+, \d{4}, \d+:\d\d [AP]M C[SD]T in Chicago<\/time>\./);
  t.notOk(hasForm(body));

  const closed = await createSession(app, owner.headers, {
    registrationClosesAt: new Date(clock.now().getTime() - 3_600_000).toISOString(),
    questions: CITY_QUESTIONS,
  });
  const closedBody = expectPage(t, await page(`/s/${closed.slug}`), 200, 'closed');
  t.match(closedBody, 'Registration for this session is closed.');
  t.notOk(hasForm(closedBody));
  const late = await postForm(app, `/s/${closed.slug}/register`, { name: 'Late', email: uniqueEmail('late'), 'answers[city]': 'X', consent: 'on' });
  t.match(expectPage(t, late, 409, 'post after closing'), 'Registration for this session is closed.');

  // Someone added by hand before the close still manages their registration.
  const token = await addByHand(closed, 'Hand Added', uniqueEmail('hand'));
  const manage = expectPage(t, await page(`/m/${token}`), 200, 'manage (closed session)', { token: true });
  t.match(manage, '<h2>You are registered</h2>');
  t.match(manage, 'Cancel my registration');
});

t.test('cancelled session: every page says so, nothing to do', async (t) => {
  const session = await createSession(app, owner.headers, { questions: CITY_QUESTIONS });
  const email = uniqueEmail('cancelled');
  await registered(app, session.slug, { name: 'Can Celled', email, answers: { city: 'X' } });
  const token = await manageToken(session, email);
  const cancelled = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/cancel`, headers: owner.headers, payload: {} });
  t.equal(cancelled.statusCode, 200);

  const body = expectPage(t, await page(`/s/${session.slug}`), 200, 'cancelled');
  t.match(body, 'This session has been cancelled.');
  t.notOk(hasForm(body));
  const list = (await page('/')).body;
  t.notMatch(list, session.slug, 'a cancelled session leaves the list');
  const manage = expectPage(t, await page(`/m/${token}`), 200, 'manage (cancelled session)', { token: true });
  t.match(manage, '<h2>This session has been cancelled</h2>');
  t.notMatch(manage, /Cancel my registration|invite\.ics|\/j\//, 'no cancel, invite or join');
  const confirm = await page(`/m/${token}/cancel`);
  t.equal(confirm.statusCode, 303, 'the cancel step sends back to the manage page');
  t.equal(confirm.headers.location, `/m/${token}`);
});

t.test('unknown pages: 404 pages, not JSON', async (t) => {
  for (const url of ['/s/no-such-session', '/embed/no-such-session', '/s/NOT_A_SLUG', `/s/${'a'.repeat(120)}`]) {
    const body = expectPage(t, await page(url), 404, url.slice(0, 40));
    t.match(body, '<h1>Page not found</h1>');
  }
  const draft = await createSession(app, owner.headers, {}, { publish: false });
  expectPage(t, await page(`/s/${draft.slug}`), 404, 'a draft');
  const badToken = expectPage(t, await page('/m/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'), 404, 'unknown manage token', { token: true });
  t.match(badToken, 'This link is not valid.');
  expectPage(t, await page('/m/short'), 404, 'malformed manage token', { token: true });
  const post = await postForm(app, '/m/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/cancel', {});
  expectPage(t, post, 404, 'cancel with an unknown token', { token: true });
});

t.test('hostile text is escaped everywhere', async (t) => {
  const hostile = `<script>alert(1)</script> "quoted" 'single' <img src=x onerror=alert(2)>`;
  const session = await createSession(app, owner.headers, {
    title: `Title ${hostile}`,
    summary: `Summary ${hostile}`,
    description: `Description ${hostile}\n\n- item ${hostile}\n\njavascript:alert(3) https://example.org/"onmouseover="alert(4)`,
    questions: [
      { id: 'city', label: `City ${hostile}`, type: 'text', required: true },
      { id: 'pick', label: `Pick ${hostile}`, type: 'select', options: [`A ${hostile}`, 'B'], required: false },
    ],
    contact: { name: `Contact ${hostile}`, email: 'contact@example.org' },
  });
  const email = uniqueEmail('hostile');
  await registered(app, session.slug, { name: `Name ${hostile}`, email, organization: `Org ${hostile}`, answers: { city: hostile } });
  const token = await manageToken(session, email);
  // The form again with errors, holding what was typed.
  const typed = await postForm(app, `/s/${session.slug}/register`, {
    name: `"><script>alert(5)</script>`,
    email: `x"><img src=x onerror=alert(6)>`,
    'answers[city]': `</textarea><script>alert(7)</script>`,
    'answers[pick]': `A ${hostile}`,
  });

  const pages: Array<[string, string]> = [
    ['list', (await page('/')).body],
    ['session', (await page(`/s/${session.slug}`)).body],
    ['embed', (await page(`/embed/${session.slug}`)).body],
    ['confirmation', (await page(`/s/${session.slug}/registered`)).body],
    ['manage', (await page(`/m/${token}`)).body],
    ['cancel step', (await page(`/m/${token}/cancel`)).body],
    ['form with errors', typed.body],
  ];
  t.equal(typed.statusCode, 400);
  for (const [label, body] of pages) {
    t.notMatch(body, /<script>alert/, `${label}: no script from the text`);
    t.notMatch(body, /<img src=x/, `${label}: no img from the text`);
    t.notMatch(body, /"onmouseover=/, `${label}: no attribute from a URL`);
    t.notMatch(body, /href="javascript:/i, `${label}: no javascript: link`);
    t.match(body, /&lt;script&gt;alert\(\d\)&lt;\/script&gt;/, `${label}: the text is shown, escaped`);
  }
  const sessionBody = pages[1]![1];
  t.match(sessionBody, `<h1>Title &lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; &#39;single&#39; &lt;img src=x onerror=alert(2)&gt;</h1>`);
  t.match(sessionBody, '<option value="A &lt;script&gt;alert(1)&lt;/script&gt; &quot;quoted&quot; &#39;single&#39; &lt;img src=x onerror=alert(2)&gt;">');
  t.match(sessionBody, '<a href="https://example.org/" rel="noopener noreferrer nofollow">https://example.org/</a>&quot;onmouseover=&quot;alert(4)', 'a URL ends at a quote');
  t.match(typed.body, 'value="&quot;&gt;&lt;script&gt;alert(5)&lt;/script&gt;"', 'typed values are escaped in attributes');
  t.match(typed.body, 'value="&lt;/textarea&gt;&lt;script&gt;alert(7)&lt;/script&gt;"');
  t.match(pages[4]![1], 'Name &lt;script&gt;alert(1)&lt;/script&gt;', 'the registrant name, escaped');
});

t.test('the cancel step: GET asks, POST cancels and redirects, and the next person is promoted', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 1 });
  const first = uniqueEmail('first');
  const second = uniqueEmail('second');
  await registered(app, session.slug, { name: 'First Seat', email: first });
  await registered(app, session.slug, { name: 'Second Waiting', email: second });
  const firstToken = await manageToken(session, first);
  const secondToken = await manageToken(session, second);

  const ask = expectPage(t, await page(`/m/${firstToken}/cancel`), 200, 'cancel step', { token: true });
  t.match(ask, '<h1>Cancel your registration?</h1>');
  t.match(ask, `<form method="post" action="/m/${firstToken}/cancel">`);
  t.match(ask, '<button type="submit" class="danger">Yes, cancel my registration</button>');
  t.match(ask, `<a class="button secondary" href="/m/${firstToken}">No, keep it</a>`);
  const still = await pool.query(`SELECT status::text FROM registrations WHERE id = $1`, [await registrationId(pool, session.id, first)]);
  t.equal(still.rows[0].status, 'confirmed', 'asking changes nothing');

  const done = await postForm(app, `/m/${firstToken}/cancel`, {});
  t.equal(done.statusCode, 303, 'POST, then redirect');
  t.equal(done.headers.location, `/m/${firstToken}`);
  t.equal(done.headers['referrer-policy'], 'no-referrer');
  const after = expectPage(t, await page(`/m/${firstToken}`), 200, 'after cancelling', { token: true });
  t.match(after, '<h2>Your registration is cancelled</h2>');
  t.notMatch(after, /Cancel my registration/);

  const promoted = expectPage(t, await page(`/m/${secondToken}`), 200, 'promoted', { token: true });
  t.match(promoted, '<h2>You are registered</h2>', 'the waiting person now has the seat');

  const again = await postForm(app, `/m/${firstToken}/cancel`, {});
  t.equal(again.statusCode, 303, 'cancelling again is harmless');
});

t.test('join button only inside the join window; then the session finishes', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 10, joinUrl: 'https://meet.example.org/j/secret-room' }, { daysAhead: 1 });
  const email = uniqueEmail('joiner');
  await registered(app, session.slug, { name: 'Joiner', email });
  const waitingSession = session;
  const token = await manageToken(session, email);
  const joinToken = app.services.tokens.derive('join', await registrationId(pool, session.id, email), 0);
  const startsAt = new Date(session.startsAt as string);

  const before = expectPage(t, await page(`/m/${token}`), 200, 'before the window', { token: true });
  t.notMatch(before, /\/j\//, 'no join link before the window');
  t.match(before, /Your personal join link opens the meeting from <time class="local-instant" datetime="[^"]+" data-zone="America\/Chicago">\w+day, .+ C[SD]T in Chicago<\/time>, 15 minutes before the start\./);

  clock.set(new Date(startsAt.getTime() - 10 * 60_000));
  const inside = expectPage(t, await page(`/m/${token}`), 200, 'inside the window', { token: true });
  t.match(inside, `<a class="button join" href="/j/${joinToken}">Join the session now</a>`, 'the personal join link');
  for (const body of [inside, (await page(`/s/${waitingSession.slug}`)).body, (await page('/')).body]) {
    t.notMatch(body, /meet\.example\.org/, 'the meeting URL itself is never on a page');
  }

  clock.set(new Date(new Date(session.endsAt as string).getTime() + 60_000));
  const ended = expectPage(t, await page(`/m/${token}`), 200, 'finished', { token: true });
  t.match(ended, '<h2>This session has ended</h2>');
  t.notMatch(ended, /\/j\/|Cancel my registration/, 'no join and no cancel once finished');
  const sessionPage = expectPage(t, await page(`/s/${session.slug}`), 200, 'finished session page');
  t.match(sessionPage, 'This session has ended.');
  t.notOk(hasForm(sessionPage));
  t.notMatch((await page('/')).body, session.slug, 'a finished session leaves the list');
  clock.set(new Date());
});

t.test('embeds: frame-ancestors from EMBED_ORIGINS; every other page refuses frames', async (t) => {
  const configured = await buildTestApp(t, { env: { ...env, EMBED_ORIGINS: 'https://www.example.org, https://cities.example.net' } });
  const session = await createSession(configured.app, owner.headers, { questions: CITY_QUESTIONS });
  const ancestors = 'https://www.example.org https://cities.example.net';
  expectPage(t, await configured.app.inject({ url: `/embed/${session.slug}` }), 200, 'embed', { frameAncestors: ancestors });
  const post = await postForm(configured.app, `/embed/${session.slug}/register`, { name: 'Em Bed', email: 'not-an-address' });
  expectPage(t, post, 400, 'embed form with errors', { frameAncestors: ancestors });
  const ok = await postForm(configured.app, `/embed/${session.slug}/register`, { name: 'Em Bed', email: uniqueEmail('embed'), 'answers[city]': 'X', consent: 'on' });
  t.equal(ok.statusCode, 303);
  t.equal(ok.headers.location, `/embed/${session.slug}/registered`, 'the confirmation stays in the frame');
  const confirmation = expectPage(t, await configured.app.inject({ url: String(ok.headers.location) }), 200, 'embed confirmation', { frameAncestors: ancestors });
  t.match(confirmation, '<body class="embed">');
  expectPage(t, await configured.app.inject({ url: `/s/${session.slug}` }), 200, 'the session page is not frameable');
  expectPage(t, await configured.app.inject({ url: '/' }), 200, 'nor the list');
  expectPage(t, await page(`/embed/${session.slug}`), 200, 'embed without EMBED_ORIGINS', { frameAncestors: "'none'" });
});

t.test('assets: fixed paths, cacheable, conditional', async (t) => {
  const css = await page('/assets/convene.css');
  t.equal(css.statusCode, 200);
  t.match(String(css.headers['content-type']), /^text\/css/);
  t.equal(css.headers['x-content-type-options'], 'nosniff');
  const js = await page('/assets/convene.js');
  t.equal(js.statusCode, 200);
  t.match(String(js.headers['content-type']), /^text\/javascript/);
  t.match(js.body, /\.when\[data-starts\]/, 'the script rewrites times local-first');
  const again = await app.inject({ url: '/assets/convene.js', headers: { 'if-none-match': String(js.headers.etag) } });
  t.equal(again.statusCode, 304);
});

t.test('the join link refusal page uses the same layout and headers', async (t) => {
  const res = await page('/j/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
  t.equal(res.statusCode, 404);
  t.equal(res.headers['content-security-policy'], expectedCsp());
  t.equal(res.headers['referrer-policy'], 'no-referrer');
  t.notMatch(res.body, /style=/, 'no inline style');
  t.match(res.body, '<link rel="stylesheet" href="/assets/convene.css">');
});

t.test('pages stay out of the API document', async (t) => {
  const document = app.swagger() as { paths: Record<string, unknown> };
  const paths = Object.keys(document.paths);
  for (const hidden of ['/', '/s/{slug}', '/s/{slug}/register', '/m/{manageToken}', '/embed/{slug}', '/assets/convene.css']) {
    t.notOk(paths.includes(hidden), `${hidden} is not in the OpenAPI document`);
  }
});
