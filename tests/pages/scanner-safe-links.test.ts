import t from 'tap';
import { notificationKind } from '../../db/schema/index.js';
import { ManualClock } from '../../src/clock.js';
import { fanOutReminder } from '../../src/services/reminders.service.js';
import { sessionBody, uniqueEmail } from '../helpers/app.js';
import { htmlLinks, textLinks, unescapeHtml } from '../helpers/email-links.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { manageTokenOf } from '../helpers/mail-checks.js';
import { startRedisProcess } from '../helpers/processes.js';
import { createSessionWithBody, registered, registrationId, type SessionJson } from '../helpers/registrations.js';
import type { ReceivedMail } from '../helpers/smtp-sink.js';
import { sleep, waitFor } from '../helpers/waiting.js';

/**
 * "A GET of every e-mailed link changes no state" (#19): mail scanners and link previews open
 * every link of an e-mail, so accepting a held seat, declining it, withdrawing a request and
 * cancelling are POSTs from the page a link opens. Sessions are driven through every kind of
 * e-mail over the real worker and SMTP; every URL of every message (HTML, text and invite) is
 * fetched, with the links of the pages they open one level on (as a scanner that renders the
 * page would), and the database must be as it was. A POST, the control, does change it.
 *
 * The join link records the click when it leads to the meeting (api.md: "records the click"),
 * which is a GET by design. Every session here is days from its start (or over) when the links
 * are fetched, so each join window is closed and no join link leads to a meeting.
 */

const MINUTE = 60_000;
const redis = await startRedisProcess(t);
const clock = new ManualClock(new Date());
const ctx = await startMailTest(t, { name: 'scanner_links', redisUrl: redis.url, clock });
const { app, database, sink, owner, config } = ctx;
const { pool } = database;
const ourHost = new URL(config.publicBaseUrl).host;
// This file's own database: what an earlier run left (offers that the sweep would end meanwhile) goes first.
await pool.query('TRUNCATE sessions, attendees CASCADE');
await pool.query(
  `INSERT INTO settings (id, name, mail_from_name, footer, website, privacy_url, accent_color, updated_at)
   VALUES (1, 'Mayors Network', 'Mayors Network Events', 'You registered for a session of the Mayors Network.', 'https://www.mayors-network.example', 'https://www.mayors-network.example/privacy', '#0b5394', now())
   ON CONFLICT (id) DO UPDATE SET website = EXCLUDED.website, privacy_url = EXCLUDED.privacy_url`,
);

const kindOf = (mail: ReceivedMail) => String(mail.parsed.headers.get('x-convene-notification'));

/** Waits for the e-mail of this kind to this address (the next step may make it stale otherwise). */
async function mailOf(email: string, kind: string): Promise<ReceivedMail> {
  return waitFor(() => sink.to(email).find((mail) => kindOf(mail) === kind), 20_000, `${kind} to ${email}`);
}

async function createSession(overrides: Record<string, unknown>, daysAhead: number): Promise<SessionJson> {
  // No scheduled reminders: one firing by itself could land between the two snapshots.
  return createSessionWithBody(app, owner.headers, sessionBody({ reminders: [], joinUrl: 'https://meet.example.org/room-42', ...overrides }, daysAhead));
}

async function person(session: SessionJson, name: string): Promise<{ email: string; id: string }> {
  const email = uniqueEmail(name.toLowerCase());
  await registered(app, session.slug, { name, email });
  return { email, id: await registrationId(pool, session.id, email) };
}

const api = (method: 'POST' | 'PATCH', url: string, payload: Record<string, unknown> = {}) =>
  app.inject({ method, url, headers: owner.headers, payload }).then((res) => {
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    return res;
  });

interface FeedTokenRow {
  id: string;
  feed_token_hash: string | null;
  feed_token_version: number;
}

