import { Agent, request } from 'undici';
import { createDb } from '../db/client.js';
import { groupedWriter } from '../src/services/coalesce.js';
import { webhookBody } from '../src/services/webhooks/delivery.js';
import { signatureHeaders } from '../src/services/webhooks/signing.js';

/**
 * The raw baselines of the webhooks bench, in a process of its own as the worker is. It gets its
 * orders over IPC, posts the warm-up bodies untimed, says `ready`, and on `go` posts the timed
 * bodies `concurrency` in flight, signing each as it goes, and answers with the seconds it took.
 *
 * Given an outbox it does only what any leased outbox delivery cannot avoid, nothing else: the
 * rows (pending) are leased 500 at a time by one UPDATE that returns their payload (the next
 * lease taken while the previous rows are posted), each body is made of its row's payload, and
 * each answer is recorded on its row by a grouped UPDATE that the posting does not wait for. No
 * queue, no ordering, no endpoint, no retry schedule.
 */
export interface RawPosterOrders {
  url: string;
  secret: string;
  concurrency: number;
  warmUp: { id: string; body: string }[];
  /** What is timed: these bodies as they are, or the rows of an outbox, each body made of its row. */
  timed: { bodies: { id: string; body: string }[] } | { outbox: LeasedOutbox };
}

/** Rows to lease and record, in this database, in Convene's outbox table or the bench's bare one. */
export interface LeasedOutbox {
  databaseUrl: string;
  table: 'webhook_deliveries' | 'bench_bare_outbox';
  ids: string[];
}

const LEASE_GROUP = 500;

const orders = await new Promise<RawPosterOrders>((resolve) => process.once('message', (message) => resolve(message as RawPosterOrders)));
const agent = new Agent({ connections: orders.concurrency });

async function post({ id, body }: { id: string; body: string }): Promise<void> {
  const headers = { ...signatureHeaders({ id, timestamp: new Date(), body, secrets: [orders.secret] }), 'content-type': 'application/json' };
  const answer = await request(orders.url, { method: 'POST', body, headers, dispatcher: agent });
  await answer.body.dump();
}

async function postAll(bodies: { id: string; body: string }[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: orders.concurrency }, async () => {
      while (next < bodies.length) await post(bodies[next++]!);
    }),
  );
}

async function postLeased({ ids, databaseUrl, table }: LeasedOutbox): Promise<() => Promise<void>> {
  const { pool } = createDb(databaseUrl, { max: 4 });
  const record = groupedWriter<string>(async (ids) => {
    await pool.query(
      `UPDATE ${table} SET status = 'succeeded', lease_until = NULL, last_status_code = 200, delivered_at = now() WHERE id = ANY($1::text[])`,
      [ids],
    );
  }, 500);
  /** The leased rows, in lease order, each with the body made of its payload. */
  const leased: { id: string; body: string }[] = [];
  let waiting: (() => void)[] = [];
  const leasing = (async () => {
    for (let start = 0; start < ids.length; start += LEASE_GROUP) {
      const { rows } = await pool.query<{ id: string; data: Record<string, unknown> }>(
        `UPDATE ${table} SET status = 'sending', attempts = attempts + 1, lease_until = now() + interval '5 minutes'
         WHERE id = ANY($1::text[]) RETURNING id, data`,
        [ids.slice(start, start + LEASE_GROUP)],
      );
      const occurredAt = new Date().toISOString();
      for (const row of rows) leased.push({ id: row.id, body: webhookBody({ eventType: 'registration.created', occurredAt, data: row.data }) });
      for (const wake of waiting) wake();
      waiting = [];
    }
  })();
  const recorded: Promise<void>[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: orders.concurrency }, async () => {
      while (next < ids.length) {
        while (next >= leased.length) await new Promise<void>((resolve) => waiting.push(resolve));
        const row = leased[next++]!;
        await post(row);
        recorded.push(record(row.id));
      }
    }),
  );
  await leasing;
  await Promise.all(recorded);
  return () => pool.end();
}

await postAll(orders.warmUp);
process.send!('ready');
await new Promise((resolve) => process.once('message', resolve));
const started = performance.now();
let close = async (): Promise<void> => undefined;
if ('outbox' in orders.timed) close = await postLeased(orders.timed.outbox);
else await postAll(orders.timed.bodies);
process.send!((performance.now() - started) / 1000);
await close();
await agent.close();
process.disconnect();
