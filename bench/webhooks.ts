import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../src/clock.js';
import { createServices } from '../src/services/index.js';
import { webhookBody } from '../src/services/webhooks/delivery.js';
import { newWebhookSecret } from '../src/services/webhooks/signing.js';
import { clearMail, commandCpuMeter, cpuMeter, fixed, freePort, median, report, startServer, type BenchContext } from './lib.js';
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
 * of a leased outbox, the rows (with the same payloads as ours) leased 500 at a time by one UPDATE
 * that returns their payloads, each body made of its row's payload, and each answer recorded on
 * its row by a grouped UPDATE that the posting does not wait for (no queue, no ordering, no endpoint,
 * no retry schedule). On two cores the receiver, Postgres and the poster share the CPU, so this,
 * not the raw loop, is the ceiling of any delivery that leases and records. The same once more on
 * a bare table (a primary key, no other index): the least a durable delivery can cost here.
 */

const EVENTS = 10_000;
/** Requests in flight to the receiver: the raw loop's, and one endpoint's share of the worker's (the default 64). */
const CONCURRENCY = 32;
/** Posts (raw) and events (ours) run untimed first. */
const WARM_UP = 3_000;
/**
 * Each of the four parts runs this many times, interleaved (raw, bare, ceiling, ours; again): on
 * two shared cores one run's rate moves by a third from run to run; the medians are reported.
 */
const ROUNDS = 3;
/** An event's payload as the triggers write it (SQL), the same in every part's rows. */
const EVENT_DATA = `jsonb_build_object('sessionId', gen_random_uuid(), 'registrationId', gen_random_uuid(), 'status', 'confirmed')`;

/** What one timed run took: seconds, and CPU seconds by process. */
interface Run {
  seconds: number;
  /** The process that posts (the raw loop's, or the worker). */
  poster: number | null;
  postgres: number | null;
  redis: number | null;
  /** The receiver: this process. */
  receiver: number | null;
}

