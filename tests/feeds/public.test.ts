import { gunzipSync } from 'node:zlib';
import t from 'tap';
import { buildTestApp, manualClock, signIn, type TestContext } from '../helpers/app.js';
import { createSession, type SessionJson } from '../helpers/registrations.js';
import { sessionUid } from '../../src/services/calendar/index.js';
import { checkFeed, eventOf } from '../helpers/ics.js';
import { sleep } from '../helpers/waiting.js';

// The public feed shows every published session, so this file has a database of its own,
// emptied first: nothing another test file does can change the feed between two reads.
const env = { DATABASE_URL: 'postgres://localhost:5432/convene_test_feeds_public' };
const ctx = await buildTestApp(t, { env });
const { app, database } = ctx;
await database.pool.query('TRUNCATE sessions, registrations, notifications, attendees CASCADE');
const owner = await signIn(app);
const DOMAIN = 'convene.test'; // the host of testConfig's PUBLIC_BASE_URL
const uid = (session: SessionJson) => sessionUid(session.id, DOMAIN);
const feed = (headers: Record<string, string> = {}, target: TestContext['app'] = app) =>
  target.inject({ method: 'GET', url: '/feeds/sessions.ics', headers });

/** Counts the renders of the public feed: a 304 (and a cached 200) must not render. */
function countRenders(target: TestContext['app']) {
  const feeds = target.services.feeds;
  const original = feeds.renderPublic;
  const counter = { renders: 0, restore: () => (feeds.renderPublic = original) };
  feeds.renderPublic = async () => {
    counter.renders += 1;
    return original();
  };
  return counter;
}

const later = await createSession(app, owner.headers, { title: 'Later session', joinUrl: 'https://meet.example.org/j/secret-room', joinInstructions: 'Passcode 4321' }, { daysAhead: 9 });
const sooner = await createSession(app, owner.headers, { title: 'Sooner session' }, { daysAhead: 2 });
const draft = await createSession(app, owner.headers, { title: 'Draft session' }, { publish: false, daysAhead: 3 });

t.test('published sessions, soonest first, valid bytes; drafts and join details never', async (t) => {
  const res = await feed();
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'text/calendar; charset=utf-8');
  t.equal(res.headers['cache-control'], 'public, max-age=300');
  t.equal(res.headers['referrer-policy'], 'no-referrer');
  t.match(String(res.headers.etag), /^"[A-Za-z0-9_-]+"$/, 'a strong ETag');
  t.ok(res.headers['last-modified'], 'Last-Modified');
  const facts = checkFeed(t, res.body, 'public feed');
  t.equal(facts.name, 'Convene: sessions');
  t.equal(facts.ttl, 'PT60M', 'X-PUBLISHED-TTL: an hour');
  t.equal(facts.refresh, 'PT60M', 'REFRESH-INTERVAL: an hour');
  t.same(facts.events.map((event) => event.uid), [uid(sooner), uid(later)], 'soonest first; no draft');
  t.notOk(res.body.includes(draft.id), 'the draft is absent');
  const event = eventOf(t, facts, uid(later));
  t.equal(event.summary, 'Later session');
  t.equal(event.status, 'CONFIRMED');
  t.equal(event.sequence, 0);
  t.equal(event.start.toISOString(), new Date(later.startsAt).toISOString(), 'the instant of the database');
  t.equal(event.end.toISOString(), new Date(later.endsAt).toISOString());
  t.equal(event.stamp.getTime(), Math.floor(new Date(later.updatedAt).getTime() / 1000) * 1000, "DTSTAMP is the session's last change");
  t.equal(event.url, `http://convene.test/s/${later.slug}`, 'URL: the session page');
  t.notMatch(res.body, /secret-room|Passcode/, 'neither the meeting URL nor the join instructions are public');
  t.notMatch(res.body, /attendee/i);
});

t.test('deterministic bytes: two renders, the cache and a second instance agree', async (t) => {
  const first = await feed();
  const second = await feed();
  t.equal(second.body, first.body, 'the same bytes twice');
  t.equal(second.headers.etag, first.headers.etag);
  t.equal(second.headers['last-modified'], first.headers['last-modified']);
  // Bypassing the shared cache: the rendering itself is deterministic.
  const renderA = await app.services.feeds.renderPublic();
  const renderB = await app.services.feeds.renderPublic();
  t.equal(renderA.body, renderB.body, 'two renders, the same bytes');
  t.equal(renderA.body, first.body, 'the served body is the rendered one');
  t.equal(renderA.etag, first.headers.etag);

  // A restart, or another instance: a new app on the same database.
  const other = await buildTestApp(t, { env });
  const otherRes = await feed({}, other.app);
  t.equal(otherRes.body, first.body, 'another instance serves the same bytes');
  t.equal(otherRes.headers.etag, first.headers.etag, 'and the same ETag');
  t.equal(otherRes.headers['last-modified'], first.headers['last-modified']);
  t.equal((await other.app.services.feeds.renderPublic()).body, first.body, 'and renders the same bytes itself');
  const conditional = await feed({ 'if-none-match': String(first.headers.etag) }, other.app);
  t.equal(conditional.statusCode, 304, "the other instance honours this one's ETag");
});

