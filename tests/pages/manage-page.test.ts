import t from 'tap';
import { buildTestApp, manualClock, signIn, uniqueEmail } from '../helpers/app.js';
import { createSession, registered, registrationId, type SessionJson } from '../helpers/registrations.js';
import { emptySessions, expectPage, ownDatabaseUrl } from './support.js';

/**
 * The manage page (/m/{token}), issue #18: how to join with the labelled passcode and the join
 * button inside the window (the opening time, local-first markup, before it); add to calendar as
 * buttons; the notice of a changed session with its old and new time; a cancelled session's
 * reason; a cancelled registration without the "anyone with the link" warning; a finished
 * session's follow-up.
 */

const MINUTE = 60_000;
const clock = manualClock();
const { app, database } = await buildTestApp(t, { clock, env: { DATABASE_URL: ownDatabaseUrl('manage') } });
const { pool } = database;
await emptySessions(pool);
const owner = await signIn(app);

const page = (url: string) => app.inject({ method: 'GET', url });
const JOIN_URL = 'https://us02web.zoom.us/j/8123456789?pwd=s3cret';

async function tokensOf(session: SessionJson, email: string): Promise<{ manage: string; join: string }> {
  const id = await registrationId(pool, session.id, email);
  return { manage: app.services.tokens.derive('manage', id, 0), join: app.services.tokens.derive('join', id, 0) };
}

async function registeredPerson(session: SessionJson, name: string): Promise<{ email: string; manage: string; join: string }> {
  const email = uniqueEmail(name.toLowerCase());
  await registered(app, session.slug, { name, email });
  return { email, ...(await tokensOf(session, email)) };
}

/** The page's text without tags, spaces collapsed: what a reader sees before the script runs. */
const textOf = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&#39;/g, "'")
    .replace(/\s+/g, ' ');

t.test('how to join: the labelled passcode, the opening time before the window, the button inside it', async (t) => {
  clock.set(new Date());
  const session = await createSession(app, owner.headers, { joinUrl: JOIN_URL, joinInstructions: 'Passcode: 4321' });
  const ana = await registeredPerson(session, 'Ana');

  const before = expectPage(t, await page(`/m/${ana.manage}`), 200, 'manage, days before', { token: true });
  const text = textOf(before);
  t.match(before, `<p class="when" data-starts="${session.startsAt}" data-ends="${session.endsAt}" data-zone="America/Chicago"><strong class="when-primary">`, 'the time, local-first markup');
  t.match(before, '<span class="when-secondary"></span>', 'a slot for the organizer\'s time');
  t.match(text, / (CST|CDT) in Chicago /, 'the server text names the short zone and the place');
  t.match(before, '<h2 id="how-to-join-title">How to join</h2>');
  t.match(text, 'Online on Zoom');
  t.match(text, 'Passcode: 4321', 'the passcode, labelled');
  const opens = new Date(Date.parse(session.startsAt) - 15 * MINUTE).toISOString();
  t.match(before, `opens the meeting from <time class="local-instant" datetime="${opens}" data-zone="America/Chicago">`, 'when the personal link opens, as a local instant');
  t.match(text, '15 minutes before the start');
  t.match(text, "This link is yours: please don't forward it.");
  t.notMatch(before, 'Join the session now', 'no join button before the window');
  t.notMatch(before, 's3cret', 'never the meeting URL');
  t.notMatch(before, 'zoom.us', 'never the meeting URL');
  t.match(before, 'class="calendar-buttons"', 'add to calendar as buttons');
  t.match(before, `href="/api/v1/registrations/${ana.manage}/invite.ics"`, 'the personal invite');
  t.match(before, /href="webcal:\/\/[^"]+\/feeds\/attendees\/[A-Za-z0-9_-]+\.ics"/, 'the own feed under More');
  t.match(text, 'anyone with it can cancel your registration', 'the warning, while there is something to cancel');

  clock.set(new Date(Date.parse(session.startsAt) - 10 * MINUTE));
  const inside = expectPage(t, await page(`/m/${ana.manage}`), 200, 'manage, inside the window', { token: true });
  t.match(inside, `<a class="button join" href="/j/${ana.join}">Join the session now</a>`, 'the join button');
  t.match(textOf(inside), 'Passcode: 4321', 'the passcode beside it');
  t.notMatch(inside, 'opens the meeting from', 'no opening time once open');
  clock.set(new Date());
});

t.test('instructions that are more than a passcode: an Instructions block', async (t) => {
  const session = await createSession(app, owner.headers, { joinUrl: 'https://meet.example.org/x', joinInstructions: 'Dial in: +1 555 0100\nPIN 998877#' });
  const bo = await registeredPerson(session, 'Bo');
  const body = expectPage(t, await page(`/m/${bo.manage}`), 200, 'manage', { token: true });
  t.match(body, '<h3>Instructions</h3>');
  t.match(textOf(body), 'Dial in: +1 555 0100');
  t.match(textOf(body), 'Online', 'online, no known platform');
  t.notMatch(body, 'Online on', 'no platform named');
  t.notMatch(body, 'Passcode:', 'no passcode line');
});

