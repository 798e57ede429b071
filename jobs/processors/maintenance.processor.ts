import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Database } from '../../db/client.js';
import type { Clock } from '../../src/clock.js';
import type { Config } from '../../src/config.js';
import { createErasureService, type RetentionResult } from '../../src/services/erasure.service.js';
import { purgeEndedConsoleSessions } from '../../src/services/console-sessions.js';
import { createIdempotencyService } from '../../src/services/idempotency.js';
import {
  CONSOLE_SESSIONS_PURGE_SCHEDULER_ID,
  createMaintenanceQueue,
  IDEMPOTENCY_PURGE_SCHEDULER_ID,
  QUEUES,
  RETENTION_SCHEDULER_ID,
  type MaintenanceJob,
} from '../../src/queues.js';

/**
 * The maintenance queue's jobs: retention (when RETENTION_DAYS is set) and the purge of expired
 * Idempotency-Keys (always: a claim only takes over an expired key of the same value, so without
 * the purge every key ever sent would stay).
 */

/** How often each maintenance job runs: hourly, so "ended more than N days ago" is late by an hour at most. */
export const RETENTION_EVERY_MS = 3_600_000;
/** When Redis is away at start, the schedule is set again this often until it works. */
const SCHEDULE_RETRY_MS = 60_000;

/** Anonymises what RETENTION_DAYS says is too old; does nothing when retention is off. */
export function retentionProcessor(deps: { db: Database; clock: Clock; retentionDays: number | null; log?: Logger }) {
  const erasure = createErasureService({ db: deps.db, clock: deps.clock });
  return async (job: Job<MaintenanceJob>): Promise<RetentionResult | 'off'> => {
    if (deps.retentionDays === null) return 'off';
    const result = await erasure.applyRetention(deps.retentionDays);
    if (result.registrations > 0) deps.log?.info({ jobId: job.id, ...result }, 'retention anonymised registrations');
    return result;
  };
}

/**
 * Sets the repeatable retention job when RETENTION_DAYS is set and removes it when not, so
 * turning retention off takes effect at the next worker start. Every worker does this; the
 * scheduler id makes it one schedule.
 */
export async function scheduleRetention(queue: ReturnType<typeof createMaintenanceQueue>, retentionDays: number | null): Promise<void> {
  if (retentionDays === null) {
    await queue.removeJobScheduler(RETENTION_SCHEDULER_ID);
    return;
  }
  await queue.upsertJobScheduler(RETENTION_SCHEDULER_ID, { every: RETENTION_EVERY_MS }, { name: 'retention', data: { reason: 'scheduled' } });
}

/** Deletes the Idempotency-Keys past their 24 hours. */
export function idempotencyPurgeProcessor(deps: { db: Database; clock: Clock; log?: Logger }) {
  const idempotency = createIdempotencyService({ db: deps.db, clock: deps.clock });
  return async (job: Job<MaintenanceJob>): Promise<{ idempotencyKeysDeleted: number }> => {
    const deleted = await idempotency.purgeExpired();
    if (deleted > 0) deps.log?.info({ jobId: job.id, deleted }, 'expired idempotency keys deleted');
    return { idempotencyKeysDeleted: deleted };
  };
}

/**
 * Deletes the rows of ended console sessions: an ended session is refused whether or not its row
 * is there, so this only keeps the table from growing with every browser that never came back.
 */
export function consoleSessionsPurgeProcessor(deps: { db: Database; clock: Clock; log?: Logger }) {
  return async (job: Job<MaintenanceJob>): Promise<{ consoleSessionsDeleted: number }> => {
    const deleted = await purgeEndedConsoleSessions(deps.db, deps.clock.now());
    if (deleted > 0) deps.log?.info({ jobId: job.id, deleted }, 'ended console sessions deleted');
    return { consoleSessionsDeleted: deleted };
  };
}

/** The one processor of the maintenance queue: each job's name says what it does. */
export function maintenanceProcessor(deps: { db: Database; clock: Clock; retentionDays: number | null; log?: Logger }) {
  const byName: Record<string, (job: Job<MaintenanceJob>) => Promise<unknown>> = {
    [RETENTION_SCHEDULER_ID]: retentionProcessor(deps),
    [IDEMPOTENCY_PURGE_SCHEDULER_ID]: idempotencyPurgeProcessor(deps),
    [CONSOLE_SESSIONS_PURGE_SCHEDULER_ID]: consoleSessionsPurgeProcessor(deps),
  };
  return async (job: Job<MaintenanceJob>): Promise<unknown> => {
    const processor = byName[job.name];
    if (!processor) throw new Error(`unknown maintenance job "${job.name}"`);
    return processor(job);
  };
}

/** Sets the hourly purge of expired Idempotency-Keys; like retention's, one schedule however many workers set it. */
export async function scheduleIdempotencyPurge(queue: ReturnType<typeof createMaintenanceQueue>): Promise<void> {
  await queue.upsertJobScheduler(IDEMPOTENCY_PURGE_SCHEDULER_ID, { every: RETENTION_EVERY_MS }, { name: IDEMPOTENCY_PURGE_SCHEDULER_ID, data: { reason: 'scheduled' } });
}

/** Sets the hourly purge of ended console sessions; one schedule however many workers set it. */
export async function scheduleConsoleSessionsPurge(queue: ReturnType<typeof createMaintenanceQueue>): Promise<void> {
  await queue.upsertJobScheduler(CONSOLE_SESSIONS_PURGE_SCHEDULER_ID, { every: RETENTION_EVERY_MS }, { name: CONSOLE_SESSIONS_PURGE_SCHEDULER_ID, data: { reason: 'scheduled' } });
}

export interface MaintenanceDeps {
  config: Pick<Config, 'retentionDays' | 'queuePrefix'>;
  db: Database;
  clock: Clock;
  log: Logger;
  /** A connection that waits for Redis (the workers'). */
  connection: Redis;
}

/** The maintenance worker and its schedule; `close` stops both. */
export function startMaintenance({ config, db, clock, log, connection }: MaintenanceDeps): { close(): Promise<void> } {
  const queue = createMaintenanceQueue(connection, config.queuePrefix);
  const worker = new Worker<MaintenanceJob>(QUEUES.maintenance, maintenanceProcessor({ db, clock, retentionDays: config.retentionDays, log }), {
    connection,
    prefix: config.queuePrefix,
    concurrency: 1,
  });
  worker.on('failed', (job, error) => log.warn({ jobId: job?.id, err: { message: error.message } }, 'maintenance job failed'));
  worker.on('error', (error) => log.warn({ err: { message: error.message } }, 'maintenance worker error'));

  let retry: NodeJS.Timeout | undefined;
  const schedule = () => {
    Promise.all([scheduleRetention(queue, config.retentionDays), scheduleIdempotencyPurge(queue), scheduleConsoleSessionsPurge(queue)]).then(
      () => log.info({ retentionDays: config.retentionDays }, config.retentionDays === null ? 'retention off' : 'retention scheduled'),
      (error: Error) => {
        log.warn({ err: { message: error.message } }, 'retention schedule deferred');
        retry = setTimeout(schedule, SCHEDULE_RETRY_MS);
        retry.unref();
      },
    );
  };
  schedule();

  return {
    async close() {
      clearTimeout(retry);
      await worker.close();
      await queue.close();
    },
  };
}
