import t from 'tap';
import { reminderJobId, type ReminderJob } from '../../src/queues.js';
import { ManualClock } from '../../src/clock.js';
import { fanOutReminder } from '../../src/services/reminders.service.js';
import { uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { isolatedRedisUrl, startMailTest } from '../helpers/isolated-app.js';
import { checkMail } from '../helpers/mail-checks.js';
import { notificationRows, registered, registeredAs, registrationId } from '../helpers/registrations.js';
import type { ReceivedMail } from '../helpers/smtp-sink.js';
import { sleep, waitFor } from '../helpers/waiting.js';
import { createSessionAt, flushRedisDb, localDateTime, minuteAfter, reminderEvents, reminderQueue, sessionAt } from './support.js';

/**
 * A reminder firing: the real worker (reminder processor, outbox relay, send-email processor)
 * delivers over real SMTP to the in-process sink. The clock is a ManualClock shared by the API
 * and the worker; the delayed job is promoted rather than waited for.
 */

const REDIS_URL = isolatedRedisUrl(3);
await flushRedisDb(REDIS_URL);
const clock = new ManualClock(new Date());
const ctx = await startMailTest(t, { name: 'reminders_firing', redisDb: 3, clock });
const { app, database, sink, owner } = ctx;
const queue = reminderQueue(t, REDIS_URL);
const events = await reminderEvents(t, REDIS_URL);
const contact = { name: 'Reminder Desk', email: 'reminder-desk@org.example' };
const JOIN_URL = 'https://meet.example.org/room-secret-42?pwd=hunter2';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

function remindersTo(email: string): ReceivedMail[] {
  return sink.to(email).filter((mail) => mail.parsed.headers.get('x-convene-notification') === 'reminder');
}

async function cancelRegistration(sessionId: string, email: string): Promise<void> {
  const id = await registrationId(database.pool, sessionId, email);
  const res = await app.inject({ method: 'POST', url: `/api/v1/sessions/${sessionId}/registrations/${id}/cancel`, headers: owner.headers });
  if (res.statusCode !== 200) throw new Error(`cancel failed: ${res.statusCode} ${res.body}`);
}

/** Runs one job through the real worker and returns what the processor answered. */
async function runThroughWorker(id: string, data: ReminderJob): Promise<string> {
  const existing = await queue.getJob(id);
  if (existing) await existing.remove();
  const job = await queue.add('session-reminder', data, { jobId: id, removeOnComplete: true });
  return String(await job.waitUntilFinished(events, 20_000));
}

// Shared by the subtests, in order: one session, its people, its reminder job.
const start = minuteAfter(clock.now(), 3 * HOUR);
const session = await createSessionAt(
  app,
  owner.headers,
  sessionAt(start, { reminders: [60], capacity: 3, contact, joinUrl: JOIN_URL, joinInstructions: 'Use a headset, please.' }),
);
const jobData: ReminderJob = { sessionId: session.id, offset: 60, startsAt: start.toISOString() };
const people = {
  ana: uniqueEmail('ana'),
  bo: uniqueEmail('bo'),
  cy: uniqueEmail('cy'),
  wes: uniqueEmail('wes'),
  wyn: uniqueEmail('wyn'),
  wil: uniqueEmail('wil'),
  late: uniqueEmail('late'),
};

t.test('through the worker: one reminder per confirmed attendee, none to the waitlisted or cancelled', async (t) => {
  await registered(app, session.slug, { name: 'Ana Early', email: people.ana });
  await registered(app, session.slug, { name: 'Bo Early', email: people.bo });
  await registered(app, session.slug, { name: 'Cy Leaves', email: people.cy });
  t.equal(await registeredAs(app, database.pool, session, { name: 'Wes Waits', email: people.wes }), 'waitlisted');
  t.equal(await registeredAs(app, database.pool, session, { name: 'Wyn Waits', email: people.wyn }), 'waitlisted');
  await cancelRegistration(session.id, people.cy); // Wes is promoted into Cy's seat
  await cancelRegistration(session.id, people.wyn); // leaves the waitlist
  t.equal(await registeredAs(app, database.pool, session, { name: 'Wil Waits', email: people.wil }), 'waitlisted');

  // Time passes before the reminder: on a frozen clock each registration of a session still gets
  // its own later millisecond (capacity.ts), and a reminder counts those registered by its time.
  clock.advance(MINUTE);
  const job = await queue.getJob(reminderJobId(session.id, 60));
  t.ok(job && (await job.isDelayed()), 'the hour-before job waits in the delayed set');
  t.same(job?.data, jobData);
  await job!.promote();

  const confirmed = [people.ana, people.bo, people.wes];
  await waitFor(() => confirmed.every((email) => remindersTo(email).length >= 1), 20_000, 'a reminder to each confirmed attendee');
  await waitFor(async () => {
    const rows = await database.pool.query(`SELECT status::text FROM notifications WHERE session_id = $1 AND kind = 'reminder'`, [session.id]);
    return rows.rows.length === 3 && rows.rows.every((row) => row.status === 'sent');
  }, 10_000, 'three reminder rows sent');
  await waitFor(async () => (await queue.getJob(reminderJobId(session.id, 60))) === undefined, 5_000, 'the job completed and removed');
  await sleep(1_000);

  for (const email of confirmed) t.equal(remindersTo(email).length, 1, `exactly one reminder to ${email}`);
  for (const email of [people.cy, people.wyn, people.wil]) t.equal(remindersTo(email).length, 0, `no reminder to ${email}`);
  const rows = await notificationRows(database.pool, session.id, 'reminder');
  t.equal(rows.length, 3, 'one reminder row per confirmed attendee');
  const epoch = Math.floor(start.getTime() / 1000);
  for (const email of confirmed) {
    const id = await registrationId(database.pool, session.id, email);
    t.ok(rows.some((row) => row.dedupe_key === `reminder:${id}:60:${epoch}`), `dedupe key (registration, offset, start) of ${email}`);
  }

  // What the reminder says.
  const mail = remindersTo(people.ana)[0]!;
  checkMail(t, mail, { to: people.ana, contact, invite: null }, 'reminder');
  t.equal(mail.parsed.subject, `Reminder: ${session.title} starts in 1 hour`);
  const local = localDateTime(start, 'America/Chicago');
  t.ok(mail.text.includes(local), `the text shows the start in Chicago time (${local})`);
  t.match(mail.text, new RegExp(`${local}[^\\n]*C[SD]T\\b`), 'and names the zone (its short name: the reader has no zone of her own)');
  t.ok(mail.html.includes(local), 'the HTML too');
  const anaId = await registrationId(database.pool, session.id, people.ana);
  const joinLink = `http://convene.test/j/${app.services.tokens.derive('join', anaId, 0)}`;
  const manageLink = `http://convene.test/m/${app.services.tokens.derive('manage', anaId, 0)}`;
  t.ok(mail.text.includes(joinLink), 'the text holds the personal join link');
  t.ok(mail.html.includes(`href="${joinLink}"`), 'the HTML links the personal join link');
  t.ok(mail.text.includes(manageLink), 'the text holds the manage link');
  t.ok(mail.text.includes('Use a headset, please.'), 'the join instructions');
  t.notOk(mail.raw.toString('latin1').includes('meet.example.org'), 'the meeting URL itself is not in the e-mail');
  t.equal(mail.invite, null, 'no invite');
  const wesId = await registrationId(database.pool, session.id, people.wes);
  const wesMail = remindersTo(people.wes)[0]!;
  t.ok(wesMail.text.includes(`/j/${app.services.tokens.derive('join', wesId, 0)}`), 'each reminder holds its own join link');
  t.notOk(wesMail.text.includes(joinLink), 'not somebody else\'s');
});

t.test('firing the same reminder again writes and sends nothing more', async (t) => {
  t.same(await fanOutReminder(database.db, jobData, clock.now()), { status: 'sent', notifications: 0 }, 'a direct second fan-out writes nothing');
  t.equal(await runThroughWorker(reminderJobId(session.id, 60), jobData), 'sent: 0 notifications', 'the worker running the job again writes nothing');
  await sleep(1_000);
  t.equal((await notificationRows(database.pool, session.id, 'reminder')).length, 3, 'still three reminder rows');
  for (const email of [people.ana, people.bo, people.wes]) t.equal(remindersTo(email).length, 1, `still one reminder to ${email}`);
});

t.test('people confirmed after the reminder fired do not get it', async (t) => {
  // The reminder was due an hour before the start; it is now a minute past that.
  clock.set(new Date(start.getTime() - 60 * MINUTE + MINUTE));
  const raised = await app.inject({ method: 'PATCH', url: `/api/v1/sessions/${session.id}`, headers: owner.headers, payload: { capacity: 10 } });
  t.equal(raised.statusCode, 200, raised.body);
  const wil = (await database.pool.query(`SELECT r.status::text FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE r.session_id = $1 AND a.email = $2`, [session.id, people.wil])).rows[0];
  t.equal(wil?.status, 'confirmed', 'Wil is promoted after the reminder');
  t.equal(await registeredAs(app, database.pool, session, { name: 'Late Comer', email: people.late }), 'confirmed');

  clock.advance(MINUTE);
  t.same(await fanOutReminder(database.db, jobData, clock.now()), { status: 'sent', notifications: 0 }, 'a repeated fan-out skips them');
  t.equal(await runThroughWorker(reminderJobId(session.id, 60), jobData), 'sent: 0 notifications', 'so does the worker');
  await sink.waitForMail(people.late, 1); // the confirmation arrives ...
  await sleep(1_000);
  t.equal(remindersTo(people.late).length, 0, '... but no reminder for the late registrant');
  t.equal(remindersTo(people.wil).length, 0, 'nor for the one promoted late');
  t.equal((await notificationRows(database.pool, session.id, 'reminder')).length, 3, 'still three reminder rows');
});

t.test('a job that finds the session moved, without the offset, or cancelled writes nothing', async (t) => {
  const moved = new Date(start.getTime() + 24 * HOUR);
  const res = await app.inject({
    method: 'PATCH',
    url: `/api/v1/sessions/${session.id}`,
    headers: owner.headers,
    payload: { startsAt: moved.toISOString(), endsAt: new Date(moved.getTime() + 90 * MINUTE).toISOString() },
  });
  t.equal(res.statusCode, 200, res.body);
  const rescheduled = await queue.getJob(reminderJobId(session.id, 60));
  t.equal(rescheduled?.data.startsAt, moved.toISOString(), 'the job now carries the new start');
  t.ok(await rescheduled?.isDelayed(), 'and waits for it');

  t.same(await fanOutReminder(database.db, jobData, clock.now()), { status: 'stale', notifications: 0 }, 'a job for the old start is stale');
  t.equal(await runThroughWorker(`stale-${session.id}`, jobData), 'stale: 0 notifications', 'through the worker too');
  t.same(
    await fanOutReminder(database.db, { ...jobData, offset: 1440, startsAt: moved.toISOString() }, clock.now()),
    { status: 'stale', notifications: 0 },
    'an offset the session does not have is stale',
  );

  const other = await createSessionAt(app, owner.headers, sessionAt(minuteAfter(clock.now(), 5 * HOUR), { reminders: [60], contact }));
  await registered(app, other.slug, { name: 'Cancelled Session Person', email: uniqueEmail('gone') });
  const cancelled = await app.inject({ method: 'POST', url: `/api/v1/sessions/${other.id}/cancel`, headers: owner.headers, payload: {} });
  t.equal(cancelled.statusCode, 200, cancelled.body);
  t.same(
    await fanOutReminder(database.db, { sessionId: other.id, offset: 60, startsAt: other.startsAt }, clock.now()),
    { status: 'stale', notifications: 0 },
    'a cancelled session is stale',
  );
  await sleep(500);
  t.equal((await notificationRows(database.pool, session.id, 'reminder')).length, 3, 'no reminder row was written');
  t.equal((await notificationRows(database.pool, other.id, 'reminder')).length, 0);
});

t.test('fan-out in batches: every confirmed attendee once, across batch boundaries', async (t) => {
  // No deliveries for this one: thousands of e-mails would only slow the file down.
  await ctx.stopWorker();
  const big = await createSessionAt(app, owner.headers, sessionAt(minuteAfter(clock.now(), 3 * HOUR), { reminders: [60], capacity: null, contact }));
  const tag = uniqueSuffix();
  const confirmedAt = new Date(clock.now().getTime() - MINUTE);
  const total = 2_345;
  await database.pool.query(
    `WITH people AS (
       INSERT INTO attendees (email) SELECT 'batch-' || $2 || '-' || g || '@example.org' FROM generate_series(1, $3::int) g RETURNING id, email
     )
     INSERT INTO registrations (session_id, attendee_id, name, status, waitlist_ticket, manage_token_hash, join_token_hash, registered_at, confirmed_at)
     SELECT $1, id, 'Batch Person',
       (CASE WHEN email LIKE '%-7@%' THEN 'waitlisted' ELSE 'confirmed' END)::registration_status,
       CASE WHEN email LIKE '%-7@%' THEN 1 END,
       md5(random()::text || id::text), md5(id::text || random()::text), $4, CASE WHEN email LIKE '%-7@%' THEN NULL ELSE $4::timestamptz END
     FROM people`,
    [big.id, tag, total, confirmedAt],
  );
  const { rows } = await database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM registrations WHERE session_id = $1 AND status = 'confirmed'`, [big.id]);
  const confirmedCount = rows[0]!.n;
  t.equal(confirmedCount, total - 1, 'one of them waits');
  const data: ReminderJob = { sessionId: big.id, offset: 60, startsAt: big.startsAt };
  // Each batch is handed over with its rows once it has committed: another connection already
  // sees them, and the next batch waits for the hand-over.
  const handedOver: string[][] = [];
  const visibleAtHandOff: number[] = [];
  const reminderRowCount = async () =>
    (await database.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM notifications WHERE session_id = $1 AND kind = 'reminder'`, [big.id])).rows[0]!.n;
  t.same(
    await fanOutReminder(database.db, data, clock.now(), async (ids) => {
      handedOver.push(ids);
      visibleAtHandOff.push(await reminderRowCount());
    }),
    { status: 'sent', notifications: confirmedCount },
    'one row per confirmed attendee',
  );
  t.same(handedOver.map((ids) => ids.length), [1000, 1000, confirmedCount - 2000], 'three batches, three hand-offs, each with its rows');
  t.same(visibleAtHandOff, [1000, 2000, confirmedCount], 'each hand-off came after its batch committed, before the next batch');
  const { rows: handedRows } = await database.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM notifications WHERE session_id = $1 AND kind = 'reminder' AND id = ANY($2::uuid[])`,
    [big.id, handedOver.flat()],
  );
  t.equal(new Set(handedOver.flat()).size, confirmedCount, 'no row handed over twice');
  t.equal(handedRows[0]!.n, confirmedCount, 'every reminder row handed over');
  const counted = await database.pool.query<{ n: number; distinct_n: number }>(
    `SELECT count(*)::int AS n, count(DISTINCT registration_id)::int AS distinct_n FROM notifications WHERE session_id = $1 AND kind = 'reminder'`,
    [big.id],
  );
  t.same(counted.rows[0], { n: confirmedCount, distinct_n: confirmedCount }, 'each attendee exactly once');
  let handOffs = 0;
  const again = await fanOutReminder(database.db, data, clock.now(), () => {
    handOffs += 1;
  });
  t.same(again, { status: 'sent', notifications: 0 }, 'again: nothing');
  t.equal(handOffs, 0, 'and nothing handed over');
  await database.pool.query(
    `UPDATE notifications SET status = 'skipped', last_error = 'batch test' WHERE session_id = $1 AND status IN ('pending', 'queued')`,
    [big.id],
  );
});
