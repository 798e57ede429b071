import { index, pgTable, primaryKey, timestamp, uuid } from 'drizzle-orm/pg-core';
import { organizers } from './organizers.js';
import { sessions } from './sessions.js';

/**
 * Who runs a session: an organizer sees, changes and exports only the sessions it hosts.
 * The creator is the first host; `addedAt` keeps that order.
 */
export const sessionHosts = pgTable(
  'session_hosts',
  {
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    organizerId: uuid('organizer_id')
      .notNull()
      .references(() => organizers.id, { onDelete: 'cascade' }),
    addedAt: timestamp('added_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    primaryKey({ columns: [table.sessionId, table.organizerId] }),
    // "The sessions this organizer hosts": the filter of every organizer's list and export.
    index('session_hosts_organizer_idx').on(table.organizerId, table.sessionId),
  ],
);

export type SessionHostRow = typeof sessionHosts.$inferSelect;
