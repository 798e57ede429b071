import type { LightMyRequestResponse } from 'fastify';
import t from 'tap';
import type { Test } from 'tap';
import { ManualClock } from '../../src/clock.js';
import { buildTestApp, signIn, uniqueEmail } from '../helpers/app.js';
import { isolatedRedisUrl } from '../helpers/isolated-app.js';
import { notificationRows, registered, registeredAs, registrationId } from '../helpers/registrations.js';
import { createSessionAt, flushRedisDb, localDateTime, minuteAfter, sessionAt } from '../reminders/support.js';

/**
 * Personal join links (GET /j/{joinToken}): a 302 to the meeting only for a confirmed registrant
 * inside the window [start - JOIN_WINDOW_MINUTES, end); otherwise an HTML page saying why, never
 * the meeting URL. Clicks are recorded, and the organizer's list filters attended / no-show.
 */

const REDIS_URL = isolatedRedisUrl(4);
await flushRedisDb(REDIS_URL);
const clock = new ManualClock(new Date());
const { app, database } = await buildTestApp(t, { clock, env: { REDIS_URL } });
const owner = await signIn(app);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const ZONE = 'America/Chicago';
const JOIN_URL = 'https://meet.example.org/room-a?pwd=s3cret-room-a';
const NEW_JOIN_URL = 'https://meet.example.org/room-b?pwd=s3cret-room-b';

async function tokenOf(sessionId: string, email: string): Promise<string> {
  return app.services.tokens.derive('join', await registrationId(database.pool, sessionId, email), 0);
}

function click(token: string): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'GET', url: `/j/${token}` });
}

async function joinTimes(sessionId: string, email: string): Promise<{ first: Date | null; last: Date | null }> {
  const { rows } = await database.pool.query<{ first_joined_at: Date | null; last_joined_at: Date | null }>(
    `SELECT r.first_joined_at, r.last_joined_at FROM registrations r JOIN attendees a ON a.id = r.attendee_id
     WHERE r.session_id = $1 AND a.email = $2 ORDER BY r.registered_at DESC LIMIT 1`,
    [sessionId, email],
  );
  return { first: rows[0]?.first_joined_at ?? null, last: rows[0]?.last_joined_at ?? null };
}

/** A refusal: this status, an HTML page, no Location, and no meeting URL anywhere. */
function expectRefused(t: Test, res: LightMyRequestResponse, status: number, says: RegExp, label: string): void {
  t.equal(res.statusCode, status, `${label}: ${status}`);
  t.match(String(res.headers['content-type']), /^text\/html; charset=utf-8/, `${label}: an HTML page`);
  t.equal(res.headers.location, undefined, `${label}: no Location`);
  t.match(res.body, says, `${label}: the page says why`);
  t.match(res.body, /^<!doctype html>/, `${label}: a whole page`);
  const everything = `${res.body}\n${JSON.stringify(res.headers)}`;
  t.notOk(everything.includes('meet.example.org'), `${label}: the meeting URL is not revealed`);
  t.notOk(everything.includes('s3cret'), `${label}: nor its password`);
  t.equal(res.headers['referrer-policy'], 'no-referrer', `${label}: Referrer-Policy no-referrer`);
}

function expectRedirect(t: Test, res: LightMyRequestResponse, url: string, label: string): void {
  t.equal(res.statusCode, 302, `${label}: 302`);
  t.equal(res.headers.location, url, `${label}: to the session's meeting URL`);
  t.equal(res.headers['referrer-policy'], 'no-referrer', `${label}: Referrer-Policy no-referrer`);
  t.match(String(res.headers['cache-control']), /no-store/, `${label}: not cached`);
}

async function cancelRegistration(sessionId: string, email: string): Promise<void> {
  const id = await registrationId(database.pool, sessionId, email);
  const res = await app.inject({ method: 'POST', url: `/api/v1/sessions/${sessionId}/registrations/${id}/cancel`, headers: owner.headers });
  if (res.statusCode !== 200) throw new Error(`cancel failed: ${res.statusCode} ${res.body}`);
}

