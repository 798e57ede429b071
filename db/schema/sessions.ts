import { sql } from 'drizzle-orm';
import { bigint, boolean, check, index, integer, jsonb, pgEnum, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { organizers } from './organizers.js';

export const sessionStatus = pgEnum('session_status', ['draft', 'published', 'cancelled']);

export type Audience =
  | { kind: 'public' }
  | { kind: 'domains'; domains: string[] }
  | { kind: 'code'; code: string }
  /** Addresses of active member organisations (organisations.ts); at most `perOrganisationLimit` active registrations each. */
  | { kind: 'members'; perOrganisationLimit?: number };

export interface FollowUp {
  message: string;
  recordingUrl: string | null;
}

export type WaitlistMode = 'auto' | 'offer';

/** The organizer's own paragraph at the top of these e-mails (plain text). */
export interface EmailTexts {
  confirmation?: string;
  waitlisted?: string;
  reminder?: string;
}

export type Question =
  | { id: string; label: string; type: 'text' | 'textarea' | 'checkbox'; required: boolean }
  | { id: string; label: string; type: 'select'; options: string[]; required: boolean };

export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    slug: text('slug').notNull(),
    title: text('title').notNull(),
    summary: text('summary'),
    description: text('description'),
    startsAt: timestamp('starts_at', { withTimezone: true }).notNull(),
    endsAt: timestamp('ends_at', { withTimezone: true }).notNull(),
    timezone: text('timezone').notNull(),
    /** null means unlimited. */
    capacity: integer('capacity'),
    waitlistEnabled: boolean('waitlist_enabled').notNull().default(true),
    /** null means a waitlist without a limit. */
    waitlistLimit: integer('waitlist_limit'),
    /** A public registration waits for an organizer's approval (`pending`, no seat). */
    approval: boolean('approval').notNull().default(false),
    /** 'auto': a freed seat goes to the first waiting person; 'offer': it is offered for offerMinutes. */
    waitlistMode: text('waitlist_mode').$type<WaitlistMode>().notNull().default('auto'),
    offerMinutes: integer('offer_minutes').notNull().default(1440),
    registrationOpensAt: timestamp('registration_opens_at', { withTimezone: true }),
    registrationClosesAt: timestamp('registration_closes_at', { withTimezone: true }),
    audience: jsonb('audience').$type<Audience>().notNull().default({ kind: 'public' }),
    questions: jsonb('questions').$type<Question[]>().notNull().default([]),
    /** Minutes before the start. */
    reminders: jsonb('reminders').$type<number[]>().notNull().default([1440, 60]),
    joinUrl: text('join_url'),
    joinInstructions: text('join_instructions'),
    emailTexts: jsonb('email_texts').$type<EmailTexts>().notNull().default({}),
    contactName: text('contact_name').notNull(),
    contactEmail: text('contact_email').notNull(),
    status: sessionStatus('status').notNull().default('draft'),
    /** The iCalendar SEQUENCE of the session's invites; only ever raised. */
    sequence: integer('sequence').notNull().default(0),
    cancelReason: text('cancel_reason'),
    /** What finished sessions send to attendees and no-shows (POST /sessions/{id}/follow-up). */
    followUp: jsonb('follow_up').$type<FollowUp>(),
    followUpSentAt: timestamp('follow_up_sent_at', { withTimezone: true }),
    publishedAt: timestamp('published_at', { withTimezone: true }),
    cancelledAt: timestamp('cancelled_at', { withTimezone: true }),
    createdBy: uuid('created_by').references(() => organizers.id, { onDelete: 'set null' }),
    /** Counters kept in the same statement as the registration rows they count. */
    confirmedCount: integer('confirmed_count').notNull().default(0),
    waitlistedCount: integer('waitlisted_count').notNull().default(0),
    cancelledCount: integer('cancelled_count').notNull().default(0),
    pendingCount: integer('pending_count').notNull().default(0),
    /** Seats held by open offers: confirmed_count + offered_count never exceeds the capacity. */
    offeredCount: integer('offered_count').notNull().default(0),
    /** Only ever raised: the arrival order of the waitlist. */
    waitlistTickets: bigint('waitlist_tickets', { mode: 'number' }).notNull().default(0),
    /**
     * The registration time last handed out by the seat statement, read and raised under the
     * row lock, so registeredAt follows the order in which the lock was granted (and the tickets).
     */
    lastRegisteredAt: timestamp('last_registered_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    uniqueIndex('sessions_slug_key').on(table.slug),
    index('sessions_starts_at_idx').on(table.startsAt),
    // The calendar feeds' window (services/feeds): their version query reads only these index entries.
    index('sessions_feed_published_idx').on(table.endsAt, table.updatedAt).where(sql`${table.status} = 'published'`),
    index('sessions_feed_cancelled_idx').on(table.cancelledAt, table.updatedAt).where(sql`${table.status} = 'cancelled'`),
    check('sessions_ends_after_start', sql`${table.endsAt} > ${table.startsAt}`),
    check('sessions_capacity_non_negative', sql`${table.capacity} IS NULL OR ${table.capacity} >= 0`),
    check('sessions_waitlist_limit_non_negative', sql`${table.waitlistLimit} IS NULL OR ${table.waitlistLimit} >= 0`),
    check('sessions_counts_non_negative', sql`${table.confirmedCount} >= 0 AND ${table.waitlistedCount} >= 0 AND ${table.cancelledCount} >= 0`),
    check('sessions_offer_counts_non_negative', sql`${table.pendingCount} >= 0 AND ${table.offeredCount} >= 0`),
    check('sessions_waitlist_mode', sql`${table.waitlistMode} IN ('auto', 'offer')`),
    check('sessions_offer_minutes', sql`${table.offerMinutes} BETWEEN 1 AND 10080`),
  ],
);

export type SessionRow = typeof sessions.$inferSelect;
export type SessionStatus = (typeof sessionStatus.enumValues)[number];
