import t from 'tap';
import { uniqueEmail } from '../helpers/app.js';
import { checkInvite } from '../helpers/ics.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { checkMail, manageTokenOf } from '../helpers/mail-checks.js';
import { notificationsOf, sessionRow } from '../helpers/notification-rows.js';
import { createSession, registered, registeredAs } from '../helpers/registrations.js';
import { sleep, waitFor } from '../helpers/waiting.js';

/**
 * The life of a session's invites, end to end: the API writes the outbox, the relay hands it to
 * BullMQ, the worker renders and sends over real SMTP, and what arrives is read back with
 * mailparser and ical.js. Confirmation, reschedule, cancellation by the attendee (with a
 * promotion), cancellation of the session, the waitlist, the invite download and the
 * organizer's delivery log.
 */

const ctx = await startMailTest(t, { name: 'lifecycle', redisDb: 11 });
const { app, database, sink, owner } = ctx;
const contact = { name: 'Events Team', email: 'events-team@org.example' };

/** The next second Sunday of March (US daylight-saving start) at least a week ahead, 14:00 UTC. */
function nextDstStart(): Date {
  const now = new Date();
  for (let year = now.getUTCFullYear(); ; year += 1) {
    const march1 = new Date(Date.UTC(year, 2, 1, 14));
    const firstSunday = 1 + ((7 - march1.getUTCDay()) % 7);
    const candidate = new Date(Date.UTC(year, 2, firstSunday + 7, 14));
    if (candidate.getTime() > now.getTime() + 7 * 86_400_000) return candidate;
  }
}

function localTime(at: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-US', { timeZone, hour: 'numeric', minute: '2-digit' }).format(at).replace(/\u202f/g, ' ');
}

