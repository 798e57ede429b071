import t from 'tap';
import type { Test } from 'tap';
import { createQueues, reminderJobId, type ReminderJob } from '../../src/queues.js';
import { ManualClock } from '../../src/clock.js';
import { createRedis } from '../../src/redis.js';
import { createReminderScheduler } from '../../src/services/reminders.service.js';
import { buildTestApp, signIn, uniqueEmail } from '../helpers/app.js';
import { isolatedRedisUrl } from '../helpers/isolated-app.js';
import { registered } from '../helpers/registrations.js';
import { createSessionAt, delayedJobIdsOf, firesAt, flushRedisDb, minuteAfter, reminderQueue, sessionAt } from './support.js';

/**
 * Reminder scheduling: one delayed BullMQ job per (session, offset), looked at directly in the
 * 'session-reminders' queue of this file's own Redis database. No worker runs here, so the jobs
 * stay where the API put them.
 */

const REDIS_URL = isolatedRedisUrl(2);
await flushRedisDb(REDIS_URL);
const { app } = await buildTestApp(t, { env: { REDIS_URL } });
const owner = await signIn(app);
const queue = reminderQueue(t, REDIS_URL);

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Time between our clock reading and the API's (requests, Redis round trips). */
const TOLERANCE_MS = 10_000;