/** Starts the CPU meters of a run; the result ends it. */
function meterRun(posterPid: number): () => Omit<Run, 'seconds'> {
  const poster = cpuMeter(posterPid);
  const postgres = commandCpuMeter('postgres');
  const redis = commandCpuMeter('redis-server');
  const receiver = cpuMeter(process.pid);
  return () => ({ poster: poster(), postgres: postgres(), redis: redis(), receiver: receiver() });
}

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

  const services = createServices({ db: ctx.database.db, clock: systemClock, config: { ...ctx.config, webhookAllowPrivate: true } });
  const admin = await services.organizers.create({ email: `bench-webhooks-${randomUUID().slice(0, 8)}@example.org`, name: 'Bench', password: 'bench-password-1234', role: 'admin' });
  const secret = newWebhookSecret();
  const webhookId = () => `msg_${randomUUID().replaceAll('-', '')}`;
  const signedBody = () => {
    const data = { sessionId: randomUUID(), registrationId: randomUUID(), status: 'confirmed' };
    return { id: webhookId(), body: webhookBody({ eventType: 'registration.created', occurredAt: new Date().toISOString(), data }) };
  };
  const warmUp = () => Array.from({ length: WARM_UP }, signedBody);
  /**
   * Every run starts from a vacuumed table, as autovacuum keeps it in a deployment (it is off on
   * these machines, and every run leaves tens of thousands of dead row versions behind).
   */
  const freshTable = async () => {
    await ctx.database.pool.query('DELETE FROM webhook_endpoints');
    await ctx.database.pool.query('VACUUM webhook_deliveries');
  };

  /** The raw loop: the same bodies, signed the same way, CONCURRENCY in flight. */
  const rawRun = () => rawPoster({ url, secret, concurrency: CONCURRENCY, warmUp: warmUp(), timed: { bodies: Array.from({ length: EVENTS }, signedBody) } });

  /** The same loop leasing and recording: rows of an endpoint whose deliveries no worker claims. */
  const ceilingRun = async (): Promise<Run> => {
    await freshTable();
    const ids = Array.from({ length: EVENTS }, webhookId);
    const { endpoint } = await services.webhooks.create(admin, { url, events: ['registration.created'] });
    await ctx.database.pool.query(
      `INSERT INTO webhook_deliveries (id, endpoint_id, event_type, ordering_key, data)
       SELECT id, $1, 'registration.created', gen_random_uuid(), ${EVENT_DATA} FROM unnest($2::text[]) AS id`,
      [endpoint.id, ids],
    );
    return rawPoster({ url, secret, concurrency: CONCURRENCY, warmUp: warmUp(), timed: { outbox: { databaseUrl: ctx.config.databaseUrl, table: 'webhook_deliveries', ids } } });
  };

  /**
   * The same on the barest outbox there is: a table of its own (the bench's) with a primary key
   * and nothing else, none of the indexes that the delivery log, the claim's ordering and the
   * endpoints' room need. What a durable delivery costs here at the very least.
   */
  const bareRun = async (): Promise<Run> => {
    const ids = Array.from({ length: EVENTS }, webhookId);
    await ctx.database.pool.query('DROP TABLE IF EXISTS bench_bare_outbox');
    await ctx.database.pool.query(
      `CREATE TABLE bench_bare_outbox (id text PRIMARY KEY, data jsonb NOT NULL, status text NOT NULL DEFAULT 'pending',
         attempts int NOT NULL DEFAULT 0, lease_until timestamptz, last_status_code int, delivered_at timestamptz)`,
    );
    await ctx.database.pool.query(`INSERT INTO bench_bare_outbox (id, data) SELECT id, ${EVENT_DATA} FROM unnest($1::text[]) AS id`, [ids]);
    try {
      return await rawPoster({ url, secret, concurrency: CONCURRENCY, warmUp: warmUp(), timed: { outbox: { databaseUrl: ctx.config.databaseUrl, table: 'bench_bare_outbox', ids } } });
    } finally {
      await ctx.database.pool.query('DROP TABLE bench_bare_outbox');
    }
  };

  /** Ours: an endpoint of an admin, outbox rows as the triggers write them, a worker (`--role worker`, as `npm start` runs it). */
  const oursRun = async (): Promise<Run & { failed: number }> => {
    await freshTable();
    await clearMail(ctx);
    const { endpoint } = await services.webhooks.create(admin, { url, events: ['registration.created'] });
    const worker = await startServer({ ...ctx.env, WEBHOOK_ALLOW_PRIVATE: 'true', WEBHOOK_SWEEP_MS: '50', WEBHOOK_CONCURRENCY: String(2 * CONCURRENCY) }, 'worker');
    const outcomes = async (): Promise<number> => {
      const { rows } = await ctx.database.pool.query<{ done: number }>(
        `SELECT count(*)::int AS done FROM webhook_deliveries WHERE endpoint_id = $1 AND status IN ('succeeded', 'failed')`,
        [endpoint.id],
      );
      return rows[0]!.done;
    };
    /**
     * Writes `events` outbox rows as the triggers do, then waits until every one has its outcome
     * recorded. The clock starts once the rows are committed: writing them is the registrations'
     * cost (the API's), not the delivery's.
     */
    const deliverEvents = async (events: number): Promise<Run> => {
      const before = await outcomes();
      received = 0;
      await ctx.database.pool.query(
        `INSERT INTO webhook_deliveries (id, endpoint_id, event_type, ordering_key, data)
         SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), $1, 'registration.created', gen_random_uuid(),
           ${EVENT_DATA}
         FROM generate_series(1, $2)`,
        [endpoint.id, events],
      );
      const started = performance.now();
      const used = meterRun(worker.pid);
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
      return { seconds: (performance.now() - started) / 1000, ...used() };
    };
    try {
      await deliverEvents(WARM_UP);
      const run = await deliverEvents(EVENTS);
      const { rows: failed } = await ctx.database.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM webhook_deliveries WHERE endpoint_id = $1 AND status = 'failed'`,
        [endpoint.id],
      );
      return { ...run, failed: failed[0]!.n };
    } finally {
      await worker.stop();
    }
  };

  try {
    const raw: Run[] = [];
    const bare: Run[] = [];
    const ceiling: Run[] = [];
    const ours: (Run & { failed: number })[] = [];
    for (let round = 1; round <= ROUNDS; round += 1) {
      raw.push(await rawRun());
      bare.push(await bareRun());
      ceiling.push(await ceilingRun());
      ours.push(await oursRun());
      console.log(
        `webhooks round ${round}: raw undici loop ${fixed(raw.at(-1)!.seconds, 2)} s, bare durable ${fixed(bare.at(-1)!.seconds, 2)} s, ` +
          `durable ceiling ${fixed(ceiling.at(-1)!.seconds, 2)} s, ours ${fixed(ours.at(-1)!.seconds, 2)} s`,
      );
    }
    await freshTable();
    const rate = (runs: Run[]) => EVENTS / median(runs.map((run) => run.seconds));
    const [rawRate, bareRate, ceilingRate, oursRate] = [rate(raw), rate(bare), rate(ceiling), rate(ours)];
    const failed = ours.reduce((sum, run) => sum + run.failed, 0);
    /** Median CPU microseconds per delivery of one process's part, or '?' without /proc. */
    const perDelivery = (runs: Run[], part: keyof Omit<Run, 'seconds'>) => {
      const used = runs.map((run) => run[part]);
      return used.some((value) => value === null) ? '?' : fixed((median(used as number[]) * 1e6) / EVENTS, 0);
    };
    const cpu = (runs: Run[], poster: string) =>
      `${poster} ${perDelivery(runs, 'poster')}, Postgres ${perDelivery(runs, 'postgres')}, Redis ${perDelivery(runs, 'redis')}, receiver ${perDelivery(runs, 'receiver')}`;
    console.log(
      `webhooks (median of ${ROUNDS} rounds): ours ${EVENTS} events delivered in ${fixed(EVENTS / oursRate, 2)} s (${failed} failed in all rounds); raw undici loop ${fixed(EVENTS / rawRate, 2)} s; ` +
        `raw loop leasing its rows and recording each answer (this machine's ceiling for a durable delivery) ${fixed(EVENTS / ceilingRate, 2)} s = ${fixed(ceilingRate, 0)}/s, ${fixed(ceilingRate / rawRate, 2)}x raw; ` +
        `on a bare table (a primary key only) ${fixed(EVENTS / bareRate, 2)} s, ${fixed(bareRate / rawRate, 2)}x raw; ours ${fixed(oursRate / ceilingRate, 2)}x the ceiling`,
    );
    console.log(
      `webhooks CPU per delivery, microseconds: raw loop: ${cpu(raw, 'poster')}; bare table: ${cpu(bare, 'poster')}; ceiling: ${cpu(ceiling, 'poster')}; ours: ${cpu(ours, 'worker')}`,
    );
    report({
      bench: 'webhooks',
      metric: `${EVENTS} deliveries / s`,
      ours: fixed(oursRate, 0),
      baseline: fixed(rawRate, 0),
      ratio: fixed(oursRate / rawRate, 2),
      target: '>= 0.7 (baseline: raw undici loop, same signed bodies)',
      ok: oursRate / rawRate >= 0.7 && failed === 0,
    });
  } finally {
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  }
}

/** Runs a raw loop in a process of its own (bench/raw-poster.ts): its timed part. */
async function rawPoster(orders: RawPosterOrders): Promise<Run> {
  const poster = fork(fileURLToPath(new URL('./raw-poster.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const exited = new Promise((resolve) => poster.once('exit', resolve));
  const ready = new Promise((resolve) => poster.once('message', resolve));
  poster.send(orders);
  await ready;
  const seconds = new Promise<number>((resolve) => poster.once('message', (message) => resolve(message as number)));
  const used = meterRun(poster.pid!);
  poster.send('go');
  const run = { seconds: await seconds, ...used() };
  await exited;
  return run;
}
