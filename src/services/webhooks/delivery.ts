import { sql } from 'drizzle-orm';
import pLimit, { type LimitFunction } from 'p-limit';
import type { Logger } from 'pino';
import type { Database } from '../../../db/client.js';
import type { WebhookDeliveryRow } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import { withDeadline } from '../../deadline.js';
import { chunksOf, type DeliverWebhookJob, type Queues } from '../../queues.js';
import { groupedWriter } from '../coalesce.js';
import { decryptSecret, signatureHeaders } from './signing.js';
import type { WebhookTransport } from './transport.js';

/**
 * Delivery of the webhook outbox (rows written by the triggers of migration 0015), in the worker.
 *
 * The dispatcher claims due rows (one statement: `sending`, the attempt counted, a lease) and
 * hands them to the `deliver-webhook` queue in jobs of up to JOB_BATCH rows of one endpoint; a job
 * posts its rows concurrently and each outcome is recorded by a grouped write, so under load one
 * commit records many deliveries. Per endpoint and ordering key (a registration, or a session)
 * one row is in flight at a time: a row is due only when no earlier row of its key is pending or
 * sending, so a later event waits while an earlier one retries. A lease that runs out (Redis lost
 * the job, a worker died) makes the row pending again, so nothing is lost while Postgres has it.
 */

/** The Standard Webhooks schedule after the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const RETRY_DELAYS_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;
/**
 * Longer than a claimed row waits for its turn in a worker: the claim stops while jobs wait in
 * the queue and holds at most ENDPOINT_MAX_SENDING rows of an endpoint, so a row waits behind at
 * most that many attempts of at most 10 s each, spread over the endpoint's share of the worker's
 * connections (32 by default: 320 s). A row whose lease ran out first is left for a later claim.
 */
const LEASE_MS = 600_000;
/** An endpoint failing this long without a success is disabled. */
export const FAILING_DISABLE_MS = 5 * 24 * 3600 * 1000;
/**
 * Rows a claim takes at most. A claim has a fixed part (its planning, each endpoint's room, the
 * jobs it hands over): with claims of 500 to 1,000 rows rather than about 150, the webhooks bench
 * measured a quarter less CPU per delivery in the worker and Postgres together.
 */
const CLAIM_BATCH = 1_000;
/** Rows per job: enough to share the queue's round trips, few enough to spread over the worker's jobs. */
export const JOB_BATCH = 250;
/** Jobs not yet taken by a worker beyond which nothing more is claimed: claimed rows would only wait out their lease. */
const MAX_WAITING_JOBS = 8;
/**
 * Rows of one endpoint sending at once, all workers together: a slow receiver holds no more than
 * these. A worker claims again when it has fewer than 4 x WEBHOOK_CONCURRENCY rows left (256 by
 * default), so a busy endpoint's claim then takes several hundred rows, not a few dozen.
 */
export const ENDPOINT_MAX_SENDING = 1_024;
/** Outcomes recorded by one statement at most. */
const RECORD_GROUP = 500;
const REDIS_DEADLINE_MS = 5_000;

export interface WebhookDeliveryDeps {
  db: Database;
  clock: Clock;
  transport: WebhookTransport;
  secretsKey: Buffer;
  /**
   * Requests in flight in this worker (WEBHOOK_CONCURRENCY); one endpoint gets at most half, so
   * a receiver that answers slowly leaves the other half to the others.
   */
  concurrency: number;
  /**
   * Called after outcomes are recorded while this worker has few rows left to post: the next
   * events of their keys are due now, and more rows are wanted. With many rows still to post it
   * waits, so the claims come in large groups (the sweep timer claims in any case).
   */
  onRunningLow?: () => void;
  log?: Logger;
}

type ClaimedDelivery = DeliverWebhookJob['deliveries'][number];

export function webhookBody(delivery: Pick<ClaimedDelivery, 'eventType' | 'occurredAt' | 'data'>): string {
  return JSON.stringify({ type: delivery.eventType, timestamp: delivery.occurredAt, data: delivery.data });
}


/**
 * Rows whose lease ran out (a job Redis lost, a worker that died) are due again, unless that was
 * their last attempt: it may have reached the receiver, and its outcome is unknown.
 */
