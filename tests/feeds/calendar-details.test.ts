import t from 'tap';
import { inviteUid, parameterText, renderInvite } from '../../src/services/calendar/index.js';
import { buildTestApp, manualClock, signIn, uniqueEmail } from '../helpers/app.js';
import { checkFeed, checkInvite, eventOf, unfoldIcs } from '../helpers/ics.js';
import { createSession, registered, registrationId, type SessionJson } from '../helpers/registrations.js';

/**
 * The calendar details of issue 18 that nine independent clients found: names in quoted CN
 * parameters (a backslash written once, quotes dropped cleanly), the invite behind an old manage
 * link after the person registered again, and cancelled sessions in the personal feed.
 * (The organisation's name in ORGANIZER and X-WR-CALNAME: calendar-branding.test.ts, on a
 * database of its own.)
 */

const { app, database } = await buildTestApp(t);
const { pool } = database;
const owner = await signIn(app);
const DOMAIN = 'convene.test';
const base = 'http://convene.test';
const DAY_MS = 86_400_000;

const manageToken = (id: string) => app.services.tokens.derive('manage', id, 0);
const joinLinkOf = (id: string) => `${base}/j/${app.services.tokens.derive('join', id, 0)}`;
const inviteOf = (id: string) => app.inject(`/api/v1/registrations/${manageToken(id)}/invite.ics`);
const cancelRegistration = (id: string) => app.inject({ method: 'POST', url: `/api/v1/registrations/${manageToken(id)}/cancel` });

/** The raw ATTENDEE / ORGANIZER content line (unfolded). */
function rawLine(ics: string, property: 'ATTENDEE' | 'ORGANIZER'): string {
  return unfoldIcs(ics).find((line) => line.startsWith(`${property};`) || line.startsWith(`${property}:`)) ?? '';
}

async function attendeeIdOf(email: string): Promise<string> {
  const { rows } = await pool.query<{ id: string }>('SELECT id FROM attendees WHERE email = $1', [email.toLowerCase()]);
  return rows[0]!.id;
}

t.test('parameter text: quotes dropped without stray spaces, controls and runs of spaces collapsed', async (t) => {
  t.equal(parameterText('Zoë "Z" , Jr'), 'Zoë Z, Jr');
  t.equal(parameterText('Zoë "Z", Jr'), 'Zoë Z, Jr');
  t.equal(parameterText('"Quoted"; Name'), 'Quoted; Name');
  t.equal(parameterText('Ann\tLee\r\nSmith'), 'Ann Lee Smith', 'control characters separate words');
  t.equal(parameterText('  lots   of    space  '), 'lots of space');
  t.equal(parameterText('O"Brien'), 'OBrien', 'a quote inside a word leaves no space');
  t.equal(parameterText('back\\slash'), 'back\\slash', 'a backslash is kept as it is');
  t.equal(parameterText('x\\nBcc: y\\N z'), 'x Bcc: y z', 'a typed \\n is the line break it stands for: a space (ical.js would break the name)');
  t.equal(parameterText(`Caret ^n ^'`), `Caret ^^n ^^'`, 'RFC 6868 carets written as ^^');
  t.equal(parameterText('""'), '');
});

t.test('a backslash in a name is written once inside the quoted CN (ATTENDEE and ORGANIZER)', async (t) => {
  const now = Date.now();
  const ics = renderInvite({
    method: 'REQUEST',
    session: {
      id: 'session-1',
      title: 'Back\\slash title',
      summary: null,
      description: null,
      startsAt: new Date(now + DAY_MS),
      endsAt: new Date(now + DAY_MS + 3_600_000),
      joinInstructions: null,
      contactName: 'Contact',
      contactEmail: 'contact@example.org',
    },
    attendeeId: 'attendee-1',
    attendee: { name: 'Ana \\ Back\\slash "Z" , Jr', email: 'ana@example.org' },
    sequence: 0,
    organizer: { name: 'City\\Hall', email: 'events@mail.convene.test' },
    joinLink: `${base}/j/x`,
    manageLink: `${base}/m/x`,
    stamp: new Date(now),
    uidDomain: DOMAIN,
  });
  const facts = checkInvite(t, ics, 'rendered');
  t.equal(rawLine(ics, 'ATTENDEE'), 'ATTENDEE;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE;CN="Ana \\ Back\\slash Z, Jr":mailto:ana@example.org');
  t.equal(rawLine(ics, 'ORGANIZER'), 'ORGANIZER;CN="City\\Hall":mailto:events@mail.convene.test');
  for (const property of ['ATTENDEE', 'ORGANIZER'] as const) t.notMatch(rawLine(ics, property), /\\\\/, `${property}: no doubled backslash`);
  t.match(ics, /SUMMARY:Back\\\\slash title/, 'TEXT values still escape it (RFC 5545 3.3.11)');
  t.equal(facts.attendees[0]!.cn, 'Ana \\ Back\\slash Z, Jr', 'ical.js reads the name');
  t.equal(facts.organizers[0]!.cn, 'City\\Hall');
  t.equal(facts.summary, 'Back\\slash title');
});

