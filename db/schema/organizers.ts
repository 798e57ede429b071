import { sql } from 'drizzle-orm';
import { integer, pgEnum, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

export const organizerRole = pgEnum('organizer_role', ['admin', 'organizer']);

export const organizers = pgTable(
  'organizers',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Stored trimmed and lower-cased, so the unique index is the e-mail rule. */
    email: text('email').notNull(),
    name: text('name').notNull(),
    passwordHash: text('password_hash').notNull(),
    role: organizerRole('role').notNull().default('organizer'),
    /** Set when an admin disables the account: its tokens stop working and it cannot log in. */
    disabledAt: timestamp('disabled_at', { withTimezone: true }),
    /**
     * Written into every token issued; raised by a logout, a password change or disabling, so
     * every earlier token fails the check on the next request.
     */
    tokenVersion: integer('token_version').notNull().default(0),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [uniqueIndex('organizers_email_key').on(sql`lower(${table.email})`)],
);

export type OrganizerRow = typeof organizers.$inferSelect;
export type OrganizerRole = (typeof organizerRole.enumValues)[number];
