import { sql } from 'drizzle-orm';
import { bigserial, boolean, check, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { organizers } from './organizers.js';

/**
 * An organizer's API key: a credential for integrations that does not expire like a token. Only
 * the SHA-256 of the key is stored (the key has 256 random bits, so a slow hash adds nothing);
 * `prefix` is its first characters, to tell keys apart in lists. Deleting the row ends the key.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizerId: uuid('organizer_id')
      .notNull()
      .references(() => organizers.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    keyHash: text('key_hash').notNull(),
    prefix: text('prefix').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** Recorded at most once a minute per key, so a busy integration does not write on every request. */
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  },
  (table) => [uniqueIndex('api_keys_key_hash_unique').on(table.keyHash), index('api_keys_organizer').on(table.organizerId, table.createdAt)],
);

export const WEBHOOK_EVENTS = [
  'registration.created',
  'registration.confirmed',
  'registration.waitlisted',
  'registration.cancelled',
  'registration.checked_in',
  'session.published',
  'session.updated',
  'session.cancelled',
  'ping',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

/**
 * Where an organizer wants events sent. The signing secret is stored encrypted (AES-256-GCM
 * under a key derived from TOKEN_SECRET): it must be read to sign, and a copy of the database
 * alone must not let anyone forge our events. After a rotation the previous secret keeps signing
 * beside the new one until `previous_secret_expires_at`.
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizerId: uuid('organizer_id')
      .notNull()
      .references(() => organizers.id, { onDelete: 'cascade' }),
    url: text('url').notNull(),
    events: text('events').array().$type<WebhookEvent[]>().notNull(),
    description: text('description'),
    secretCiphertext: text('secret_ciphertext').notNull(),
    previousSecretCiphertext: text('previous_secret_ciphertext'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true }),
    enabled: boolean('enabled').notNull().default(true),
    /** Why it was disabled by us (a 410, five days of failures); null when enabled or disabled by its owner. */
    disabledReason: text('disabled_reason'),
    /** The first failed attempt since the last success; null while deliveries succeed. */
    failingSince: timestamp('failing_since', { withTimezone: true }),
    /**
     * Set when Convene disables the endpoint (410, five failing days): its owner is e-mailed then,
     * again later if the mail server refused; null once told, or when the owner enabled it again.
     */
    ownerNoticeDueAt: timestamp('owner_notice_due_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    index('webhook_endpoints_organizer').on(table.organizerId, table.createdAt),
    index('webhook_endpoints_owner_notice_due')
      .on(table.ownerNoticeDueAt)
      .where(sql`${table.ownerNoticeDueAt} IS NOT NULL`),
  ],
);

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'sending', 'succeeded', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

/**
 * The webhook outbox: one row per event and endpoint that wants it, written by triggers in the
 * transaction of the change (migration 0014), so no code path can change a registration or a
 * session without its event. `seq` orders the events; per endpoint and `ordering_key` (the
 * registration, or the session for session events) one is in flight at a time. `id` is the
 * Standard Webhooks `webhook-id`, the same on every attempt.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    seq: bigserial('seq', { mode: 'number' }).primaryKey(),
    id: text('id').notNull(),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventType: text('event_type').$type<WebhookEvent>().notNull(),
    orderingKey: uuid('ordering_key').notNull(),
    /** The event's `data`: ids and non-personal fields only. */
    data: jsonb('data').$type<Record<string, unknown>>().notNull(),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
    status: text('status').$type<WebhookDeliveryStatus>().notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    /** While `sending`: when an attempt that never reported back is taken again. */
    leaseUntil: timestamp('lease_until', { withTimezone: true }),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
  },
  (table) => [
    uniqueIndex('webhook_deliveries_id_unique').on(table.id),
    index('webhook_deliveries_endpoint_log').on(table.endpointId, table.seq),
    // The dispatcher's walk: each endpoint's pending rows in order, up to the room it has.
    index('webhook_deliveries_pending')
      .on(table.endpointId, table.seq)
      .where(sql`${table.status} = 'pending'`),
    // Rows being sent, small at any time: the room an endpoint has, and the leases that ran out.
    index('webhook_deliveries_sending')
      .on(table.endpointId, table.leaseUntil)
      .where(sql`${table.status} = 'sending'`),
    index('webhook_deliveries_in_flight')
      .on(table.endpointId, table.orderingKey, table.seq)
      .where(sql`${table.status} IN ('pending', 'sending')`),
    check('webhook_deliveries_status_known', sql`${table.status} IN ('pending', 'sending', 'succeeded', 'failed')`),
  ],
);

export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