async function listed(sessionId: string, query: string): Promise<string[]> {
  const res = await app.inject({ method: 'GET', url: `/api/v1/sessions/${sessionId}/registrations?${query}`, headers: owner.headers });
  if (res.statusCode !== 200) throw new Error(`list failed: ${res.statusCode} ${res.body}`);
  return res.json<{ items: Array<{ email: string }> }>().items.map((item) => item.email).sort();
}

t.test('the window, the clicks, a changed meeting URL, refusals and attendance', async (t) => {
  const t0 = clock.now();
  const start = minuteAfter(t0, 2 * 24 * HOUR);
  const end = new Date(start.getTime() + 90 * MINUTE);
  const session = await createSessionAt(app, owner.headers, sessionAt(start, { capacity: 3, joinUrl: JOIN_URL, timezone: ZONE }));
  const ana = uniqueEmail('ana');
  const bo = uniqueEmail('bo');
  const cal = uniqueEmail('cal');
  const wes = uniqueEmail('wes');
  const wyn = uniqueEmail('wyn');
  await registered(app, session.slug, { name: 'Ana Joins', email: ana });
  await registered(app, session.slug, { name: 'Bo Stays Away', email: bo });
  await registered(app, session.slug, { name: 'Cal Cancels', email: cal });
  t.equal(await registeredAs(app, database.pool, session, { name: 'Wes Waits', email: wes }), 'waitlisted');
  t.equal(await registeredAs(app, database.pool, session, { name: 'Wyn Waits', email: wyn }), 'waitlisted');
  await cancelRegistration(session.id, cal); // Wes takes Cal's seat; Wyn still waits
  const tokens = {
    ana: await tokenOf(session.id, ana),
    bo: await tokenOf(session.id, bo),
    cal: await tokenOf(session.id, cal),
    wes: await tokenOf(session.id, wes),
    wyn: await tokenOf(session.id, wyn),
  };

  // --- Before the window: the page names the opening time in the session's zone.
  const opens = new Date(start.getTime() - 15 * MINUTE);
  const early = await click(tokens.ana);
  expectRefused(t, early, 403, /opens at/, 'two days early');
  const opensText = localDateTime(opens, ZONE);
  t.ok(early.body.includes(opensText), `the page names the opening time in Chicago (${opensText})`);
  t.ok(early.body.includes(' in Chicago') && early.body.includes(`data-zone="${ZONE}"`), 'and the zone, as a place and for the script');
  t.notOk(early.body.includes(localDateTime(opens, 'UTC')), 'not the UTC time');
  clock.set(new Date(opens.getTime() - 1));
  expectRefused(t, await click(tokens.ana), 403, /opens at/, 'a millisecond before the window');
  t.same(await joinTimes(session.id, ana), { first: null, last: null }, 'a refused click records nothing');

  // --- Inside the window: redirect, and the click is recorded.
  clock.set(opens);
  expectRedirect(t, await click(tokens.ana), JOIN_URL, 'as the window opens');
  t.same(await joinTimes(session.id, ana), { first: opens, last: opens }, 'first and last join time recorded');
  clock.advance(20 * MINUTE);
  const second = clock.now();
  expectRedirect(t, await click(tokens.ana), JOIN_URL, 'a second click');
  t.same(await joinTimes(session.id, ana), { first: opens, last: second }, 'the first join stays, the last one moves');
  expectRedirect(t, await click(tokens.wes), JOIN_URL, 'Wes, promoted from the waitlist');

  // The organizer sees firstJoinedAt on the registration.
  const anaRow = (await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/registrations?q=${encodeURIComponent(ana)}`, headers: owner.headers })).json<{
    items: Array<{ email: string; firstJoinedAt: string | null; checkedInAt: string | null }>;
  }>().items[0];
  t.equal(anaRow?.firstJoinedAt, opens.toISOString(), 'the list shows firstJoinedAt');
  t.equal(anaRow?.checkedInAt, null);

  // --- A new meeting URL: the links follow it, and nobody is e-mailed about it.
  const updatesBefore = (await notificationRows(database.pool, session.id, 'session_updated')).length;
  const patched = await app.inject({ method: 'PATCH', url: `/api/v1/sessions/${session.id}`, headers: owner.headers, payload: { joinUrl: NEW_JOIN_URL } });
  t.equal(patched.statusCode, 200, patched.body);
  t.equal(patched.json().sequence, session.sequence, 'the invite sequence does not rise');
  t.equal((await notificationRows(database.pool, session.id, 'session_updated')).length, updatesBefore, 'no session_updated e-mail');
  clock.advance(MINUTE);
  expectRedirect(t, await click(tokens.ana), NEW_JOIN_URL, 'after the URL changed');

  // --- Refusals inside the window.
  expectRefused(t, await click(tokens.cal), 403, /cancelled/, 'a cancelled registration');
  expectRefused(t, await click(tokens.wyn), 403, /waitlist/, 'a waitlisted registration');
  for (const token of [tokens.cal, tokens.wyn]) t.ok(token.length === 32);

  // --- Unknown and garbage tokens.
  const unknown = app.services.tokens.derive('join', crypto.randomUUID(), 0);
  expectRefused(t, await click(unknown), 404, /not valid/, 'an unknown token');
  expectRefused(t, await click(app.services.tokens.derive('manage', await registrationId(database.pool, session.id, ana), 0)), 404, /not valid/, 'a manage token');
  expectRefused(t, await click(app.services.tokens.derive('join', await registrationId(database.pool, session.id, ana), 1)), 404, /not valid/, 'another token version');
  for (const garbage of ['x', 'not-a-token', `${tokens.ana}x`, tokens.ana.slice(0, 31), '%3Cscript%3E', "'%20OR%201=1--", 'A'.repeat(32)]) {
    expectRefused(t, await click(garbage), 404, /not valid/, `garbage ${JSON.stringify(garbage)}`);
  }
  // Past the router's 200-character parameter limit the answer is 414, before any look-up.
  const long = await click('a'.repeat(500));
  t.ok([404, 414].includes(long.statusCode), `a very long token: refused (${long.statusCode})`);
  t.equal(long.headers.location, undefined);
  t.notOk(long.body.includes('meet.example.org'));
  expectRefused(t, await click('a'.repeat(200)), 404, /not valid/, 'a 200-character token');

  // --- Attendance: Ana joined, Wes joined; Bo is checked in by the organizer; nobody else.
  const boId = await registrationId(database.pool, session.id, bo);
  const checkIn = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${boId}/check-in`, headers: owner.headers });
  t.equal(checkIn.statusCode, 200, checkIn.body);
  t.ok(checkIn.json().checkedInAt, 'checkedInAt set');
  t.same(await listed(session.id, 'attendance=attended'), [ana, bo, wes].sort(), 'attended: joined or checked in');
  t.same(await listed(session.id, 'attendance=no-show'), [], 'no confirmed no-show yet');
  const res = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/registrations?attendance=maybe`, headers: owner.headers });
  t.equal(res.statusCode, 400, 'an unknown attendance filter is 400');

  // --- The end: the link closes.
  clock.set(new Date(end.getTime() - 1));
  expectRedirect(t, await click(tokens.bo), NEW_JOIN_URL, 'a millisecond before the end');
  const boTimes = await joinTimes(session.id, bo);
  t.same(boTimes, { first: clock.now(), last: clock.now() }, 'Bo joined at the last moment');
  clock.set(end);
  expectRefused(t, await click(tokens.ana), 410, /ended/, 'at the end');
  t.same(await joinTimes(session.id, ana), { first: opens, last: new Date(second.getTime() + MINUTE) }, 'a refused click after the end records nothing');
});

t.test('attendance filters: attended and no-show', async (t) => {
  clock.set(new Date());
  const start = minuteAfter(clock.now(), 3 * HOUR);
  const session = await createSessionAt(app, owner.headers, sessionAt(start, { capacity: 3, joinUrl: JOIN_URL }));
  const emails = { joined: uniqueEmail('joined'), checked: uniqueEmail('checked'), absent: uniqueEmail('absent'), waiting: uniqueEmail('waiting'), gone: uniqueEmail('gone') };
  await registered(app, session.slug, { name: 'Joined', email: emails.joined });
  await registered(app, session.slug, { name: 'Checked In', email: emails.checked });
  await registered(app, session.slug, { name: 'Absent', email: emails.absent });
  await registered(app, session.slug, { name: 'Waiting', email: emails.waiting });
  await registered(app, session.slug, { name: 'Gone', email: emails.gone });
  await cancelRegistration(session.id, emails.gone); // left the waitlist

  clock.set(new Date(start.getTime() + 5 * MINUTE));
  expectRedirect(t, await click(await tokenOf(session.id, emails.joined)), JOIN_URL, 'joined');
  const checkedId = await registrationId(database.pool, session.id, emails.checked);
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${checkedId}/check-in`, headers: owner.headers })).statusCode, 200);
  const waitingId = await registrationId(database.pool, session.id, emails.waiting);
  t.equal(
    (await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${waitingId}/check-in`, headers: owner.headers })).statusCode,
    409,
    'a waitlisted registration cannot be checked in',
  );

  t.same(await listed(session.id, 'attendance=attended'), [emails.joined, emails.checked].sort(), 'attended');
  t.same(await listed(session.id, 'attendance=no-show'), [emails.absent], 'no-show: confirmed, neither joined nor checked in');
  t.same(await listed(session.id, 'status=confirmed&attendance=no-show'), [emails.absent]);
  t.same(await listed(session.id, ''), Object.values(emails).sort(), 'no filter: everybody');
});

t.test('a cancelled session, a session without a meeting URL', async (t) => {
  clock.set(new Date());
  const start = minuteAfter(clock.now(), 2 * HOUR);
  const session = await createSessionAt(app, owner.headers, sessionAt(start, { joinUrl: JOIN_URL }));
  const ana = uniqueEmail('ana');
  await registered(app, session.slug, { name: 'Ana', email: ana });
  const token = await tokenOf(session.id, ana);
  const cancelled = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/cancel`, headers: owner.headers, payload: { reason: 'speaker ill' } });
  t.equal(cancelled.statusCode, 200, cancelled.body);
  clock.set(new Date(start.getTime() + MINUTE));
  expectRefused(t, await click(token), 410, /cancelled/, 'a cancelled session, inside its window');
  clock.set(new Date(start.getTime() - 2 * HOUR));
  expectRefused(t, await click(token), 410, /cancelled/, 'a cancelled session, before its window');

  clock.set(new Date());
  const bare = await createSessionAt(app, owner.headers, sessionAt(start, { joinUrl: null }));
  const bo = uniqueEmail('bo');
  await registered(app, bare.slug, { name: 'Bo', email: bo });
  clock.set(new Date(start.getTime() - 5 * MINUTE));
  const noUrl = await click(await tokenOf(bare.id, bo));
  t.equal(noUrl.statusCode, 409, 'no meeting URL yet: 409');
  t.match(noUrl.body, /meeting link/);
  t.same(await joinTimes(bare.id, bo), { first: null, last: null }, 'not recorded as a join');

  const window = await buildTestApp(t, { clock, env: { REDIS_URL, JOIN_WINDOW_MINUTES: '60' } });
  const ok = await window.app.inject({ method: 'GET', url: `/j/${await tokenOf(bare.id, bo)}` });
  t.equal(ok.statusCode, 409, 'JOIN_WINDOW_MINUTES=60: open (but still no URL)');
  clock.set(new Date(start.getTime() - 45 * MINUTE));
  const widened = await createSessionAt(window.app, owner.headers, sessionAt(start, { joinUrl: JOIN_URL }));
  const cy = uniqueEmail('cy');
  await registered(window.app, widened.slug, { name: 'Cy', email: cy });
  const cyToken = app.services.tokens.derive('join', await registrationId(database.pool, widened.id, cy), 0);
  expectRedirect(t, await window.app.inject({ method: 'GET', url: `/j/${cyToken}` }), JOIN_URL, 'a 60-minute window, 45 minutes early');
  expectRefused(t, await click(cyToken), 403, /opens at/, 'the default 15-minute window, 45 minutes early');
});
