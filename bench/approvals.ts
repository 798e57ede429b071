import { randomUUID } from 'node:crypto';
import { fixed, publishedBenchSession, report, type BenchContext } from './lib.js';

const PEOPLE = 1_000;
const IN_FLIGHT = 64;

/** Runs `work` for each item with at most IN_FLIGHT at once; answers the seconds it took. */
async function timed<T>(items: T[], work: (item: T) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
  return (performance.now() - started) / 1000;
}

async function pendingRequests(ctx: BenchContext, sessionId: string, slug: string): Promise<string[]> {
  const run = randomUUID().slice(0, 8);
  await timed(
    Array.from({ length: PEOPLE }, (_, i) => i),
    (i) => ctx.services.registrations.register(slug, { name: `Person ${i}`, email: `approval-${run}-${i}@example.org`, consent: true }),
  );
  const { rows } = await ctx.database.pool.query<{ id: string }>(
    `SELECT id FROM registrations WHERE session_id = $1 AND status = 'pending' ORDER BY registered_at, id`,
    [sessionId],
  );
  return rows.map((row) => row.id);
}

/**
 * Approval locks the session row first, then approves in a statement of its own (a transaction:
 * BEGIN, lock, approve, audit, COMMIT), where a registration takes its seat in one autocommitted
 * statement. The question the issue asks ("one statement, or a transaction that locks the session
 * row first: measure"): what the transaction costs beside the one statement, on the same machine
 * in the same run, with 64 requests in flight for one session (the worst case: one row lock).
 */
export async function approvalBench(ctx: BenchContext) {
  const capacity = PEOPLE / 2;
  const single = await publishedBenchSession(ctx, 'Approvals', { capacity, approval: true, waitlist: { enabled: true, limit: null } });
  const singleIds = await pendingRequests(ctx, single.id, single.slug);
  const singleSeconds = await timed(singleIds, (id) => ctx.services.registrations.approveOne(single.id, id, null));

  const bulk = await publishedBenchSession(ctx, 'Approvals bulk', { capacity, approval: true, waitlist: { enabled: true, limit: null } });
  const bulkIds = await pendingRequests(ctx, bulk.id, bulk.slug);
  const bulkStarted = performance.now();
  for (let i = 0; i < bulkIds.length; i += 500) await ctx.services.registrations.approve(bulk.id, bulkIds.slice(i, i + 500), null);
  const bulkSeconds = (performance.now() - bulkStarted) / 1000;

  // The baseline: the same number of registrations taking a seat or a waitlist place with the one statement.
  const plain = await publishedBenchSession(ctx, 'Approvals baseline', { capacity, waitlist: { enabled: true, limit: null } });
  const run = randomUUID().slice(0, 8);
  const plainSeconds = await timed(
    Array.from({ length: PEOPLE }, (_, i) => i),
    (i) => ctx.services.registrations.register(plain.slug, { name: `Person ${i}`, email: `plain-${run}-${i}@example.org`, consent: true }),
  );

  const { rows } = await ctx.database.pool.query<{ over: boolean; counters: boolean }>(
    `SELECT bool_or(s.confirmed_count + s.offered_count > s.capacity) AS over,
       bool_and(s.confirmed_count = (SELECT count(*) FROM registrations r WHERE r.session_id = s.id AND r.status = 'confirmed')
         AND s.waitlisted_count = (SELECT count(*) FROM registrations r WHERE r.session_id = s.id AND r.status = 'waitlisted')
         AND s.pending_count = 0) AS counters
     FROM sessions s WHERE s.id = ANY($1::uuid[])`,
    [[single.id, bulk.id]],
  );
  const rate = (seconds: number) => PEOPLE / seconds;
  report({
    bench: 'approvals',
    metric: 'single approvals / s',
    ours: fixed(rate(singleSeconds), 0),
    baseline: fixed(rate(plainSeconds), 0),
    ratio: fixed(rate(singleSeconds) / rate(plainSeconds), 2),
    target: 'reported (baseline: one-statement seats)',
    ok: rows[0]?.over === false && rows[0]?.counters === true,
  });
  report({
    bench: 'approvals',
    metric: 'bulk approvals / s',
    ours: fixed(rate(bulkSeconds), 0),
    baseline: fixed(rate(plainSeconds), 0),
    ratio: fixed(rate(bulkSeconds) / rate(plainSeconds), 2),
    target: 'reported; never over capacity',
    ok: rows[0]?.over === false && rows[0]?.counters === true,
  });
}