t.test('through the API: the registered name in the downloaded invite, backslash once, no stray space', async (t) => {
  const session = await createSession(app, owner.headers, { title: 'Names' }, { daysAhead: 5 });
  const email = uniqueEmail('names');
  await registered(app, session.slug, { name: 'Zoë "Z" , Jr \\ II', email });
  const id = await registrationId(pool, session.id, email);
  const res = await inviteOf(id);
  t.equal(res.statusCode, 200);
  const facts = checkInvite(t, res.rawPayload, 'download');
  t.match(rawLine(res.body, 'ATTENDEE'), /;CN="Zoë Z, Jr \\ II":mailto:/);
  t.equal(facts.attendees[0]!.cn, 'Zoë Z, Jr \\ II');
});

t.test("an old manage link after registering again serves the live registration's invite", async (t) => {
  const session = await createSession(app, owner.headers, { title: 'Again', joinUrl: 'https://meet.example.org/j/again' }, { daysAhead: 6 });
  const email = uniqueEmail('again');
  await registered(app, session.slug, { name: 'Ana Again', email });
  const oldId = await registrationId(pool, session.id, email);
  const first = checkInvite(t, (await inviteOf(oldId)).body, 'first REQUEST');
  t.equal(first.sequence, 0);
  t.equal((await cancelRegistration(oldId)).statusCode, 200);
  const cancelled = checkInvite(t, (await inviteOf(oldId)).body, 'its CANCEL');
  t.equal(cancelled.method, 'CANCEL', 'before registering again: the CANCEL');
  t.equal(cancelled.sequence, 1);

  await registered(app, session.slug, { name: 'Ana Again', email });
  const liveId = await registrationId(pool, session.id, email);
  t.not(liveId, oldId, 'a new registration row');
  const liveRes = await inviteOf(liveId);
  const live = checkInvite(t, liveRes.body, 'live REQUEST');
  t.equal(live.method, 'REQUEST');
  t.equal(live.sequence, 2, 'above the first REQUEST and its CANCEL');

  const oldRes = await inviteOf(oldId);
  t.equal(oldRes.statusCode, 200);
  const old = checkInvite(t, oldRes.body, 'old link, now');
  t.equal(old.method, 'REQUEST', 'the old link serves the current state, not the stale CANCEL');
  t.equal(old.status, 'CONFIRMED');
  t.equal(old.uid, live.uid, 'the one UID of the session and person');
  t.equal(old.sequence, live.sequence, 'the live SEQUENCE');
  t.equal(old.url, joinLinkOf(liveId), "the live registration's join link (the personal feed already gives it to any of the person's manage links)");
  t.match(old.description, `${base}/m/${manageToken(oldId)}`, 'the manage link is the one in hand');
  t.notMatch(oldRes.body, new RegExp(manageToken(liveId)), "never the live registration's manage token");
  t.equal(oldRes.headers['content-type'], liveRes.headers['content-type']);

  // The live registration cancelled too: both links serve the newest CANCEL.
  t.equal((await cancelRegistration(liveId)).statusCode, 200);
  const liveCancel = checkInvite(t, (await inviteOf(liveId)).body, 'live CANCEL');
  const oldNow = checkInvite(t, (await inviteOf(oldId)).body, 'old link after the second cancel');
  t.equal(liveCancel.sequence, 3);
  t.same([oldNow.method, oldNow.sequence], ['CANCEL', 3], 'the old link: the newest CANCEL, never the older one');
});

t.test('an old manage link while the new registration waits: still the last invite sent (the CANCEL)', async (t) => {
  const session = await createSession(app, owner.headers, { title: 'Full again', capacity: 1 }, { daysAhead: 6 });
  const email = uniqueEmail('waits');
  await registered(app, session.slug, { name: 'Bo Waits', email });
  const oldId = await registrationId(pool, session.id, email);
  t.equal((await cancelRegistration(oldId)).statusCode, 200);
  await registered(app, session.slug, { name: 'Someone Else', email: uniqueEmail('seat') });
  await registered(app, session.slug, { name: 'Bo Waits', email });
  const waitingId = await registrationId(pool, session.id, email);
  t.equal((await inviteOf(waitingId)).statusCode, 409, 'the waiting registration has no invite yet');
  const old = checkInvite(t, (await inviteOf(oldId)).body, 'old link');
  t.same([old.method, old.sequence], ['CANCEL', 1], 'the CANCEL that was sent last');
});

