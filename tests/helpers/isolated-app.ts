import { Queue } from 'bullmq';
import { pino } from 'pino';
import type { Test } from 'tap';
import { createDb, type DbHandle } from '../../db/client.js';
import { migrateDatabase } from '../../db/migrate.js';
import { startWorker, type RunningWorker } from '../../jobs/worker.js';
import { buildApp, type App } from '../../src/app.js';
import { systemClock, type Clock } from '../../src/clock.js';
import type { Config } from '../../src/config.js';
import { QUEUES } from '../../src/queues.js';
import { createRedis } from '../../src/redis.js';
import { signIn, TEST_DATABASE_URL, TEST_REDIS_URL, testConfig, type SignedInOrganizer } from './app.js';
import { MAIL_FROM } from './mail-checks.js';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';

/**
 * The app and an in-process worker on a test file's own Postgres database and Redis logical
 * database, wired to an SMTP sink. The queue name is fixed ('send-email') and the relay sweeps
 * every pending outbox row of its database, so on the shared test database a worker of one file
 * would deliver the rows of the other test files (hundreds of them, to the wrong SMTP server)
 * and mark them sent under their feet.
 */

export interface MailTestOptions {
  /** Names this file's own Postgres database: <test database>_mail_<name>. */
  name: string;
  /** This file's own Redis logical database (1..15), unless `redisUrl` is given. */
  redisDb?: number;
  redisUrl?: string;
  /** Extra environment (SMTP_URL, MAIL_DIR ...); SMTP_URL defaults to the sink's. */
  env?: Record<string, string | undefined>;
  /** Start an SMTP sink (default true). */
  smtp?: boolean;
  /** Start the worker right away (default true). */
  worker?: boolean;
  clock?: Clock;
}

export interface MailTest {
  app: App;
  config: Config;
  database: DbHandle;
  sink: SmtpSink;
  owner: SignedInOrganizer;
  /** The environment of the test (for a child process). */
  env: Record<string, string>;
  startWorker(): Promise<RunningWorker>;
  stopWorker(): Promise<void>;
  worker(): RunningWorker | null;
}

export function isolatedDatabaseUrl(name: string): string {
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `${url.pathname.replace(/^\//, '')}_mail_${name}`;
  return url.toString();
}

export function isolatedRedisUrl(db: number): string {
  const url = new URL(TEST_REDIS_URL);
  url.pathname = `/${db}`;
  return url.toString();
}

/** Clears what an earlier, interrupted run of the same file may have left: queued jobs and unsent rows. */
async function clearLeftovers(database: DbHandle, sharedRedisUrl: string | null): Promise<void> {
  await database.pool.query(
    `UPDATE notifications SET status = 'skipped', last_error = 'left over by an earlier test run', updated_at = now()
     WHERE status IN ('pending', 'queued')`,
  );
  // Endpoints of an earlier run point at receivers that are gone.
  await database.pool.query('DELETE FROM webhook_endpoints');
  // A Redis of the test's own starts empty.
  if (sharedRedisUrl === null) return;
  const connection = createRedis(sharedRedisUrl, 'worker');
  const queues = [QUEUES.sendEmail, QUEUES.sendEmailBatch, QUEUES.offerExpiry, QUEUES.deliverWebhook].map((name) => new Queue(name, { connection }));
  try {
    for (const queue of queues) await queue.obliterate({ force: true });
  } finally {
    for (const queue of queues) await queue.close();
    connection.disconnect();
  }
}

export const silentLog = pino({ level: 'silent' });

/**
 * The app on this file's own database and Redis, an SMTP sink, and an in-process worker
 * (startWorker with the same configuration). Everything is closed in teardown, worker first.
 */
export async function startMailTest(t: Test, options: MailTestOptions): Promise<MailTest> {
  const sink = options.smtp === false ? null : await startSmtpSink(t);
  const redisUrl = options.redisUrl ?? isolatedRedisUrl(options.redisDb ?? 1);
  const env: Record<string, string> = {
    DATABASE_URL: isolatedDatabaseUrl(options.name),
    REDIS_URL: redisUrl,
    MAIL_FROM,
    OUTBOX_SWEEP_MS: '200',
    ...(sink ? { SMTP_URL: sink.url } : {}),
  };
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  const config = testConfig(env);
  await migrateDatabase(config.databaseUrl);
  const database = createDb(config.databaseUrl, { max: 10, acquireTimeoutMs: 30_000 });
  await clearLeftovers(database, options.redisUrl ? null : redisUrl);
  const redis = createRedis(config.redisUrl, 'producer');
  const clock = options.clock ?? systemClock;
  const app = await buildApp({ config, database, redis, clock });
  await app.ready();

  let running: RunningWorker | null = null;
  const start = async () => {
    if (running) return running;
    running = await startWorker({ config, database, clock, log: silentLog });
    return running;
  };
  const stop = async () => {
    const worker = running;
    running = null;
    await worker?.close(5_000);
  };
  t.teardown(async () => {
    await stop();
    await app.close();
    redis.disconnect();
    await database.pool.end();
  });
  if (options.worker !== false) await start();
  const owner = await signIn(app);
  return {
    app,
    config,
    database,
    sink: sink ?? (null as unknown as SmtpSink),
    owner,
    env: { ...env, NODE_ENV: 'test', LOG_LEVEL: 'silent' },
    startWorker: start,
    stopWorker: stop,
    worker: () => running,
  };
}
