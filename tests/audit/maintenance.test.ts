import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import {
  maintenanceProcessor,
  RETENTION_EVERY_MS,
  retentionProcessor,
  scheduleConsoleSessionsPurge,
  scheduleIdempotencyPurge,
  scheduleRetention,
} from '../../jobs/processors/maintenance.processor.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import {
  CONSOLE_SESSIONS_PURGE_SCHEDULER_ID,
  createMaintenanceQueue,
  IDEMPOTENCY_PURGE_SCHEDULER_ID,
  RETENTION_SCHEDULER_ID,
  type MaintenanceJob,
} from '../../src/queues.js';
import { IDEMPOTENCY_TTL_MS } from '../../src/services/idempotency.js';
import { TEST_REDIS_URL, buildTestApp, signIn, testConfig, uniqueEmail, uniqueSuffix } from '../helpers/app.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { assertCounters, createSession, registered } from '../helpers/registrations.js';

/**
 * The hourly maintenance queue's jobs: retention (RETENTION_DAYS) and the purge of expired
 * Idempotency-Keys.
 */

/** A maintenance queue under a prefix of its own, emptied and closed in teardown. */
function scratchMaintenanceQueue(t: Test) {
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const queue = createMaintenanceQueue(connection, `test-${uniqueSuffix()}`);
  t.teardown(async () => {
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  });
  return queue;
}

// Sessions moved this far into the past, and a retention this long, so no other test's sessions qualify.
const YEARS_AGO = 20;
const RETENTION_DAYS = 15 * 365;

t.test('RETENTION_DAYS: off when unset, a positive whole number otherwise', async (t) => {
  t.equal(testConfig().retentionDays, null);
  t.equal(testConfig({ RETENTION_DAYS: '30' }).retentionDays, 30);
  t.throws(() => loadConfig({ NODE_ENV: 'test', RETENTION_DAYS: '0' }), /RETENTION_DAYS/);
  t.throws(() => loadConfig({ NODE_ENV: 'test', RETENTION_DAYS: 'soon' }), /RETENTION_DAYS/);
  t.equal(testConfig().exportsMaxConcurrent, 2);
});

