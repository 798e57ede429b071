import { and, eq, sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Database } from '../../../db/client.js';
import { webhookDeliveries, webhookEndpoints, type WebhookDeliveryRow, type WebhookEndpointRow } from '../../../db/schema/index.js';
import type { Clock } from '../../clock.js';
import { webhookJobId, type Queues } from '../../queues.js';
import { decryptSecret, signatureHeaders } from './signing.js';
import type { WebhookTransport } from './transport.js';
import { withDeadline } from '../../deadline.js';

/**
 * Delivery of the webhook outbox (rows written by the triggers of migration 0015), in the worker.
 *
 * The dispatcher claims due rows and hands each to the `deliver-webhook` queue; the processor
 * posts it once and records the outcome. Per endpoint and ordering key (a registration, or a
 * session) one row is in flight at a time: a row is due only when no earlier row of its key is
 * pending or sending, so a later event waits while an earlier one retries. A claimed row is
 * `sending` under a lease; a lease that runs out (Redis lost the job, a worker died) makes it
 * pending again, so nothing is lost while Postgres has it.
 */

/** The Standard Webhooks schedule after the first attempt: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h. */
export const RETRY_DELAYS_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000];
export const MAX_ATTEMPTS = RETRY_DELAYS_MS.length + 1;
/** Longer than an attempt can take (the 10 s timeout), with room for a slow database. */
const LEASE_MS = 60_000;
/** An endpoint failing this long without a success is disabled. */
export const FAILING_DISABLE_MS = 5 * 24 * 3600 * 1000;
const CLAIM_BATCH = 500;
const ADD_DEADLINE_MS = 5_000;

export interface WebhookDeliveryDeps {
  db: Database;
  clock: Clock;
  transport: WebhookTransport;
  secretsKey: Buffer;
  log?: Logger;
}

/** The body as the spec shapes it: `{type, timestamp, data}`. */
export function webhookBody(row: Pick<WebhookDeliveryRow, 'eventType' | 'occurredAt' | 'data'>): string {
  return JSON.stringify({ type: row.eventType, timestamp: row.occurredAt.toISOString(), data: row.data });
}


/**
 * Claims due rows (one statement, committed), then hands them to BullMQ. The jobs go only after
 * the commit: a job that began before it would not see its row claimed yet. When Redis refuses,
 * the rows are made pending again at once (and, should even that fail, their lease brings them
 * back). How many were claimed.
 */
export async function dispatchDue(db: Database, queues: Queues, now: Date, limit = CLAIM_BATCH): Promise<number> {
  // Leases that ran out first (a job Redis lost): those rows are due again from this claim on.
  await db.execute(sql`
    UPDATE webhook_deliveries SET status = 'pending', lease_until = NULL
    WHERE status = 'sending' AND lease_until < ${now}::timestamptz`);
  const { rows } = await db.execute<{ id: string; attempts: number }>(sql`
    WITH due AS (
      SELECT d.seq FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id
      WHERE d.status = 'pending' AND d.next_attempt_at <= ${now}::timestamptz AND (e.enabled OR d.event_type = 'ping')
        AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries earlier
          WHERE earlier.endpoint_id = d.endpoint_id AND earlier.ordering_key = d.ordering_key
            AND earlier.seq < d.seq AND earlier.status IN ('pending', 'sending'))
      ORDER BY d.seq LIMIT ${limit}
      FOR UPDATE OF d SKIP LOCKED
    )
    UPDATE webhook_deliveries SET status = 'sending', lease_until = ${new Date(now.getTime() + LEASE_MS)}::timestamptz
    FROM due WHERE webhook_deliveries.seq = due.seq
    RETURNING webhook_deliveries.id, webhook_deliveries.attempts`);
  if (rows.length === 0) return 0;
  try {
    await withDeadline(
      queues.deliverWebhook.addBulk(
        rows.map((row) => ({ name: 'deliver-webhook', data: { deliveryId: row.id, attempt: row.attempts }, opts: { jobId: webhookJobId(row.id, row.attempts) } })),
      ),
      ADD_DEADLINE_MS,
      `Redis did not take the jobs within ${ADD_DEADLINE_MS} ms`,
    );
  } catch (error) {
    await db.execute(sql`
      UPDATE webhook_deliveries SET status = 'pending', lease_until = NULL
      WHERE id = ANY(${sql.param(rows.map((row) => row.id))}::text[]) AND status = 'sending'`);
    throw error;
  }
  return rows.length;
}

export interface WebhookDispatcher {
  /** Asks for a dispatch soon; calls made while one runs are folded into one more run. */
  kick(): void;
  idle(): Promise<void>;
}