t.test('a personal feed keeps a cancelled session as STATUS:CANCELLED for 30 days after the cancellation', async (t) => {
  const keep = await createSession(app, owner.headers, { title: 'Keep' }, { daysAhead: 3 });
  const doomed = await createSession(app, owner.headers, { title: 'Doomed', joinUrl: 'https://meet.example.org/j/doomed', joinInstructions: 'Passcode 99' }, { daysAhead: 4 });
  const mineCancelled = await createSession(app, owner.headers, { title: 'Left early' }, { daysAhead: 4 });
  const full = await createSession(app, owner.headers, { title: 'Full, cancelled', capacity: 1 }, { daysAhead: 4 });
  const email = uniqueEmail('cancelled-feed');
  await registered(app, full.slug, { name: 'Seat Holder', email: uniqueEmail('holder') });
  for (const session of [keep, doomed, mineCancelled, full]) await registered(app, session.slug, { name: 'Cy Feed', email });
  const ids = await Promise.all([keep, doomed, mineCancelled, full].map((session) => registrationId(pool, session.id, email)));
  const [, doomedId, mineId] = ids as [string, string, string, string];
  const view = await app.inject(`/api/v1/registrations/${manageToken(ids[0]!)}`);
  const feedUrl = new URL(view.json().links.feed.url as string).pathname;
  const attendeeId = await attendeeIdOf(email);
  const uidOf = (session: SessionJson) => inviteUid(session.id, attendeeId, DOMAIN);

  // The person cancels one registration: it leaves the feed at once, and stays out after its session is cancelled.
  t.equal((await cancelRegistration(mineId)).statusCode, 200);
  const before = await app.inject(feedUrl);
  t.same(checkFeed(t, before.body, 'before').events.map((e) => e.uid), [uidOf(keep), uidOf(doomed)]);

  for (const session of [doomed, mineCancelled, full]) {
    const res = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/cancel`, headers: owner.headers, payload: { reason: 'Speaker ill' } });
    t.equal(res.statusCode, 200);
  }
  const after = await app.inject({ url: feedUrl, headers: { 'if-none-match': String(before.headers.etag) } });
  t.equal(after.statusCode, 200, 'the cancellation changes the feed');
  const facts = checkFeed(t, after.body, 'after the cancellation');
  t.same(
    facts.events.map((e) => e.uid),
    [uidOf(keep), uidOf(doomed)],
    'the cancelled session stays; not the one the person had left, not the one they were waiting for',
  );
  const event = eventOf(t, facts, uidOf(doomed));
  t.equal(event.status, 'CANCELLED');
  t.equal(event.summary, 'Cancelled: Doomed');
  t.match(event.description, /This session has been cancelled: Speaker ill/, 'the reason');
  t.equal(event.url, null, 'no join link');
  t.notMatch(after.body, new RegExp(app.services.tokens.derive('join', doomedId, 0)), "the cancelled session's join link is gone");
  t.notMatch(event.description, /Passcode 99/, 'no join instructions');
  const invite = checkInvite(t, (await inviteOf(doomedId)).body, 'the CANCEL download');
  t.same([invite.method, invite.uid, invite.sequence], ['CANCEL', event.uid, event.sequence], "the e-mailed CANCEL's UID and SEQUENCE");
  t.equal(eventOf(t, facts, uidOf(keep)).status, 'CONFIRMED');

  const at = async (days: number) => {
    const later = await buildTestApp(t, { clock: manualClock(new Date(Date.now() + days * DAY_MS).toISOString()) });
    return later.app.inject(feedUrl);
  };
  const at20 = await at(20);
  t.ok(checkFeed(t, at20.body, '20 days on').events.some((e) => e.uid === uidOf(doomed)), 'still there 20 days after the cancellation');
  const at40 = await at(40);
  const at40Facts = checkFeed(t, at40.body, '40 days on');
  t.notOk(at40Facts.events.some((e) => e.uid === uidOf(doomed)), 'gone 40 days after the cancellation');
  t.not(at40.headers.etag, at20.headers.etag, 'another ETag once it left');
  t.ok(Date.parse(String(at40.headers['last-modified'])) > Date.parse(String(at20.headers['last-modified'])), 'Last-Modified moved when it left the window');
});
