import { and, asc, eq, gt, lt, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Database } from '../../db/client.js';
import { sessions, type SessionRow } from '../../db/schema/index.js';
import { reminderJobId, type Queues, type ReminderJob } from '../queues.js';
import type { Clock } from '../clock.js';
import { kinds } from './notifications/kinds.js';
import { OUTBOX_COLUMNS, outboxValues } from './notifications/outbox.js';

const FAN_OUT_BATCH = 1_000;
const SCHEDULE_WAIT_MS = 2_000;
/** Reminder offsets are at most 30 days; the reconcile sweep looks a little further. */
const RECONCILE_HORIZON_MS = 31 * 24 * 3600 * 1000;

/** "in 1 day", "in 2 hours", "in 15 minutes": for the subject and the first line of a reminder. */
export function reminderLead(offsetMinutes: number): string {
  const plural = (n: number, unit: string) => `in ${n} ${unit}${n === 1 ? '' : 's'}`;
  if (offsetMinutes % 1440 === 0) return plural(offsetMinutes / 1440, 'day');
  if (offsetMinutes % 60 === 0) return plural(offsetMinutes / 60, 'hour');
  return plural(offsetMinutes, 'minute');
}

export type ReminderSessionFields = Pick<SessionRow, 'id' | 'status' | 'startsAt' | 'reminders'>;

export interface ReminderScheduler {
  /**
   * Makes the session's reminder jobs match it: one delayed job per future offset, moved when
   * the start moved, removed for offsets dropped or past. Touches O(offsets) jobs, never one
   * per attendee. `previousOffsets` are offsets the session had before (their jobs go).
   */
  schedule(session: ReminderSessionFields, previousOffsets?: number[]): Promise<number>;
  /** Removes every reminder job of the session (cancelled, deleted). */
  unschedule(session: Pick<SessionRow, 'id' | 'reminders'>, previousOffsets?: number[]): Promise<number>;
}

/**
 * Scheduling is best effort: when Redis is unavailable the change still commits, and the
 * worker's reconcile sweep schedules the jobs later. A job that fires for a session that moved,
 * was cancelled or dropped the offset sends nothing, so a stale job is harmless.
 */
export function createReminderScheduler({ queues, clock, log }: { queues: Queues; clock: Clock; log?: Logger }): ReminderScheduler {
  const queue = queues.sessionReminders;

  async function removeJob(id: string): Promise<boolean> {
    const job = await queue.getJob(id);
    if (!job) return false;
    if (await job.isActive()) return false; // firing now: it will find the session changed and send nothing
    await job.remove();
    return true;
  }

  async function upsertJob(session: ReminderSessionFields, offset: number): Promise<number> {
    const id = reminderJobId(session.id, offset);
    const fireAt = session.startsAt.getTime() - offset * 60_000;
    const delay = fireAt - clock.now().getTime();
    const data: ReminderJob = { sessionId: session.id, offset, startsAt: session.startsAt.toISOString() };
    const existing = await queue.getJob(id);
    if (delay <= 0) {
      // Already past (a session created or moved late): no "tomorrow" reminder an hour before.
      // A job for this very start is due now (waiting for a worker, or not yet moved out of the
      // delayed set): it must still fire, so only a job for another start is removed.
      if (!existing || existing.data.startsAt === data.startsAt) return 0;
      return (await removeJob(id)) ? 1 : 0;
    }
    if (existing) {
      if (existing.data.startsAt === data.startsAt && (await existing.isDelayed())) return 0;
      if (await existing.isDelayed()) {
        await existing.updateData(data);
        await existing.changeDelay(delay);
        return 1;
      }
      if (await existing.isActive()) return 0;
      await existing.remove();
    }
    await queue.add('session-reminder', data, { jobId: id, delay });
    return 1;
  }

  async function schedule(session: ReminderSessionFields, previousOffsets: number[] = []): Promise<number> {
    try {
      if (session.status !== 'published') return await unschedule(session, previousOffsets);
      let touched = 0;
      for (const offset of session.reminders) touched += await upsertJob(session, offset);
      for (const offset of previousOffsets.filter((offset) => !session.reminders.includes(offset))) {
        if (await removeJob(reminderJobId(session.id, offset))) touched += 1;
      }
      return touched;
    } catch (error) {
      log?.warn({ sessionId: session.id, err: { message: (error as Error).message } }, 'reminders not scheduled; the sweep will retry');
      return 0;
    }
  }

  async function unschedule(session: Pick<SessionRow, 'id' | 'reminders'>, previousOffsets: number[] = []): Promise<number> {
    try {
      let touched = 0;
      for (const offset of new Set([...session.reminders, ...previousOffsets])) {
        if (await removeJob(reminderJobId(session.id, offset))) touched += 1;
      }
      return touched;
    } catch (error) {
      log?.warn({ sessionId: session.id, err: { message: (error as Error).message } }, 'reminders not removed; stale jobs send nothing');
      return 0;
    }
  }

  /**
   * BullMQ waits for a Redis connection rather than failing, so a change made while Redis is
   * down would hang its request. The caller waits at most SCHEDULE_WAIT_MS; the scheduling goes
   * on in the background and the worker's sweep repairs whatever it could not do.
   */
  function bounded<A extends unknown[]>(operation: (...args: A) => Promise<number>) {
    return (...args: A): Promise<number> => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<number>((resolve) => {
        timer = setTimeout(() => {
          log?.warn('reminder scheduling is waiting for Redis; the sweep will finish it');
          resolve(0);
        }, SCHEDULE_WAIT_MS);
      });
      return Promise.race([operation(...args), timeout]).finally(() => clearTimeout(timer));
    };
  }

  return { schedule: bounded(schedule), unschedule: bounded(unschedule) };
}

