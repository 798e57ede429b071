import { bigint, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';

/**
 * A change counter per calendar feed (services/feeds), kept by triggers on the tables the feed
 * shows (migration 0007_feed_version_triggers), so a feed poll reads one row to know whether
 * anything changed. `versionId` is new at every change and never reused, not even by a
 * database restored from a backup, so it can key shared caches.
 */
export const feedVersions = pgTable('feed_versions', {
  name: text('name').primaryKey(),
  version: bigint('version', { mode: 'number' }).notNull().default(0),
  versionId: uuid('version_id').notNull().defaultRandom(),
  changedAt: timestamp('changed_at', { withTimezone: true }).notNull().defaultNow(),
});

export type FeedVersionRow = typeof feedVersions.$inferSelect;
