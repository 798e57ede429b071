import { sql } from 'drizzle-orm';
import { index, integer, jsonb, pgEnum, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { sessionMessages } from './messages.js';
import { registrations } from './registrations.js';
import { sessions } from './sessions.js';

export const notificationKind = pgEnum('notification_kind', [
  'confirmation',
  'waitlisted',
  'promoted',
  'manage_link',
  'registration_cancelled',
  'session_updated',
  'session_cancelled',
  'session_cancelled_waitlisted',
  'reminder',
  'follow_up_attended',
  'follow_up_no_show',
  'request_received',
  'request_declined',
  'offered',
  'offer_expired',
  'message',
  'series_summary',
]);

export const notificationStatus = pgEnum('notification_status', ['pending', 'queued', 'sent', 'failed', 'skipped']);

/**
 * The transactional outbox: a row is written in the same transaction as the change that
 * implies it, and the worker delivers it. Rows carry ids, never personal data.
 */
export const notifications = pgTable(
  'notifications',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: notificationKind('kind').notNull(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    registrationId: uuid('registration_id').references(() => registrations.id, { onDelete: 'cascade' }),
    /** The organizer's message this row delivers (kind 'message'); its counts are read by it. */
    sessionMessageId: uuid('session_message_id').references(() => sessionMessages.id, { onDelete: 'cascade' }),
    /** Unique: the same event never produces two notifications. */
    dedupeKey: text('dedupe_key').notNull(),
    /** Facts fixed when the row was written (the invite SEQUENCE, a reminder offset); no personal data. */
    payload: jsonb('payload').$type<Record<string, string | number | boolean | null>>().notNull().default({}),
    status: notificationStatus('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    lastError: text('last_error'),
    messageId: text('message_id'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    queuedAt: timestamp('queued_at', { withTimezone: true }),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('notifications_dedupe_key').on(table.dedupeKey),
    index('notifications_session_idx').on(table.sessionId, table.createdAt),
    index('notifications_pending_idx').on(table.createdAt).where(sql`${table.status} = 'pending'`),
    index('notifications_queued_idx').on(table.queuedAt).where(sql`${table.status} = 'queued'`),
    index('notifications_registration_idx').on(table.registrationId),
    index('notifications_session_message_idx').on(table.sessionMessageId, table.status),
  ],
);

export type NotificationRow = typeof notifications.$inferSelect;
export type NotificationKind = (typeof notificationKind.enumValues)[number];
export type NotificationStatus = (typeof notificationStatus.enumValues)[number];