export function createWebhookDispatcher({ db, queues, clock, log }: { db: Database; queues: Queues; clock: Clock; log?: Logger }): WebhookDispatcher {
  let running: Promise<void> | null = null;
  let again = false;
  function kick(): void {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        try {
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
  return { kick, idle: async () => void (await running) };
}

type Attempt = WebhookDeliveryRow & { endpoint: WebhookEndpointRow };

export function createWebhookDelivery({ db, clock, transport, secretsKey, log }: WebhookDeliveryDeps) {
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

  /** Takes the claimed row for this attempt; null when another job took it or it is no longer claimed. */
  async function begin(deliveryId: string, attempt: number): Promise<Attempt | null> {
    const [row] = await db
      .update(webhookDeliveries)
      .set({ attempts: sql`${webhookDeliveries.attempts} + 1` })
      .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.status, 'sending'), eq(webhookDeliveries.attempts, attempt)))
      .returning();
    if (!row) return null;
    const [endpoint] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, row.endpointId));
    // Deleted meanwhile: its rows went with it.
    return endpoint ? { ...row, endpoint } : null;
  }

  /** One attempt of one claimed row: post it, then record what happened. */
  async function deliver(deliveryId: string, attempt: number): Promise<void> {
    const row = await begin(deliveryId, attempt);
    if (!row) return;
    const now = clock.now();
    const { endpoint } = row;
    const signing = [secretOf(endpoint.secretCiphertext)];
    if (endpoint.previousSecretCiphertext && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now) {
      signing.push(secretOf(endpoint.previousSecretCiphertext));
    }
    const body = webhookBody(row);
    const headers = signatureHeaders({ id: row.id, timestamp: now, body, secrets: signing });
    const outcome = await transport.post(endpoint.url, body, { ...headers });
    const succeeded = outcome.statusCode !== null && outcome.statusCode >= 200 && outcome.statusCode < 300;
    const gone = outcome.statusCode === 410;
    const error = succeeded ? null : (outcome.error ?? `HTTP ${outcome.statusCode}`);
    const recordedAt = clock.now();
    const final = succeeded || gone || row.attempts >= MAX_ATTEMPTS;
    const retryAt = new Date(recordedAt.getTime() + (RETRY_DELAYS_MS[row.attempts - 1] ?? 0));

    await db.transaction(async (tx) => {
      await tx.execute(sql`
        UPDATE webhook_deliveries SET
          status = ${succeeded ? 'succeeded' : final ? 'failed' : 'pending'},
          lease_until = NULL,
          next_attempt_at = ${final ? recordedAt : retryAt}::timestamptz,
          last_status_code = ${outcome.statusCode},
          last_error = ${error === null ? null : error.slice(0, 500)},
          delivered_at = ${succeeded ? recordedAt : null}::timestamptz
        WHERE id = ${row.id}`);
      if (row.eventType === 'ping') return;
      if (succeeded) {
        await tx.execute(sql`UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ${endpoint.id}::uuid AND failing_since IS NOT NULL`);
      } else if (gone) {
        // The receiver says the endpoint is gone for good (the spec's 410): stop sending.
        await tx.execute(sql`
          UPDATE webhook_endpoints SET enabled = false, disabled_reason = 'The receiver answered 410 Gone', updated_at = ${recordedAt}::timestamptz
          WHERE id = ${endpoint.id}::uuid AND enabled`);
      } else {
        const disabled = await tx.execute(sql`
          UPDATE webhook_endpoints SET
            failing_since = coalesce(failing_since, ${recordedAt}::timestamptz),
            enabled = enabled AND coalesce(failing_since, ${recordedAt}::timestamptz) > ${new Date(recordedAt.getTime() - FAILING_DISABLE_MS)}::timestamptz,
            disabled_reason = CASE WHEN enabled AND coalesce(failing_since, ${recordedAt}::timestamptz) <= ${new Date(recordedAt.getTime() - FAILING_DISABLE_MS)}::timestamptz
              THEN 'Every delivery failed for 5 days' ELSE disabled_reason END
          WHERE id = ${endpoint.id}::uuid
          RETURNING enabled`);
        if (disabled.rows[0] && (disabled.rows[0] as { enabled: boolean }).enabled === false && endpoint.enabled) {
          log?.warn({ endpointId: endpoint.id }, 'webhook endpoint disabled after 5 days of failures');
        }
      }
    });
  }

  return { deliver };
}

export type WebhookDelivery = ReturnType<typeof createWebhookDelivery>;
