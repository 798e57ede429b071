import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../src/clock.js';
import { createServices } from '../src/services/index.js';
import { webhookBody } from '../src/services/webhooks/delivery.js';
import { newWebhookSecret } from '../src/services/webhooks/signing.js';
import { clearMail, fixed, freePort, report, startServer, type BenchContext } from './lib.js';
import type { RawPosterOrders } from './raw-poster.js';

/**
 * Issue #22: 10,000 registration events delivered to one fast local receiver by a worker process
 * (`--role worker`, as `npm start` runs it), beside a raw undici loop posting the same signed
 * bodies to the same receiver with as many requests in flight as the worker gives one endpoint
 * (half of WEBHOOK_CONCURRENCY): the HTTP part alone, without the outbox, the queue and the records.
 * The raw loop runs in a process of its own, as the worker does (bench/raw-poster.ts), and both
 * run warm: 3,000 untimed posts, and 3,000 untimed events, first. Ours is timed from the commit
 * of the outbox rows to the last outcome recorded. Target: ours at least 0.7x the raw loop.
 *
 * Beside it, what this machine allows a delivery that is durable (a crash loses nothing, two
 * workers never post the same row at once): the same raw loop doing only the unavoidable part
 * of a leased outbox, the rows leased 500 at a time by one UPDATE and each answer recorded on its
 * row by a grouped UPDATE that the posting does not wait for (no queue, no ordering, no endpoint,
 * no retry schedule). On two cores the receiver, Postgres and the poster share the CPU, so this,
 * not the raw loop, is the ceiling of any delivery that leases and records.
 */

const EVENTS = 10_000;
/** Requests in flight to the receiver: the raw loop's, and one endpoint's share of the worker's (the default 64). */
const CONCURRENCY = 32;
/** Posts (raw) and events (ours) run untimed first. */
const WARM_UP = 3_000;

