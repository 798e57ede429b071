import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import t, { type Test } from 'tap';
import { createDb } from '../../db/client.js';
import { systemClock } from '../../src/clock.js';
import { createRedis } from '../../src/redis.js';
import { createQueues, type DeliverWebhookJob } from '../../src/queues.js';
import { CLAIM_SQL, createWebhookDelivery, dispatchDue, ENDPOINT_MAX_SENDING, JOB_BATCH, MAX_ATTEMPTS, releaseExpiredLeases } from '../../src/services/webhooks/delivery.js';
import { secretsKey } from '../../src/services/webhooks/signing.js';
import { createWebhookTransport } from '../../src/services/webhooks/transport.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { startRedisProcess } from '../helpers/processes.js';

/**
 * Issue #22, the dispatcher's claim: claims running at the same time (several workers) never
 * take the same row twice, take each key's first row only, and give one endpoint no more than
 * its room; the jobs carry each row with the attempt it was claimed for, and what its body is
 * made of. The claim's cost per row does not depend on the statistics. Then the ends of a row's
 * life: a lease that ran out (in the table, and in a job that waited too long), and the last
 * attempt failing.
 */

const redis = await startRedisProcess(t);
const ctx = await startMailTest(t, { name: 'webhook_claims', redisUrl: redis.url, worker: false, smtp: false, env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
const { app, config, database, owner } = ctx;
const connection = createRedis(redis.url, 'worker');
const queues = createQueues(connection, config.queuePrefix);
t.teardown(async () => {
  await queues.close();
  connection.disconnect();
});

/**
 * The claim's "now", a moment after every row written so far: a row is due from the database's
 * now() of its insert, in microseconds, while a Date has milliseconds, so a claim made within the
 * same millisecond as a fast insert would find the row not yet due.
 */
const afterEveryRow = () => new Date(Date.now() + 1_000);

async function endpointWithRows(rows: number, keys: number, url = 'http://127.0.0.1:9/hook'): Promise<string> {
  const { endpoint } = await app.services.webhooks.create(owner.organizer, { url, events: ['registration.created'] });
  // `keys` ordering keys, the rows spread over them in turn.
  await database.pool.query(
    `WITH keys AS (SELECT array_agg(gen_random_uuid()) AS list FROM generate_series(1, $3))
     INSERT INTO webhook_deliveries (id, endpoint_id, event_type, ordering_key, data)
     SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), $1, 'registration.created', keys.list[1 + (n % $3)], '{}'::jsonb
     FROM generate_series(1, $2) AS n, keys ORDER BY n`,
    [endpoint.id, rows, keys],
  );
  return endpoint.id;
}

/** A receiver on a loopback port answering every post with `status`, and a transport allowed to reach it. */
async function startReceiver(t: Test, status: number) {
  let received = 0;
  const receiver = createServer((request, response) => {
    received += 1;
    request.resume();
    request.on('end', () => response.writeHead(status).end(status === 200 ? 'ok' : 'no'));
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => receiver.close(() => resolve())));
  const transport = createWebhookTransport({ allowPrivate: true });
  t.teardown(() => transport.close());
  return { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, transport, received: () => received };
}

t.test('four claims at once: every row at most once, the first of each key only', async (t) => {
  const endpointId = await endpointWithRows(400, 300);
  const claimed = await Promise.all([1, 2, 3, 4].map(() => dispatchDue(database.db, queues, afterEveryRow(), 500)));
  t.equal(claimed.reduce((sum, n) => sum + n, 0), 300, 'one row per key (100 keys have a second row, which waits)');
  const { rows } = await database.pool.query<{ sending: number; attempts: number }>(
    `SELECT count(*)::int AS sending, max(attempts)::int AS attempts FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'sending'`,
    [endpointId],
  );
  t.same(rows[0], { sending: 300, attempts: 1 }, 'each claimed once, its attempt counted once');
  const { rows: keys } = await database.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT ordering_key FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'sending' GROUP BY ordering_key HAVING count(*) > 1) twice`,
    [endpointId],
  );
  t.equal(keys[0]!.n, 0, 'never two rows of one key in flight');
  const jobs = await queues.deliverWebhook.getWaiting(0, 1_000);
  const ids = jobs.flatMap((job) => job.data.deliveries.map((delivery) => delivery.id));
  t.equal(ids.length, 300, 'every claimed row is in a job');
  t.equal(new Set(ids).size, 300, 'no row in two jobs');
  t.ok(
    jobs.every((job) => job.data.endpointId === endpointId && job.data.deliveries.length <= JOB_BATCH && job.data.deliveries.every((d) => d.attempt === 1)),
    'jobs of one endpoint, JOB_BATCH rows at most, each row for its first attempt',
  );
  const { rows: stored } = await database.pool.query<{ id: string; event_type: string; occurred_at: Date; data: unknown; lease_until: Date }>(
    `SELECT id, event_type, occurred_at, data, lease_until FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'sending'`,
    [endpointId],
  );
  const byId = new Map(stored.map((row) => [row.id, row]));
  t.ok(
    jobs.every((job) =>
      job.data.deliveries.every((delivery) => {
        const row = byId.get(delivery.id)!;
        return (
          delivery.eventType === row.event_type &&
          delivery.occurredAt === row.occurred_at.toISOString() &&
          JSON.stringify(delivery.data) === JSON.stringify(row.data) &&
          job.data.leaseUntil === row.lease_until.toISOString()
        );
      }),
    ),
    'each job carries its rows as stored (type, time, data) and their lease',
  );
  await queues.deliverWebhook.obliterate({ force: true });
  await database.pool.query('DELETE FROM webhook_endpoints WHERE id = $1', [endpointId]);
});

t.test('an endpoint with its most rows sending gets no more; another endpoint still does', async (t) => {
  const busy = await endpointWithRows(ENDPOINT_MAX_SENDING + 100, ENDPOINT_MAX_SENDING + 100);
  const quiet = await endpointWithRows(5, 5);
  await database.pool.query(
    `UPDATE webhook_deliveries SET status = 'sending', attempts = 1, lease_until = now() + interval '5 minutes'
     WHERE seq IN (SELECT seq FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY seq LIMIT $2)`,
    [busy, ENDPOINT_MAX_SENDING],
  );
  const claimed = await dispatchDue(database.db, queues, afterEveryRow(), 500);
  t.equal(claimed, 5, 'only the quiet endpoint’s rows');
  const { rows } = await database.pool.query<{ endpoint_id: string; sending: number }>(
    `SELECT endpoint_id, count(*)::int AS sending FROM webhook_deliveries WHERE status = 'sending' GROUP BY endpoint_id`,
  );
  t.same(Object.fromEntries(rows.map((row) => [row.endpoint_id, row.sending])), { [busy]: ENDPOINT_MAX_SENDING, [quiet]: 5 });
  await queues.deliverWebhook.obliterate({ force: true });
  await database.pool.query('DELETE FROM webhook_endpoints WHERE id = ANY($1::uuid[])', [[busy, quiet]]);
});

t.test('a lease that ran out: the row is due again, unless it was the last attempt', async (t) => {
  const endpointId = await endpointWithRows(2, 2);
  await database.pool.query(
    `UPDATE webhook_deliveries SET status = 'sending', lease_until = now() - interval '1 second',
       attempts = CASE WHEN seq = (SELECT min(seq) FROM webhook_deliveries WHERE endpoint_id = $1) THEN 2 ELSE $2 END
     WHERE endpoint_id = $1`,
    [endpointId, MAX_ATTEMPTS],
  );
  await releaseExpiredLeases(database.db, new Date());
  const { rows } = await database.pool.query<{ status: string; attempts: number; last_error: string | null; lease_until: Date | null }>(
    'SELECT status, attempts, last_error, lease_until FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY seq',
    [endpointId],
  );
  t.match(rows[0], { status: 'pending', attempts: 2, last_error: null, lease_until: null }, 'due again, the lost attempt counted');
  t.match(rows[1], { status: 'failed', attempts: MAX_ATTEMPTS, last_error: /No outcome was recorded/ }, 'the last attempt lost: failed, not sent a ninth time');
  await database.pool.query('DELETE FROM webhook_endpoints WHERE id = $1', [endpointId]);
});

t.test('the last attempt failing leaves the row failed; an earlier one is retried on the schedule', async (t) => {
  const { url, transport } = await startReceiver(t, 500);
  const delivery = createWebhookDelivery({ db: database.db, clock: systemClock, transport, secretsKey: secretsKey(config.tokenSecret), concurrency: 4 });

  const endpointId = await endpointWithRows(2, 2, url);
  // One row has had every attempt but the last; the other none.
  await database.pool.query(
    `UPDATE webhook_deliveries SET attempts = $2 WHERE seq = (SELECT min(seq) FROM webhook_deliveries WHERE endpoint_id = $1)`,
    [endpointId, MAX_ATTEMPTS - 1],
  );
  t.equal(await dispatchDue(database.db, queues, afterEveryRow()), 2);
  const [job] = await queues.deliverWebhook.getWaiting(0, 10);
  await delivery.deliverBatch(job!.data as DeliverWebhookJob);
  const { rows } = await database.pool.query<{ status: string; attempts: number; last_status_code: number; retry_in_s: number }>(
    `SELECT status, attempts, last_status_code, extract(epoch FROM next_attempt_at - now())::int AS retry_in_s
     FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY seq`,
    [endpointId],
  );
  t.match(rows[0], { status: 'failed', attempts: MAX_ATTEMPTS, last_status_code: 500 }, 'the last attempt: failed');
  t.match(rows[1], { status: 'pending', attempts: 1, last_status_code: 500 }, 'the first attempt: pending again');
  t.ok(rows[1]!.retry_in_s >= 3 && rows[1]!.retry_in_s <= 5, 'retried after 5 s, as the schedule says');
  const { rows: health } = await database.pool.query<{ enabled: boolean; failing: boolean }>(
    'SELECT enabled, failing_since IS NOT NULL AS failing FROM webhook_endpoints WHERE id = $1',
    [endpointId],
  );
  t.same(health[0], { enabled: true, failing: true }, 'the failing streak starts; the endpoint stays enabled');
  await queues.deliverWebhook.obliterate({ force: true });
  await database.pool.query('DELETE FROM webhook_endpoints WHERE id = $1', [endpointId]);
});

t.test('the claim reads a few index pages per row, even when the statistics call the table empty', async (t) => {
  // Just vacuumed and empty, then a burst: planned as a join, the ordering test read the whole
  // key index once per candidate (5 million buffers for 500 rows).
  await database.pool.query('DELETE FROM webhook_deliveries');
  await database.pool.query('VACUUM ANALYZE webhook_deliveries');
  const endpointId = await endpointWithRows(3_000, 3_000);
  const client = await database.pool.connect();
  try {
    await client.query('BEGIN');
    const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: { 'Actual Rows': number; 'Shared Hit Blocks': number; 'Shared Read Blocks': number } }] }>(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${CLAIM_SQL}`,
      [512, afterEveryRow().toISOString(), 500, new Date(Date.now() + 60_000).toISOString()],
    );
    const plan = rows[0]!['QUERY PLAN'][0].Plan;
    t.equal(plan['Actual Rows'], 500, 'a full claim');
    const buffers = plan['Shared Hit Blocks'] + plan['Shared Read Blocks'];
    t.ok(buffers < 50 * 500, `${buffers} buffers for 500 rows: fewer than 50 a row`);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
  await database.pool.query('DELETE FROM webhook_endpoints WHERE id = $1', [endpointId]);
});

