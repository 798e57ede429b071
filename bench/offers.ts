import { randomUUID } from 'node:crypto';
import { QueueEvents } from 'bullmq';
import { pino } from 'pino';
import { startWorker } from '../jobs/worker.js';
import { systemClock } from '../src/clock.js';
import { createQueues, offerExpiryJobId, QUEUES } from '../src/queues.js';
import { createRedis } from '../src/redis.js';
import { createServices, type Services } from '../src/services/index.js';
import type { Mailer } from '../src/services/notifications/mailer.js';
import { createOfferTimers } from '../src/services/offer-timers.js';
import { BENCH_DATABASE_URL, fixed, openBench, publishedBenchSession, report, type BenchContext } from './lib.js';

const OFFERS = Number(process.env.BENCH_OFFERS ?? 1_000);
/** Cancellations in flight at once; they take turns on the session lock anyway. */
const CANCELS_IN_FLIGHT = 16;
const WARM_UP = 100;

/**
 * The worker's e-mail goes nowhere: this measures how the offers move, and the mail they cause
 * (an expiry notice and an offer per person) is measured by the reminder and latency benches.
 */
const nullMailer: Mailer = {
  send: async (message) => ({ messageId: message.messageId, destination: 'bench' }),
  close: () => undefined,
};

/**
 * A session with `confirmed` people in its seats and `waiting` behind them, inserted in bulk (the
 * counters and waitlist tickets as the seat statement would have left them).
 */
async function filledSession(ctx: BenchContext, title: string, mode: 'auto' | 'offer', confirmed: number, waiting: number) {
  const session = await publishedBenchSession(ctx, title, { capacity: confirmed, waitlist: { enabled: true, limit: null, mode, offerMinutes: 60 } });
  const tag = randomUUID().slice(0, 8);
  await ctx.database.pool.query(
    `WITH people AS (
       INSERT INTO attendees (email) SELECT 'offer-' || $2 || '-' || g || '@example.org' FROM generate_series(1, $3::int + $4::int) g
       RETURNING id, split_part(split_part(email, '-', 3), '@', 1)::int AS n
     )
     INSERT INTO registrations (session_id, attendee_id, name, status, waitlist_ticket, manage_token_hash, join_token_hash, registered_at, confirmed_at)
     SELECT $1, id, 'Offer Person',
       CASE WHEN n <= $3 THEN 'confirmed' ELSE 'waitlisted' END::registration_status,
       CASE WHEN n > $3 THEN n - $3 END,
       md5(random()::text || id::text), md5(id::text || random()::text),
       now() + n * interval '1 millisecond', CASE WHEN n <= $3 THEN now() + n * interval '1 millisecond' END
     FROM people`,
    [session.id, tag, confirmed, waiting],
  );
  await ctx.database.pool.query(
    `UPDATE sessions SET confirmed_count = $2::int, waitlisted_count = $3::int, waitlist_tickets = $3::int, last_registered_at = now() + ($2::int + $3::int) * interval '1 millisecond' WHERE id = $1`,
    [session.id, confirmed, waiting],
  );
  return session;
}

async function idsWith(ctx: BenchContext, sessionId: string, status: string): Promise<string[]> {
  const { rows } = await ctx.database.pool.query<{ id: string }>(
    `SELECT id FROM registrations WHERE session_id = $1 AND status = $2::registration_status ORDER BY registered_at`,
    [sessionId, status],
  );
  return rows.map((row) => row.id);
}

async function counts(ctx: BenchContext, sessionId: string): Promise<Record<string, number>> {
  const { rows } = await ctx.database.pool.query<{ status: string; n: number }>(
    `SELECT status::text, count(*)::int AS n FROM registrations WHERE session_id = $1 GROUP BY status`,
    [sessionId],
  );
  return Object.fromEntries(rows.map((row) => [row.status, row.n]));
}

/** Cancels each registration through the service (one transaction each, as an organizer would), a few at a time; returns the milliseconds. */
async function cancelAll(services: Services, sessionId: string, ids: string[]): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CANCELS_IN_FLIGHT }, async () => {
      while (next < ids.length) await services.registrations.cancelForSession(sessionId, ids[next++]!);
    }),
  );
  return performance.now() - started;
}

