import t from 'tap';
import { ManualClock } from '../../src/clock.js';
import { uniqueEmail } from '../helpers/app.js';
import { errorPaths, expectProblem } from '../helpers/http.js';
import { isolatedRedisUrl, startMailTest } from '../helpers/isolated-app.js';
import { checkMail } from '../helpers/mail-checks.js';
import { notificationRows, registered, registeredAs, registrationId } from '../helpers/registrations.js';
import type { ReceivedMail } from '../helpers/smtp-sink.js';
import { sleep, waitFor } from '../helpers/waiting.js';
import { createSessionAt, flushRedisDb, minuteAfter, sessionAt } from './support.js';

/**
 * The follow-up after a session: one e-mail to each confirmed person who attended (joined by
 * the personal link or checked in), another to each confirmed no-show, sent once. The real
 * worker delivers to the in-process SMTP sink; a ManualClock moves past the session's end.
 */

const REDIS_URL = isolatedRedisUrl(5);
await flushRedisDb(REDIS_URL);
const clock = new ManualClock(new Date());
const ctx = await startMailTest(t, { name: 'reminders_follow_up', redisDb: 5, clock });
const { app, database, sink, owner } = ctx;
const contact = { name: 'Follow-up Desk', email: 'follow-up-desk@org.example' };
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const RECORDING = 'https://video.example.org/recordings/dec-4';

function followUpsTo(email: string): ReceivedMail[] {
  return sink.to(email).filter((mail) => String(mail.parsed.headers.get('x-convene-notification')).startsWith('follow_up'));
}

function patch(id: string, payload: Record<string, unknown>) {
  return app.inject({ method: 'PATCH', url: `/api/v1/sessions/${id}`, headers: owner.headers, payload });
}

function trigger(id: string) {
  return app.inject({ method: 'POST', url: `/api/v1/sessions/${id}/follow-up`, headers: owner.headers });
}