t.test('retention anonymises the sessions that ended long ago, and nothing else', async (t) => {
  const { app, database } = await buildTestApp(t);
  const pool = database.pool;
  const { headers } = await signIn(app);
  const questions = [{ id: 'city', label: 'Your city', type: 'text', required: false }];
  const old = await createSession(app, headers, { capacity: 1, questions });
  const recent = await createSession(app, headers, { questions });
  const marker = uniqueSuffix();
  const both = { name: `Both Sessions${marker}`, email: uniqueEmail(`both${marker}`), answers: { city: `Both${marker}` } };
  const onlyOld = { name: `Only Old${marker}`, email: uniqueEmail(`old${marker}`), answers: { city: `Old${marker}` } };
  await registered(app, old.slug, both);
  await registered(app, old.slug, onlyOld); // waitlisted
  await registered(app, recent.slug, both);
  // The old session took place twenty years ago.
  await pool.query(
    `UPDATE sessions SET starts_at = starts_at - make_interval(years => $2), ends_at = ends_at - make_interval(years => $2) WHERE id = $1`,
    [old.id, YEARS_AGO],
  );
  const counts = await assertCounters(t, pool, old.id, 'before');

  const result = await app.services.erasure.applyRetention(RETENTION_DAYS, { batchSize: 1 });
  t.ok(result.registrations >= 2, `anonymised ${result.registrations} registration(s) of ${result.sessions} session(s)`);
  t.ok(result.attendeesRemoved >= 1, 'the person with nothing left is removed');
  t.same(await assertCounters(t, pool, old.id, 'after'), counts, 'counts stay');

  const oldRows = await pool.query(
    `SELECT r.name, r.answers, r.status::text, a.email FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE r.session_id = $1 ORDER BY r.registered_at`,
    [old.id],
  );
  t.same(
    oldRows.rows.map((row) => [row.name, row.answers, row.status]),
    [
      ['Erased attendee', {}, 'confirmed'],
      ['Erased attendee', {}, 'waitlisted'],
    ],
  );
  t.ok(oldRows.rows.every((row) => /^erased-.*@invalid$/.test(row.email)), 'placeholder addresses');
  const recentRows = await pool.query(
    `SELECT r.name, a.email FROM registrations r JOIN attendees a ON a.id = r.attendee_id WHERE r.session_id = $1`,
    [recent.id],
  );
  t.same(recentRows.rows, [{ name: both.name, email: both.email }], 'the recent registration keeps its data and address');
  const gone = await pool.query('SELECT count(*)::int AS n FROM attendees WHERE email = $1', [onlyOld.email]);
  t.equal(gone.rows[0].n, 0, 'the address of the person with no other registration is gone');
  for (const needle of [`Old${marker}`, `Only Old${marker}`]) {
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM registrations x WHERE x::text LIKE '%' || $1 || '%'`, [needle]);
    t.equal(rows[0].n, 0, `no "${needle}" left`);
  }

  const again = await app.services.erasure.applyRetention(RETENTION_DAYS);
  t.equal(again.registrations, 0, 'a second run finds nothing');
  const { rows: entries } = await pool.query(
    `SELECT actor_id, details FROM audit_log WHERE action = 'retention.anonymise' AND (details->>'registrations')::int = $1 ORDER BY at DESC LIMIT 1`,
    [result.registrations],
  );
  t.equal(entries[0]?.actor_id, null, 'recorded as the system');
  t.equal(entries[0]?.details.retentionDays, RETENTION_DAYS);
});

t.test('the retention job: scheduled when RETENTION_DAYS is set, removed when not; off does nothing', async (t) => {
  const { database } = await buildTestApp(t);
  const queue = scratchMaintenanceQueue(t);
  await scheduleRetention(queue, 30);
  await scheduleRetention(queue, 30); // every worker does this at start: still one schedule
  const schedulers = await queue.getJobSchedulers();
  t.equal(schedulers.length, 1);
  t.equal(schedulers[0]?.key, RETENTION_SCHEDULER_ID);
  t.equal(Number(schedulers[0]?.every), RETENTION_EVERY_MS);
  await scheduleRetention(queue, null);
  t.same(await queue.getJobSchedulers(), [], 'unset: no schedule');

  const job = { id: 'x', name: 'retention', data: {} } as Job<MaintenanceJob>;
  const clock = new ManualClock(new Date());
  t.equal(await retentionProcessor({ db: database.db, clock, retentionDays: null })(job), 'off');
  const result = await retentionProcessor({ db: database.db, clock, retentionDays: 100 * 365 })(job);
  t.same(result, { sessions: 0, registrations: 0, attendeesRemoved: 0 }, 'nothing is a century old');
});

// The clock stands in 2001, so the purge can only reach the keys this file writes (with
// created_at in 2000), never those of other test files on the shared database.
const PURGE_NOW = new Date('2001-01-01T00:00:00Z');
const MINUTE = 60_000;

t.test('the maintenance job deletes Idempotency-Keys older than 24 hours and keeps the younger ones', async (t) => {
  const { database } = await buildTestApp(t);
  const scope = `purge-test:${uniqueSuffix()}`;
  const ages = { expired: IDEMPOTENCY_TTL_MS + MINUTE, 'almost expired': IDEMPOTENCY_TTL_MS - MINUTE, fresh: MINUTE };
  for (const [key, age] of Object.entries(ages)) {
    await database.pool.query(`INSERT INTO idempotency_keys (scope, key, request_hash, status_code, response_body, created_at) VALUES ($1, $2, 'h', 201, '{}', $3)`, [
      scope,
      key,
      new Date(PURGE_NOW.getTime() - age),
    ]);
  }
  t.teardown(() => database.pool.query('DELETE FROM idempotency_keys WHERE scope = $1', [scope]));

  const purge = maintenanceProcessor({ db: database.db, clock: new ManualClock(PURGE_NOW), retentionDays: null });
  const job = { id: 'x', name: IDEMPOTENCY_PURGE_SCHEDULER_ID, data: {} } as Job<MaintenanceJob>;
  const result = (await purge(job)) as { idempotencyKeysDeleted: number };
  t.ok(result.idempotencyKeysDeleted >= 1, 'the job reports what it deleted');
  const { rows } = await database.pool.query<{ key: string }>('SELECT key FROM idempotency_keys WHERE scope = $1 ORDER BY key', [scope]);
  t.same(rows.map((row) => row.key), ['almost expired', 'fresh'], 'only the key older than 24 hours is gone');

  await t.rejects(purge({ ...job, name: 'something-else' } as Job<MaintenanceJob>), /unknown maintenance job/, 'an unknown job fails instead of doing retention');
});

t.test('the purge is scheduled hourly, once however many workers set it, and whether retention is on or off', async (t) => {
  const queue = scratchMaintenanceQueue(t);
  await scheduleIdempotencyPurge(queue);
  await scheduleIdempotencyPurge(queue);
  await scheduleRetention(queue, null);
  const schedulers = await queue.getJobSchedulers();
  t.same(
    schedulers.map((scheduler) => [scheduler.key, Number(scheduler.every)]),
    [[IDEMPOTENCY_PURGE_SCHEDULER_ID, RETENTION_EVERY_MS]],
  );
});

t.test('the maintenance job deletes the rows of ended console sessions and keeps the live ones', async (t) => {
  // On a database of its own: the purge deletes every ended row, those of test files running beside this one included.
  const { database, owner } = await startMailTest(t, { name: 'maintenance_console', redisDb: 4, smtp: false, worker: false });
  const { organizer } = owner;
  const now = Date.now();
  const HOUR = 60 * MINUTE;
  const rows = {
    live: { created: now - HOUR, seen: now - MINUTE, version: 0 },
    idle: { created: now - 10 * HOUR, seen: now - 9 * HOUR, version: 0 },
    'past seven days': { created: now - 8 * 24 * HOUR, seen: now - MINUTE, version: 0 },
    'older token version': { created: now - HOUR, seen: now - MINUTE, version: -1 },
  };
  for (const [name, row] of Object.entries(rows)) {
    await database.pool.query(
      'INSERT INTO console_sessions (token_hash, organizer_id, token_version, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5)',
      [`maintenance-test-${name}-${uniqueSuffix()}`, organizer.id, row.version, new Date(row.created), new Date(row.seen)],
    );
  }
  const purge = maintenanceProcessor({ db: database.db, clock: new ManualClock(new Date(now)), retentionDays: null });
  const result = (await purge({ id: 'x', name: CONSOLE_SESSIONS_PURGE_SCHEDULER_ID, data: {} } as Job<MaintenanceJob>)) as { consoleSessionsDeleted: number };
  t.ok(result.consoleSessionsDeleted >= 3, 'the job reports what it deleted');
  const left = await database.pool.query<{ token_hash: string }>('SELECT token_hash FROM console_sessions WHERE organizer_id = $1', [organizer.id]);
  t.same(left.rows.map((row) => row.token_hash.replace(/-[0-9a-f]+$/, '')), ['maintenance-test-live'], 'only the live session is left');

  const queue = scratchMaintenanceQueue(t);
  await scheduleConsoleSessionsPurge(queue);
  await scheduleConsoleSessionsPurge(queue);
  const schedulers = await queue.getJobSchedulers();
  t.same(schedulers.map((scheduler) => [scheduler.key, Number(scheduler.every)]), [[CONSOLE_SESSIONS_PURGE_SCHEDULER_ID, RETENTION_EVERY_MS]], 'hourly, one schedule');
});