export const noReminders: ReminderScheduler = { schedule: async () => 0, unschedule: async () => 0 };

export interface FanOutResult {
  status: 'sent' | 'stale';
  notifications: number;
}

/**
 * Fires one reminder: when the session is still published, still starts when the job expected
 * and still has the offset, writes one outbox row per attendee confirmed when the reminder was
 * due (at the latest now), in batches. The
 * dedupe key (kinds.reminder: registration, offset, start) makes a job that fires twice write nothing twice.
 */
export async function fanOutReminder(
  db: Database,
  job: ReminderJob,
  now: Date,
  /**
   * Called with the rows of each batch that wrote any, once it has committed (and awaited before
   * the next batch): its e-mails can go while the next batch is written.
   */
  onBatch: (notificationIds: string[]) => Promise<unknown> | void = () => undefined,
): Promise<FanOutResult> {
  const [session] = await db.select().from(sessions).where(eq(sessions.id, job.sessionId));
  if (
    !session ||
    session.status !== 'published' ||
    session.startsAt.toISOString() !== job.startsAt ||
    !session.reminders.includes(job.offset) ||
    session.endsAt.getTime() <= now.getTime()
  ) {
    return { status: 'stale', notifications: 0 };
  }
  const startsAtEpoch = Math.floor(session.startsAt.getTime() / 1000);
  const lead = reminderLead(job.offset);
  // The people confirmed when the reminder was due (or now, when it fires early): a job that
  // fires again (a retry, a duplicate) finds the same people, so someone confirmed after the
  // reminder fired never gets it.
  const cutoff = new Date(Math.min(now.getTime(), session.startsAt.getTime() - job.offset * 60_000));
  const reminder = kinds.reminder.row(sql`batch.id`, {
    offset: sql`${job.offset}::int`,
    startsAt: sql`${job.startsAt}::text`,
    lead: sql`${lead}::text`,
    startsAtEpoch: sql`${startsAtEpoch}::bigint`,
  });
  let written = 0;
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const { rows } = await db.execute<{ last: string | null; batch: number; written: string[] | null }>(sql`
      WITH batch AS (
        SELECT id FROM registrations
        WHERE session_id = ${session.id} AND status = 'confirmed' AND id > ${after}::uuid
          AND coalesce(confirmed_at, registered_at) <= ${cutoff}::timestamptz
        ORDER BY id LIMIT ${FAN_OUT_BATCH}
      ),
      written AS (
        INSERT INTO notifications ${OUTBOX_COLUMNS}
        SELECT ${outboxValues(sql`${session.id}::uuid`, reminder, sql`${now}::timestamptz`)}
        FROM batch
        ON CONFLICT (dedupe_key) DO NOTHING
        RETURNING id
      )
      SELECT (SELECT id::text FROM batch ORDER BY id DESC LIMIT 1) AS last, (SELECT count(*)::int FROM batch) AS batch,
        (SELECT array_agg(id::text) FROM written) AS written`);
    const row = rows[0]!;
    if (row.written) {
      written += row.written.length;
      await onBatch(row.written);
    }
    if (row.batch < FAN_OUT_BATCH || !row.last) break;
    after = row.last;
  }
  return { status: 'sent', notifications: written };
}

/** Upcoming published sessions whose reminders may still fire: what the worker's sweep re-schedules. */
export async function upcomingSessions(db: Database, now: Date): Promise<SessionRow[]> {
  return db
    .select()
    .from(sessions)
    .where(
      and(
        eq(sessions.status, 'published'),
        gt(sessions.startsAt, now),
        lt(sessions.startsAt, new Date(now.getTime() + RECONCILE_HORIZON_MS)),
      ),
    )
    .orderBy(asc(sessions.startsAt));
}