t.test('claims and records planned while the table was nearly empty do not read it whole once it has grown', async (t) => {
  // A statement prepared on a connection keeps the plan it got on a nearly empty table (a new
  // deployment, a purge): sequential scans or whole-index walks, run once per candidate or per
  // group when the rows come (9.8 s a claim at 10,000 rows). One connection for the claims and
  // one for the records, so every statement of a kind shares one.
  const claims = createDb(config.databaseUrl, { max: 1 });
  const records = createDb(config.databaseUrl, { max: 1 });
  t.teardown(() => Promise.all([claims.pool.end(), records.pool.end()]));
  const { url, transport } = await startReceiver(t, 200);
  const delivery = createWebhookDelivery({ db: records.db, clock: systemClock, transport, secretsKey: secretsKey(config.tokenSecret), concurrency: 1 });
  /** Claims what is due on the claims' connection and delivers it, one outcome recorded at a time. */
  const claimAndDeliver = async () => {
    const claimed = await dispatchDue(claims.db, queues, afterEveryRow(), 500);
    for (const job of await queues.deliverWebhook.getWaiting(0, 100)) {
      await delivery.deliverBatch(job.data as DeliverWebhookJob);
      await job.remove();
    }
    return claimed;
  };

  await database.pool.query('DELETE FROM webhook_deliveries');
  await database.pool.query('VACUUM webhook_deliveries');
  for (let round = 0; round < 8; round += 1) t.equal(await claimAndDeliver(), 0, 'nothing to claim yet');
  // A few rows: each record of these plans on a table of a handful of rows.
  const early = await endpointWithRows(8, 8, url);
  t.equal(await claimAndDeliver(), 8, 'a handful claimed and recorded one by one');

  const endpointId = await endpointWithRows(2_000, 2_000, url);
  /** Rows the outbox's scans (sequential and by index) have read so far, as the statistics have them. */
  const rowsRead = async () => {
    // Each statement's connection reports its counts at once, and this one reads them afresh.
    for (const db of [claims, records]) {
      await db.pool.query('SELECT pg_stat_force_next_flush()');
      await db.pool.query('SELECT 1');
    }
    const { rows } = await database.pool.query<{ read: string }>(
      `SELECT pg_stat_clear_snapshot(),
         (SELECT coalesce(seq_tup_read, 0) + coalesce(idx_tup_fetch, 0) FROM pg_stat_user_tables WHERE relname = 'webhook_deliveries') AS read`,
    );
    return Number(rows[0]!.read);
  };
  const before = await rowsRead();
  t.equal(await claimAndDeliver(), 500, 'a full claim, delivered and recorded');
  const read = (await rowsRead()) - before;
  t.ok(read < 50 * 500, `${read} rows read to claim and record 500: a few dozen a row, never the table per statement`);
  const { rows } = await database.pool.query<{ succeeded: number }>(
    `SELECT count(*)::int AS succeeded FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'succeeded'`,
    [endpointId],
  );
  t.equal(rows[0]!.succeeded, 500, 'every outcome recorded');
  await database.pool.query('DELETE FROM webhook_endpoints WHERE id = ANY($1::uuid[])', [[early, endpointId]]);
});

