import { check, index, integer, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { sql } from 'drizzle-orm';
import { organizers } from './organizers.js';
import { sessions } from './sessions.js';

export const ORGANISATION_STATUSES = ['active', 'lapsed'] as const;
export type OrganisationStatus = (typeof ORGANISATION_STATUSES)[number];

/**
 * A member organisation of the network (a city): its people are recognised by the e-mail
 * domains it owns. `lapsed`: no longer a member; its people keep the registrations they have
 * but may not register anew for members-only sessions.
 */
export const organisations = pgTable(
  'organisations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    name: text('name').notNull(),
    status: text('status').$type<OrganisationStatus>().notNull().default('active'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (table) => [
    check('organisations_status_known', sql`${table.status} IN ('active', 'lapsed')`),
    // Names are how people tell organisations apart in lists and exports: one of each, whatever the case.
    uniqueIndex('organisations_name_unique').on(sql`lower(${table.name})`),
  ],
);

/**
 * The e-mail domains of an organisation, in their ASCII (IDNA) form, lower-case. The primary key
 * makes a domain belong to one organisation; an address at a subdomain belongs to the
 * organisation of the longest listed domain it ends in (services/organisations.service.ts).
 */
export const organisationDomains = pgTable(
  'organisation_domains',
  {
    domain: text('domain').primaryKey(),
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id, { onDelete: 'cascade' }),
  },
  (table) => [index('organisation_domains_organisation_idx').on(table.organisationId)],
);

/** A titled set of sessions that people join as a cohort, with one public page and one form. */
export const series = pgTable('series', {
  id: uuid('id').primaryKey().defaultRandom(),
  slug: text('slug').notNull().unique(),
  title: text('title').notNull(),
  description: text('description'),
  createdBy: uuid('created_by').references(() => organizers.id, { onDelete: 'set null' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** The sessions of a series, in the order given (a session may belong to several series). */
export const seriesSessions = pgTable(
  'series_sessions',
  {
    seriesId: uuid('series_id')
      .notNull()
      .references(() => series.id, { onDelete: 'cascade' }),
    sessionId: uuid('session_id')
      .notNull()
      .references(() => sessions.id, { onDelete: 'cascade' }),
    position: integer('position').notNull(),
  },
  (table) => [primaryKey({ columns: [table.seriesId, table.sessionId] }), index('series_sessions_session_idx').on(table.sessionId)],
);

export type OrganisationRow = typeof organisations.$inferSelect;
export type SeriesRow = typeof series.$inferSelect;