t.test('attended and no-show e-mails go to the right people, once', async (t) => {
  const start = minuteAfter(clock.now(), 24 * HOUR);
  const end = new Date(start.getTime() + HOUR);
  const session = await createSessionAt(
    app,
    owner.headers,
    sessionAt(start, { capacity: 3, contact, joinUrl: 'https://meet.example.org/follow-up-room' }, 60),
  );
  const people = { ana: uniqueEmail('ana'), bo: uniqueEmail('bo'), cy: uniqueEmail('cy'), wyn: uniqueEmail('wyn'), cal: uniqueEmail('cal') };
  await registered(app, session.slug, { name: 'Ana Joined', email: people.ana });
  await registered(app, session.slug, { name: 'Bo Checked In', email: people.bo });
  await registered(app, session.slug, { name: 'Cy Absent', email: people.cy });
  t.equal(await registeredAs(app, database.pool, session, { name: 'Wyn Waiting', email: people.wyn }), 'waitlisted');
  t.equal(await registeredAs(app, database.pool, session, { name: 'Cal Cancelled', email: people.cal }), 'waitlisted');
  const calId = await registrationId(database.pool, session.id, people.cal);
  const calCancel = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${calId}/cancel`, headers: owner.headers });
  t.equal(calCancel.statusCode, 200, calCancel.body);

  // No follow-up before the session ends, with or without the message.
  expectProblem(t, await trigger(session.id), 409, 'not ended, no followUp');
  const early = await patch(session.id, { followUp: { message: 'Slides are attached to the page.' } });
  t.equal(early.statusCode, 200, early.body);
  t.same(early.json().followUp, { message: 'Slides are attached to the page.', recordingUrl: null });
  expectProblem(t, await trigger(session.id), 409, 'not ended yet');

  // During the session: Ana joins by her link, Bo is checked in, Cy never shows up.
  clock.set(new Date(start.getTime() + 5 * MINUTE));
  const anaId = await registrationId(database.pool, session.id, people.ana);
  const joined = await app.inject({ method: 'GET', url: `/j/${app.services.tokens.derive('join', anaId, 0)}` });
  t.equal(joined.statusCode, 302);
  const boId = await registrationId(database.pool, session.id, people.bo);
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${boId}/check-in`, headers: owner.headers })).statusCode, 200);

  // After the end: the organizer sets the message and the recording.
  clock.set(new Date(end.getTime() + 10 * MINUTE));
  const insecure = await patch(session.id, { followUp: { message: 'Thanks', recordingUrl: 'http://video.example.org/recordings/dec-4' } });
  const problem = expectProblem(t, insecure, 400, 'http recording');
  t.same(errorPaths(problem), ['/followUp/recordingUrl'], 'the recording URL must be https');
  const message = 'Thank you all. The slides & notes are on the session page.';
  const set = await patch(session.id, { followUp: { message, recordingUrl: RECORDING } });
  t.equal(set.statusCode, 200, set.body);
  t.same(set.json().followUp, { message, recordingUrl: RECORDING });
  t.equal(set.json().status, 'finished');
  t.equal(set.json().followUpSentAt, null);

  const sent = await trigger(session.id);
  t.equal(sent.statusCode, 202, sent.body);
  t.same(sent.json(), { attended: 2, noShows: 1 }, 'two attended, one no-show');
  const after = (await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}`, headers: owner.headers })).json();
  t.equal(after.followUpSentAt, clock.now().toISOString(), 'followUpSentAt recorded');

  // The rows and the e-mails.
  const kinds = new Map((await notificationRows(database.pool, session.id)).filter((row) => row.kind.startsWith('follow_up')).map((row) => [row.registration_id, row.kind]));
  t.equal(kinds.size, 3, 'three follow-up rows');
  t.equal(kinds.get(anaId), 'follow_up_attended', 'Ana (joined): attended');
  t.equal(kinds.get(boId), 'follow_up_attended', 'Bo (checked in): attended');
  t.equal(kinds.get(await registrationId(database.pool, session.id, people.cy)), 'follow_up_no_show', 'Cy: no-show');

  await waitFor(() => [people.ana, people.bo, people.cy].every((email) => followUpsTo(email).length >= 1), 20_000, 'the follow-ups');
  for (const [email, label] of [
    [people.ana, 'Ana'],
    [people.bo, 'Bo'],
  ] as const) {
    const mail = followUpsTo(email)[0]!;
    checkMail(t, mail, { to: email, contact, invite: null }, `attended (${label})`);
    t.equal(mail.parsed.headers.get('x-convene-notification'), 'follow_up_attended');
    t.equal(mail.parsed.subject, `Thank you: ${session.title}`, `${label}: the thank-you subject`);
    t.match(mail.text, /Thank you for joining/);
    t.ok(mail.text.includes(message), `${label}: the organizer's message`);
    t.ok(mail.text.includes(RECORDING), `${label}: the recording link`);
    t.ok(mail.html.includes('slides &amp; notes'), `${label}: the message is escaped in HTML`);
  }
  const missed = followUpsTo(people.cy)[0]!;
  checkMail(t, missed, { to: people.cy, contact, invite: null }, 'no-show');
  t.equal(missed.parsed.headers.get('x-convene-notification'), 'follow_up_no_show');
  t.equal(missed.parsed.subject, `Sorry we missed you: ${session.title}`);
  t.match(missed.text, /We missed you/);
  t.ok(missed.text.includes(message));
  t.ok(missed.text.includes(RECORDING), 'the no-show gets the recording too');

  // Once: a second trigger is 409 and writes nothing.
  expectProblem(t, await trigger(session.id), 409, 'second trigger');
  await sleep(1_500);
  for (const email of [people.ana, people.bo, people.cy]) t.equal(followUpsTo(email).length, 1, `exactly one follow-up to ${email}`);
  for (const email of [people.wyn, people.cal]) t.equal(followUpsTo(email).length, 0, `no follow-up to ${email}`);
  t.equal((await notificationRows(database.pool, session.id)).filter((row) => row.kind.startsWith('follow_up')).length, 3, 'still three rows');

  // Sent: its text no longer changes (rows still queued would carry the new one); other fields do.
  expectProblem(t, await patch(session.id, { followUp: { message: 'A different text', recordingUrl: RECORDING } }), 409, 'a new text after the send');
  expectProblem(t, await patch(session.id, { followUp: null }), 409, 'removing it after the send');
  t.equal((await patch(session.id, { followUp: { message, recordingUrl: RECORDING } })).statusCode, 200, 'the same text again is no change');
  t.equal((await patch(session.id, { summary: 'Recording online' })).statusCode, 200, 'other fields still change');
});

t.test('without followUp, or on a cancelled session: 409; unknown session: 404', async (t) => {
  clock.set(new Date());
  const start = minuteAfter(clock.now(), 2 * HOUR);
  const bare = await createSessionAt(app, owner.headers, sessionAt(start, { contact }, 30));
  await registered(app, bare.slug, { name: 'Someone', email: uniqueEmail('someone') });
  const gone = await createSessionAt(app, owner.headers, sessionAt(start, { contact, followUp: { message: 'Never sent' } }, 30));
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/sessions/${gone.id}/cancel`, headers: owner.headers, payload: {} })).statusCode, 200);
  clock.set(new Date(start.getTime() + HOUR));
  const problem = expectProblem(t, await trigger(bare.id), 409, 'no followUp');
  t.match(problem.detail, /followUp/);
  expectProblem(t, await trigger(gone.id), 409, 'cancelled session');
  expectProblem(t, await trigger(crypto.randomUUID()), 404, 'unknown session');
  t.equal((await notificationRows(database.pool, bare.id)).filter((row) => row.kind.startsWith('follow_up')).length, 0, 'nothing written');
});
