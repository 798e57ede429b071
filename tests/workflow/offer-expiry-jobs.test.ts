import { Queue, QueueEvents, type Job } from 'bullmq';
import t, { type Test } from 'tap';
import { ManualClock } from '../../src/clock.js';
import { offerExpiryJobId, QUEUES, type OfferExpiryJob } from '../../src/queues.js';
import { createRedis } from '../../src/redis.js';
import { instantText } from '../../src/text.js';
import { uniqueEmail } from '../helpers/app.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { checkMail, manageTokenOf } from '../helpers/mail-checks.js';
import { startRedisProcess } from '../helpers/processes.js';
import { assertCounters, createSessionWithBody, kindsOf, registeredAs, registrationId, sessionCounts } from '../helpers/registrations.js';
import type { ReceivedMail } from '../helpers/smtp-sink.js';
import { waitFor } from '../helpers/waiting.js';
import { minuteAfter, sessionAt } from '../reminders/support.js';

/**
 * Waitlist offers end through the real worker: one delayed BullMQ job per offer (id
 * offer-<registrationId>), run by the worker's offer-expiry processor, with the e-mails of each
 * step delivered over real SMTP. The clock is a ManualClock shared by the API and the worker; a
 * delayed job is promoted rather than waited for. The worker's periodic sweep is pushed out of
 * the way (OFFER_SWEEP_MS at its maximum) so that what expires an offer is the job, except where
 * the sweep is under test (it also runs once when the worker starts).
 *
 * A Redis of its own: its own offer-expiry queue (the shared logical databases are all taken).
 */

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const OFFER_MINUTES = 60;

const redis = await startRedisProcess(t);
const clock = new ManualClock(new Date());
const ctx = await startMailTest(t, { name: 'workflow_offer_jobs', redisUrl: redis.url, clock, env: { OFFER_SWEEP_MS: '3600000' } });
const { app, database, sink, owner } = ctx;
const { pool } = database;
const contact = { name: 'Waitlist Desk', email: 'waitlist-desk@org.example' };

const connection = createRedis(redis.url, 'worker');
const eventsConnection = createRedis(redis.url, 'worker');
const queue = new Queue<OfferExpiryJob>(QUEUES.offerExpiry, { connection, prefix: ctx.config.queuePrefix });
const events = new QueueEvents(QUEUES.offerExpiry, { connection: eventsConnection, prefix: ctx.config.queuePrefix });
await events.waitUntilReady();
t.teardown(async () => {
  await events.close();
  await queue.close();
  eventsConnection.disconnect();
  connection.disconnect();
});

function mailsOfKind(email: string, kind: string): ReceivedMail[] {
  return sink.to(email).filter((mail) => mail.parsed.headers.get('x-convene-notification') === kind);
}

async function mailOfKind(email: string, kind: string): Promise<ReceivedMail> {
  await waitFor(() => mailsOfKind(email, kind).length > 0, 15_000, `a ${kind} e-mail to ${email}`);
  return mailsOfKind(email, kind)[0]!;
}

async function statusOf(id: string): Promise<string> {
  const { rows } = await pool.query<{ status: string }>('SELECT status::text FROM registrations WHERE id = $1', [id]);
  return rows[0]!.status;
}

async function offerDeadline(id: string): Promise<Date> {
  const { rows } = await pool.query<{ offer_expires_at: Date }>('SELECT offer_expires_at FROM registrations WHERE id = $1', [id]);
  return rows[0]!.offer_expires_at;
}

/** What an early job must leave as it was: every registration's status, the counters, the outbox. */
async function snapshot(sessionId: string): Promise<unknown> {
  const registrations = await pool.query('SELECT id, status::text, offer_expires_at, updated_at FROM registrations WHERE session_id = $1 ORDER BY id', [sessionId]);
  const session = await pool.query(
    'SELECT confirmed_count, waitlisted_count, pending_count, offered_count, cancelled_count FROM sessions WHERE id = $1',
    [sessionId],
  );
  const outbox = await pool.query('SELECT count(*)::int AS n FROM notifications WHERE session_id = $1', [sessionId]);
  return { registrations: registrations.rows, session: session.rows[0], outbox: outbox.rows[0] };
}

