import t from 'tap';
import { buildTestApp, signIn, uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { startRedisProcess } from '../helpers/processes.js';
import { CITY_QUESTIONS, createSession, type SessionJson } from '../helpers/registrations.js';

/**
 * The series page `/series/{slug}`: its sessions, one form (plain HTML, no script needed) with
 * the session form's fields, honeypot and rate limits, and the same page after every post.
 */

// Its own Redis: the per-recipient limit is on here (one post an hour), and counts in Redis.
const redis = await startRedisProcess(t);
const { app, database } = await buildTestApp(t, { env: { REDIS_URL: redis.url, RATE_LIMIT_REGISTER_PER_EMAIL_PER_HOUR: '1' } });
const owner = await signIn(app);

const first = await createSession(app, owner.headers, { title: 'Part 1: heat', summary: 'Cooling the streets' }, { daysAhead: 7 });
const second = await createSession(app, owner.headers, { title: 'Part 2: water', audience: { kind: 'members' } }, { daysAhead: 14 });
const asking = await createSession(app, owner.headers, { title: 'Part 3: questions', questions: CITY_QUESTIONS }, { daysAhead: 21 });
const draft = await createSession(app, owner.headers, { title: 'Part 4: draft' }, { daysAhead: 28, publish: false });
const open = await createSession(app, owner.headers, { title: 'Part 5: open' }, { daysAhead: 35 });
const created = await app.inject({
  method: 'POST',
  url: '/api/v1/series',
  headers: owner.headers,
  payload: { title: `Resilient cities <b>${uniqueSuffix()}</b>`, description: 'Three sessions.\n\nOne cohort: https://example.org/cohort', sessionIds: [first.id, second.id, asking.id, draft.id, open.id] },
});
const theSeries = created.json<{ slug: string; title: string }>();
const page = (url = `/series/${theSeries.slug}`) => app.inject({ method: 'GET', url });
const post = (fields: Record<string, string>) =>
  app.inject({
    method: 'POST',
    url: `/series/${theSeries.slug}/register`,
    payload: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });

async function statusIn(session: SessionJson, email: string): Promise<string | null> {
  const { rows } = await database.pool.query<{ status: string }>(
    `SELECT r.status::text FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE r.session_id = $1 AND a.email = $2`,
    [session.id, email],
  );
  return rows[0]?.status ?? null;
}

t.test('the page: the sessions in order, the draft never, one form with the fixed fields', async (t) => {
  const res = await page();
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'text/html; charset=utf-8');
  t.match(String(res.headers['content-security-policy']), /default-src 'none'|default-src 'self'/, 'the pages’ CSP');
  t.equal(res.headers['x-frame-options'], 'DENY');
  t.match(res.body, /<h1>Resilient cities &lt;b&gt;/, 'the title, escaped');
  t.match(res.body, /<a href="https:\/\/example\.org\/cohort" rel="noopener noreferrer nofollow">/, 'the description as rich text');
  const listed = [...res.body.matchAll(/<h3><a href="\/s\/([^"]+)">/g)].map((match) => match[1]);
  t.same(listed, [first.slug, second.slug, asking.slug, open.slug], 'in the series’ order, without the draft');
  t.notOk(res.body.includes(draft.title));
  t.match(res.body, /Open to people of member organisations\./, 'who a session is open to');
  t.match(res.body, /This session asks questions of its own, so the series form leaves it out\. <a href="\/s\/[^"]+">Register on its page<\/a>/);
  t.match(res.body, /<form method="post" action="\/series\/[^"]+\/register" novalidate>/);
  for (const name of ['name', 'email', 'organization', 'jobTitle', 'consent', 'timezone', 'website']) t.match(res.body, new RegExp(`name="${name}"`), `the ${name} field`);
  t.notMatch(res.body, /name="answers\[/, 'no session’s own questions');
  t.notMatch(res.body, /name="accessCode"/);
  t.match(res.body, /<button type="submit">Register for the series<\/button>/);
  t.match(res.body, /href="webcal:\/\/convene\.test\/feeds\/series\/[^"]+\.ics"/, 'subscribe to the series’ feed');
  t.notMatch(res.body, /<script>|onerror/, 'no inline script');
});

t.test('a post registers for each session the form takes, then the same page for everyone', async (t) => {
  const email = uniqueEmail('page');
  const res = await post({ name: 'Ana Reyes', email, organization: 'City of X', consent: 'on', timezone: 'America/New_York', website: '' });
  t.equal(res.statusCode, 303, res.body.slice(0, 1000));
  t.equal(res.headers.location, `/series/${theSeries.slug}/registered`);
  t.equal(await statusIn(first, email), 'confirmed');
  t.equal(await statusIn(open, email), 'confirmed');
  t.equal(await statusIn(second, email), null, 'not a member: skipped');
  t.equal(await statusIn(asking, email), null, 'left to its own page');
  const { rows } = await database.pool.query(`SELECT attendee_timezone FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE a.email = $1`, [email]);
  t.same(rows.map((row) => row.attendee_timezone), ['America/New_York', 'America/New_York'], 'the browser’s zone kept');
  const after = await page(res.headers.location as string);
  t.equal(after.statusCode, 200);
  t.match(after.body, /<h1>Check your inbox<\/h1>/);
  t.equal(after.headers['cache-control'], 'private, no-store');

  const repeat = await post({ name: 'Ana Reyes', email: uniqueEmail('other'), consent: 'on' });
  t.equal(repeat.headers.location, res.headers.location, 'the same redirect for another address');
});

t.test('the per-recipient limit counts a series post once; a second one is refused', async (t) => {
  const email = uniqueEmail('limited');
  const once = await post({ name: 'Bo', email, consent: 'on' });
  t.equal(once.statusCode, 303, 'two sessions, one post: counted once (the limit is one an hour)');
  t.equal(await statusIn(open, email), 'confirmed', 'both sessions took it');
  const twice = await post({ name: 'Bo', email, consent: 'on' });
  t.equal(twice.statusCode, 429);
  t.match(twice.body, /<h1>Too many attempts<\/h1>/, 'a page, not JSON');
});

t.test('errors: the form again with what was typed and the errors at their fields; a bot stores nothing', async (t) => {
  const email = uniqueEmail('oops');
  const res = await post({ name: '', email, organization: 'City <of> X', website: '' });
  t.equal(res.statusCode, 400);
  t.match(res.body, /<title>Error: Resilient cities/);
  t.match(res.body, /<a href="#f-name">Enter your full name<\/a>/);
  t.match(res.body, /<a href="#f-consent">Tick the box to agree, so that we can register you<\/a>/);
  t.match(res.body, /value="City &lt;of&gt; X"/, 'what was typed stays, escaped');
  t.equal(res.headers['cache-control'], 'private, no-store');
  const crafted = await post({ name: 'X', email, consent: 'on', 'answers[city]': 'Springfield' });
  t.equal(crafted.statusCode, 400, 'answers sent by hand');
  t.equal(await statusIn(first, email), null);

  const bot = uniqueEmail('bot');
  const trap = await post({ name: 'Bot', email: bot, consent: 'on', website: 'http://spam.example' });
  t.equal(trap.statusCode, 303, 'answered as a registration');
  const { rows } = await database.pool.query('SELECT count(*)::int AS n FROM attendees WHERE email = $1', [bot]);
  t.equal(rows[0].n, 0, 'nothing stored');

  t.equal((await page('/series/no-such-series')).statusCode, 404);
  t.match((await page('/series/no-such-series')).body, /<h1>Page not found<\/h1>/);
  const reload = await page(`/series/${theSeries.slug}/register`);
  t.equal(reload.statusCode, 303, 'reloading the post address leads back to the form');
});