export async function releaseExpiredLeases(db: Database, now: Date): Promise<void> {
  await db.execute(sql`
    UPDATE webhook_deliveries SET
      status = CASE WHEN attempts >= ${MAX_ATTEMPTS} THEN 'failed' ELSE 'pending' END,
      last_error = CASE WHEN attempts >= ${MAX_ATTEMPTS} THEN 'No outcome was recorded for the last attempt' ELSE last_error END,
      lease_until = NULL
    WHERE status = 'sending' AND lease_until < ${now}::timestamptz`);
}

interface ClaimedRow {
  id: string;
  attempts: number;
  endpoint_id: string;
  event_type: WebhookDeliveryRow['eventType'];
  occurred_at: Date;
  data: Record<string, unknown>;
}

/**
 * The claim ($1 rows an endpoint may have sending, $2 now, $3 rows at most, $4 the lease). Per
 * endpoint its first due rows, as many as it has room for, each the first of its key still to go;
 * then those very row versions by their ctid (a TID scan, whatever the statistics say: a burst of
 * rows is often not analysed yet, and the planner then walked every pending row). A row another
 * claim took meanwhile is no longer pending when this one reaches it, and is left.
 * The two EXISTS tests end in OFFSET 0 for the same reason: it keeps each one a probe of its
 * index per endpoint or per row, with every key known. Planned as joins on a table the statistics
 * call empty (just vacuumed, then a burst), the ordering test read the whole key index once per
 * candidate: 500 rows took seconds.
 * Planned at every run, never prepared: a plan kept from a moment the table was nearly empty (a
 * new deployment, a purge) read the table whole once per candidate when the rows came (9.8 s a
 * claim at 10,000 rows), or walked the endpoint's whole history per candidate (3.4 s at 13,000),
 * for as long as the connection lived. Planning costs about a millisecond a claim.
 */
export const CLAIM_SQL = `
  WITH endpoints AS MATERIALIZED (
    SELECT e.id, e.enabled, $1::int - (
      SELECT count(*) FROM webhook_deliveries s WHERE s.endpoint_id = e.id AND s.status = 'sending') AS room
    FROM webhook_endpoints e
    -- Only endpoints with something to send: an idle one costs one probe of the pending index.
    WHERE EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = e.id AND p.status = 'pending' OFFSET 0)
  ), candidates AS MATERIALIZED (
    SELECT first.seq, first.ctid FROM endpoints, LATERAL (
      SELECT d.seq, d.ctid FROM webhook_deliveries d
      WHERE d.endpoint_id = endpoints.id AND d.status = 'pending' AND d.next_attempt_at <= $2::timestamptz
        AND (endpoints.enabled OR d.event_type = 'ping')
        AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries earlier
          WHERE earlier.endpoint_id = d.endpoint_id AND earlier.ordering_key = d.ordering_key
            AND earlier.seq < d.seq AND earlier.status IN ('pending', 'sending')
          OFFSET 0)
      ORDER BY d.seq LIMIT endpoints.room
    ) first
    WHERE endpoints.room > 0
  )
  UPDATE webhook_deliveries SET status = 'sending', attempts = attempts + 1, lease_until = $4::timestamptz
  WHERE ctid = ANY(ARRAY(SELECT ctid FROM candidates ORDER BY seq LIMIT $3::int))
    -- "still pending", written so that it does not match the partial index on pending rows
    -- (the planner would rather walk that whole index than read the rows by ctid).
    AND status NOT IN ('sending', 'succeeded', 'failed')
  RETURNING id, attempts, endpoint_id, event_type, occurred_at, data`;

/**
 * Claims due rows (one statement, committed), then hands them to BullMQ. The jobs go only after
 * the commit: a job that began before it would not see its rows claimed yet. When Redis refuses,
 * the rows are made pending again at once, their attempt uncounted (and, should even that fail,
 * their lease brings them back). How many were claimed.
 */