/** The delayed expiry job of an offer, as the API or the worker scheduled it. */
async function expiryJob(t: Test, registration: string, label: string): Promise<Job<OfferExpiryJob>> {
  const job = await queue.getJob(offerExpiryJobId(registration));
  t.ok(job, `${label}: the job offer-<registrationId> exists`);
  t.equal(job?.id, `offer-${registration}`, `${label}: its id is deterministic`);
  t.same(job?.data, { registrationId: registration }, `${label}: it carries the registration id only`);
  t.equal(job?.delay, OFFER_MINUTES * MINUTE, `${label}: due when the offer runs out`);
  t.equal(await job?.getState(), 'delayed', `${label}: waiting in the delayed set`);
  return job!;
}

/** Runs a delayed job now through the worker and returns what the processor answered. */
async function runNow(job: Job<OfferExpiryJob>): Promise<string> {
  const finished = job.waitUntilFinished(events, 20_000);
  try {
    await job.promote();
  } catch (error) {
    // The retry of an early run may have become due on its own meanwhile: it runs all the same.
    if (!/not in the delayed state/i.test((error as Error).message)) throw error;
  }
  return String(await finished);
}

t.test('offers end through their jobs and the sweep, with the e-mail of each step', async (t) => {
  const start = minuteAfter(clock.now(), 3 * DAY);
  const session = await createSessionWithBody(
    app,
    owner.headers,
    sessionAt(start, { capacity: 1, contact, waitlist: { enabled: true, limit: null, mode: 'offer', offerMinutes: OFFER_MINUTES } }),
  );
  const emails = { ana: uniqueEmail('ana'), bo: uniqueEmail('bo'), cy: uniqueEmail('cy'), di: uniqueEmail('di') };
  const statuses: string[] = [];
  for (const [name, email] of Object.entries(emails)) statuses.push(await registeredAs(app, pool, session, { name: `${name} Offered`, email }));
  t.same(statuses, ['confirmed', 'waitlisted', 'waitlisted', 'waitlisted']);
  const [ana, bo, cy, di] = await Promise.all(Object.values(emails).map((email) => registrationId(pool, session.id, email)));
  await mailOfKind(emails.bo, 'waitlisted');

  // Ana leaves: Bo is offered her seat, and the API schedules the job that ends the offer.
  clock.advance(MINUTE);
  const cancelled = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${ana}/cancel`, headers: owner.headers });
  t.equal(cancelled.statusCode, 200, cancelled.body);
  t.equal(await statusOf(bo!), 'offered');
  const boJob = await expiryJob(t, bo!, "Bo's offer");
  const boOffered = await mailOfKind(emails.bo, 'offered');
  checkMail(t, boOffered, { to: emails.bo, contact, invite: null }, 'offered');
  t.match(boOffered.parsed.subject, /^A seat is held for you: /);
  const deadlineText = instantText(await offerDeadline(bo!), 'America/Chicago');
  t.ok(/Accept by/.test(boOffered.text) && boOffered.text.includes(deadlineText), `the e-mail gives the deadline in the session's zone (${deadlineText})`);

  // The job fired before the deadline (another process's clock): it fails and changes nothing.
  const before = await snapshot(session.id);
  await boJob.promote();
  const early = await waitFor(async () => {
    const job = await queue.getJob(boJob.id!);
    return job?.failedReason ? job : null;
  }, 15_000, 'the early run to fail');
  t.match(early.failedReason, /not due/, "the early run fails with 'not due'");
  t.same(await snapshot(session.id), before, 'an early run changes nothing');
  t.equal(await statusOf(bo!), 'offered');

  // Past the deadline the job (its retry, run now) expires the offer and offers the seat to Cy.
  clock.set(new Date((await offerDeadline(bo!)).getTime() + 1_000));
  t.equal(await runNow(early), 'expired', 'the job expired the offer');
  t.equal(await statusOf(bo!), 'expired');
  t.equal(await statusOf(cy!), 'offered');
  t.equal(await queue.getJob(boJob.id!), undefined, 'the finished job is gone from Redis');
  t.equal((await offerDeadline(cy!)).getTime(), clock.now().getTime() + OFFER_MINUTES * MINUTE, "Cy's deadline counts from the expiry");
  const cyJob = await expiryJob(t, cy!, "Cy's offer (scheduled by the worker)");
  checkMail(t, await mailOfKind(emails.bo, 'offer_expired'), { to: emails.bo, contact, invite: null }, 'offer expired');
  checkMail(t, await mailOfKind(emails.cy, 'offered'), { to: emails.cy, contact, invite: null }, 'offered to the next person');
  t.has(await sessionCounts(app, owner.headers, session.id), { confirmed: 0, offered: 1, waitlisted: 1 });
  await assertCounters(t, pool, session.id, 'after the job');
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/registrations/${manageTokenOf(boOffered)}/accept` })).statusCode, 409, 'Bo is too late');

  // Redis loses Cy's job: the worker's sweep (run as it starts) expires the offer all the same.
  await cyJob.remove();
  clock.set(new Date((await offerDeadline(cy!)).getTime() + 1_000));
  await ctx.stopWorker();
  await ctx.startWorker();
  await waitFor(async () => (await statusOf(cy!)) === 'expired', 15_000, "the sweep to expire Cy's offer");
  t.equal(await statusOf(di!), 'offered', 'and to offer the seat to Di');
  // The sweep schedules the new offer's job after its commit.
  await waitFor(() => queue.getJob(offerExpiryJobId(di!)), 5_000, "Di's job");
  const diJob = await expiryJob(t, di!, "Di's offer (scheduled by the sweep)");
  checkMail(t, await mailOfKind(emails.cy, 'offer_expired'), { to: emails.cy, contact, invite: null }, 'offer expired (sweep)');
  const diOffered = await mailOfKind(emails.di, 'offered');
  checkMail(t, diOffered, { to: emails.di, contact, invite: null }, 'offered after the sweep');
  await assertCounters(t, pool, session.id, 'after the sweep');

  // Di accepts from the e-mailed manage link: the confirmation carries the invite.
  clock.advance(5 * MINUTE);
  const accepted = await app.inject({ method: 'POST', url: `/api/v1/registrations/${manageTokenOf(diOffered)}/accept` });
  t.equal(accepted.statusCode, 200, accepted.body);
  t.equal(accepted.json().registration.status, 'confirmed');
  const confirmation = await mailOfKind(emails.di, 'confirmation');
  const invite = checkMail(t, confirmation, { to: emails.di, contact, invite: 'REQUEST' }, 'confirmation after accepting');
  t.equal(invite?.start.getTime(), start.getTime(), 'the invite is for the session');
  t.same(await kindsOf(pool, session.id, di!), ['waitlisted', 'offered', 'confirmation']);

  // Di's job still fires one day: it finds nothing to do.
  t.equal(await runNow(diJob), 'gone', 'the job of an accepted offer does nothing');
  t.equal(await statusOf(di!), 'confirmed');
  t.has(await sessionCounts(app, owner.headers, session.id), { confirmed: 1, offered: 0, waitlisted: 0 });
  await assertCounters(t, pool, session.id, 'accepted');

  for (const email of [emails.bo, emails.cy, emails.di]) {
    t.equal(mailsOfKind(email, 'offered').length, 1, `one offered e-mail to ${email}`);
  }
  t.equal(mailsOfKind(emails.bo, 'offer_expired').length, 1, 'one offer_expired e-mail to Bo');
  t.equal(mailsOfKind(emails.di, 'confirmation').length, 1, 'one confirmation to Di');
});

t.test('a request and its approval: no invite while pending, the invite with the seat', async (t) => {
  const start = minuteAfter(clock.now(), 3 * DAY);
  const session = await createSessionWithBody(app, owner.headers, sessionAt(start, { capacity: 1, contact, approval: true }));
  const email = uniqueEmail('requester');
  t.equal(await registeredAs(app, pool, session, { name: 'Rae Requester', email }), 'pending');
  const received = await mailOfKind(email, 'request_received');
  checkMail(t, received, { to: email, contact, invite: null }, 'request received');
  const id = await registrationId(pool, session.id, email);
  const approved = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/registrations/${id}/approve`, headers: owner.headers });
  t.equal(approved.statusCode, 200, approved.body);
  checkMail(t, await mailOfKind(email, 'confirmation'), { to: email, contact, invite: 'REQUEST' }, 'confirmation after approval');
  t.equal(sink.to(email).length, 2, 'two e-mails in all');
});