t.test('a job that waited past its lease posts nothing: the rows may belong to another claim by then', async (t) => {
  const { url, transport, received } = await startReceiver(t, 200);
  const endpointId = await endpointWithRows(3, 3, url);
  t.equal(await dispatchDue(database.db, queues, afterEveryRow()), 3);
  const [job] = await queues.deliverWebhook.getWaiting(0, 10);
  const lateClock = { now: () => new Date(new Date(job!.data.leaseUntil).getTime() + 1_000) };
  const late = createWebhookDelivery({ db: database.db, clock: lateClock, transport, secretsKey: secretsKey(config.tokenSecret), concurrency: 4 });
  await late.deliverBatch(job!.data as DeliverWebhookJob);
  t.equal(received(), 0, 'nothing posted');

  const { rows } = await database.pool.query<{ sending: number }>(
    `SELECT count(*)::int AS sending FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'sending' AND attempts = 1`,
    [endpointId],
  );
  t.equal(rows[0]!.sending, 3, 'the rows untouched: their lease brings them back');
  const onTime = createWebhookDelivery({ db: database.db, clock: systemClock, transport, secretsKey: secretsKey(config.tokenSecret), concurrency: 4 });
  // A job of an earlier version (ids and attempts only, no lease) is left to the rows' lease too.
  const earlier = { endpointId, deliveries: job!.data.deliveries.map(({ id, attempt }) => ({ id, attempt })) };
  await onTime.deliverBatch(earlier as unknown as DeliverWebhookJob);
  t.equal(received(), 0, 'nothing posted for a job of the earlier form');
  // In time, the same job posts every row and records it.
  await onTime.deliverBatch(job!.data as DeliverWebhookJob);
  t.equal(received(), 3, 'posted once each');
  await queues.deliverWebhook.obliterate({ force: true });
  await database.pool.query('DELETE FROM webhook_endpoints WHERE id = $1', [endpointId]);
});
