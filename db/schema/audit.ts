import { index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { organizers } from './organizers.js';

/**
 * Who did what and when: every organizer change and every export. Append-only. `details`
 * holds facts about the change (field names, counts, flags), never an attendee's personal data,
 * so an erasure has nothing to remove here.
 */
export const auditLog = pgTable(
  'audit_log',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    /** null for the system (the retention job, the demo seed, the first admin). */
    actorId: uuid('actor_id').references(() => organizers.id, { onDelete: 'set null' }),
    /** The organizer's e-mail when it happened: it survives a renamed or removed account. */
    actorEmail: text('actor_email'),
    /** `session.create`, `registration.check_in`, `export.attendees`, ... */
    action: text('action').notNull(),
    /** `session`, `registration`, `organizer`, `attendee`, `export`. */
    subjectType: text('subject_type').notNull(),
    subjectId: uuid('subject_id'),
    details: jsonb('details').$type<Record<string, unknown>>().notNull().default({}),
  },
  (table) => [
    index('audit_log_at_idx').on(table.at, table.id),
    index('audit_log_actor_at_idx').on(table.actorId, table.at),
  ],
);

export type AuditRow = typeof auditLog.$inferSelect;