export async function dispatchDue(db: Database, queues: Queues, now: Date, limit = CLAIM_BATCH): Promise<number> {
  const waiting = await withDeadline(queues.deliverWebhook.getWaitingCount(), REDIS_DEADLINE_MS, `Redis did not answer within ${REDIS_DEADLINE_MS} ms`);
  if (waiting >= MAX_WAITING_JOBS) return 0;
  const leaseUntil = new Date(now.getTime() + LEASE_MS).toISOString();
  const { rows } = await db.$client.query<ClaimedRow>(CLAIM_SQL, [ENDPOINT_MAX_SENDING, now.toISOString(), limit, leaseUntil]);
  if (rows.length === 0) return 0;
  try {
    await withDeadline(queues.deliverWebhook.addBulk(jobsOf(rows, leaseUntil)), REDIS_DEADLINE_MS, `Redis did not take the jobs within ${REDIS_DEADLINE_MS} ms`);
  } catch (error) {
    await db.execute(sql`
      UPDATE webhook_deliveries SET status = 'pending', lease_until = NULL, attempts = attempts - 1
      WHERE id = ANY(${sql.param(rows.map((row) => row.id))}::text[]) AND status = 'sending'`);
    throw error;
  }
  return rows.length;
}

/** Claimed rows as jobs: per endpoint, in claim order, JOB_BATCH rows at most each. */
function jobsOf(rows: ClaimedRow[], leaseUntil: string) {
  const byEndpoint = new Map<string, DeliverWebhookJob['deliveries']>();
  for (const row of rows) {
    const deliveries = byEndpoint.get(row.endpoint_id) ?? [];
    deliveries.push({ id: row.id, attempt: row.attempts, eventType: row.event_type, occurredAt: row.occurred_at.toISOString(), data: row.data });
    byEndpoint.set(row.endpoint_id, deliveries);
  }
  return [...byEndpoint].flatMap(([endpointId, deliveries]) =>
    chunksOf(deliveries, JOB_BATCH).map((chunk): { name: string; data: DeliverWebhookJob } => ({
      name: 'deliver-webhook',
      data: { endpointId, leaseUntil, deliveries: chunk },
    })),
  );
}

export interface WebhookDispatcher {
  /** Asks for a dispatch soon; calls made while one runs are folded into one more run. */
  kick(): void;
  /** A dispatch that first takes back the rows whose lease ran out (the worker's timer). */
  sweep(): void;
  idle(): Promise<void>;
}

export function createWebhookDispatcher({ db, queues, clock, log }: { db: Database; queues: Queues; clock: Clock; log?: Logger }): WebhookDispatcher {
  let running: Promise<void> | null = null;
  let again = false;
  let leasesToRelease = false;
  function kick(): void {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
          if (leasesToRelease) {
            leasesToRelease = false;
            await releaseExpiredLeases(db, clock.now());
          }
          while ((await dispatchDue(db, queues, clock.now())) === CLAIM_BATCH);
        } catch (error) {
          // Redis or Postgres away: the rows wait for the next sweep.
          log?.warn({ err: { message: (error as Error).message } }, 'webhook dispatch deferred');
        }
      } while (again);
    })().finally(() => {
      running = null;
    });
  }
  function sweep(): void {
    leasesToRelease = true;
    kick();
  }
  return { kick, sweep, idle: async () => void (await running) };
}

/** What one attempt came to, as recorded. */
interface Outcome {
  id: string;
  attempt: number;
  endpointId: string;
  /** Pings test an endpoint: they never change whether it is healthy. */
  ping: boolean;
  statusCode: number | null;
  error: string | null;
  at: Date;
}

/** An endpoint's health as a group of outcomes (in the order they came) leaves it. */
interface Health {
  gone: boolean;
  succeeded: boolean;
  /** The first failure after the group's last success (or in the group, when none succeeded). */
  failingFrom: Date | null;
}

/** An endpoint's failing streak after a group of outcomes `h`, and whether it must stop. */
const NEXT_FAILING = 'CASE WHEN h.succeeded THEN h.failing_from ELSE coalesce(e.failing_since, h.failing_from) END';
const DISABLING = `(h.gone OR coalesce(${NEXT_FAILING} <= $13::timestamptz, false))`;

/**
 * A group of outcomes, one statement (one commit): $1-$7 the rows' outcomes (id, attempt,
 * status, next attempt, HTTP status, error, delivered at), left alone unless still sending for
 * that attempt; $8-$11 per endpoint its health (gone, succeeded, failing from), written only when
 * it changes; $12 now, $13 the moment before which failing since means five days. Returns the
 * endpoints it disabled. Planned at every run, as the claim is: a plan kept from a nearly empty
 * table read every sending row (or the whole id index) per group once the table had grown.
 */
