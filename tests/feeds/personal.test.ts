import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import t from 'tap';
import { createDb } from '../../db/client.js';
import { buildApp } from '../../src/app.js';
import { systemClock } from '../../src/clock.js';
import { loggerOptions } from '../../src/logger.js';
import { createRedis } from '../../src/redis.js';
import { inviteUid } from '../../src/services/calendar/index.js';
import { buildTestApp, manualClock, migrateOnce, signIn, testConfig, uniqueEmail } from '../helpers/app.js';
import { checkFeed, eventOf, feedFacts } from '../helpers/ics.js';
import { createSession, registered, registrationId, type SessionJson } from '../helpers/registrations.js';

const { app, database } = await buildTestApp(t);
const { pool } = database;
const owner = await signIn(app);
const DOMAIN = 'convene.test';
const base = 'http://convene.test';

const manageToken = (id: string) => app.services.tokens.derive('manage', id, 0);
const view = (token: string) => app.inject({ method: 'GET', url: `/api/v1/registrations/${token}` });
const pathOf = (url: string) => new URL(url).pathname;
const get = (url: string, headers: Record<string, string> = {}, target = app) => target.inject({ method: 'GET', url: pathOf(url), headers });

async function attendeeOf(email: string) {
  const { rows } = await pool.query<{ id: string; feed_token_hash: string | null; feed_token_version: number }>(
    'SELECT id, feed_token_hash, feed_token_version FROM attendees WHERE email = $1',
    [email.toLowerCase()],
  );
  return rows[0]!;
}

/** A person registered for `sessions`, with their manage token (of the first) and feed links. */
async function person(sessions: SessionJson[], name = 'Ana Feed') {
  const email = uniqueEmail('feed');
  for (const session of sessions) await registered(app, session.slug, { name, email });
  const ids = await Promise.all(sessions.map((session) => registrationId(pool, session.id, email)));
  const token = manageToken(ids[0]!);
  const res = await view(token);
  if (res.statusCode !== 200) throw new Error(`manage view: ${res.statusCode}`);
  const attendee = await attendeeOf(email);
  return { email, ids, token, links: res.json().links.feed as { url: string; webcal: string; google: string }, attendee };
}

t.test('the manage view offers the feed as https, webcal and Google; its hash is stored with the attendee', async (t) => {
  const session = await createSession(app, owner.headers);
  const email = uniqueEmail('first');
  await registered(app, session.slug, { name: 'First View', email });
  const before = await attendeeOf(email);
  t.equal(before.feed_token_hash, app.services.tokens.hash(app.services.tokens.derive('feed', before.id, 0)), 'stored when the attendee was added, so showing the page writes nothing');
  const id = await registrationId(pool, session.id, email);
  const res = await view(manageToken(id));
  t.equal(res.statusCode, 200);
  const { feed } = res.json().links;
  const attendee = await attendeeOf(email);
  const token = app.services.tokens.derive('feed', attendee.id, 0);
  t.equal(feed.url, `${base}/feeds/attendees/${token}.ics`);
  t.equal(feed.webcal, `webcal://convene.test/feeds/attendees/${token}.ics`);
  t.equal(feed.google, `https://calendar.google.com/calendar/render?cid=${encodeURIComponent(feed.webcal)}`);
  t.ok(feed.url.length < 200, `the feed URL is under 200 characters (${feed.url.length})`);
  t.equal(attendee.feed_token_hash, app.services.tokens.hash(token), 'only the hash is stored');
  t.equal(attendee.feed_token_version, 0);
  t.same((await view(manageToken(id))).json().links.feed, feed, 'the same links every time');
  t.equal((await get(feed.url)).statusCode, 200, 'the URL works at once');
  t.notOk(JSON.stringify(await attendeeOf(email)).includes(token), 'the token itself is stored nowhere');

  // A long public address still gives a feed URL Google accepts.
  const long = await buildTestApp(t, { env: { PUBLIC_BASE_URL: `https://events.${'a'.repeat(40)}.example.org/convene` } });
  const longView = await long.app.inject(`/api/v1/registrations/${manageToken(id)}`);
  t.ok(longView.json().links.feed.url.length < 200, 'under 200 characters with a long base URL');
});