t.test('304 on If-None-Match and on If-Modified-Since, without rendering; 200 after a change', async (t) => {
  const first = await feed();
  const etag = String(first.headers.etag);
  const lastModified = String(first.headers['last-modified']);
  const counter = countRenders(app);
  t.teardown(counter.restore);

  const cases: Array<[string, Record<string, string>]> = [
    ['If-None-Match', { 'if-none-match': etag }],
    ['If-None-Match, weak form', { 'if-none-match': `W/${etag}` }],
    ['If-None-Match, in a list', { 'if-none-match': `"other", ${etag}` }],
    ['If-None-Match: *', { 'if-none-match': '*' }],
    ['If-Modified-Since = Last-Modified', { 'if-modified-since': lastModified }],
    ['If-Modified-Since later', { 'if-modified-since': new Date(Date.parse(lastModified) + 60_000).toUTCString() }],
  ];
  for (const [label, headers] of cases) {
    const res = await feed(headers);
    t.equal(res.statusCode, 304, label);
    t.equal(res.body, '', `${label}: no body`);
    t.equal(res.headers.etag, etag, `${label}: the ETag`);
    t.equal(res.headers['cache-control'], 'public, max-age=300', `${label}: Cache-Control`);
    t.equal(res.headers['referrer-policy'], 'no-referrer', `${label}: Referrer-Policy`);
  }
  t.equal(counter.renders, 0, 'no 304 rendered the calendar');

  const stale = await feed({ 'if-none-match': '"something-else"', 'if-modified-since': lastModified });
  t.equal(stale.statusCode, 200, 'If-None-Match decides when present (RFC 9110)');
  const earlier = await feed({ 'if-modified-since': new Date(Date.parse(lastModified) - 1000).toUTCString() });
  t.equal(earlier.statusCode, 200, 'modified since an earlier date');
  t.equal((await feed({ 'if-modified-since': 'not a date' })).statusCode, 200, 'an unreadable date is ignored');
  t.equal(counter.renders, 0, 'the unchanged feed came from the cache');

  // A change, a second later so Last-Modified (whole seconds) moves too.
  await sleep(1100);
  const patched = await app.inject({ method: 'PATCH', url: `/api/v1/sessions/${sooner.id}`, headers: owner.headers, payload: { title: 'Sooner session, renamed' } });
  t.equal(patched.statusCode, 200);
  const afterEtag = await feed({ 'if-none-match': etag });
  t.equal(afterEtag.statusCode, 200, 'If-None-Match: 200 after a change');
  t.not(afterEtag.headers.etag, etag, 'a new ETag');
  t.ok(Date.parse(String(afterEtag.headers['last-modified'])) > Date.parse(lastModified), 'a later Last-Modified');
  const afterDate = await feed({ 'if-modified-since': lastModified });
  t.equal(afterDate.statusCode, 200, 'If-Modified-Since: 200 after a change');
  const facts = checkFeed(t, afterDate.body, 'after the change');
  const renamed = eventOf(t, facts, uid(sooner));
  t.equal(renamed.summary, 'Sooner session, renamed');
  t.equal(renamed.sequence, 1, 'a title change raises the SEQUENCE');
  t.equal(counter.renders, 1, 'the changed feed was rendered once');
  t.equal((await feed({ 'if-none-match': String(afterEtag.headers.etag) })).statusCode, 304, 'then 304 again');

  // A new published session is a change too; a new draft is not.
  const before = String(afterEtag.headers.etag);
  await createSession(app, owner.headers, { title: 'Another draft' }, { publish: false });
  t.equal((await feed({ 'if-none-match': before })).statusCode, 304, 'a new draft changes nothing');
  const added = await createSession(app, owner.headers, { title: 'Added session' }, { daysAhead: 20 });
  const withAdded = await feed({ 'if-none-match': before });
  t.equal(withAdded.statusCode, 200, 'publishing a session changes the feed');
  t.ok(withAdded.body.includes(uid(added)));

  // Registrations update the session's counters, which no feed shows: still 304.
  const current = String(withAdded.headers.etag);
  const registration = await app.inject({
    method: 'POST',
    url: `/api/v1/public/sessions/${added.slug}/registrations`,
    payload: { name: 'Feed Reader', email: `reader-${Date.now()}@example.org`, consent: true },
  });
  t.equal(registration.statusCode, 202);
  t.equal((await feed({ 'if-none-match': current })).statusCode, 304, 'a registration changes nothing in the public feed');

  // The counter is kept by the database, whatever code changes a session.
  await database.pool.query(`UPDATE sessions SET summary = 'Changed behind the services' WHERE id = $1`, [added.id]);
  const behind = await feed({ 'if-none-match': current });
  t.equal(behind.statusCode, 200, 'a change made in SQL, not through the services, is seen too');
  t.match(behind.body, /Changed behind the services/);
});

