import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Test } from 'tap';
import { QUEUES, type ReminderJob } from '../../src/queues.js';
import { createRedis } from '../../src/redis.js';
import { uniqueSuffix } from '../helpers/app.js';

/**
 * Helpers of the reminder, join-link and follow-up tests. Each test file owns one Redis logical
 * database (so its 'session-reminders' and 'send-email' queues are its own) and empties it first.
 */

/** Empties one Redis logical database: what an earlier, interrupted run of the file left. */
export async function flushRedisDb(url: string): Promise<void> {
  const connection = createRedis(url, 'worker');
  try {
    await connection.flushdb();
  } finally {
    connection.disconnect();
  }
}

const clients = new WeakMap<Queue, Redis>();

/** A Queue on the file's Redis database to look at the reminder jobs; closed in teardown. */
export function reminderQueue(t: Test, url: string): Queue<ReminderJob> {
  const connection = createRedis(url, 'worker');
  const queue = new Queue<ReminderJob>(QUEUES.sessionReminders, { connection });
  clients.set(queue, connection);
  t.teardown(async () => {
    await queue.close();
    connection.disconnect();
  });
  return queue;
}

/** When a delayed job fires: BullMQ keeps (fire time in ms) * 4096 + a counter as its score. */
export async function firesAt(queue: Queue, jobId: string): Promise<number | null> {
  const client = clients.get(queue);
  if (!client) throw new Error('firesAt needs a queue made by reminderQueue');
  const score = await client.zscore(queue.keys.delayed!, jobId);
  return score === null ? null : Math.floor(Number(score) / 0x1000);
}

/** The ids of the delayed reminder jobs of one session. */
export async function delayedJobIdsOf(queue: Queue<ReminderJob>, sessionId: string): Promise<string[]> {
  const jobs = await queue.getDelayed(0, -1);
  return jobs
    .filter((job) => job.data.sessionId === sessionId)
    .map((job) => job.id!)
    .sort();
}

/** A session body with an exact start (and a 90-minute length unless `minutes` says otherwise). */
export function sessionAt(start: Date, overrides: Record<string, unknown> = {}, minutes = 90): Record<string, unknown> {
  return {
    title: `Virtual session ${uniqueSuffix()}`,
    startsAt: start.toISOString(),
    endsAt: new Date(start.getTime() + minutes * 60_000).toISOString(),
    timezone: 'America/Chicago',
    capacity: 100,
    ...overrides,
  };
}

export { createSessionWithBody as createSessionAt } from '../helpers/registrations.js';

/** The first full minute at least `ms` after `from`. */
export function minuteAfter(from: Date, ms: number): Date {
  const at = new Date(from.getTime() + ms);
  at.setUTCSeconds(0, 0);
  return new Date(at.getTime() + 60_000);
}

/** "Friday, December 4, 2026, 2:00 PM" in a zone, by Intl (independent of the app's luxon). */
export function localDateTime(at: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'long',
    month: 'long',
    day: 'numeric',
    year: 'numeric',
    hour: 'numeric',
    minute: '2-digit',
    hour12: true,
  }).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('weekday')}, ${part('month')} ${part('day')}, ${part('year')}, ${part('hour')}:${part('minute')} ${part('dayPeriod')}`;
}

/** A QueueEvents on the reminder queue, to wait for a job's outcome; closed in teardown. */
export async function reminderEvents(t: Test, url: string): Promise<QueueEvents> {
  const connection = createRedis(url, 'worker');
  const events = new QueueEvents(QUEUES.sessionReminders, { connection });
  t.teardown(async () => {
    await events.close();
    connection.disconnect();
  });
  await events.waitUntilReady();
  return events;
}