t.test("the attendee's confirmed sessions, with join links, the invite's UID and SEQUENCE, no ATTENDEE", async (t) => {
  const first = await createSession(app, owner.headers, { title: 'First, mine', joinUrl: 'https://meet.example.org/j/room-1', joinInstructions: 'Passcode 1234' }, { daysAhead: 3 });
  const second = await createSession(app, owner.headers, { title: 'Second; mine' }, { daysAhead: 6 });
  const full = await createSession(app, owner.headers, { title: 'Full', capacity: 1 }, { daysAhead: 4 });
  const other = await createSession(app, owner.headers, { title: 'Not mine' });
  await registered(app, full.slug, { name: 'Someone Else', email: uniqueEmail('else') });
  await registered(app, other.slug, { name: 'Someone Else', email: uniqueEmail('else') });
  const me = await person([first, second, full], 'Ana "Quote" Feed');
  const res = await get(me.links.url);
  t.equal(res.statusCode, 200);
  t.equal(res.headers['content-type'], 'text/calendar; charset=utf-8');
  t.equal(res.headers['cache-control'], 'private, max-age=300');
  t.equal(res.headers['referrer-policy'], 'no-referrer');
  t.match(String(res.headers.etag), /^"[A-Za-z0-9_-]+"$/);
  const facts = checkFeed(t, res.body, 'personal');
  t.equal(facts.name, 'Convene: your sessions');
  t.same(
    facts.events.map((event) => event.uid),
    [inviteUid(first.id, me.attendee.id, DOMAIN), inviteUid(second.id, me.attendee.id, DOMAIN)],
    'the confirmed ones, soonest first; not the waitlisted one, not the others',
  );
  t.notMatch(res.body, /^ATTENDEE/m, 'no ATTENDEE line');
  t.notMatch(res.body, /Ana|Someone|Quote|@example\.org/i, 'no name, no address');
  t.notMatch(res.body, /room-1/, 'the meeting URL itself never (the join link leads there)');
  const zipped = await get(me.links.url, { 'accept-encoding': 'gzip' });
  t.equal(zipped.headers['content-encoding'], 'gzip', 'gzipped when asked for');
  t.equal(gunzipSync(zipped.rawPayload).toString('utf8'), res.body, 'the same calendar once unzipped');
  t.equal(zipped.headers.etag, `${String(res.headers.etag).slice(0, -1)}-gzip"`, 'with its own ETag');
  t.equal(zipped.headers['cache-control'], 'private, max-age=300');

  const event = eventOf(t, facts, inviteUid(first.id, me.attendee.id, DOMAIN));
  const joinLink = `${base}/j/${app.services.tokens.derive('join', me.ids[0]!, 0)}`;
  t.equal(event.url, joinLink, 'URL: the personal join link');
  t.match(event.description, joinLink, 'the join link in the description');
  t.match(event.description, /Passcode 1234/, 'the join instructions, for the registrant');
  t.equal(event.start.toISOString(), new Date(first.startsAt).toISOString());

  // The invite download of the same registration has the same UID and SEQUENCE.
  const invite = await app.inject(`/api/v1/registrations/${me.token}/invite.ics`);
  t.equal(invite.statusCode, 200);
  const inviteEvent = feedFactsOfInvite(invite.body);
  t.equal(event.uid, inviteEvent.uid, 'the UID of the e-mailed invite');
  t.equal(event.sequence, inviteEvent.sequence, 'the SEQUENCE of the e-mailed invite');
});

/** The one VEVENT of an invite, read by ical.js (METHOD aside, the same shape as a feed). */
function feedFactsOfInvite(ics: string) {
  return feedFacts(ics).events[0]!;
}