t.test('gzip for clients that ask for it: same bytes unzipped, its own ETag, 304 on either tag', async (t) => {
  const plain = await feed();
  const etag = String(plain.headers.etag);
  const zipped = await feed({ 'accept-encoding': 'gzip, deflate, br' });
  t.equal(zipped.statusCode, 200);
  t.equal(zipped.headers['content-encoding'], 'gzip');
  t.equal(zipped.headers['content-type'], 'text/calendar; charset=utf-8');
  t.equal(zipped.headers.vary, 'accept-encoding', 'Vary, for shared caches');
  t.equal(plain.headers.vary, 'accept-encoding');
  t.notOk(plain.headers['content-encoding'], 'no Accept-Encoding: the plain bytes');
  t.equal(gunzipSync(zipped.rawPayload).toString('utf8'), plain.body, 'the same calendar once unzipped');
  t.equal(zipped.headers.etag, `${etag.slice(0, -1)}-gzip"`, 'a strong ETag of its own (RFC 9110 8.8.3.3)');
  t.equal(zipped.headers['last-modified'], plain.headers['last-modified']);

  for (const tag of [etag, String(zipped.headers.etag)]) {
    const res = await feed({ 'accept-encoding': 'gzip', 'if-none-match': tag });
    t.equal(res.statusCode, 304, `304 for ${tag}`);
    t.equal(res.headers.etag, zipped.headers.etag, 'the ETag of the representation it would send');
    t.equal((await feed({ 'if-none-match': tag })).headers.etag, etag, 'and for a plain client, the plain ETag');
  }
  for (const accept of ['gzip;q=0', 'identity', 'br', '']) {
    const res = await feed({ 'accept-encoding': accept });
    t.notOk(res.headers['content-encoding'], `Accept-Encoding "${accept}": not gzipped`);
    t.equal(res.body, plain.body);
  }
});

t.test('a poll sees every change committed before it, even among many concurrent polls', async (t) => {
  const before = await feed();
  const etag = String(before.headers.etag);
  const polls = Array.from({ length: 30 }, () => feed({ 'if-none-match': etag }));
  await database.pool.query(`UPDATE sessions SET summary = 'Changed while polled' WHERE id = $1`, [later.id]);
  const after = await feed({ 'if-none-match': etag });
  t.equal(after.statusCode, 200, 'the poll after the commit is not answered by a read from before it');
  t.match(after.body, /Changed while polled/);
  for (const res of await Promise.all(polls)) t.ok([200, 304].includes(res.statusCode), 'the concurrent polls answer too');
});

t.test('a cancelled session stays 30 days as STATUS:CANCELLED with a higher SEQUENCE', async (t) => {
  const doomed = await createSession(app, owner.headers, { title: 'Doomed session' }, { daysAhead: 5 });
  const before = await feed();
  const seqBefore = eventOf(t, checkFeed(t, before.body, 'before'), uid(doomed)).sequence;
  const cancelled = await app.inject({ method: 'POST', url: `/api/v1/sessions/${doomed.id}/cancel`, headers: owner.headers, payload: { reason: 'Speaker ill' } });
  t.equal(cancelled.statusCode, 200);
  const after = await feed({ 'if-none-match': String(before.headers.etag) });
  t.equal(after.statusCode, 200, 'the cancellation changes the feed');
  const facts = checkFeed(t, after.body, 'after the cancellation');
  const event = eventOf(t, facts, uid(doomed));
  t.equal(event.status, 'CANCELLED');
  t.ok(event.sequence > seqBefore, `SEQUENCE raised (${seqBefore} -> ${event.sequence})`);
  t.equal(event.sequence, cancelled.json().sequence, "the session's sequence");
  t.match(event.summary, /Cancelled/, 'the title says so, for apps that ignore STATUS');
  t.equal(event.stamp.getTime(), Math.floor(Date.parse(cancelled.json().cancelledAt) / 1000) * 1000, 'DTSTAMP: the cancellation');

  const single = await app.inject(`/feeds/sessions/${doomed.slug}.ics`);
  t.equal(single.statusCode, 200, 'its own feed still answers');
  t.equal(eventOf(t, checkFeed(t, single.body, 'single cancelled'), uid(doomed)).status, 'CANCELLED');

  // The same database seen by instances whose clocks are later.
  const in20Days = await buildTestApp(t, { env, clock: manualClock(new Date(Date.now() + 20 * 86_400_000).toISOString()) });
  const at20 = checkFeed(t, (await feed({}, in20Days.app)).body, '20 days later');
  t.ok(at20.events.some((e) => e.uid === uid(doomed)), 'still there 20 days after the cancellation');
  t.ok(at20.events.some((e) => e.uid === uid(sooner)), 'a session that ended 18 days ago is still there');
  const in46Days = await buildTestApp(t, { env, clock: manualClock(new Date(Date.now() + 46 * 86_400_000).toISOString()) });
  const at46Res = await feed({}, in46Days.app);
  const at46 = checkFeed(t, at46Res.body, '46 days later');
  t.notOk(at46.events.some((e) => e.uid === uid(doomed)), 'gone 46 days after the cancellation');
  t.notOk(at46.events.some((e) => e.uid === uid(sooner)), 'a session that ended 44 days ago is gone');
  t.not(at46Res.headers.etag, (await feed()).headers.etag, 'another window, another ETag');
  t.ok(Date.parse(String(at46Res.headers['last-modified'])) <= Date.now() + 46 * 86_400_000, 'Last-Modified is never in the future');
  t.ok(
    Date.parse(String(at46Res.headers['last-modified'])) > Date.now(),
    'Last-Modified moves when sessions leave the window (so If-Modified-Since sees it)',
  );
});

