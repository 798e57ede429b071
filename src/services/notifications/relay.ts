import { and, inArray, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { anyUuid, type Database, type Executor } from '../../../db/client.js';
import { notifications, type NotificationKind } from '../../../db/schema/index.js';
import { chunksOf, SEND_EMAIL_BATCH_SIZE, SEND_EMAIL_GROUP_SIZE, notificationsJobId, type Queues } from '../../queues.js';
import { kindOf } from './kinds.js';
import { withDeadline } from '../../deadline.js';

const BATCH = 200;
const COALESCE_MS = 20;
const ADD_DEADLINE_MS = 5_000;


type Claimed = {
  id: string;
  kind: NotificationKind;
  session_id: string;
};

/** Bulk rows in batches of one session each (its rows share the session's work), in a stable order. */
function batchesOf(rows: Claimed[]): string[][] {
  const bySession = new Map<string, string[]>();
  for (const row of rows) {
    const ids = bySession.get(row.session_id) ?? [];
    ids.push(row.id);
    bySession.set(row.session_id, ids);
  }
  return [...bySession.values()].flatMap((ids) => chunksOf(ids.sort(), SEND_EMAIL_BATCH_SIZE));
}

/**
 * Hands claimed rows to BullMQ, then marks them queued, inside the claiming transaction. Single
 * rows (their kind's `delivery`) become send-email jobs of up to SEND_EMAIL_GROUP_SIZE rows, in
 * the order claimed: one row at rest, the confirmations of a crowd a group at a time; bulk rows
 * become send-email-batch jobs of up to SEND_EMAIL_BATCH_SIZE rows of one session. Job ids:
 * notificationsJobId. When Redis is down the transaction rolls back and the rows stay as they
 * were, for the next sweep: nothing is lost.
 */
async function handOver(tx: Executor, queues: Queues, rows: Claimed[]): Promise<void> {
  const bulk = (row: Claimed) => kindOf(row.kind).delivery === 'bulk';
  const groups = chunksOf(
    rows.filter((row) => !bulk(row)).map(({ id }) => id),
    SEND_EMAIL_GROUP_SIZE,
  );
  const batches = batchesOf(rows.filter(bulk));
  // BullMQ waits for Redis instead of failing: give up after a while, so this transaction
  // never holds its rows (and a pooled connection) for the length of an outage.
  await withDeadline(
    Promise.all([
      groups.length > 0
        ? queues.sendEmail.addBulk(groups.map((ids) => ({ name: 'send-email', data: { notificationIds: ids }, opts: { jobId: notificationsJobId(ids) } })))
        : null,
      batches.length > 0
        ? queues.sendEmailBatch.addBulk(
            batches.map((ids) => ({ name: 'send-email-batch', data: { notificationIds: ids }, opts: { jobId: notificationsJobId(ids) } })),
          )
        : null,
    ]),
    ADD_DEADLINE_MS,
    `Redis did not take the jobs within ${ADD_DEADLINE_MS} ms`,
  );
  // A job that started already waits for this commit (delivery locks its rows without
  // skipping them); only a row still waiting becomes 'queued' all the same.
  await tx
    .update(notifications)
    .set({ status: 'queued', queuedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(anyUuid(notifications.id, rows.map(({ id }) => id)), inArray(notifications.status, ['pending', 'queued'])));
}

/**
 * Hands pending outbox rows to BullMQ (handOver). Rows are claimed with FOR UPDATE SKIP LOCKED,
 * so two relays never take the same row.
 */
export async function relayPending(db: Database, queues: Queues, requeueAfterMs: number, limit = BATCH): Promise<number> {
  return db.transaction(async (tx) => {
    // Two index scans (pending rows, and rows queued long ago whose job Redis may have lost in a
    // restart without persistence) rather than one OR, which would read the whole table. Where
    // BullMQ still holds a re-queued row's job, adding the same job id changes nothing.
    const pending = await tx.execute<Claimed>(sql`
      SELECT id, kind, session_id FROM notifications WHERE status = 'pending'
      ORDER BY created_at LIMIT ${limit} FOR UPDATE SKIP LOCKED`);
    const stale = await tx.execute<Claimed>(sql`
      SELECT id, kind, session_id FROM notifications
      WHERE status = 'queued' AND queued_at < now() - make_interval(secs => ${requeueAfterMs / 1000}::float8)
      ORDER BY queued_at LIMIT ${limit} FOR UPDATE SKIP LOCKED`);
    const rows = [...pending.rows, ...stale.rows];
    if (rows.length === 0) return 0;
    await handOver(tx, queues, rows);
    return pending.rows.length;
  });
}

/**
 * Hands these rows to BullMQ now, those still pending, in one transaction: what a reminder's
 * fan-out does with each batch as it commits, instead of kicking the relay, which would first
 * wait to gather a burst and then claim the batch BATCH rows at a time.
 */
export async function relayRows(db: Database, queues: Queues, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  return db.transaction(async (tx) => {
    const { rows } = await tx.execute<Claimed>(sql`
      SELECT id, kind, session_id FROM notifications WHERE ${anyUuid(notifications.id, ids)} AND status = 'pending'
      ORDER BY id FOR UPDATE SKIP LOCKED`);
    if (rows.length === 0) return 0;
    await handOver(tx, queues, rows);
    return rows.length;
  });
}

export interface OutboxRelay {
  /** Asks for a relay soon; calls made while one runs are folded into one more run. */
  kick(): void;
  /**
   * Relays these rows at once (relayRows); when Redis or Postgres refuses, they stay pending for
   * the sweep. How many were handed over.
   */
  relayNow(ids: string[]): Promise<number>;
  /** Relays until nothing is pending (or Redis refuses). */
  drain(): Promise<number>;
  /** Waits for a running relay to end. */
  idle(): Promise<void>;
}

export function createOutboxRelay(db: Database, queues: Queues, options: { requeueAfterMs: number; log?: Logger }): OutboxRelay {
  const { requeueAfterMs, log } = options;
  let running: Promise<void> | null = null;
  let again = false;

  async function drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const relayed = await relayPending(db, queues, requeueAfterMs);
      total += relayed;
      if (relayed < BATCH) return total;
    }
  }

  function kick(): void {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        // A short pause gathers the rows of a burst into one batch (one transaction, one
        // round trip to Redis) instead of a relay per registration.
        await new Promise((resolve) => setTimeout(resolve, COALESCE_MS));
        again = false;
        try {
          await drain();
        } catch (error) {
          // Redis or Postgres unavailable: the rows wait for the worker's sweep.
          log?.warn({ err: { message: (error as Error).message } }, 'outbox relay deferred');
          again = false;
        }
      } while (again);
    })().finally(() => {
      running = null;
    });
  }

  async function relayNow(ids: string[]): Promise<number> {
    try {
      return await relayRows(db, queues, ids);
    } catch (error) {
      log?.warn({ err: { message: (error as Error).message } }, 'outbox relay deferred');
      return 0;
    }
  }

  return { kick, relayNow, drain, idle: async () => void (await running) };
}

/** For processes that do not relay (tests of services alone, the demo seed). */
export const noRelay: OutboxRelay = { kick: () => undefined, relayNow: async () => 0, drain: async () => 0, idle: async () => undefined };
