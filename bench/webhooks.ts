import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { Agent, request } from 'undici';
import { systemClock } from '../src/clock.js';
import { createServices } from '../src/services/index.js';
import { groupedWriter } from '../src/services/coalesce.js';
import { webhookBody } from '../src/services/webhooks/delivery.js';
import { newWebhookSecret, signatureHeaders } from '../src/services/webhooks/signing.js';
import { clearMail, fixed, freePort, report, startServer, type BenchContext } from './lib.js';

/**
 * Issue #22: 10,000 registration events delivered to one fast local receiver by a worker process
 * (`--role worker`, as `npm start` runs it), beside a raw undici loop posting the same signed
 * bodies to the same receiver with as many requests in flight as the worker gives one endpoint
 * (half of WEBHOOK_CONCURRENCY): the HTTP part alone, without the outbox, the queue and the records.
 * Target: ours at least 0.7x the raw loop.
 *
 * Beside it, what this machine allows once each outcome must be kept: the same raw loop, each
 * answer recorded on its outbox row by a grouped UPDATE (one commit for the answers that came
 * while the previous one ran), nothing else (no claim, no queue, no lease, no ordering). On
 * two cores the receiver, Postgres and the poster share the CPU, so this, not the raw loop, is
 * the ceiling of any delivery that records what it did.
 */

const EVENTS = 10_000;
/** Requests in flight to the receiver: the raw loop's, and one endpoint's share of the worker's (the default 64). */
const CONCURRENCY = 32;

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
    // The raw loop first: the same bodies, signed the same way, CONCURRENCY in flight.
    const secret = newWebhookSecret();
    const bodies = Array.from({ length: EVENTS }, () => {
      const data = { sessionId: randomUUID(), registrationId: randomUUID(), status: 'confirmed' };
      return { id: `msg_${randomUUID().replaceAll('-', '')}`, body: webhookBody({ eventType: 'registration.created', occurredAt: new Date().toISOString(), data }) };
    });
    const agent = new Agent({ connections: CONCURRENCY });
    /** Posts every body, CONCURRENCY in flight; `answered` runs after each answer. How long it took, in seconds. */
    const postAll = async (answered: (id: string) => Promise<void> = async () => undefined): Promise<number> => {
      let next = 0;
      const started = performance.now();
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          while (next < bodies.length) {
            const { id, body } = bodies[next++]!;
            const headers = { ...signatureHeaders({ id, timestamp: new Date(), body, secrets: [secret] }), 'content-type': 'application/json' };
            const answer = await request(url, { method: 'POST', body, headers, dispatcher: agent });
            await answer.body.dump();
            await answered(id);
          }
        }),
      );
      return (performance.now() - started) / 1000;
    };
    const rawSeconds = await postAll();
    const rawRate = EVENTS / rawSeconds;

    // The same loop recording each answer: rows of an endpoint whose deliveries nobody claims.
    // Each run starts from a vacuumed table, as autovacuum keeps it in a deployment (it is off
    // on these machines, and every run leaves 30,000 dead row versions).
    await ctx.database.pool.query('DELETE FROM webhook_endpoints');
    await ctx.database.pool.query('VACUUM webhook_deliveries');
    const services = createServices({ db: ctx.database.db, clock: systemClock, config: { ...ctx.config, webhookAllowPrivate: true } });
    const admin = await services.organizers.create({ email: `bench-webhooks-${randomUUID().slice(0, 8)}@example.org`, name: 'Bench', password: 'bench-password-1234', role: 'admin' });
    const { endpoint: recordOnly } = await services.webhooks.create(admin, { url, events: ['registration.created'] });
    await ctx.database.pool.query(
      `INSERT INTO webhook_deliveries (id, endpoint_id, event_type, ordering_key, data, status)
       SELECT id, $1, 'registration.created', gen_random_uuid(), '{}'::jsonb, 'sending' FROM unnest($2::text[]) AS id`,
      [recordOnly.id, bodies.map(({ id }) => id)],
    );
    const recordAnswers = groupedWriter<string>(async (ids) => {
      await ctx.database.pool.query(
        `UPDATE webhook_deliveries SET status = 'succeeded', attempts = 1, last_status_code = 200, delivered_at = now() WHERE id = ANY($1::text[])`,
        [ids],
      );
    }, 500);
    const limitSeconds = await postAll(recordAnswers);
    await agent.close();
    const limitRate = EVENTS / limitSeconds;
    await ctx.database.pool.query('DELETE FROM webhook_endpoints WHERE id = $1', [recordOnly.id]);

    // Ours: an endpoint of an admin, EVENTS outbox rows as the triggers write them, a worker.
    await clearMail(ctx);
    const { endpoint } = await services.webhooks.create(admin, { url, events: ['registration.created'] });
    const worker = await startServer({ ...ctx.env, WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_SWEEP_MS: '50', WEBHOOK_CONCURRENCY: String(2 * CONCURRENCY) }, 'worker');
    try {
      received = 0;
      const started = performance.now();
      await ctx.database.pool.query(
        `INSERT INTO webhook_deliveries (id, endpoint_id, event_type, ordering_key, data)
         SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), $1, 'registration.created', gen_random_uuid(),
           jsonb_build_object('sessionId', gen_random_uuid(), 'registrationId', gen_random_uuid(), 'status', 'confirmed')
         FROM generate_series(1, $2)`,
        [endpoint.id, EVENTS],
      );
      // The receiver's count first (no load on the database while it is below EVENTS), then the
      // rows: a delivery counts once its outcome is recorded.
      const deadline = Date.now() + 300_000;
      while (received < EVENTS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      for (;;) {
        const { rows } = await ctx.database.pool.query<{ done: number }>(
          `SELECT count(*)::int AS done FROM webhook_deliveries WHERE endpoint_id = $1 AND status IN ('succeeded', 'failed')`,
          [endpoint.id],
        );
        if (rows[0]!.done >= EVENTS) break;
        if (Date.now() > deadline) throw new Error(`only ${rows[0]!.done} of ${EVENTS} delivered in 5 minutes`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const seconds = (performance.now() - started) / 1000;
      const { rows: failed } = await ctx.database.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'failed'`,
        [endpoint.id],
      );
      const rate = EVENTS / seconds;
      console.log(
        `webhooks: ${EVENTS} events delivered in ${fixed(seconds, 2)} s (${received} received, ${failed[0]!.n} failed); raw undici loop ${fixed(rawSeconds, 2)} s; ` +
          `raw loop recording each answer (this machine's ceiling for a delivery that keeps its outcome) ${fixed(limitSeconds, 2)} s = ${fixed(limitRate, 0)}/s, ${fixed(limitRate / rawRate, 2)}x raw; ours ${fixed(rate / limitRate, 2)}x that ceiling`,
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