t.test('304 on both validators, 200 after a change; cancelled registrations disappear, cancelled sessions show as cancelled', async (t) => {
  const keep = await createSession(app, owner.headers, { title: 'Keep' }, { daysAhead: 3 });
  const drop = await createSession(app, owner.headers, { title: 'Drop' }, { daysAhead: 5 });
  const doomed = await createSession(app, owner.headers, { title: 'Doomed' }, { daysAhead: 7 });
  const me = await person([keep, drop, doomed]);
  const uidOf = (session: SessionJson) => inviteUid(session.id, me.attendee.id, DOMAIN);
  const first = await get(me.links.url);
  const etag = String(first.headers.etag);
  t.equal(checkFeed(t, first.body, 'three').events.length, 3);

  // Deterministic: twice, and from another instance.
  const again = await get(me.links.url);
  t.equal(again.body, first.body, 'the same bytes twice');
  t.equal(again.headers.etag, etag);
  const other = await buildTestApp(t);
  const otherRes = await get(me.links.url, {}, other.app);
  t.equal(otherRes.body, first.body, 'another instance: the same bytes');
  t.equal(otherRes.headers.etag, etag, 'another instance: the same ETag');
  t.equal(otherRes.headers['last-modified'], first.headers['last-modified']);

  const feeds = app.services.feeds;
  const original = feeds.renderPersonal;
  let renders = 0;
  feeds.renderPersonal = async (token) => {
    renders += 1;
    return original(token);
  };
  t.teardown(() => {
    feeds.renderPersonal = original;
  });
  const byEtag = await get(me.links.url, { 'if-none-match': etag });
  t.equal(byEtag.statusCode, 304, 'If-None-Match');
  t.equal(byEtag.headers['cache-control'], 'private, max-age=300');
  t.equal(byEtag.headers['referrer-policy'], 'no-referrer');
  t.equal((await get(me.links.url, { 'if-modified-since': String(first.headers['last-modified']) })).statusCode, 304, 'If-Modified-Since');
  t.equal((await get(me.links.url, { 'if-none-match': etag }, other.app)).statusCode, 304, 'another instance honours the ETag');
  t.equal(renders, 0, 'a 304 renders nothing');

  // Another person's change is not mine.
  await registered(app, keep.slug, { name: 'Stranger', email: uniqueEmail('stranger') });
  t.equal((await get(me.links.url, { 'if-none-match': etag })).statusCode, 304, "someone else's registration changes nothing");

  // Cancelling one registration (a second later, so Last-Modified moves too).
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const cancelled = await app.inject({ method: 'POST', url: `/api/v1/registrations/${manageToken(me.ids[1]!)}/cancel` });
  t.equal(cancelled.statusCode, 200);
  t.same(cancelled.json().links.feed, me.links, 'the cancel answer offers the same feed');
  const afterCancel = await get(me.links.url, { 'if-none-match': etag });
  t.equal(afterCancel.statusCode, 200, 'If-None-Match: 200 after the cancellation');
  t.equal((await get(me.links.url, { 'if-modified-since': String(first.headers['last-modified']) })).statusCode, 200, 'If-Modified-Since: 200');
  const facts = checkFeed(t, afterCancel.body, 'after cancel');
  t.same(facts.events.map((event) => event.uid), [uidOf(keep), uidOf(doomed)], 'the cancelled registration left the feed');

  // A session change raises the SEQUENCE, as in the invite update.
  const beforePatch = String(afterCancel.headers.etag);
  const seqBefore = eventOf(t, facts, uidOf(keep)).sequence;
  const patched = await app.inject({ method: 'PATCH', url: `/api/v1/sessions/${keep.id}`, headers: owner.headers, payload: { title: 'Keep, moved' } });
  t.equal(patched.statusCode, 200);
  const afterPatch = await get(me.links.url, { 'if-none-match': beforePatch });
  t.equal(afterPatch.statusCode, 200, 'a session change is a change of the feed');
  const patchedEvent = eventOf(t, checkFeed(t, afterPatch.body, 'after patch'), uidOf(keep));
  t.equal(patchedEvent.summary, 'Keep, moved');
  t.ok(patchedEvent.sequence > seqBefore, 'SEQUENCE raised');
  const invite = feedFactsOfInvite((await app.inject(`/api/v1/registrations/${manageToken(me.ids[0]!)}/invite.ics`)).body);
  t.equal(patchedEvent.sequence, invite.sequence, 'the same SEQUENCE as the updated invite');

  // A cancelled session stays as STATUS:CANCELLED (tests/feeds/calendar-details.test.ts: for 30 days).
  const beforeSessionCancel = String(afterPatch.headers.etag);
  const sessionCancelled = await app.inject({ method: 'POST', url: `/api/v1/sessions/${doomed.id}/cancel`, headers: owner.headers, payload: {} });
  t.equal(sessionCancelled.statusCode, 200);
  const afterSessionCancel = await get(me.links.url, { 'if-none-match': beforeSessionCancel });
  t.equal(afterSessionCancel.statusCode, 200);
  const cancelledFacts = checkFeed(t, afterSessionCancel.body, 'after session cancel');
  t.same(cancelledFacts.events.map((e) => e.uid), [uidOf(keep), uidOf(doomed)]);
  t.equal(eventOf(t, cancelledFacts, uidOf(doomed)).status, 'CANCELLED');

  // Registering again for the dropped session: the same UID, a SEQUENCE above the old REQUEST and CANCEL.
  await registered(app, drop.slug, { name: 'Ana Again', email: me.email });
  const renewed = checkFeed(t, (await get(me.links.url)).body, 'renewed');
  const renewedEvent = eventOf(t, renewed, uidOf(drop));
  t.equal(renewedEvent.sequence, 2, 'SEQUENCE 2: above the first REQUEST (0) and its CANCEL (1)');
  const renewedId = await registrationId(pool, drop.id, me.email);
  t.equal(renewedEvent.url, `${base}/j/${app.services.tokens.derive('join', renewedId, 0)}`, "the new registration's join link");
  const renewedInvite = feedFactsOfInvite((await app.inject(`/api/v1/registrations/${manageToken(renewedId)}/invite.ics`)).body);
  t.equal(renewedEvent.sequence, renewedInvite.sequence, "the renewed invite's SEQUENCE");
  t.equal(renewedEvent.uid, renewedInvite.uid);
});

