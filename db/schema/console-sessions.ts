import { index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { organizers } from './organizers.js';

/**
 * Signed-in browsers of the organizer console. The cookie holds a random id; only its hash is
 * stored. A session ends 8 hours after `lastSeenAt`, 7 days after `createdAt`, at sign-out (row
 * deleted), or when the organizer's token version moves on (disabled, password changed, logout).
 */
export const consoleSessions = pgTable(
  'console_sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tokenHash: text('token_hash').notNull(),
    organizerId: uuid('organizer_id')
      .notNull()
      .references(() => organizers.id, { onDelete: 'cascade' }),
    /** The organizer's token version when the session began; any later change ends it. */
    tokenVersion: integer('token_version').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex('console_sessions_token_hash_key').on(table.tokenHash), index('console_sessions_organizer_idx').on(table.organizerId)],
);

export type ConsoleSessionRow = typeof consoleSessions.$inferSelect;