export async function webhookBench(ctx: BenchContext): Promise<void> {
  let received = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received += 1;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => receiver.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${port}/hook`;

  try {
    // The raw loops first: the same bodies, signed the same way, CONCURRENCY in flight.
    const secret = newWebhookSecret();
    const signedBody = () => {
      const data = { sessionId: randomUUID(), registrationId: randomUUID(), status: 'confirmed' };
      return { id: `msg_${randomUUID().replaceAll('-', '')}`, body: webhookBody({ eventType: 'registration.created', occurredAt: new Date().toISOString(), data }) };
    };
    const bodies = Array.from({ length: EVENTS }, signedBody);
    const warmUp = Array.from({ length: WARM_UP }, signedBody);
    const rawSeconds = await rawPoster({ url, secret, concurrency: CONCURRENCY, warmUp, bodies });
    const rawRate = EVENTS / rawSeconds;

    // The same loop leasing and recording: rows of an endpoint whose deliveries no worker claims.
    // Each run starts from a vacuumed table, as autovacuum keeps it in a deployment (it is off
    // on these machines, and every run leaves 30,000 dead row versions).
    await ctx.database.pool.query('DELETE FROM webhook_endpoints');
    await ctx.database.pool.query('VACUUM webhook_deliveries');
    const services = createServices({ db: ctx.database.db, clock: systemClock, config: { ...ctx.config, webhookAllowPrivate: true } });
    const admin = await services.organizers.create({ email: `bench-webhooks-${randomUUID().slice(0, 8)}@example.org`, name: 'Bench', password: 'bench-password-1234', role: 'admin' });
    const { endpoint: recordOnly } = await services.webhooks.create(admin, { url, events: ['registration.created'] });
    await ctx.database.pool.query(
      `INSERT INTO webhook_deliveries (id, endpoint_id, event_type, ordering_key, data)
       SELECT id, $1, 'registration.created', gen_random_uuid(), '{}'::jsonb FROM unnest($2::text[]) AS id`,
      [recordOnly.id, bodies.map(({ id }) => id)],
    );
    const limitSeconds = await rawPoster({ url, secret, concurrency: CONCURRENCY, warmUp, bodies, databaseUrl: ctx.env.DATABASE_URL });
    const limitRate = EVENTS / limitSeconds;
    await ctx.database.pool.query('DELETE FROM webhook_endpoints WHERE id = $1', [recordOnly.id]);

    // Ours: an endpoint of an admin, EVENTS outbox rows as the triggers write them, a worker.
    await clearMail(ctx);
    const { endpoint } = await services.webhooks.create(admin, { url, events: ['registration.created'] });
    const worker = await startServer({ ...ctx.env, WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_SWEEP_MS: '50', WEBHOOK_CONCURRENCY: String(2 * CONCURRENCY) }, 'worker');
    /**
     * Writes `events` outbox rows as the triggers do, then waits until every one has its outcome
     * recorded. The clock starts once the rows are committed: writing them is the registrations'
     * cost (the API's), not the delivery's. How long it took, in seconds.
     */
    const outcomes = async (): Promise<number> => {
      const { rows } = await ctx.database.pool.query<{ done: number }>(
        `SELECT count(*)::int AS done FROM webhook_deliveries WHERE endpoint_id = $1 AND status IN ('succeeded', 'failed')`,
        [endpoint.id],
      );
      return rows[0]!.done;
    };
    const deliverEvents = async (events: number): Promise<number> => {
      const before = await outcomes();
      received = 0;
      await ctx.database.pool.query(
        `INSERT INTO webhook_deliveries (id, endpoint_id, event_type, ordering_key, data)
         SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), $1, 'registration.created', gen_random_uuid(),
           jsonb_build_object('sessionId', gen_random_uuid(), 'registrationId', gen_random_uuid(), 'status', 'confirmed')
         FROM generate_series(1, $2)`,
        [endpoint.id, events],
      );
      const started = performance.now();
      // The receiver's count first (no load on the database while it is below `events`), then
      // the rows: a delivery counts once its outcome is recorded.
      const deadline = Date.now() + 300_000;
      while (received < events && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      for (;;) {
        const done = (await outcomes()) - before;
        if (done >= events) break;
        if (Date.now() > deadline) throw new Error(`only ${done} of ${events} delivered in 5 minutes`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      return (performance.now() - started) / 1000;
    };
    try {
      await deliverEvents(WARM_UP);
      const seconds = await deliverEvents(EVENTS);
      const { rows: failed } = await ctx.database.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'failed'`,
        [endpoint.id],
      );
      const rate = EVENTS / seconds;
      console.log(
        `webhooks: ${EVENTS} events delivered in ${fixed(seconds, 2)} s (${received} received, ${failed[0]!.n} failed); raw undici loop ${fixed(rawSeconds, 2)} s; ` +
          `raw loop leasing its rows and recording each answer (this machine's ceiling for a durable delivery) ${fixed(limitSeconds, 2)} s = ${fixed(limitRate, 0)}/s, ${fixed(limitRate / rawRate, 2)}x raw; ours ${fixed(rate / limitRate, 2)}x that ceiling`,
      );
      report({
        bench: 'webhooks',
        metric: `${EVENTS} deliveries / s`,
        ours: fixed(rate, 0),
        baseline: fixed(rawRate, 0),
        ratio: fixed(rate / rawRate, 2),
        target: '>= 0.7 (baseline: raw undici loop, same signed bodies)',
        ok: rate / rawRate >= 0.7 && failed[0]!.n === 0,
      });
    } finally {
      await worker.stop();
      await ctx.database.pool.query('DELETE FROM webhook_endpoints WHERE id = $1', [endpoint.id]);
    }
  } finally {
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  }
}

/** Runs a raw loop in a process of its own (bench/raw-poster.ts): the seconds its timed part took. */
async function rawPoster(orders: RawPosterOrders): Promise<number> {
  const poster = fork(fileURLToPath(new URL('./raw-poster.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise((resolve) => poster.once('exit', resolve));
  const ready = new Promise((resolve) => poster.once('message', resolve));
  poster.send(orders);
  await ready;
  const seconds = new Promise<number>((resolve) => poster.once('message', (message) => resolve(message as number)));
  poster.send('go');
  const result = await seconds;
  await exited;
  return result;
}