t.test('a promoted registration appears; sessions ended over 30 days ago leave', async (t) => {
  const small = await createSession(app, owner.headers, { title: 'Small', capacity: 1 }, { daysAhead: 2 });
  const seated = uniqueEmail('seated');
  await registered(app, small.slug, { name: 'Seated', email: seated });
  const me = await person([small]);
  const waiting = await get(me.links.url);
  t.equal(checkFeed(t, waiting.body, 'waiting').events.length, 0, 'nothing while on the waitlist');
  const seatedId = await registrationId(pool, small.id, seated);
  await app.inject({ method: 'POST', url: `/api/v1/registrations/${manageToken(seatedId)}/cancel` });
  const promoted = await get(me.links.url, { 'if-none-match': String(waiting.headers.etag) });
  t.equal(promoted.statusCode, 200, 'the promotion changes the feed');
  t.same(checkFeed(t, promoted.body, 'promoted').events.map((e) => e.uid), [inviteUid(small.id, me.attendee.id, DOMAIN)]);

  const in20 = await buildTestApp(t, { clock: manualClock(new Date(Date.now() + 20 * 86_400_000).toISOString()) });
  t.equal(checkFeed(t, (await get(me.links.url, {}, in20.app)).body, '20 days on').events.length, 1, 'ended 18 days ago: still there');
  const in40 = await buildTestApp(t, { clock: manualClock(new Date(Date.now() + 40 * 86_400_000).toISOString()) });
  const at40 = await get(me.links.url, {}, in40.app);
  t.equal(checkFeed(t, at40.body, '40 days on').events.length, 0, 'ended 38 days ago: gone');
  t.not(at40.headers.etag, promoted.headers.etag, 'another ETag');
  t.ok(Date.parse(String(at40.headers['last-modified'])) > Date.now(), 'Last-Modified moved when it left the window');
});

t.test('replacing the feed token: the old URL is 404 at once, the new one works', async (t) => {
  const session = await createSession(app, owner.headers);
  const me = await person([session]);
  t.equal((await get(me.links.url)).statusCode, 200);
  const replaced = await app.inject({ method: 'POST', url: `/api/v1/registrations/${me.token}/feed-token` });
  t.equal(replaced.statusCode, 200);
  t.equal(replaced.headers['referrer-policy'], 'no-referrer');
  t.equal(replaced.headers['cache-control'], 'private, no-store');
  const links = replaced.json();
  const token = app.services.tokens.derive('feed', me.attendee.id, 1);
  t.same(links, {
    url: `${base}/feeds/attendees/${token}.ics`,
    webcal: `webcal://convene.test/feeds/attendees/${token}.ics`,
    google: `https://calendar.google.com/calendar/render?cid=${encodeURIComponent(`webcal://convene.test/feeds/attendees/${token}.ics`)}`,
  });
  const old = await get(me.links.url);
  t.equal(old.statusCode, 404, 'the old URL: 404');
  t.equal(old.headers['referrer-policy'], 'no-referrer');
  t.equal(old.headers['cache-control'], 'no-store');
  t.equal((await get(me.links.url, { 'if-none-match': '*' })).statusCode, 404, 'even conditionally');
  const fresh = await get(links.url);
  t.equal(fresh.statusCode, 200, 'the new URL works');
  t.equal(checkFeed(t, fresh.body, 'new token').events.length, 1);
  t.same((await view(me.token)).json().links.feed, links, 'the manage view shows the new links');
  const row = await attendeeOf(me.email);
  t.equal(row.feed_token_version, 1);
  t.equal(row.feed_token_hash, app.services.tokens.hash(token));

  const twice = (await app.inject({ method: 'POST', url: `/api/v1/registrations/${me.token}/feed-token` })).json();
  t.equal((await get(links.url)).statusCode, 404, 'replaced again: the second URL is 404 too');
  t.equal((await get(twice.url)).statusCode, 200);

  for (const [label, token] of [
    ['garbage', 'not-a-token'],
    ['random of the right shape', randomBytes(24).toString('base64url')],
  ] as const) {
    const res = await app.inject({ method: 'POST', url: `/api/v1/registrations/${token}/feed-token` });
    t.equal(res.statusCode, 404, `feed-token with a ${label} manage token: 404`);
  }
});