const RECORD_SQL = `
  WITH outcome AS (
    SELECT * FROM unnest($1::text[], $2::int[], $3::text[], $4::timestamptz[], $5::int[], $6::text[], $7::timestamptz[])
      AS o(id, attempt, status, next_attempt_at, status_code, error, delivered_at)
  ), recorded AS (
    -- Runs whatever the rest reads of it (a data-modifying WITH always does).
    UPDATE webhook_deliveries d SET status = o.status, lease_until = NULL, next_attempt_at = o.next_attempt_at,
      last_status_code = o.status_code, last_error = o.error, delivered_at = o.delivered_at
    FROM outcome o WHERE d.id = o.id AND d.status = 'sending' AND d.attempts = o.attempt
    RETURNING d.id
  ), h AS (
    SELECT * FROM unnest($8::uuid[], $9::boolean[], $10::boolean[], $11::timestamptz[]) AS h(endpoint_id, gone, succeeded, failing_from)
  )
  UPDATE webhook_endpoints e SET
    failing_since = ${NEXT_FAILING},
    enabled = e.enabled AND NOT ${DISABLING},
    disabled_reason = CASE WHEN e.enabled AND h.gone THEN 'The receiver answered 410 Gone'
      WHEN e.enabled AND ${DISABLING} THEN 'Every delivery failed for 5 days' ELSE e.disabled_reason END,
    owner_notice_due_at = CASE WHEN e.enabled AND ${DISABLING} THEN $12::timestamptz ELSE e.owner_notice_due_at END,
    updated_at = CASE WHEN e.enabled AND ${DISABLING} THEN $12::timestamptz ELSE e.updated_at END
  FROM h
  WHERE e.id = h.endpoint_id AND (e.failing_since IS DISTINCT FROM ${NEXT_FAILING} OR (e.enabled AND ${DISABLING}))
  RETURNING e.id, CASE WHEN NOT e.enabled AND e.owner_notice_due_at = $12::timestamptz THEN e.disabled_reason END AS disabled_reason`;

/** The address and signing secrets of a job's endpoint ($1); none when it was deleted (its rows went with it). */
const ENDPOINT_SQL = `
  SELECT url, secret_ciphertext, previous_secret_ciphertext, previous_secret_expires_at
  FROM webhook_endpoints WHERE id = $1::uuid`;

interface EndpointRow {
  url: string;
  secret_ciphertext: string;
  previous_secret_ciphertext: string | null;
  previous_secret_expires_at: Date | null;
}

const succeededOutcome = (outcome: Outcome) => outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;

