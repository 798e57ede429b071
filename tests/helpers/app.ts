import { randomBytes } from 'node:crypto';
import type { Test } from 'tap';
import { createDb, type DbHandle } from '../../db/client.js';
import { migrateDatabase } from '../../db/migrate.js';
import { buildApp, type App } from '../../src/app.js';
import { ManualClock, systemClock, type Clock } from '../../src/clock.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createRedis } from '../../src/redis.js';
import type { Organizer } from '../../src/services/organizers.service.js';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://localhost:5432/convene_test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The configuration of a test: the real environment's services, a fixed secret, no logs. */
export function testConfig(env: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: TEST_DATABASE_URL,
    REDIS_URL: TEST_REDIS_URL,
    JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256-0123456789',
    LOG_LEVEL: 'silent',
    PUBLIC_BASE_URL: 'http://convene.test',
    // Tests register many people from one address; tests/pages/rate-limit.test.ts turns the limits on.
    RATE_LIMIT_REGISTER_PER_IP_PER_MINUTE: '0',
    RATE_LIMIT_REGISTER_PER_EMAIL_PER_HOUR: '0',
    // Every test logs in from 127.0.0.1; tests/routes/login-throttle.test.ts turns this one on.
    RATE_LIMIT_LOGIN_PER_IP_PER_MINUTE: '0',
    ...env,
  }).config;
}

let migrated: Promise<void> | undefined;
/** Migrations run once per test process; the advisory lock serialises parallel test files. */
export function migrateOnce(url = TEST_DATABASE_URL): Promise<void> {
  migrated ??= migrateDatabase(url);
  return migrated;
}

export interface TestContext {
  app: App;
  config: Config;
  database: DbHandle;
  clock: Clock;
}

export interface TestAppOptions {
  env?: Record<string, string | undefined>;
  clock?: Clock;
  /** Connections in the app's pool; concurrency tests want more than the default. */
  poolSize?: number;
}

/** Builds the whole app against the real Postgres and Redis; everything is closed in teardown. */
export async function buildTestApp(t: Test, options: TestAppOptions = {}): Promise<TestContext> {
  const config = testConfig(options.env);
  await migrateOnce(config.databaseUrl);
  // Generous acquire timeout: concurrency tests queue hundreds of requests on a busy CI machine.
  const database = createDb(config.databaseUrl, { max: options.poolSize ?? 10, acquireTimeoutMs: 120_000 });
  const redis = createRedis(config.redisUrl, 'producer');
  const clock = options.clock ?? systemClock;
  const app = await buildApp({ config, database, redis, clock });
  await app.ready();
  t.teardown(async () => {
    await app.close();
    redis.disconnect();
    await database.pool.end();
  });
  return { app, config, database, clock };
}

export function manualClock(iso = new Date().toISOString()): ManualClock {
  return new ManualClock(new Date(iso));
}

export function uniqueSuffix(): string {
  return randomBytes(5).toString('hex');
}

export function uniqueEmail(prefix = 'person'): string {
  return `${prefix}-${uniqueSuffix()}@example.org`;
}

export interface SignedInOrganizer {
  organizer: Organizer;
  token: string;
  headers: { authorization: string };
}

/** Creates an organizer straight through the service and signs a token for it. */
export async function signIn(app: App, role: Organizer['role'] = 'organizer'): Promise<SignedInOrganizer> {
  const organizer = await app.services.organizers.create({
    email: uniqueEmail(role),
    name: `Test ${role}`,
    password: 'a-long-test-password',
    role,
  });
  const { token } = app.issueToken(organizer);
  return { organizer, token, headers: { authorization: `Bearer ${token}` } };
}

/** A valid session body starting `daysAhead` days from now, for tests to vary. */
export function sessionBody(overrides: Record<string, unknown> = {}, daysAhead = 14): Record<string, unknown> {
  const start = new Date(Date.now() + daysAhead * 86_400_000);
  start.setUTCMinutes(0, 0, 0);
  return {
    title: `Test session ${uniqueSuffix()}`,
    startsAt: start.toISOString(),
    endsAt: new Date(start.getTime() + 90 * 60_000).toISOString(),
    timezone: 'America/Chicago',
    capacity: 100,
    ...overrides,
  };
}
