import { sql } from 'drizzle-orm';
import { bigint, boolean, index, integer, jsonb, pgEnum, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { attendees } from './attendees.js';
import { organisations } from './organisations.js';
import { organizers } from './organizers.js';
import { sessions } from './sessions.js';

/**
 * `pending`: awaits an organizer's approval (holds no seat); `offered`: a seat held for this
 * person until offer_expires_at; `declined` (by an organizer) and `expired` (an offer that ran
 * out) end a registration as `cancelled` does.
 *
 * The order matters: the active statuses come before 'cancelled', so the unique index's
 * predicate can say `status < 'cancelled'`. It cannot name the new values: Postgres refuses a
 * value added by ALTER TYPE until its transaction commits, and the migrator applies every
 * pending migration in one transaction.
 */
export const registrationStatus = pgEnum('registration_status', [
  'confirmed',
  'waitlisted',
  'pending',
  'offered',
  'cancelled',
  'declined',
  'expired',
]);

/** The statuses of a registration that still counts: the person may not register again beside it. */
export const ACTIVE_STATUSES = ['confirmed', 'waitlisted', 'pending', 'offered'] as const;

export type Answers = Record<string, string | boolean>;

export const registrations = pgTable(
  'registrations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    // RESTRICT: removing a person never silently removes their registrations (erasure anonymises).
    attendeeId: uuid('attendee_id')
      .notNull()
      .references(() => attendees.id, { onDelete: 'restrict' }),
    name: text('name').notNull(),
    organization: text('organization'),
    jobTitle: text('job_title'),
    answers: jsonb('answers').$type<Answers>().notNull().default({}),
    status: registrationStatus('status').notNull(),
    /** Arrival order on the waitlist (the session's ticket counter); positions are derived from it. */
    waitlistTicket: bigint('waitlist_ticket', { mode: 'number' }),
    /**
     * The IANA zone of the browser that posted the form (our script fills a hidden field), so
     * e-mails can lead with the attendee's own time; null without JavaScript or from the API.
     */
    attendeeTimezone: text('attendee_timezone'),
    consentVersion: text('consent_version'),
    consentAt: timestamp('consent_at', { withTimezone: true }),
    source: text('source').notNull().default('public'),
    /**
     * The member organisation the address belonged to when the person registered (by its
     * domain), whatever the audience; kept when the organisation's domains change later.
     */
    organisationId: uuid('organisation_id').references(() => organisations.id, { onDelete: 'set null' }),
    /** Added by an organizer beyond capacity. */
    forced: boolean('forced').notNull().default(false),
    addedBy: uuid('added_by').references(() => organizers.id, { onDelete: 'set null' }),
    /** Hashes of the tokens derived from the id and these versions (services/tokens). */
    tokenVersion: integer('token_version').notNull().default(0),
    manageTokenHash: text('manage_token_hash').notNull(),
    joinTokenHash: text('join_token_hash').notNull(),
    registeredAt: timestamp('registered_at', { withTimezone: true }).notNull().defaultNow(),
    confirmedAt: timestamp('confirmed_at', { withTimezone: true }),
    cancelledAt: timestamp('cancelled_at', { withTimezone: true }),
    /** When the seat now offered (or last offered) stops being held for this person. */
    offerExpiresAt: timestamp('offer_expires_at', { withTimezone: true }),
    offeredAt: timestamp('offered_at', { withTimezone: true }),
    /** When an organizer declined the request (the reason goes only into the e-mail). */
    declinedAt: timestamp('declined_at', { withTimezone: true }),
    checkedInAt: timestamp('checked_in_at', { withTimezone: true }),
    firstJoinedAt: timestamp('first_joined_at', { withTimezone: true }),
    lastJoinedAt: timestamp('last_joined_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    // At most one active registration per person per session, whatever the concurrency.
    uniqueIndex('registrations_one_active_per_attendee')
      .on(table.sessionId, table.attendeeId)
      .where(sql`${table.status} < 'cancelled'`),
    uniqueIndex('registrations_manage_token_key').on(table.manageTokenHash),
    uniqueIndex('registrations_join_token_key').on(table.joinTokenHash),
    index('registrations_waitlist_idx').on(table.sessionId, table.waitlistTicket).where(sql`${table.status} = 'waitlisted'`),
    // The expiry sweep: offers whose time ran out (no predicate on status: see registrationStatus).
    index('registrations_offer_expiry_idx').on(table.offerExpiresAt),
    index('registrations_session_registered_idx').on(table.sessionId, table.registeredAt, table.id),
    // The people table sorted by name (keyset pagination on the same expression), in ICU's
    // language-neutral order: accents and case beside their letter.
    index('registrations_session_name_idx').on(table.sessionId, sql`(lower(${table.name}) COLLATE "und-x-icu")`, table.id),
    index('registrations_attendee_idx').on(table.attendeeId),
    // The per-organisation limit of members-only sessions, and the participation report.
    index('registrations_organisation_idx').on(table.organisationId, table.sessionId),
  ],
);

export type RegistrationRow = typeof registrations.$inferSelect;
export type RegistrationStatus = (typeof registrationStatus.enumValues)[number];

export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    scope: text('scope').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    /** null while the first request is still being answered. */
    statusCode: integer('status_code'),
    /** The first answer's exact bytes, so a replay is identical to the letter. */
    responseBody: text('response_body'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.scope, table.key] }), index('idempotency_keys_created_idx').on(table.createdAt)],
);
