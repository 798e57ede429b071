import { pgTable, text, timestamp, uniqueIndex, uuid, integer } from 'drizzle-orm/pg-core';

/** A person, by normalised e-mail; registrations carry what they typed for each session. */
export const attendees = pgTable(
  'attendees',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Trimmed, NFC, lower-cased, domain IDNA-encoded: the identity of the person. */
    email: text('email').notNull(),
    /** Raised to invalidate the personal feed URL (tokens are derived from it, see services/tokens). */
    feedTokenVersion: integer('feed_token_version').notNull().default(0),
    feedTokenHash: text('feed_token_hash'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex('attendees_email_key').on(table.email), uniqueIndex('attendees_feed_token_key').on(table.feedTokenHash)],
);

export type AttendeeRow = typeof attendees.$inferSelect;