t.test('unknown and garbage feed tokens are 404', async (t) => {
  const session = await createSession(app, owner.headers);
  const me = await person([session]);
  const cases: Array<[string, string]> = [
    ['random token of the right shape', randomBytes(24).toString('base64url')],
    ['the manage token', me.token],
    ['the join token', app.services.tokens.derive('join', me.ids[0]!, 0)],
    ['the feed token of the next version', app.services.tokens.derive('feed', me.attendee.id, 1)],
    ['the feed token of another id', app.services.tokens.derive('feed', session.id, 0)],
    ['too short', 'abc'],
    ['too long', 'a'.repeat(150)],
    ['odd characters', "%27%22%3Cscript%3E"],
    ['a NUL', '%00'],
    ['a dot', 'abc.def'],
  ];
  for (const [label, token] of cases) {
    const res = await app.inject(`/feeds/attendees/${token}.ics`);
    t.equal(res.statusCode, 404, `${label}: 404`);
    t.notOk(res.body.includes('BEGIN:VCALENDAR'), `${label}: no calendar`);
  }
  t.equal((await app.inject(`/feeds/attendees/${'a'.repeat(300)}.ics`)).statusCode, 414, 'over the router limit: 414 (URI too long)');
  t.equal((await app.inject(`/feeds/attendees/${me.links.url.split('/').pop()!.replace('.ics', '')}`)).statusCode, 404, 'without .ics: 404');
});

t.test('feed tokens never reach the logs', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  const config = testConfig({ LOG_LEVEL: 'info' });
  await migrateOnce(config.databaseUrl);
  const logged = createDb(config.databaseUrl, { max: 2 });
  const redis = createRedis(config.redisUrl, 'producer');
  const logApp = await buildApp({ config, database: logged, redis, clock: systemClock, logger: pino(loggerOptions(config), sink) });
  await logApp.ready();
  t.teardown(async () => {
    await logApp.close();
    redis.disconnect();
    await logged.pool.end();
  });

  const session = await createSession(app, owner.headers);
  const me = await person([session]);
  const feedToken = me.links.url.split('/').pop()!.replace('.ics', '');
  t.equal((await logApp.inject(pathOf(me.links.url))).statusCode, 200);
  t.equal((await logApp.inject({ url: pathOf(me.links.url), headers: { 'if-none-match': '*' } })).statusCode, 304);
  t.equal((await logApp.inject(`${pathOf(me.links.url)}?x=1`)).statusCode, 200);
  t.equal((await logApp.inject(`/api/v1/registrations/${me.token}`)).statusCode, 200);
  const replaced = await logApp.inject({ method: 'POST', url: `/api/v1/registrations/${me.token}/feed-token` });
  t.equal(replaced.statusCode, 200);
  const newToken = replaced.json().url.split('/').pop().replace('.ics', '');
  t.equal((await logApp.inject(pathOf(me.links.url))).statusCode, 404, 'the old one, now 404');
  t.equal((await logApp.inject(`/feeds/attendees/${newToken}`)).statusCode, 404, 'a mistyped path');

  const text = lines.join('');
  t.ok(text.includes('/feeds/attendees/[token].ics'), 'the path is logged, masked');
  for (const [label, secret] of [
    ['feed token', feedToken],
    ['new feed token', newToken],
    ['manage token', me.token],
  ] as const) {
    t.notOk(text.includes(secret), `the ${label} is not in the logs`);
  }
});