t.test('a moved session: the notice gives the old and the new time, and the old title', async (t) => {
  const session = await createSession(app, owner.headers, { joinUrl: JOIN_URL });
  const cy = await registeredPerson(session, 'Cy');
  const unchanged = expectPage(t, await page(`/m/${cy.manage}`), 200, 'manage, before a change', { token: true });
  t.notMatch(unchanged, 'This session has changed', 'no notice before any change');

  const startsAt = new Date(Date.parse(session.startsAt) + 25 * 60 * MINUTE);
  const endsAt = new Date(startsAt.getTime() + 90 * MINUTE);
  const patched = await app.inject({
    method: 'PATCH',
    url: `/api/v1/sessions/${session.id}`,
    headers: owner.headers,
    payload: { startsAt: startsAt.toISOString(), endsAt: endsAt.toISOString(), title: `${session.title} (moved)` },
  });
  t.equal(patched.statusCode, 200, patched.body);
  const id = await registrationId(pool, session.id, cy.email);
  const { rows } = await pool.query<{ id: string }>(`SELECT id FROM notifications WHERE registration_id = $1 AND kind = 'session_updated'`, [id]);
  t.equal(rows.length, 1, 'the update e-mail is in the outbox');

  const afterUpdate = expectPage(t, await page(`/m/${cy.manage}`), 200, 'manage, after the update', { token: true });
  t.match(afterUpdate, 'This session has changed');
  t.match(textOf(afterUpdate), /Updated on [A-Z][a-z]+day, /, 'when it changed');

  // The update row's `previous` (what the session was before), as the update e-mail records it.
  await pool.query(`UPDATE notifications SET payload = payload || jsonb_build_object('previous', $2::jsonb) WHERE id = $1`, [
    rows[0]!.id,
    JSON.stringify({ title: session.title, startsAt: session.startsAt, endsAt: session.endsAt, timezone: session.timezone }),
  ]);
  const moved = expectPage(t, await page(`/m/${cy.manage}`), 200, 'manage, moved', { token: true });
  const text = textOf(moved);
  t.match(text, 'This session moved: was');
  t.match(moved, `was <span class="local-range" data-starts="${session.startsAt}" data-ends="${session.endsAt}" data-zone="America/Chicago">`, 'the old time, local-first markup');
  t.match(moved, `now <span class="local-range" data-starts="${startsAt.toISOString()}" data-ends="${endsAt.toISOString()}" data-zone="America/Chicago">`, 'the new time');
  t.match(text, `Its title was “${session.title}”; it is now “${session.title} (moved)”.`, 'the title change');

  // A change that neither moves nor renames it says only when.
  await pool.query(`UPDATE notifications SET payload = payload || jsonb_build_object('previous', $2::jsonb) WHERE id = $1`, [
    rows[0]!.id,
    JSON.stringify({ title: `${session.title} (moved)`, startsAt: startsAt.toISOString(), endsAt: endsAt.toISOString(), timezone: session.timezone }),
  ]);
  const same = textOf(expectPage(t, await page(`/m/${cy.manage}`), 200, 'manage, details changed', { token: true }));
  t.match(same, 'This session has changed');
  t.notMatch(same, 'This session moved');
  t.notMatch(same, 'Its title was');
});

t.test('a cancelled registration: nothing to cancel, no warning, a way to register again', async (t) => {
  const session = await createSession(app, owner.headers, { joinUrl: JOIN_URL, joinInstructions: 'Passcode: 4321' });
  const di = await registeredPerson(session, 'Di');
  const cancelled = await app.inject({ method: 'POST', url: `/m/${di.manage}/cancel` });
  t.equal(cancelled.statusCode, 303);
  const body = expectPage(t, await page(`/m/${di.manage}`), 200, 'manage, cancelled registration', { token: true });
  t.match(body, '<h2>Your registration is cancelled</h2>');
  t.notMatch(body, /anyone with it can cancel/, 'no warning about cancelling');
  t.notMatch(body, /Cancel my registration|Leave the waitlist|\/cancel"/, 'nothing cancellable');
  t.notMatch(body, /How to join|Passcode|\/j\//, 'no join block');
  t.match(body, `<a class="button" href="/s/${session.slug}">Register again</a>`, 'register again');
});

t.test('a cancelled session: the reason; a finished session: the follow-up', async (t) => {
  const session = await createSession(app, owner.headers, { joinUrl: JOIN_URL, joinInstructions: 'Passcode: 4321' });
  const ed = await registeredPerson(session, 'Ed');
  const res = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/cancel`, headers: owner.headers, payload: { reason: 'The speaker is ill' } });
  t.equal(res.statusCode, 200, res.body);
  const body = expectPage(t, await page(`/m/${ed.manage}`), 200, 'manage, cancelled session', { token: true });
  t.match(body, '<h2>This session has been cancelled</h2>');
  t.match(textOf(body), 'The organisers’ reason: The speaker is ill');
  t.notMatch(body, /anyone with it can cancel|Passcode|Join the session/, 'nothing to cancel or join');

  const done = await createSession(app, owner.headers, { joinUrl: JOIN_URL });
  const fay = await registeredPerson(done, 'Fay');
  await pool.query(`UPDATE sessions SET follow_up = $2::jsonb, follow_up_sent_at = now() WHERE id = $1`, [
    done.id,
    JSON.stringify({ message: 'Thanks for coming! Slides are attached.', recordingUrl: 'https://video.example.org/rec/1' }),
  ]);
  clock.set(new Date(Date.parse(done.endsAt) + MINUTE));
  const finished = expectPage(t, await page(`/m/${fay.manage}`), 200, 'manage, finished session', { token: true });
  t.match(finished, '<h2>This session has ended</h2>');
  t.match(finished, 'Thank you for taking part.');
  t.match(finished, 'Thanks for coming! Slides are attached.', 'the follow-up message');
  t.match(finished, '<a class="button" href="https://video.example.org/rec/1" rel="noopener noreferrer">Watch the recording</a>');
  t.notMatch(finished, /How to join|anyone with it can cancel/, 'nothing to join or cancel');
  clock.set(new Date());
});