t.test('one session: published or cancelled; drafts and unknown slugs 404', async (t) => {
  const res = await app.inject(`/feeds/sessions/${later.slug}.ics`);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'text/calendar; charset=utf-8');
  t.equal(res.headers['cache-control'], 'public, max-age=300');
  t.equal(res.headers['referrer-policy'], 'no-referrer');
  const facts = checkFeed(t, res.body, 'one session');
  t.equal(facts.events.length, 1);
  t.equal(facts.name, 'Convene: Later session');
  t.equal(facts.events[0]!.uid, uid(later), 'the UID of the public feed');
  t.equal((await app.inject({ url: `/feeds/sessions/${later.slug}.ics`, headers: { 'if-none-match': String(res.headers.etag) } })).statusCode, 304);
  t.equal(
    (await app.inject({ url: `/feeds/sessions/${later.slug}.ics`, headers: { 'if-modified-since': String(res.headers['last-modified']) } })).statusCode,
    304,
  );
  for (const slug of [draft.slug, 'no-such-session', 'x'.repeat(150), '%00', '..']) {
    const missing = await app.inject(`/feeds/sessions/${slug}.ics`);
    t.equal(missing.statusCode, 404, `${slug.slice(0, 20)}: 404`);
    t.equal(missing.headers['referrer-policy'], 'no-referrer');
  }
  t.equal((await app.inject(`/feeds/sessions/${later.slug}`)).statusCode, 404, 'the .ics suffix is part of the address');
  const head = await app.inject({ method: 'HEAD', url: '/feeds/sessions.ics' });
  t.equal(head.statusCode, 200, 'HEAD');
  t.equal(head.body, '', 'HEAD: no body');
  t.equal(head.headers.etag, (await feed()).headers.etag, 'HEAD: the ETag of GET');
});

t.test('hostile text still gives one well-formed event per session', async (t) => {
  const hostileTitle = 'Evil\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:forged, with; "quotes" \\ back 😀 naïve ✓';
  const hostileDescription = 'Line one\r\nLine two; with, commas\nMETHOD:CANCEL\r\nATTENDEE:mailto:x@example.org\u000b' + '😀'.repeat(40);
  const hostile = await createSession(app, owner.headers, { title: hostileTitle, summary: 'Sum, mary; "x"\r\n', description: hostileDescription }, { daysAhead: 4 });
  const res = await feed();
  const facts = checkFeed(t, res.body, 'hostile');
  t.ok(facts.events.every((event) => !event.uid.includes('forged')), 'no forged UID');
  const event = eventOf(t, facts, uid(hostile));
  t.equal(event.summary, hostileTitle.replace(/\r\n/g, '\n'), 'the title, as typed, in one SUMMARY');
  t.match(event.description, /METHOD:CANCEL/, 'the description is text, not properties');
  t.match(event.description, /😀😀/);
  const single = await app.inject(`/feeds/sessions/${hostile.slug}.ics`);
  const singleFacts = checkFeed(t, single.body, 'hostile single');
  t.equal(singleFacts.events.length, 1, 'one event');
  // ical.js leaves X- properties as written; calendar apps read X-WR-CALNAME as escaped TEXT.
  t.equal(singleFacts.name?.replace(/\\([\\,;])/g, '$1'), `Convene: ${hostileTitle.replace(/[\r\n]+/g, ' ')}`, 'the calendar name: escaped TEXT on one line');
  const { rows } = await database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM sessions WHERE status <> 'draft'`);
  t.equal(facts.events.length, rows[0]!.n, 'one event per published or cancelled session');
});
