import t from 'tap';
import { sessionUid } from '../../src/services/calendar/index.js';
import { buildTestApp, signIn, uniqueSuffix } from '../helpers/app.js';
import { checkFeed, eventOf, feedFacts } from '../helpers/ics.js';
import { createSession, type SessionJson } from '../helpers/registrations.js';
import { sleep } from '../helpers/waiting.js';

/** `/feeds/series/{slug}.ics`: the series' published and cancelled sessions, valid under the calendar rules. */

const { app } = await buildTestApp(t);
const owner = await signIn(app);
const DOMAIN = 'convene.test';
const uid = (session: SessionJson) => sessionUid(session.id, DOMAIN);

const later = await createSession(app, owner.headers, { title: 'Part 2: water', joinUrl: 'https://meet.example.org/j/secret-room', joinInstructions: 'Passcode 4321' }, { daysAhead: 14 });
const sooner = await createSession(app, owner.headers, { title: 'Part 1: heat' }, { daysAhead: 7 });
const draft = await createSession(app, owner.headers, { title: 'Part 3: draft' }, { daysAhead: 21, publish: false });
const cancelled = await createSession(app, owner.headers, { title: 'Part 4: cancelled' }, { daysAhead: 28 });
await app.inject({ method: 'POST', url: `/api/v1/sessions/${cancelled.id}/cancel`, headers: owner.headers, payload: { reason: 'The venue closed' } });
const created = await app.inject({
  method: 'POST',
  url: '/api/v1/series',
  headers: owner.headers,
  payload: { title: `Resilient cities ${uniqueSuffix()}`, sessionIds: [later.id, sooner.id, draft.id, cancelled.id] },
});
const theSeries = created.json<{ id: string; slug: string; title: string }>();
const feed = (headers: Record<string, string> = {}) => app.inject({ method: 'GET', url: `/feeds/series/${theSeries.slug}.ics`, headers });

t.test('the sessions of the series, valid under the calendar rules, with the UIDs of the session feeds', async (t) => {
  const res = await feed();
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.headers['content-type'], 'text/calendar; charset=utf-8');
  t.equal(res.headers['cache-control'], 'public, max-age=300');
  t.match(String(res.headers.etag), /^"[A-Za-z0-9_-]+"$/, 'a strong ETag');
  const facts = checkFeed(t, res.body, 'series feed');
  t.equal(facts.name, `Convene: ${theSeries.title}`, 'named after the series');
  t.equal(facts.refresh, 'PT60M');
  t.same(facts.events.map((event) => event.uid), [uid(sooner), uid(later), uid(cancelled)], 'soonest first; the draft never');
  t.notOk(res.body.includes(draft.id), 'nothing of the draft');
  t.notMatch(res.body, /secret-room|Passcode/, 'neither the meeting URL nor the join instructions');
  t.equal(eventOf(t, facts, uid(cancelled)).status, 'CANCELLED', 'a cancelled session as STATUS:CANCELLED');
  t.equal(eventOf(t, facts, uid(later)).url, `http://convene.test/s/${later.slug}`, 'URL: the session page');

  const single = await app.inject({ method: 'GET', url: `/feeds/sessions/${later.slug}.ics` });
  const inSingle = feedFacts(single.body).events[0]!;
  const inSeries = eventOf(t, facts, uid(later));
  t.same(
    { uid: inSeries.uid, sequence: inSeries.sequence, stamp: inSeries.stamp, start: inSeries.start },
    { uid: inSingle.uid, sequence: inSingle.sequence, stamp: inSingle.stamp, start: inSingle.start },
    'the same event as in the session’s own feed: calendars subscribed to both show it once',
  );
});

t.test('304 while nothing changed; a new ETag when a session or the series changes', async (t) => {
  const first = await feed();
  const etag = String(first.headers.etag);
  t.equal((await feed({ 'if-none-match': etag })).statusCode, 304);
  await sleep(5);
  const patched = await app.inject({ method: 'PATCH', url: `/api/v1/sessions/${sooner.id}`, headers: owner.headers, payload: { title: 'Part 1: heat waves' } });
  t.equal(patched.statusCode, 200);
  const afterSession = await feed({ 'if-none-match': etag });
  t.equal(afterSession.statusCode, 200, 'a session changed');
  t.match(afterSession.body, 'Part 1: heat waves');
  const renamed = await app.inject({ method: 'PATCH', url: `/api/v1/series/${theSeries.id}`, headers: owner.headers, payload: { title: `${theSeries.title} (2027)` } });
  t.equal(renamed.statusCode, 200);
  const afterSeries = await feed({ 'if-none-match': String(afterSession.headers.etag) });
  t.equal(afterSeries.statusCode, 200, 'the series renamed');
  t.equal(feedFacts(afterSeries.body).name, `Convene: ${theSeries.title} (2027)`);
  const shorter = await app.inject({ method: 'PATCH', url: `/api/v1/series/${theSeries.id}`, headers: owner.headers, payload: { sessionIds: [sooner.id] } });
  t.equal(shorter.statusCode, 200);
  const afterList = await feed({ 'if-none-match': String(afterSeries.headers.etag) });
  t.equal(afterList.statusCode, 200, 'a session left the series');
  t.same(feedFacts(afterList.body).events.map((event) => event.uid), [uid(sooner)]);
  const gzipped = await feed({ 'accept-encoding': 'gzip' });
  t.equal(gzipped.headers['content-encoding'], 'gzip', 'gzipped on request');
});

t.test('no such series: 404', async (t) => {
  t.equal((await app.inject({ method: 'GET', url: '/feeds/series/no-such-series.ics' })).statusCode, 404);
  t.equal((await app.inject({ method: 'GET', url: '/feeds/series/%00.ics' })).statusCode, 404);
});
