import { index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { organizers } from './organizers.js';
import { sessions } from './sessions.js';

/** Who a message goes to: a status, attendance after the start, or every active registration. */
export const MESSAGE_AUDIENCES = ['confirmed', 'waitlisted', 'pending', 'attended', 'no-show', 'all'] as const;
export type MessageAudience = (typeof MESSAGE_AUDIENCES)[number];

/**
 * An organizer's message to the people of a session (subject and plain-text body). Each
 * recipient gets an outbox row (notifications.session_message_id) written with the message.
 */
export const sessionMessages = pgTable(
  'session_messages',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    audience: text('audience').$type<MessageAudience>().notNull(),
    /** The outbox rows written when it was sent (a test send: the one organizer). */
    recipients: integer('recipients').notNull(),
    /** A test send's address (the organizer who asked, to see it as recipients will); null for a real message. */
    testTo: text('test_to'),
    sentBy: uuid('sent_by').references(() => organizers.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [index('session_messages_session_idx').on(table.sessionId, table.createdAt)],
);

export type SessionMessageRow = typeof sessionMessages.$inferSelect;