/** Everything the state of registrations is made of, as JSON (instants as ISO text). */
async function snapshot(): Promise<Record<string, unknown>> {
  const rows = async (sql: string) => JSON.parse(JSON.stringify((await pool.query(sql)).rows)) as unknown[];
  return {
    registrations: await rows(
      `SELECT id, status::text, updated_at, confirmed_at, cancelled_at, declined_at, offered_at, offer_expires_at, checked_in_at,
        first_joined_at, last_joined_at, token_version, waitlist_ticket FROM registrations ORDER BY id`,
    ),
    sessions: await rows(
      `SELECT id, status::text, sequence, updated_at, confirmed_count, waitlisted_count, pending_count, offered_count, cancelled_count,
        waitlist_tickets FROM sessions ORDER BY id`,
    ),
    notifications: await rows('SELECT kind::text, status::text, count(*)::int AS n FROM notifications GROUP BY 1, 2 ORDER BY 1, 2'),
    audit: await rows('SELECT count(*)::int AS n FROM audit_log'),
    feedTokens: await rows('SELECT id, feed_token_hash, feed_token_version FROM attendees ORDER BY id'),
    emailsReceived: sink.messages.length,
  };
}

/** Nothing left to send, and nothing more arriving: the state a scanner would find. */
async function settled(): Promise<void> {
  await waitFor(async () => {
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM notifications WHERE status IN ('pending', 'queued')`);
    return rows[0].n === 0;
  }, 20_000, 'every notification delivered');
  let count = -1;
  await waitFor(async () => {
    const now = sink.messages.length;
    const stable = now === count;
    count = now;
    await sleep(500);
    return stable;
  }, 20_000, 'no more e-mails arriving');
}

/** Every URL of an e-mail: the links of its HTML and text parts (as the helpers read them), any other address in them, and the invite's. */
function urlsOf(mail: ReceivedMail): string[] {
  const found = [...htmlLinks(mail.html), ...textLinks(mail.text)].map((link) => link.href);
  const loose = /(?:https?|webcal):\/\/[^\s"'<>()]+/g;
  // The invite's lines unfolded and its TEXT escapes undone (a DESCRIPTION's "\n" is a line break).
  const invite = (mail.invite?.text ?? '').replace(/\r\n[ \t]/g, '').replace(/\\([nN,;\\])/g, (_, char: string) => (char.toLowerCase() === 'n' ? '\n' : char));
  for (const part of [unescapeHtml(mail.html), mail.text, invite]) {
    for (const match of part.matchAll(loose)) found.push(match[0].replace(/[.,;:]+$/, ''));
  }
  return [...new Set(found)];
}

t.test('a GET of every e-mailed link, and of the links on the pages they open, changes nothing', async (t) => {
  // --- A finished session: reminder, and the follow-ups (attended, no-show). It ends first, so the clock can pass it.
  // Its one reminder is fanned out by hand below; the scheduled job is due hours after this test.
  const finished = await createSession({ capacity: 5, reminders: [60] }, 1);
  const lia = await person(finished, 'Lia');
  const max = await person(finished, 'Max');
  await mailOf(lia.email, 'confirmation');
  await mailOf(max.email, 'confirmation');
  // Registration times follow the lock order a millisecond apart, ahead of a clock that stands still.
  clock.advance(1_000);
  await fanOutReminder(database.db, { sessionId: finished.id, offset: 60, startsAt: finished.startsAt }, clock.now());
  await mailOf(lia.email, 'reminder');
  await mailOf(max.email, 'reminder');
  clock.set(new Date(Date.parse(finished.startsAt) + 5 * MINUTE));
  await api('POST', `/api/v1/sessions/${finished.id}/registrations/${lia.id}/check-in`);
  clock.set(new Date(Date.parse(finished.endsAt) + 10 * MINUTE));
  await api('PATCH', `/api/v1/sessions/${finished.id}`, { followUp: { message: 'Thank you for coming.', recordingUrl: 'https://video.example.org/recordings/42' } });
  await api('POST', `/api/v1/sessions/${finished.id}/follow-up`);
  await mailOf(lia.email, 'follow_up_attended');
  await mailOf(max.email, 'follow_up_no_show');

  // --- First come, first served: confirmation, waitlist, the manage link again, an update, a
  // cancellation with a promotion, and the session cancelled (seated and waiting people).
  const auto = await createSession({ capacity: 1, waitlist: { enabled: true } }, 10);
  const ana = await person(auto, 'Ana');
  const bo = await person(auto, 'Bo');
  const cy = await person(auto, 'Cy');
  const anaConfirmation = await mailOf(ana.email, 'confirmation');
  await mailOf(bo.email, 'waitlisted');
  await mailOf(cy.email, 'waitlisted');
  await registered(app, auto.slug, { name: 'Ana', email: ana.email });
  await mailOf(ana.email, 'manage_link');
  await api('PATCH', `/api/v1/sessions/${auto.id}`, { title: `${auto.title} (renamed)` });
  await mailOf(ana.email, 'session_updated');
  await api('POST', `/api/v1/registrations/${manageTokenOf(anaConfirmation)}/cancel`);
  await mailOf(ana.email, 'registration_cancelled');
  await mailOf(bo.email, 'promoted');
  await api('POST', `/api/v1/sessions/${auto.id}/cancel`, { reason: 'The venue closed' });
  await mailOf(bo.email, 'session_cancelled');
  await mailOf(cy.email, 'session_cancelled_waitlisted');

  // --- Waitlist offers: a seat offered, left to lapse, offered on; the last offer stays open.
  const offers = await createSession({ capacity: 1, waitlist: { enabled: true, mode: 'offer', offerMinutes: 60 } }, 10);
  const dee = await person(offers, 'Dee');
  const eve = await person(offers, 'Eve');
  const fay = await person(offers, 'Fay');
  const deeConfirmation = await mailOf(dee.email, 'confirmation');
  await mailOf(eve.email, 'waitlisted');
  await mailOf(fay.email, 'waitlisted');
  await api('POST', `/api/v1/registrations/${manageTokenOf(deeConfirmation)}/cancel`);
  await mailOf(eve.email, 'offered');
  clock.advance(61 * MINUTE);
  t.equal(await app.services.registrations.expireOffer(eve.id), 'expired');
  await mailOf(eve.email, 'offer_expired');
  const fayOffer = await mailOf(fay.email, 'offered');

  // --- Approval: requests received, one declined, one approved, one withdrawn, one left waiting.
  const approval = await createSession({ capacity: 5, approval: true }, 10);
  const gus = await person(approval, 'Gus');
  const hal = await person(approval, 'Hal');
  const ivy = await person(approval, 'Ivy');
  const jo = await person(approval, 'Jo');
  const kim = await person(approval, 'Kim');
  for (const someone of [gus, hal, ivy, jo, kim]) await mailOf(someone.email, 'request_received');
  await api('POST', `/api/v1/sessions/${approval.id}/registrations/${hal.id}/decline`, { reason: 'Only for council members' });
  await mailOf(hal.email, 'request_declined');
  await api('POST', `/api/v1/sessions/${approval.id}/registrations/approve`, { ids: [ivy.id, kim.id] });
  await mailOf(ivy.email, 'confirmation');
  // Kim has opened her page before (which gave her a personal feed URL); Ivy has not.
  const kimPage = await app.inject({ method: 'GET', url: `/m/${manageTokenOf(await mailOf(kim.email, 'confirmation'))}` });
  t.match(kimPage.body, /\/feeds\/attendees\/[A-Za-z0-9_-]+\.ics/, "Kim's page shows her feed");
  await api('POST', `/api/v1/registrations/${manageTokenOf(await mailOf(jo.email, 'request_received'))}/cancel`);
  await mailOf(jo.email, 'registration_cancelled');
  // An organizer's message to everyone registered for the approval session (its links: the manage pages).
  await api('POST', `/api/v1/sessions/${approval.id}/messages`, { subject: 'The meeting link changed', body: 'See https://meet.example.org/new', audience: 'all' });
  await mailOf(ivy.email, 'message');

  // --- A series: one form, each session's own e-mail, and the summary with every manage link.
  const partOne = await createSession({ capacity: 5 }, 11);
  const partTwo = await createSession({ capacity: 5 }, 12);
  const series = (await api('POST', '/api/v1/series', { title: 'Scanner series', sessionIds: [partOne.id, partTwo.id] })).json();
  const lou = uniqueEmail('lou');
  const joined = await app.inject({ method: 'POST', url: `/api/v1/public/series/${series.slug}/registrations`, payload: { name: 'Lou', email: lou, consent: true } });
  t.equal(joined.statusCode, 202, 'the series form');
  await mailOf(lou, 'series_summary');

  await settled();
  t.same([...new Set(sink.messages.map(kindOf))].sort(), [...notificationKind.enumValues].sort(), 'every kind of e-mail was received');

  // --- Every URL of every e-mail
  const emailed = new Set<string>();
  for (const mail of sink.messages) for (const url of urlsOf(mail)) emailed.add(url);
  const external = new Map<string, number>();
  const toFetch: Array<{ url: URL; depth: number; from: string }> = [];
  const seen = new Set<string>();
  const consider = (href: string, depth: number, from: string) => {
    let url: URL;
    try {
      url = new URL(href.replace(/^webcal:/, 'http:'), config.publicBaseUrl);
    } catch {
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return;
    if (url.host !== ourHost) {
      external.set(url.host, (external.get(url.host) ?? 0) + 1);
      return;
    }
    const key = url.pathname + url.search;
    if (seen.has(key)) return;
    seen.add(key);
    toFetch.push({ url, depth, from });
  };
  for (const url of emailed) consider(url, 0, 'e-mail');
  t.ok([...seen].some((path) => path.startsWith('/m/')), 'manage links among them');
  t.ok([...seen].some((path) => path.startsWith('/j/')), 'join links among them');

  const before = await snapshot();
  const statuses: string[] = [];
  for (let i = 0; i < toFetch.length; i += 1) {
    const { url, depth, from } = toFetch[i]!;
    const path = url.pathname + url.search;
    const res = await app.inject({ method: 'GET', url: path });
    statuses.push(`${res.statusCode} ${path.replace(/[A-Za-z0-9_-]{32}/g, '{token}')} (from ${from})`);
    t.ok(res.statusCode < 500, `GET ${path}: ${res.statusCode}`);
    if (path.startsWith('/j/')) t.not(res.statusCode, 302, `${path}: the join window is closed, so no click is recorded`);
    const location = res.headers.location;
    if (typeof location === 'string') consider(location, depth, path);
    if (depth === 0 && String(res.headers['content-type']).startsWith('text/html')) {
      for (const link of htmlLinks(res.body)) consider(link.href, depth + 1, path);
    }
  }
  t.comment(`fetched ${toFetch.length} of our URLs:\n${statuses.join('\n')}`);
  t.comment(`not fetched, other hosts: ${[...external].map(([host, n]) => `${host} (${n})`).join(', ')}`);
  t.ok(external.has('calendar.google.com'), 'Google Calendar links are listed, not fetched');
  t.ok(toFetch.length > 25, `a scan's worth of URLs (${toFetch.length})`);
  t.ok(toFetch.some(({ url }) => /^\/m\/[^/]+\/cancel$/.test(url.pathname)), 'the cancel steps too (the pages link to them)');

  await sleep(1_500); // a few outbox sweeps: anything a GET had written would be on its way
  const after = await snapshot();
  const { feedTokens: feedsBefore, ...restBefore } = before as { feedTokens: FeedTokenRow[] };
  const { feedTokens: feedsAfter, ...restAfter } = after as { feedTokens: FeedTokenRow[] };
  t.same(restAfter, restBefore, 'the GETs changed no registration, counter, e-mail or audit entry');
  const held = (rows: FeedTokenRow[]) => rows.filter((row) => row.feed_token_hash !== null);
  const heldBefore = held(feedsBefore);
  const { rows: kimsAttendee } = await pool.query<{ attendee_id: string }>('SELECT attendee_id FROM registrations WHERE id = $1', [kim.id]);
  t.ok(
    heldBefore.some((row) => row.id === kimsAttendee[0]!.attendee_id),
    "feed URLs before the scan (Kim's, and those the cancel API's answers gave out), so a replaced one would show",
  );
  t.same(
    feedsAfter.filter((row) => heldBefore.some((known) => known.id === row.id)),
    heldBefore,
    'a feed URL someone may have subscribed to is neither replaced nor revoked',
  );
  // The manage page of a confirmed person gives out the personal feed URL: its hash is stored
  // when the attendee is created (the seat statement), so showing it writes nothing.
  t.same(
    held(feedsAfter).filter((row) => !heldBefore.some((known) => known.id === row.id)),
    [],
    'no feed URL issued by a GET',
  );

  // --- The control: a POST from the offered person's page does change the state.
  const accepted = await app.inject({ method: 'POST', url: `/m/${manageTokenOf(fayOffer)}/accept` });
  t.equal(accepted.statusCode, 303);
  const changed = await snapshot();
  t.notSame(changed, before, 'the accept (a POST) changes the state the GETs left alone');
  const fayRow = (changed.registrations as Array<{ id: string; status: string }>).find((row) => row.id === fay.id);
  t.equal(fayRow?.status, 'confirmed', 'Fay took the seat');
});