async function until(condition: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * `npm run bench offers`: 1,000 offers of one session run out at the same moment with 1,000
 * people waiting behind them; the time until every expired offer has moved to the next person
 * and the offer-expiry jobs that took, beside 1,000 plain promotions (auto mode) in the same run.
 */
export async function offerBenches(): Promise<void> {
  // A database of its own, emptied first: an earlier run's open offers would run out during this
  // one and the worker's sweep would move them in the middle of the measurement.
  const ctx = await openBench(`${BENCH_DATABASE_URL}_offers`);
  try {
    await ctx.database.pool.query('TRUNCATE sessions, attendees CASCADE');
    await measureOffers(ctx);
  } finally {
    await ctx.database.pool.end();
  }
}

async function measureOffers(ctx: BenchContext): Promise<void> {
  const producer = createRedis(ctx.config.redisUrl, 'producer');
  const queues = createQueues(producer, ctx.config.queuePrefix);
  const services = createServices({
    db: ctx.database.db,
    clock: systemClock,
    config: ctx.config,
    offerTimers: createOfferTimers({ queues, clock: systemClock }),
  });
  const listener = createRedis(ctx.config.redisUrl, 'worker');
  const events = new QueueEvents(QUEUES.offerExpiry, { connection: listener, prefix: ctx.config.queuePrefix });
  let worker: Awaited<ReturnType<typeof startWorker>> | null = null;
  try {
    // Warm-up: the cancellation path compiled and the pool's connections open before either side is timed.
    const warm = await filledSession(ctx, 'Offers warm-up', 'auto', WARM_UP, WARM_UP);
    await cancelAll(services, warm.id, await idsWith(ctx, warm.id, 'confirmed'));

    // Baseline: plain promotions, each cancellation confirms the first waiting person.
    const plain = await filledSession(ctx, 'Plain promotions', 'auto', OFFERS, OFFERS);
    const plainMs = await cancelAll(services, plain.id, await idsWith(ctx, plain.id, 'confirmed'));
    const plainCounts = await counts(ctx, plain.id);
    if (plainCounts.confirmed !== OFFERS || plainCounts.waitlisted) throw new Error(`plain promotions: ${JSON.stringify(plainCounts)}`);

    // Ours: the same cancellations in offer mode make 1,000 offers, each with its expiry job.
    const held = await filledSession(ctx, 'Offers', 'offer', OFFERS, 2 * OFFERS);
    const offeringMs = await cancelAll(services, held.id, await idsWith(ctx, held.id, 'confirmed'));
    const first = await idsWith(ctx, held.id, 'offered');
    const timers = await queues.offerExpiry.getDelayedCount();
    if (first.length !== OFFERS || timers !== OFFERS) throw new Error(`offers made: ${first.length}, timers: ${timers}`);

    // The setup's e-mails are not part of the measurement; the worker starts while no offer is due.
    await ctx.database.pool.query(`UPDATE notifications SET status = 'skipped' WHERE status IN ('pending', 'queued')`);
    await events.waitUntilReady();
    const outcomes = new Map<string, number>();
    let failed = 0;
    events.on('completed', ({ returnvalue }) => outcomes.set(String(returnvalue), (outcomes.get(String(returnvalue)) ?? 0) + 1));
    events.on('failed', () => (failed += 1));
    worker = await startWorker({ config: ctx.config, database: ctx.database, clock: systemClock, log: pino({ level: 'silent' }), mailer: nullMailer });
    await new Promise((resolve) => setTimeout(resolve, 1_000));

    // Every offer runs out at the same moment; Redis hands over their jobs at once (one script).
    await ctx.database.pool.query(`UPDATE registrations SET offer_expires_at = $2 WHERE session_id = $1 AND status = 'offered'`, [held.id, new Date(Date.now() - 1_000)]);
    const started = performance.now();
    await queues.offerExpiry.promoteJobs({ count: OFFERS + 1 });
    await until(async () => {
      const now = await counts(ctx, held.id);
      return now.expired === OFFERS && now.offered === OFFERS;
    }, 60_000, 'the expired offers to move');
    const movedMs = performance.now() - started;
    const processed = () => [...outcomes.values()].reduce((sum, n) => sum + n, 0) + failed;
    await until(async () => processed() >= OFFERS && (await queues.offerExpiry.getDelayedCount()) >= OFFERS, 60_000, 'the expiry jobs to finish');
    const jobsMs = performance.now() - started;

    // The jobs touched: the 1,000 that fired, and one new timer per new offer (no more).
    const second = await idsWith(ctx, held.id, 'offered');
    const { rows: line } = await ctx.database.pool.query<{ first: number; last: number }>(
      `SELECT min(waitlist_ticket)::int AS first, max(waitlist_ticket)::int AS last FROM registrations WHERE session_id = $1 AND status = 'offered'`,
      [held.id],
    );
    // The seats went to the next people in line, not to anyone further back.
    if (line[0]?.first !== OFFERS + 1 || line[0]?.last !== 2 * OFFERS) throw new Error(`the new offers went to tickets ${JSON.stringify(line[0])}`);
    const delayed = await queues.offerExpiry.getJobs(['delayed'], 0, -1);
    const timed = new Set(delayed.map((job) => job.id));
    const untimed = second.filter((id) => !timed.has(offerExpiryJobId(id))).length;
    const { waiting, active } = await queues.offerExpiry.getJobCounts('waiting', 'active');
    const touched = processed() + delayed.length;
    const tally = [...outcomes].map(([outcome, n]) => `${n} ${outcome}`).join(', ');
    console.log(
      `offers: ${OFFERS} expired moved to the next ${OFFERS} in ${fixed(movedMs, 0)} ms; all ${processed()} expiry jobs done in ${fixed(jobsMs, 0)} ms (${tally}${failed ? `, ${failed} failed` : ''}); ` +
        `${delayed.length} new timers, ${untimed} new offers without one, ${(waiting ?? 0) + (active ?? 0)} jobs left waiting`,
    );

    report({
      bench: 'offers',
      metric: `${OFFERS} expired offers moved (ms)`,
      ours: fixed(movedMs, 0),
      baseline: fixed(plainMs, 0),
      ratio: fixed(movedMs / plainMs, 2),
      target: `reported (baseline: ${OFFERS} plain promotions)`,
      ok: true,
    });
    report({
      bench: 'offers',
      metric: `${OFFERS} cancels making offers (ms)`,
      ours: fixed(offeringMs, 0),
      baseline: fixed(plainMs, 0),
      ratio: fixed(offeringMs / plainMs, 2),
      target: 'reported (each with its timer)',
      ok: true,
    });
    report({
      bench: 'offers',
      metric: 'Redis jobs touched / offer',
      ours: `${touched}`,
      baseline: '-',
      ratio: fixed(touched / OFFERS, 2),
      target: 'O(offers): <= 2 per offer, none lost',
      ok: touched <= 2 * OFFERS && untimed === 0 && failed === 0,
    });
  } finally {
    await worker?.close(5_000);
    await events.close();
    await queues.close();
    listener.disconnect();
    producer.disconnect();
  }
}