export function createWebhookDelivery({ db, clock, transport, secretsKey, concurrency, onRunningLow, log }: WebhookDeliveryDeps) {
  /** Decrypted secrets by ciphertext: a rotation writes a new ciphertext, so nothing goes stale. */
  const secrets = new Map<string, string>();
  const secretOf = (ciphertext: string) => {
    let secret = secrets.get(ciphertext);
    if (secret === undefined) {
      secret = decryptSecret(ciphertext, secretsKey);
      if (secrets.size > 1_000) secrets.clear();
      secrets.set(ciphertext, secret);
    }
    return secret;
  };

  /** Rows taken by this worker's jobs and not yet recorded or left alone. */
  let backlog = 0;
  const lowWater = 4 * concurrency;
  const settled = (rows: number) => {
    backlog -= rows;
    if (backlog < lowWater) onRunningLow?.();
  };

  const inFlight = pLimit(concurrency);
  const perEndpoint = new Map<string, LimitFunction>();
  const endpointShare = Math.max(1, Math.ceil(concurrency / 2));
  function throttled<T>(endpointId: string, work: () => Promise<T>): Promise<T> {
    let limit = perEndpoint.get(endpointId);
    if (!limit) {
      limit = pLimit(endpointShare);
      perEndpoint.set(endpointId, limit);
    }
    const endpointLimit = limit;
    return endpointLimit(() => inFlight(work)).finally(() => {
      if (endpointLimit.activeCount === 0 && endpointLimit.pendingCount === 0) perEndpoint.delete(endpointId);
    });
  }

  /** One statement for a group of outcomes: the rows, and the health of their endpoints. */
  async function writeOutcomes(outcomes: Outcome[]): Promise<void> {
    const now = clock.now();
    const rows = outcomes.map((outcome) => {
      const succeeded = succeededOutcome(outcome);
      const final = succeeded || outcome.statusCode === 410 || outcome.attempt >= MAX_ATTEMPTS;
      return {
        status: succeeded ? 'succeeded' : final ? 'failed' : 'pending',
        nextAttemptAt: final ? outcome.at : new Date(outcome.at.getTime() + (RETRY_DELAYS_MS[outcome.attempt - 1] ?? 0)),
        error: succeeded ? null : (outcome.error ?? `HTTP ${outcome.statusCode}`).slice(0, 500),
        deliveredAt: succeeded ? outcome.at : null,
      };
    });
    const health = new Map<string, Health>();
    for (const outcome of outcomes) {
      if (outcome.ping) continue;
      const state = health.get(outcome.endpointId) ?? { gone: false, succeeded: false, failingFrom: null };
      if (succeededOutcome(outcome)) {
        state.succeeded = true;
        state.failingFrom = null;
      } else if (outcome.statusCode === 410) {
        // The receiver says the endpoint is gone for good (the spec's 410): stop sending.
        state.gone = true;
      } else {
        state.failingFrom ??= outcome.at;
      }
      health.set(outcome.endpointId, state);
    }
    const endpoints = [...health.entries()];
    const iso = (date: Date | null) => date?.toISOString() ?? null;
    const { rows: disabled } = await db.$client.query<{ id: string; disabled_reason: string | null }>({
      text: RECORD_SQL,
      values: [
        outcomes.map((outcome) => outcome.id),
        outcomes.map((outcome) => outcome.attempt),
        rows.map((row) => row.status),
        rows.map((row) => iso(row.nextAttemptAt)),
        outcomes.map((outcome) => outcome.statusCode),
        rows.map((row) => row.error),
        rows.map((row) => iso(row.deliveredAt)),
        endpoints.map(([id]) => id),
        endpoints.map(([, state]) => state.gone),
        endpoints.map(([, state]) => state.succeeded),
        endpoints.map(([, state]) => iso(state.failingFrom)),
        now.toISOString(),
        new Date(now.getTime() - FAILING_DISABLE_MS).toISOString(),
      ],
    });
    for (const endpoint of disabled) {
      if (endpoint.disabled_reason) log?.warn({ endpointId: endpoint.id, reason: endpoint.disabled_reason }, 'webhook endpoint disabled');
    }
  }
  const record = groupedWriter(writeOutcomes, RECORD_GROUP);

  /**
   * One attempt of each row of a job: posted concurrently (within the worker's limits), each
   * outcome recorded as it comes. The rows come with the job (no second read of them); a row
   * whose lease ran out while it waited for its turn is left alone, since another claim may have
   * it now. The recording only touches a row still sending for the attempt the job carries, and
   * BullMQ never runs a deliver-webhook job twice (no retries, no stalled re-runs), so nothing
   * recorded is posted again by the same claim.
   */
  async function deliverBatch(job: DeliverWebhookJob): Promise<void> {
    // A job queued by an earlier version carries ids only: its rows come back when their lease runs out.
    if (!('leaseUntil' in job)) return;
    const { rows } = await db.$client.query<EndpointRow>({ name: 'convene-webhook-endpoint-v1', text: ENDPOINT_SQL, values: [job.endpointId] });
    const endpoint = rows[0];
    if (!endpoint) return;
    const leaseUntil = new Date(job.leaseUntil);
    backlog += job.deliveries.length;
    await Promise.all(
      job.deliveries.map(async (delivery) => {
        try {
          // The request holds a connection slot; recording its outcome does not.
          const answer = await throttled(job.endpointId, async () => {
            const now = clock.now();
            if (leaseUntil <= now) return null;
            const signing = [secretOf(endpoint.secret_ciphertext)];
            if (endpoint.previous_secret_ciphertext && endpoint.previous_secret_expires_at && endpoint.previous_secret_expires_at > now) {
              signing.push(secretOf(endpoint.previous_secret_ciphertext));
            }
            const body = webhookBody(delivery);
            return transport.post(endpoint.url, body, signatureHeaders({ id: delivery.id, timestamp: now, body, secrets: signing }));
          });
          if (answer === null) return;
          await record({
            id: delivery.id,
            attempt: delivery.attempt,
            endpointId: job.endpointId,
            ping: delivery.eventType === 'ping',
            statusCode: answer.statusCode,
            error: answer.error,
            at: clock.now(),
          });
        } finally {
          settled(1);
        }
      }),
    );
  }

  return { deliverBatch };
}

export type WebhookDelivery = ReturnType<typeof createWebhookDelivery>;
