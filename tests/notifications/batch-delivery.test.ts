import { Queue, QueueEvents } from 'bullmq';
import t from 'tap';
import { createQueues, notificationIdsOf, QUEUES, SEND_EMAIL_BATCH_SIZE, SEND_EMAIL_GROUP_SIZE, type SendEmailBatchJob, type SendEmailJob } from '../../src/queues.js';
import { systemClock } from '../../src/clock.js';
import { waitlistPosition } from '../../src/services/capacity.js';
import { createRedis } from '../../src/redis.js';
import { createMailer } from '../../src/services/notifications/mailer.js';
import { createDeliveryService } from '../../src/services/notifications/delivery.js';
import { createOutboxRelay, relayRows } from '../../src/services/notifications/relay.js';
import { fanOutReminder } from '../../src/services/reminders.service.js';
import { createTokens } from '../../src/services/tokens.js';
import { uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { silentLog, startMailTest } from '../helpers/isolated-app.js';
import { checkMail } from '../helpers/mail-checks.js';
import { createSession, registrationId, type SessionJson } from '../helpers/registrations.js';
import type { ReceivedMail } from '../helpers/smtp-sink.js';
import { sleep, waitFor } from '../helpers/waiting.js';

/**
 * Bulk mail (reminders, follow-ups) goes out in batch jobs: one transaction per batch loads and
 * locks the rows, sends every e-mail at once, records every outcome in one statement. Each
 * attendee still gets exactly one message, a 5xx fails its row at once, a 4xx retries only its
 * own row, a second job for the same rows sends nothing twice, and rows gone stale are skipped.
 */

const ctx = await startMailTest(t, { name: 'batch_delivery', redisDb: 6 });
const { app, config, database, sink, owner } = ctx;
const contact = { name: 'Batch Desk', email: 'batch-desk@org.example' };
const { branding } = app.services.settings;

const redis = createRedis(config.redisUrl, 'worker');
const batchQueue = new Queue<SendEmailBatchJob>(QUEUES.sendEmailBatch, { connection: redis });
const singleQueue = new Queue<SendEmailJob>(QUEUES.sendEmail, { connection: redis });
const eventsConnection = createRedis(config.redisUrl, 'worker');
const batchEvents = new QueueEvents(QUEUES.sendEmailBatch, { connection: eventsConnection });
const singleEventsConnection = createRedis(config.redisUrl, 'worker');
const singleEvents = new QueueEvents(QUEUES.sendEmail, { connection: singleEventsConnection });
await batchEvents.waitUntilReady();
await singleEvents.waitUntilReady();
t.teardown(async () => {
  await batchEvents.close();
  await singleEvents.close();
  singleEventsConnection.disconnect();
  await batchQueue.close();
  await singleQueue.close();
  eventsConnection.disconnect();
  redis.disconnect();
});

/** A published session with a one-hour reminder, three days ahead. */
function reminderSession(): Promise<SessionJson> {
  return createSession(app, owner.headers, { contact, reminders: [60], capacity: 1000 }, { daysAhead: 3 });
}

/** `count` confirmed attendees, inserted in bulk (as a busy session would have them); their addresses. */
async function confirmedAttendees(sessionId: string, count: number): Promise<string[]> {
  const tag = `batch-${uniqueSuffix()}`;
  const { rows } = await database.pool.query<{ email: string }>(
    `WITH people AS (
       INSERT INTO attendees (email) SELECT $2 || '-' || g || '@example.org' FROM generate_series(1, $3::int) g RETURNING id, email
     ), registered AS (
       INSERT INTO registrations (session_id, attendee_id, name, status, manage_token_hash, join_token_hash, confirmed_at)
       SELECT $1, id, 'Batch Person', 'confirmed', md5(random()::text || id::text), md5(id::text || random()::text), now() - interval '1 minute'
       FROM people RETURNING 1
     )
     SELECT email FROM people WHERE (SELECT count(*) FROM registered) > 0 ORDER BY email`,
    [sessionId, tag, count],
  );
  await database.pool.query(`UPDATE sessions SET confirmed_count = confirmed_count + $2 WHERE id = $1`, [sessionId, count]);
  return rows.map((row) => row.email);
}

/** Writes the reminder's outbox rows, as the reminder job does when it fires. */
async function fanOut(session: SessionJson): Promise<number> {
  const result = await fanOutReminder(database.db, { sessionId: session.id, offset: 60, startsAt: session.startsAt }, new Date());
  return result.notifications;
}

interface ReminderRow {
  id: string;
  email: string;
  status: string;
  attempts: number;
  last_error: string | null;
  message_id: string | null;
  queued_at: Date | null;
}

async function reminderRows(sessionId: string): Promise<ReminderRow[]> {
  const { rows } = await database.pool.query<ReminderRow>(
    `SELECT n.id, a.email, n.status::text, n.attempts, n.last_error, n.message_id, n.queued_at
     FROM notifications n JOIN registrations r ON r.id = n.registration_id JOIN attendees a ON a.id = r.attendee_id
     WHERE n.session_id = $1 AND n.kind = 'reminder' ORDER BY a.email`,
    [sessionId],
  );
  return rows;
}

async function allFinal(sessionId: string): Promise<ReminderRow[] | null> {
  const rows = await reminderRows(sessionId);
  return rows.length > 0 && rows.every((row) => row.status !== 'pending' && row.status !== 'queued') ? rows : null;
}

function remindersTo(email: string): ReceivedMail[] {
  return sink.to(email).filter((mail) => mail.parsed.headers.get('x-convene-notification') === 'reminder');
}

/** The batch jobs (kept after completion) that carried any of these rows. */
async function batchJobsOf(rowIds: string[]) {
  const wanted = new Set(rowIds);
  const jobs = await batchQueue.getJobs(['completed', 'failed', 'active', 'waiting', 'delayed']);
  return jobs.filter((job) => job.data.notificationIds.some((id) => wanted.has(id)));
}

t.test('a reminder to 250 attendees goes out in a few batch jobs: one e-mail each, every row sent', async (t) => {
  const session = await reminderSession();
  const emails = await confirmedAttendees(session.id, 250);
  t.equal(await fanOut(session), 250, 'one reminder row per attendee');
  // A transactional e-mail beside them keeps its own job, whose id is the row id.
  const single = uniqueEmail('single');
  const res = await app.inject({
    method: 'POST',
    url: `/api/v1/public/sessions/${session.slug}/registrations`,
    payload: { name: 'Single Person', email: single, consent: true },
  });
  t.equal(res.statusCode, 202);

  const rows = await waitFor(() => allFinal(session.id), 60_000, 'every reminder row final');
  t.equal(rows.length, 250);
  t.same([...new Set(rows.map((row) => row.status))], ['sent'], 'every row sent');
  t.same([...new Set(rows.map((row) => row.attempts))], [1], 'each in one attempt');
  await sink.waitForMail(single, 1);
  await sleep(1_000);
  t.same(emails.filter((email) => remindersTo(email).length !== 1), [], 'exactly one reminder to every attendee');
  for (const row of rows) {
    if (row.message_id !== `<notification-${row.id}@mail.convene.test>`) t.fail(`Message-ID of ${row.id}: ${row.message_id}`);
  }
  t.same(
    rows.map((row) => remindersTo(row.email)[0]?.messageId),
    rows.map((row) => row.message_id),
    'each e-mail carries the Message-ID of its row',
  );
  checkMail(t, remindersTo(emails[0]!)[0]!, { to: emails[0]!, contact, invite: null }, 'a batched reminder');
  t.equal(remindersTo(emails[0]!)[0]!.parsed.subject, `Reminder: ${session.title} starts in 1 hour`);

  const jobs = await batchJobsOf(rows.map((row) => row.id));
  t.ok(jobs.length >= 3 && jobs.length < 250, `fewer jobs than rows (${jobs.length} batch jobs)`);
  t.ok(jobs.every((job) => job.data.notificationIds.length <= 100), 'at most 100 rows a job');
  t.equal(jobs.reduce((sum, job) => sum + job.data.notificationIds.length, 0), 250, 'every row in exactly one job');
  t.ok(jobs.every((job) => /^batch-[0-9a-f]{40}$/.test(job.id ?? '')), 'deterministic batch job ids');
  const singleJobs = await Promise.all(rows.slice(0, 20).map((row) => singleQueue.getJob(row.id)));
  t.same(singleJobs.filter(Boolean), [], 'no reminder row has a send-email job of its own');

  const { rows: confirmations } = await database.pool.query<{ id: string }>(
    `SELECT n.id FROM notifications n JOIN registrations r ON r.id = n.registration_id JOIN attendees a ON a.id = r.attendee_id
     WHERE n.session_id = $1 AND a.email = $2 AND n.kind = 'confirmation'`,
    [session.id, single],
  );
  const job = await singleQueue.getJob(confirmations[0]!.id);
  t.same(job?.data.notificationIds, [confirmations[0]!.id], 'the confirmation went alone as a send-email job whose id is its row id');
});

t.test('550 for some, 451 for others: the 550s fail at once, the 451s retry alone and are sent, the rest once', async (t) => {
  const session = await reminderSession();
  const emails = await confirmedAttendees(session.id, 10);
  const [gone1, gone2, busy1, busy2] = emails as [string, string, string, string];
  const others = emails.slice(4);
  sink.failNext(1, 550, { to: gone1, message: 'No such user here' });
  sink.failNext(1, 550, { to: gone2, message: 'No such user here' });
  sink.failNext(1, 451, { to: busy1, message: 'try later' });
  sink.failNext(1, 451, { to: busy2, message: 'try later' });
  t.equal(await fanOut(session), 10);

  // Between the attempts: the 451 rows wait, queued, with the attempt counted and a fresh queued_at.
  const between = await waitFor(async () => {
    const rows = await reminderRows(session.id);
    const busy = rows.filter((row) => row.email === busy1 || row.email === busy2);
    return busy.every((row) => row.status === 'queued' && row.attempts === 1) ? rows : null;
  }, 10_000, 'the 451 rows waiting for their retry');
  const firstRefusal = Math.min(...sink.refused.filter((r) => r.rcptTo.includes(busy1) || r.rcptTo.includes(busy2)).map((r) => r.at));
  for (const row of between.filter((r) => r.email === busy1 || r.email === busy2)) {
    t.match(row.last_error ?? '', /451/, 'the temporary failure is recorded');
    t.ok(row.queued_at && row.queued_at.getTime() >= firstRefusal - 1_000, 'queued_at refreshed, so the stale re-queue leaves the row to the retry');
  }

  const rows = await waitFor(() => allFinal(session.id), 30_000, 'every row final');
  const byEmail = new Map(rows.map((row) => [row.email, row]));
  for (const email of [gone1, gone2]) {
    const row = byEmail.get(email)!;
    t.equal(row.status, 'failed', '550: failed');
    t.equal(row.attempts, 1, '550: one attempt, no retry');
    t.match(row.last_error ?? '', /550/);
    t.match(row.last_error ?? '', /No such user here/);
    t.equal(row.message_id, null);
  }
  for (const email of [busy1, busy2]) {
    const row = byEmail.get(email)!;
    t.equal(row.status, 'sent', '451: sent on the retry');
    t.equal(row.attempts, 2, '451: two attempts');
    t.equal(row.last_error, null, 'the error is cleared once sent');
  }
  for (const email of others) t.same([byEmail.get(email)!.status, byEmail.get(email)!.attempts], ['sent', 1], `${email}: sent in one attempt`);

  const [busyMail] = await sink.waitForMail(busy1, 1);
  const refusal = sink.refused.find((r) => r.rcptTo.includes(busy1))!;
  t.ok(busyMail!.receivedAt - refusal.at >= 1_800, `the retry waited for the backoff (${busyMail!.receivedAt - refusal.at} ms)`);
  await sleep(2_500); // past another backoff: nothing more comes
  for (const email of [gone1, gone2]) {
    t.equal(sink.refused.filter((r) => r.rcptTo.includes(email)).length, 1, 'the 550 was not retried');
    t.equal(sink.to(email).length, 0, 'nothing delivered to the 550 address');
  }
  for (const email of [busy1, busy2, ...others]) t.equal(sink.to(email).length, 1, `exactly one e-mail to ${email}`);
  const jobs = await batchJobsOf(rows.map((row) => row.id));
  t.equal(jobs.length, 1, 'one batch job');
  t.equal(jobs[0]!.attemptsMade, 2, 'which ran twice');
  t.equal(jobs[0]!.returnvalue, 'sent 8, failed 2', 'its last run reports every row (the retry sent only the two 451 rows, counted above)');
});

t.test('the same rows delivered twice, at once or again later: nothing is sent twice', async (t) => {
  await ctx.stopWorker(); // the rows stay pending: nothing relays them
  const session = await reminderSession();
  const emails = await confirmedAttendees(session.id, 30);
  t.equal(await fanOut(session), 30);
  const ids = (await reminderRows(session.id)).map((row) => row.id);
  t.same([...new Set((await reminderRows(session.id)).map((row) => row.status))], ['pending']);

  // Two deliveries of the same rows overlapping in one process: the second waits for the
  // first one's locks, then finds the rows sent.
  const mailer = createMailer({ smtpUrl: sink.url, mailDir: config.mailDir });
  t.teardown(() => mailer.close());
  const delivery = createDeliveryService({ db: database.db, clock: systemClock, tokens: createTokens(config.tokenSecret), mailer, config, branding });
  sink.hooks.onRcptTo = () => sleep(5); // keep the first delivery's sends in flight a little
  const [first, second] = await Promise.all([
    delivery.deliverMany(ids, { finalAttempt: false }),
    delivery.deliverMany([...ids].reverse(), { finalAttempt: false }),
  ]);
  sink.hooks.onRcptTo = undefined;
  t.same([...new Set([...first.values()].map((r) => r.outcome))], ['sent'], 'the first reports every row sent');
  t.same([...new Set([...second.values()].map((r) => r.outcome))], ['sent'], 'so does the second (by another delivery)');
  t.same(emails.filter((email) => remindersTo(email).length !== 1), [], 'one e-mail each');
  t.same([...new Set((await reminderRows(session.id)).map((row) => `${row.status}/${row.attempts}`))], ['sent/1'], 'each row sent once');

  // Through the worker: the same rows in two more jobs, and the relay's own job for them.
  const session2 = await reminderSession();
  const emails2 = await confirmedAttendees(session2.id, 30);
  t.equal(await fanOut(session2), 30);
  const ids2 = (await reminderRows(session2.id)).map((row) => row.id);
  await batchQueue.add('send-email-batch', { notificationIds: ids2 }, { jobId: `twice-a-${uniqueSuffix()}` });
  await batchQueue.add('send-email-batch', { notificationIds: [...ids2].reverse() }, { jobId: `twice-b-${uniqueSuffix()}` });
  await ctx.startWorker();
  await waitFor(() => allFinal(session2.id), 20_000, 'the rows final');
  await waitFor(async () => Object.values(await batchQueue.getJobCounts('waiting', 'active', 'delayed')).every((n) => n === 0), 10_000, 'the jobs done');
  await sleep(500);
  t.same(emails2.filter((email) => remindersTo(email).length !== 1), [], 'one e-mail each, with three jobs for the rows');

  const again = await batchQueue.add('send-email-batch', { notificationIds: ids2 }, { jobId: `again-${uniqueSuffix()}` });
  t.equal(await again.waitUntilFinished(batchEvents, 10_000), 'sent 30', 'the same batch once more finds every row sent');
  await sleep(500);
  t.same(emails2.filter((email) => remindersTo(email).length !== 1), [], 'and sends nothing');
  t.same([...new Set((await reminderRows(session2.id)).map((row) => `${row.status}/${row.attempts}`))], ['sent/1']);
});

t.test('rows made stale before their batch runs (registration cancelled) are skipped, the rest sent', async (t) => {
  await ctx.stopWorker();
  const session = await reminderSession();
  const emails = await confirmedAttendees(session.id, 12);
  t.equal(await fanOut(session), 12);
  const cancelled = emails.slice(0, 3);
  for (const email of cancelled) {
    const id = await registrationId(database.pool, session.id, email);
    const res = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${id}/cancel`, headers: owner.headers });
    t.equal(res.statusCode, 200, res.body);
  }
  await ctx.startWorker();

  const rows = await waitFor(() => allFinal(session.id), 20_000, 'every row final');
  for (const row of rows) {
    if (cancelled.includes(row.email)) {
      t.same([row.status, row.attempts, row.last_error], ['skipped', 0, 'the registration is cancelled'], `${row.email}: skipped, no attempt`);
    } else {
      t.same([row.status, row.attempts], ['sent', 1], `${row.email}: sent`);
    }
  }
  for (const email of cancelled) await sink.waitForMail(email, 1); // the cancellation notice
  await sleep(1_000);
  for (const email of cancelled) t.equal(remindersTo(email).length, 0, `no reminder to ${email}, who cancelled`);
  t.same(emails.slice(3).filter((email) => remindersTo(email).length !== 1), [], 'one reminder to everyone else');
  const jobs = await batchJobsOf(rows.map((row) => row.id));
  t.ok(jobs.some((job) => cancelled.some((email) => job.data.notificationIds.includes(rows.find((row) => row.email === email)!.id))), 'the stale rows were in a batch');
});

t.test("the fan-out's hand-over: only the rows given that are still pending, once; with Redis away they wait for the sweep", async (t) => {
  await ctx.stopWorker(); // the jobs stay waiting, where they can be read
  const session = await reminderSession();
  const emails = await confirmedAttendees(session.id, 150);
  t.equal(await fanOut(session), 150);
  const ids = (await reminderRows(session.id)).map((row) => row.id).sort();
  const [decided, ...rest] = ids as [string, ...string[]];
  await database.pool.query(`UPDATE notifications SET status = 'skipped', last_error = 'decided elsewhere' WHERE id = $1`, [decided]);
  const away = rest.slice(0, 20); // handed over below while Redis is away
  const handed = rest.slice(20);

  const producer = createRedis(config.redisUrl, 'producer');
  const queues = createQueues(producer, config.queuePrefix);
  t.teardown(async () => {
    await queues.close();
    producer.disconnect();
  });
  t.equal(await relayRows(database.db, queues, [decided, ...handed]), handed.length, 'every pending row given, not the decided one');
  const jobs = await batchJobsOf(ids);
  t.same(jobs.flatMap((job) => job.data.notificationIds).sort(), handed, 'the batch jobs carry exactly those rows');
  t.ok(jobs.every((job) => job.data.notificationIds.length <= SEND_EMAIL_BATCH_SIZE), 'in batches of at most SEND_EMAIL_BATCH_SIZE');
  t.equal(await relayRows(database.db, queues, handed), 0, 'handed over again: nothing, they are queued');
  t.equal((await batchJobsOf(ids)).length, jobs.length, 'and no job added');
  const statuses = new Map((await reminderRows(session.id)).map((row) => [row.id, row.status]));
  t.same([...new Set(handed.map((id) => statuses.get(id)))], ['queued']);
  t.same([...new Set(away.map((id) => statuses.get(id)))], ['pending']);

  const deadRedis = createRedis('redis://127.0.0.1:1', 'producer');
  deadRedis.on('error', () => undefined);
  const deadQueues = createQueues(deadRedis, config.queuePrefix);
  t.teardown(async () => {
    await deadQueues.close().catch(() => undefined);
    deadRedis.disconnect();
  });
  const relay = createOutboxRelay(database.db, deadQueues, { requeueAfterMs: config.outboxRequeueAfterMs, log: silentLog });
  t.equal(await relay.relayNow(away), 0, 'Redis away: nothing handed over, no error thrown at the fan-out');
  const after = new Map((await reminderRows(session.id)).map((row) => [row.id, row.status]));
  t.same([...new Set(away.map((id) => after.get(id)))], ['pending'], 'those rows still pending, for the sweep');

  await ctx.startWorker();
  const rows = await waitFor(() => allFinal(session.id), 30_000, 'every row final');
  t.equal(rows.filter((row) => row.status === 'sent').length, 149, 'the queued rows from their jobs, the pending ones through the sweep');
  await sleep(500);
  const decidedEmail = rows.find((row) => row.id === decided)!.email;
  t.same(emails.filter((email) => email !== decidedEmail && remindersTo(email).length !== 1), [], 'one reminder each');
  t.equal(remindersTo(decidedEmail).length, 0, 'none for the row decided elsewhere');
});

t.test('an SMTP server that does not answer within the send deadline: the batch records a temporary failure and lets go', async (t) => {
  await ctx.stopWorker();
  const session = await reminderSession();
  await confirmedAttendees(session.id, 4);
  t.equal(await fanOut(session), 4);
  const ids = (await reminderRows(session.id)).map((row) => row.id);

  const mailer = createMailer({ smtpUrl: sink.url, mailDir: config.mailDir });
  t.teardown(() => mailer.close());
  const delivery = createDeliveryService({
    db: database.db,
    clock: systemClock,
    tokens: createTokens(config.tokenSecret),
    mailer,
    config,
    branding,
    sendDeadlineMs: 500,
  });
  sink.hooks.onRcptTo = () => sleep(3_000);
  t.teardown(() => {
    sink.hooks.onRcptTo = undefined;
  });
  const began = Date.now();
  const results = await delivery.deliverMany(ids, { finalAttempt: false });
  const took = Date.now() - began;
  t.ok(took < 2_500, `the delivery let go at the deadline, before the server answered (${took} ms)`);
  t.same([...new Set([...results.values()].map((result) => result.outcome))], ['retry'], 'every row to retry');
  const rows = await reminderRows(session.id);
  t.same([...new Set(rows.map((row) => `${row.status}/${row.attempts}`))], ['queued/1'], 'queued for the retry, the attempt counted');
  t.ok(rows.every((row) => /no answer from the SMTP server within 0\.5 s/.test(row.last_error ?? '')), 'with the reason');
  // The server answers late; these rows are not this file's business any more.
  await sleep(3_500);
  await database.pool.query(`UPDATE notifications SET status = 'skipped' WHERE id = ANY($1::uuid[])`, [ids]);
});

t.test('invite updates to 20 attendees go in send-email jobs of up to 16 rows; each person gets their own, once', async (t) => {
  await ctx.stopWorker(); // the jobs stay waiting, where they can be read
  const session = await reminderSession();
  const emails = await confirmedAttendees(session.id, 20);
  // One of them registered before and cancelled: their invite's SEQUENCE is two above the others'.
  const returning = emails[7]!;
  await database.pool.query(
    `INSERT INTO registrations (session_id, attendee_id, name, status, manage_token_hash, join_token_hash, registered_at, cancelled_at)
     SELECT $1, id, 'Batch Person', 'cancelled', md5(random()::text || id::text), md5(id::text || random()::text), now() - interval '1 hour', now() - interval '50 minutes'
     FROM attendees WHERE email = $2`,
    [session.id, returning],
  );
  const later = new Date(new Date(session.startsAt).getTime() + 3_600_000);
  const patched = await app.inject({
    method: 'PATCH',
    url: `/api/v1/sessions/${session.id}`,
    headers: owner.headers,
    payload: { startsAt: later.toISOString(), endsAt: new Date(later.getTime() + 3_600_000).toISOString() },
  });
  t.equal(patched.statusCode, 200, patched.body);
  const { rows: updates } = await database.pool.query<{ id: string }>(
    `SELECT id FROM notifications WHERE session_id = $1 AND kind = 'session_updated' ORDER BY created_at, id`,
    [session.id],
  );
  t.equal(updates.length, 20, 'one invite update per attendee');
  const ids = updates.map((row) => row.id);
  const wanted = new Set(ids);
  const jobs = await waitFor(async () => {
    const found = (await singleQueue.getJobs(['waiting'])).filter((job) => notificationIdsOf(job.data).some((id) => wanted.has(id)));
    return found.reduce((sum, job) => sum + notificationIdsOf(job.data).length, 0) === 20 ? found : null;
  }, 10_000, "the API's relay handing the rows over");
  t.same(jobs.map((job) => job.data.notificationIds.length).sort((a, b) => a - b), [4, SEND_EMAIL_GROUP_SIZE], 'two jobs: 16 rows and 4');
  t.same(jobs.flatMap((job) => job.data.notificationIds).sort(), [...ids].sort(), 'every row in exactly one job');
  t.ok(jobs.every((job) => /^batch-[0-9a-f]{40}$/.test(job.id ?? '')), 'a job of several rows has the digest of its rows as its id');

  // The four-row job replaced by jobs of the earlier form (one row each), as Redis may still hold after an upgrade.
  const small = jobs.find((job) => job.data.notificationIds.length === 4)!;
  await small.remove();
  const legacy = await Promise.all(
    small.data.notificationIds.map((id) => singleQueue.add('send-email', { notificationId: id } as unknown as SendEmailJob, { jobId: `legacy-${id}` })),
  );

  await ctx.startWorker();
  const { rows: sequences } = await database.pool.query<{ sequence: number }>('SELECT sequence FROM sessions WHERE id = $1', [session.id]);
  const sequence = sequences[0]!.sequence;
  for (const email of emails) {
    const [mail] = await sink.waitForMail(email, 1); // the first e-mail to these attendees (inserted without a confirmation)
    const invite = checkMail(t, mail!, { to: email, contact, invite: 'REQUEST' }, `update to ${email}`);
    t.equal(invite?.sequence, email === returning ? sequence + 2 : sequence, `${email}: SEQUENCE ${email === returning ? 'two above the session (one earlier registration)' : 'the session'}`);
  }
  const { rows: final } = await database.pool.query<{ status: string; attempts: number }>(
    'SELECT status::text, attempts FROM notifications WHERE id = ANY($1::uuid[])',
    [ids],
  );
  t.same([...new Set(final.map((row) => `${row.status}/${row.attempts}`))], ['sent/1'], 'every row sent, once');
  const group = jobs.find((job) => job.data.notificationIds.length === SEND_EMAIL_GROUP_SIZE)!;
  t.equal(await (await singleQueue.getJob(group.id!))!.waitUntilFinished(singleEvents, 10_000), `sent ${SEND_EMAIL_GROUP_SIZE}`, 'the group job reports its rows');
  for (const job of legacy) t.equal(await job.waitUntilFinished(singleEvents, 10_000), 'sent 1', 'a job of the earlier form delivers its row');
  await sleep(500);
  t.same(
    emails.filter((email) => sink.to(email).filter((mail) => mail.parsed.headers.get('x-convene-notification') === 'session_updated').length !== 1),
    [],
    'one update each',
  );
});

t.test('waitlist notices delivered together: each says its place as it is at send time, across two sessions', async (t) => {
  await ctx.stopWorker(); // the rows wait, so their places change before they are sent
  const register = async (slug: string, email: string) => {
    const res = await app.inject({
      method: 'POST',
      url: `/api/v1/public/sessions/${slug}/registrations`,
      payload: { name: 'Waiting Person', email, consent: true },
    });
    t.equal(res.statusCode, 202, res.body);
  };
  const first = await createSession(app, owner.headers, { contact, capacity: 1 });
  const second = await createSession(app, owner.headers, { contact, capacity: 1 });
  const waiting = Array.from({ length: 6 }, (_, i) => uniqueEmail(`waiting-${i}`));
  const elsewhere = Array.from({ length: 3 }, (_, i) => uniqueEmail(`elsewhere-${i}`));
  await register(first.slug, uniqueEmail('seated'));
  for (const email of waiting) await register(first.slug, email);
  await register(second.slug, uniqueEmail('seated'));
  for (const email of elsewhere) await register(second.slug, email);
  // The second in line leaves before any notice goes out: everyone behind moves up.
  const leaving = await registrationId(database.pool, first.id, waiting[1]!);
  const cancelled = await app.inject({ method: 'POST', url: `/api/v1/sessions/${first.id}/registrations/${leaving}/cancel`, headers: owner.headers });
  t.equal(cancelled.statusCode, 200, cancelled.body);

  const { rows } = await database.pool.query<{ id: string }>(
    `SELECT id FROM notifications WHERE session_id = ANY($1::uuid[]) AND kind = 'waitlisted'`,
    [[first.id, second.id]],
  );
  t.equal(rows.length, 9, 'a waitlist notice per waiting person');
  const mailer = createMailer({ smtpUrl: sink.url, mailDir: config.mailDir });
  t.teardown(() => mailer.close());
  const delivery = createDeliveryService({ db: database.db, clock: systemClock, tokens: createTokens(config.tokenSecret), mailer, config, branding });
  const results = await delivery.deliverMany(
    rows.map((row) => row.id),
    { finalAttempt: false },
  );
  t.same([...results.values()].map((result) => result.outcome).sort(), [...Array(8).fill('sent'), 'skipped'], 'sent in one delivery, the notice of the one who left skipped');

  const expected = new Map<string, number>([
    [waiting[0]!, 1],
    [waiting[2]!, 2],
    [waiting[3]!, 3],
    [waiting[4]!, 4],
    [waiting[5]!, 5],
    [elsewhere[0]!, 1],
    [elsewhere[1]!, 2],
    [elsewhere[2]!, 3],
  ]);
  for (const [email, place] of expected) {
    const notice = sink.to(email).find((mail) => mail.parsed.headers.get('x-convene-notification') === 'waitlisted');
    t.match(notice?.text ?? '', new RegExp(`at place ${place}\\b`), `${email}: place ${place}`);
  }
  // The place the API gives (placeOnWaitlist, one registration at a time) is the same.
  for (const [email, place] of expected) {
    const sessionId = elsewhere.includes(email) ? second.id : first.id;
    const { rows: found } = await database.pool.query<{ status: 'waitlisted'; ticket: string }>(
      `SELECT r.status::text, r.waitlist_ticket AS ticket FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE r.session_id = $1 AND a.email = $2`,
      [sessionId, email],
    );
    const alone = await waitlistPosition(database.db, { sessionId, status: found[0]!.status, waitlistTicket: Number(found[0]!.ticket) });
    t.equal(alone, place, `${email}: the same place one at a time`);
  }
  await ctx.startWorker();
});