t.test('confirmation, reschedule, cancellations, waitlist, invite download, delivery log', async (t) => {
  const session = await createSession(app, owner.headers, { capacity: 2, contact, joinUrl: 'https://meet.example.org/room-1' });
  const s0 = await sessionRow(database, session.id);
  const ana = uniqueEmail('ana');
  const bo = uniqueEmail('bo');
  const wes = uniqueEmail('wes');
  const wyn = uniqueEmail('wyn');

  // --- Confirmation
  await registered(app, session.slug, { name: 'Ana Lifecycle', email: ana });
  const [confirmation] = await sink.waitForMail(ana, 1);
  const confirmed = checkMail(t, confirmation!, { to: ana, contact, invite: 'REQUEST' }, 'confirmation')!;
  t.match(confirmation!.parsed.subject, /^You're registered: /);
  t.equal(confirmation!.parsed.headers.get('x-convene-notification'), 'confirmation');
  t.equal(confirmed.start.getTime(), s0.starts_at.getTime(), 'DTSTART is the instant in the database');
  t.equal(confirmed.end.getTime(), s0.ends_at.getTime(), 'DTEND is the instant in the database');
  t.equal(confirmed.sequence, s0.sequence, 'SEQUENCE starts at the session sequence');
  t.match(confirmed.uid, new RegExp(`^session-${session.id}-attendee-[0-9a-f-]{36}@convene\\.test$`), 'UID per (session, attendee)');
  t.equal(confirmed.summary, session.title);
  t.equal(confirmed.attendees[0]!.cn, 'Ana Lifecycle');
  t.equal(confirmed.attendees[0]!.partstat, 'ACCEPTED');
  t.equal(confirmed.location, confirmed.url, 'LOCATION is the join link too');
  t.ok(Math.abs(confirmed.stamp.getTime() - Date.now()) < 60_000, 'DTSTAMP is the time the message was made');
  t.ok(confirmation!.text.includes(confirmed.url!), 'the text holds the same personal join link');
  t.notMatch(confirmation!.raw.toString('latin1'), /meet\.example\.org/, 'the meeting URL itself is never sent');

  // The download behind the manage page: the same invite, byte rules and all.
  const token = manageTokenOf(confirmation!);
  const download = await app.inject({ method: 'GET', url: `/api/v1/registrations/${token}/invite.ics` });
  t.equal(download.statusCode, 200);
  t.equal(download.headers['content-type'], 'text/calendar; charset=utf-8; method=REQUEST');
  const downloaded = checkInvite(t, download.rawPayload, 'invite.ics');
  t.equal(downloaded.method, 'REQUEST');
  t.equal(downloaded.uid, confirmed.uid, 'the download has the UID of the e-mail');
  t.equal(downloaded.sequence, confirmed.sequence);

  // --- Reschedule onto the day clocks change in Chicago
  const newStart = nextDstStart();
  const patched = await app.inject({
    method: 'PATCH',
    url: `/api/v1/sessions/${session.id}`,
    headers: owner.headers,
    payload: { startsAt: newStart.toISOString(), endsAt: new Date(newStart.getTime() + 3_600_000).toISOString() },
  });
  t.equal(patched.statusCode, 200, patched.body);
  const s1 = await sessionRow(database, session.id);
  t.ok(s1.sequence > s0.sequence, 'the reschedule raised the session sequence');
  const [, update] = await sink.waitForMail(ana, 2);
  const updated = checkMail(t, update!, { to: ana, contact, invite: 'REQUEST' }, 'session updated')!;
  t.equal(update!.parsed.headers.get('x-convene-notification'), 'session_updated');
  t.match(update!.parsed.subject, /^(Moved to \w+day, \w+ \d+|New time, [^:]+): /, 'the subject says what moved');
  t.match(update!.text, /^Was: [\s\S]*^Now: /m, 'the old and the new time');
  t.equal(updated.uid, confirmed.uid, 'the update keeps the UID');
  t.ok(updated.sequence > confirmed.sequence, 'the update has a higher SEQUENCE');
  t.equal(updated.sequence, s1.sequence);
  t.equal(updated.start.getTime(), s1.starts_at.getTime(), 'the new DTSTART is the instant in the database');
  t.equal(updated.start.getTime(), newStart.getTime());
  t.ok(update!.text.includes(localTime(newStart, 'America/Chicago')), `the text names the local time (${localTime(newStart, 'America/Chicago')})`);
  const afterUpdate = await app.inject({ method: 'GET', url: `/api/v1/registrations/${token}/invite.ics` });
  const afterUpdateFacts = checkInvite(t, afterUpdate.rawPayload, 'invite.ics after the update');
  t.equal(afterUpdateFacts.sequence, updated.sequence, 'the download follows the update');
  t.equal(afterUpdateFacts.start.getTime(), newStart.getTime());

  // --- Bo takes the second seat; Wes and Wyn wait
  await registered(app, session.slug, { name: 'Bo Lifecycle', email: bo });
  t.equal(await registeredAs(app, database.pool, session, { name: 'Wes Waiting', email: wes }), 'waitlisted');
  t.equal(await registeredAs(app, database.pool, session, { name: 'Wyn Waiting', email: wyn }), 'waitlisted');
  const [boConfirmation] = await sink.waitForMail(bo, 1);
  const boConfirmed = checkMail(t, boConfirmation!, { to: bo, contact, invite: 'REQUEST' }, 'second confirmation')!;
  t.equal(boConfirmed.sequence, s1.sequence, 'a confirmation after the change carries the current sequence');
  t.not(boConfirmed.uid, confirmed.uid, 'another attendee, another UID');
  const [wesWaiting] = await sink.waitForMail(wes, 1);
  checkMail(t, wesWaiting!, { to: wes, contact, invite: null }, 'waitlisted');
  t.match(wesWaiting!.parsed.subject, /^You're on the waitlist: /);
  t.match(wesWaiting!.text, /place 1\b/);
  const [wynWaiting] = await sink.waitForMail(wyn, 1);
  checkMail(t, wynWaiting!, { to: wyn, contact, invite: null }, 'second waitlisted');
  t.match(wynWaiting!.text, /place 2\b/);
  const waitingDownload = await app.inject({ method: 'GET', url: `/api/v1/registrations/${manageTokenOf(wynWaiting!)}/invite.ics` });
  t.equal(waitingDownload.statusCode, 409, 'no invite to download while waiting');

  // --- Ana cancels with the link from her e-mail: CANCEL for her, a seat (and an invite) for Wes
  const cancelled = await app.inject({ method: 'POST', url: `/api/v1/registrations/${token}/cancel` });
  t.equal(cancelled.statusCode, 200);
  t.equal(cancelled.json().registration.status, 'cancelled');
  const [, , anaCancel] = await sink.waitForMail(ana, 3);
  const anaCancelled = checkMail(t, anaCancel!, { to: ana, contact, invite: 'CANCEL' }, 'registration cancelled')!;
  t.match(anaCancel!.parsed.subject, /^Registration cancelled: /);
  t.equal(anaCancelled.uid, confirmed.uid, 'the CANCEL has the UID of the invite');
  t.ok(anaCancelled.sequence > updated.sequence, 'the CANCEL has a higher SEQUENCE than anything before');
  t.equal(anaCancelled.status, 'CANCELLED');
  const cancelDownload = await app.inject({ method: 'GET', url: `/api/v1/registrations/${token}/invite.ics` });
  t.equal(cancelDownload.headers['content-type'], 'text/calendar; charset=utf-8; method=CANCEL');
  const cancelDownloaded = checkInvite(t, cancelDownload.rawPayload, 'invite.ics after cancelling');
  t.equal(cancelDownloaded.method, 'CANCEL');
  t.equal(cancelDownloaded.sequence, anaCancelled.sequence);

  const [, wesPromotion] = await sink.waitForMail(wes, 2);
  const wesPromoted = checkMail(t, wesPromotion!, { to: wes, contact, invite: 'REQUEST' }, 'promoted')!;
  t.match(wesPromotion!.parsed.subject, /^A seat opened up/);
  t.equal(wesPromoted.start.getTime(), newStart.getTime());

  // --- The session is cancelled: CANCEL for the confirmed, a plain notice for the waiting
  const cancelSession = await app.inject({
    method: 'POST',
    url: `/api/v1/sessions/${session.id}/cancel`,
    headers: owner.headers,
    payload: { reason: 'The speaker is ill' },
  });
  t.equal(cancelSession.statusCode, 200, cancelSession.body);
  const s2 = await sessionRow(database, session.id);
  t.ok(s2.sequence > s1.sequence, 'cancelling the session raised its sequence');
  const [, boCancel] = await sink.waitForMail(bo, 2);
  const boCancelled = checkMail(t, boCancel!, { to: bo, contact, invite: 'CANCEL' }, 'session cancelled')!;
  t.match(boCancel!.parsed.subject, /^Cancelled: /);
  t.match(boCancel!.text, /The speaker is ill/);
  t.equal(boCancelled.status, 'CANCELLED');
  t.equal(boCancelled.uid, boConfirmed.uid);
  t.ok(boCancelled.sequence > boConfirmed.sequence);
  const [, , wesCancel] = await sink.waitForMail(wes, 3);
  const wesCancelled = checkMail(t, wesCancel!, { to: wes, contact, invite: 'CANCEL' }, 'session cancelled (promoted)')!;
  t.equal(wesCancelled.uid, wesPromoted.uid);
  t.ok(wesCancelled.sequence > wesPromoted.sequence);
  const [, wynCancel] = await sink.waitForMail(wyn, 2);
  checkMail(t, wynCancel!, { to: wyn, contact, invite: null }, 'session cancelled (waiting)');
  t.match(wynCancel!.parsed.subject, /^Cancelled: /);

  // --- The delivery log: every row sent, once, under its own Message-ID
  const log = await waitFor(async () => {
    const res = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/notifications`, headers: owner.headers });
    const items = res.json().items as Array<Record<string, any>>;
    return items.length > 0 && items.every((item) => item.status === 'sent') ? items : null;
  }, 10_000, 'every notification sent');
  await sleep(1_000); // a few sweeps: nothing more arrives
  const expected: Record<string, number> = { [ana]: 3, [bo]: 2, [wes]: 3, [wyn]: 2 };
  for (const [email, count] of Object.entries(expected)) {
    t.equal(sink.to(email).length, count, `${email.split('-')[0]} got ${count} e-mails, each once`);
    const rows = await notificationsOf(database, session.id, email);
    t.equal(rows.length, count, 'one row per e-mail');
  }
  t.equal(log.length, 10, 'the log lists the ten notifications');
  const received = new Set(sink.messages.map((m) => m.messageId));
  for (const item of log) {
    t.equal(item.messageId, `<notification-${item.id}@mail.convene.test>`, `${item.kind}: Message-ID recorded`);
    t.ok(received.has(item.messageId), `${item.kind}: the e-mail with this Message-ID arrived`);
    t.equal(item.attempts, 1);
    t.equal(item.lastError, null);
    t.type(item.sentAt, 'string');
  }
  const sent = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/notifications?status=sent`, headers: owner.headers });
  t.equal(sent.json().items.length, 10);
  const failed = await app.inject({ method: 'GET', url: `/api/v1/sessions/${session.id}/notifications?status=failed`, headers: owner.headers });
  t.same(failed.json().items, []);
});

t.test('registering again after cancelling: the same UID, a SEQUENCE above the CANCEL', async (t) => {
  const session = await createSession(app, owner.headers, { contact });
  const ana = uniqueEmail('ana-again');
  await registered(app, session.slug, { name: 'Ana Again', email: ana });
  const [first] = await sink.waitForMail(ana, 1);
  const invited = checkMail(t, first!, { to: ana, contact, invite: 'REQUEST' }, 'first confirmation')!;
  const cancelled = await app.inject({ method: 'POST', url: `/api/v1/registrations/${manageTokenOf(first!)}/cancel` });
  t.equal(cancelled.statusCode, 200);
  const [, cancel] = await sink.waitForMail(ana, 2);
  const withdrawn = checkMail(t, cancel!, { to: ana, contact, invite: 'CANCEL' }, 'cancellation')!;
  t.equal(withdrawn.sequence, invited.sequence + 1);

  // The delivery counts the earlier registration (by its registration time) to number the new invite.
  await registered(app, session.slug, { name: 'Ana Again', email: ana });
  const [, , again] = await sink.waitForMail(ana, 3);
  const renewed = checkMail(t, again!, { to: ana, contact, invite: 'REQUEST' }, 'second confirmation')!;
  t.equal(renewed.uid, invited.uid, 'the calendar entry of the first registration comes back');
  t.equal(renewed.sequence, withdrawn.sequence + 1, 'a SEQUENCE above the CANCEL, so calendars take the new invite');
  t.not(manageTokenOf(again!), manageTokenOf(first!), 'a new registration, a new manage link');
});