async function patch(id: string, payload: Record<string, unknown>) {
  const res = await app.inject({ method: 'PATCH', url: `/api/v1/sessions/${id}`, headers: owner.headers, payload });
  if (res.statusCode !== 200) throw new Error(`PATCH failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** Checks that the job of (session, offset) is delayed to fire `offset` minutes before `start`. */
async function expectJob(t: Test, sessionId: string, offset: number, start: Date, requestedAt: number, label: string) {
  const id = reminderJobId(sessionId, offset);
  const job = await queue.getJob(id);
  t.ok(job, `${label}: the ${offset}-minute job exists`);
  if (!job) return;
  t.equal(job.id, `reminder-${sessionId}-${offset}`, `${label}: deterministic job id`);
  t.ok(await job.isDelayed(), `${label}: the ${offset}-minute job is delayed`);
  t.same(job.data, { sessionId, offset, startsAt: start.toISOString() } satisfies ReminderJob, `${label}: job data`);
  const fireAt = start.getTime() - offset * MINUTE;
  const expectedDelay = fireAt - requestedAt;
  t.ok(
    Math.abs(job.delay - expectedDelay) <= TOLERANCE_MS,
    `${label}: delay ${job.delay} ms is about ${expectedDelay} ms (fires ${offset} minutes before the start)`,
  );
  const at = await firesAt(queue, id);
  t.ok(at !== null && Math.abs(at - fireAt) <= TOLERANCE_MS, `${label}: the delayed set fires it at ${new Date(fireAt).toISOString()} (got ${at === null ? 'none' : new Date(at).toISOString()})`);
}

t.test('published with [1440, 60]: one delayed job per offset; attendees add none; moves, offset removal, cancellation', async (t) => {
  const start = minuteAfter(new Date(), 3 * DAY);
  const before = Date.now();
  const session = await createSessionAt(app, owner.headers, sessionAt(start, { reminders: [1440, 60] }));
  t.same(session.reminders, [1440, 60]);
  await expectJob(t, session.id, 1440, start, before, 'published');
  await expectJob(t, session.id, 60, start, before, 'published');
  t.same(await delayedJobIdsOf(queue, session.id), [reminderJobId(session.id, 1440), reminderJobId(session.id, 60)].sort(), 'exactly the two jobs');

  // The jobs are per session, not per attendee.
  const countsBefore = await queue.getJobCounts('delayed', 'waiting', 'active', 'completed', 'failed');
  for (let i = 0; i < 30; i += 1) await registered(app, session.slug, { name: `Attendee ${i}`, email: uniqueEmail('sched') });
  t.equal((await delayedJobIdsOf(queue, session.id)).length, 2, '30 registrations later: still two jobs');
  t.same(await queue.getJobCounts('delayed', 'waiting', 'active', 'completed', 'failed'), countsBefore, 'the queue holds no more jobs than before');
  await expectJob(t, session.id, 1440, start, before, 'after 30 registrations');

  // Move the session by a day and a half: both jobs move (new delay, new startsAt in the data).
  const moved = new Date(start.getTime() + 36 * HOUR);
  const beforeMove = Date.now();
  await patch(session.id, { startsAt: moved.toISOString(), endsAt: new Date(moved.getTime() + 90 * MINUTE).toISOString() });
  await expectJob(t, session.id, 1440, moved, beforeMove, 'moved');
  await expectJob(t, session.id, 60, moved, beforeMove, 'moved');
  t.equal((await delayedJobIdsOf(queue, session.id)).length, 2, 'moving does not add jobs');

  // A PATCH that changes neither the time nor the offsets leaves the jobs alone.
  await patch(session.id, { title: `${session.title} (renamed)` });
  await expectJob(t, session.id, 60, moved, beforeMove, 'after a rename');

  // Drop the day-before offset: its job goes, the hour-before one stays.
  await patch(session.id, { reminders: [60] });
  t.equal(await queue.getJob(reminderJobId(session.id, 1440)), undefined, 'the 1440 job is removed');
  await expectJob(t, session.id, 60, moved, beforeMove, 'reminders [60]');

  // Add an offset back: a new job for it.
  const beforeAdd = Date.now();
  await patch(session.id, { reminders: [60, 120] });
  await expectJob(t, session.id, 120, moved, beforeAdd, 'reminders [60, 120]');
  t.same(await delayedJobIdsOf(queue, session.id), [reminderJobId(session.id, 120), reminderJobId(session.id, 60)].sort());

  // Cancelling removes every job of the session.
  const cancelled = await app.inject({ method: 'POST', url: `/api/v1/sessions/${session.id}/cancel`, headers: owner.headers, payload: {} });
  t.equal(cancelled.statusCode, 200, cancelled.body);
  t.same(await delayedJobIdsOf(queue, session.id), [], 'no job left after cancelling');
  for (const offset of [1440, 120, 60]) t.equal(await queue.getJob(reminderJobId(session.id, offset)), undefined, `no ${offset} job`);
});

t.test('a draft has no jobs; publishing schedules them; a moved draft still has none', async (t) => {
  const start = minuteAfter(new Date(), 3 * DAY);
  const draft = await createSessionAt(app, owner.headers, sessionAt(start, { reminders: [1440, 60] }), { publish: false });
  t.same(await delayedJobIdsOf(queue, draft.id), [], 'a draft has no reminder jobs');
  const later = new Date(start.getTime() + DAY);
  await patch(draft.id, { startsAt: later.toISOString(), endsAt: new Date(later.getTime() + HOUR).toISOString(), reminders: [1440, 60, 30] });
  t.same(await delayedJobIdsOf(queue, draft.id), [], 'changing a draft schedules nothing');
  const before = Date.now();
  const published = await app.inject({ method: 'POST', url: `/api/v1/sessions/${draft.id}/publish`, headers: owner.headers });
  t.equal(published.statusCode, 200, published.body);
  t.equal((await delayedJobIdsOf(queue, draft.id)).length, 3, 'publishing schedules one job per offset');
  await expectJob(t, draft.id, 30, later, before, 'published later');
});

t.test('offsets already past are skipped, when created and when moved', async (t) => {
  // Starts in two hours: the day-before reminder is already past.
  const soon = minuteAfter(new Date(), 2 * HOUR);
  const before = Date.now();
  const session = await createSessionAt(app, owner.headers, sessionAt(soon, { reminders: [1440, 60] }));
  t.equal(await queue.getJob(reminderJobId(session.id, 1440)), undefined, 'no 1440 job for a session two hours away');
  await expectJob(t, session.id, 60, soon, before, 'two hours away');

  // Starts in three days, then is moved to start in 90 minutes: the 1440 job goes, the 60 one moves.
  const far = minuteAfter(new Date(), 3 * DAY);
  const other = await createSessionAt(app, owner.headers, sessionAt(far, { reminders: [1440, 60] }));
  t.equal((await delayedJobIdsOf(queue, other.id)).length, 2);
  const near = minuteAfter(new Date(), 90 * MINUTE);
  const beforeMove = Date.now();
  await patch(other.id, { startsAt: near.toISOString(), endsAt: new Date(near.getTime() + HOUR).toISOString() });
  t.equal(await queue.getJob(reminderJobId(other.id, 1440)), undefined, 'moved to 90 minutes away: the 1440 job is removed');
  await expectJob(t, other.id, 60, near, beforeMove, 'moved close');

  // Moved again, 40 minutes away: no reminder is due any more.
  const nearer = minuteAfter(new Date(), 40 * MINUTE);
  await patch(other.id, { startsAt: nearer.toISOString(), endsAt: new Date(nearer.getTime() + HOUR).toISOString() });
  t.same(await delayedJobIdsOf(queue, other.id), [], 'moved to 40 minutes away: no job at all');
});

t.test('the scheduler itself: idempotent, and a job that is due is left to fire', async (t) => {
  const connection = createRedis(REDIS_URL, 'producer');
  const queues = createQueues(connection, 'bull');
  t.teardown(async () => {
    await queues.close();
    connection.disconnect();
  });
  const clock = new ManualClock(new Date());
  const scheduler = createReminderScheduler({ queues, clock });
  const sessionId = crypto.randomUUID();
  const start = minuteAfter(clock.now(), 2 * DAY);
  const session = { id: sessionId, status: 'published' as const, startsAt: start, reminders: [1440, 60] };

  t.equal(await scheduler.schedule(session), 2, 'two jobs touched the first time');
  t.equal(await scheduler.schedule(session), 0, 'scheduling again touches nothing');
  t.equal((await delayedJobIdsOf(queue, sessionId)).length, 2);

  // The day-before reminder comes due: the worker's sweep runs before a worker took the job.
  clock.set(new Date(start.getTime() - 1440 * MINUTE + 1_000));
  t.equal(await scheduler.schedule(session), 0, 'a sweep at the due time touches nothing');
  const due = await queue.getJob(reminderJobId(sessionId, 1440));
  t.ok(due, 'the due 1440 job is still there, to fire');
  t.equal(due?.data.startsAt, start.toISOString());

  // The session moves an hour earlier, so that the day-before reminder is past: that job is
  // stale (it holds the old start) and goes.
  const moved = new Date(start.getTime() - HOUR);
  t.equal(await scheduler.schedule({ ...session, startsAt: moved }), 2, 'the stale 1440 job removed, the 60 job moved');
  t.equal(await queue.getJob(reminderJobId(sessionId, 1440)), undefined, 'no 1440 job for the new start');
  t.equal((await queue.getJob(reminderJobId(sessionId, 60)))?.data.startsAt, moved.toISOString(), 'the 60 job has the new start');

  // Unscheduling with the offsets it had before removes them all.
  t.equal(await scheduler.unschedule({ id: sessionId, reminders: [] }, [1440, 60]), 1);
  t.same(await delayedJobIdsOf(queue, sessionId), []);
});
