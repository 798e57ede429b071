import t from 'tap';
import { createRedis } from '../../src/redis.js';
import { createQueues } from '../../src/queues.js';
import { dispatchDue } from '../../src/services/webhooks/delivery.js';
import { startMailTest } from '../helpers/isolated-app.js';
import { startRedisProcess } from '../helpers/processes.js';

/**
 * Issue #22, the dispatcher's claim: claims running at the same time (several workers) never
 * take the same row twice, take each key's first row only, and give one endpoint no more than
 * its room; the jobs carry each row with the attempt it was claimed for.
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

async function endpointWithRows(rows: number, keys: number): Promise<string> {
  const { endpoint } = await app.services.webhooks.create(owner.organizer, { url: 'http://127.0.0.1:9/hook', events: ['registration.created'] });
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

t.test('four claims at once: every row at most once, the first of each key only', async (t) => {
  const endpointId = await endpointWithRows(400, 300);
  const claimed = await Promise.all([1, 2, 3, 4].map(() => dispatchDue(database.db, queues, new Date(), 500)));
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
  t.ok(jobs.every((job) => job.data.endpointId === endpointId && job.data.deliveries.length <= 100 && job.data.deliveries.every((d) => d.attempt === 1)));
  await queues.deliverWebhook.obliterate({ force: true });
  await database.pool.query('DELETE FROM webhook_endpoints WHERE id = $1', [endpointId]);
});

t.test('an endpoint with 512 rows sending gets no more; another endpoint still does', async (t) => {
  const busy = await endpointWithRows(600, 600);
  const quiet = await endpointWithRows(5, 5);
  await database.pool.query(
    `UPDATE webhook_deliveries SET status = 'sending', attempts = 1, lease_until = now() + interval '5 minutes'
     WHERE seq IN (SELECT seq FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY seq LIMIT 512)`,
    [busy],
  );
  const claimed = await dispatchDue(database.db, queues, new Date(), 500);
  t.equal(claimed, 5, 'only the quiet endpoint’s rows');
  const { rows } = await database.pool.query<{ endpoint_id: string; sending: number }>(
    `SELECT endpoint_id, count(*)::int AS sending FROM webhook_deliveries WHERE status = 'sending' GROUP BY endpoint_id`,
  );
  t.same(Object.fromEntries(rows.map((row) => [row.endpoint_id, row.sending])), { [busy]: 512, [quiet]: 5 });
  await queues.deliverWebhook.obliterate({ force: true });
  await database.pool.query('DELETE FROM webhook_endpoints WHERE id = ANY($1::uuid[])', [[busy, quiet]]);
});
