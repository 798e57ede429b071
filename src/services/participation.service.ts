import { and, asc, count, eq, gte, inArray, lt, sql } from 'drizzle-orm';
import { DateTime } from 'luxon';
import type { Database } from '../../db/client.js';
import { organisations, registrations, sessions, type OrganisationStatus } from '../../db/schema/index.js';
import type { Clock } from '../clock.js';
import { BadRequestError, type FieldError } from '../errors.js';
import { recordAudit, type AuditActor } from './audit.service.js';
import { csvText } from './export-format.js';
import { showedUp } from './registrations/queries.js';

/**
 * The participation report (api.md "Member organisations and series"): per member organisation,
 * what its people did at the sessions that start in a date range. What the network reports to
 * its funders, so every figure has one definition, said here and in the README:
 *
 * - the sessions counted: those starting in the range that took place, i.e. published (drafts and
 *   cancelled sessions are left out);
 * - a registration belongs to the organisation it recorded when it was made (by the address's
 *   domain), not to whoever owns the domain today;
 * - Registrations: every registration its people made for those sessions, whatever became of it
 *   since (every registration was active when made: confirmed, waitlisted or awaiting approval);
 *   later cancellations are counted here and shown apart under Cancelled; declined requests and
 *   lapsed offers are counted here only;
 * - Cancelled: of those, the ones cancelled since, by the person or for them;
 * - Attended: confirmed and showed up (checked in, or opened the personal join link);
 * - No-shows: confirmed, the session has ended (by the clock), and no check-in nor join;
 * - Sessions attended: the sessions at least one of its people attended.
 *
 * Every organisation has its row, those without a registration too, in name order.
 */

/** The longest range one report covers: a bound on the work of one request. */
export const PARTICIPATION_MAX_YEARS = 5;

/** Dates of the range are whole days in this zone: the report belongs to no session, like the console's admin pages. */
export const PARTICIPATION_ZONE = 'UTC';

/** The CSV's header and the console table's columns, in order. */
export const PARTICIPATION_COLUMNS = ['Organisation', 'Status', 'Sessions attended', 'Registrations', 'Cancelled', 'Attended', 'No-shows'] as const;

/** The sessions starting in [from, to). */
export interface ParticipationRange {
  from: Date;
  to: Date;
}

export interface ParticipationRow {
  organisationId: string;
  name: string;
  status: OrganisationStatus;
  sessionsAttended: number;
  registrations: number;
  cancelled: number;
  attended: number;
  noShows: number;
}

export interface ParticipationReport {
  range: ParticipationRange;
  /** The sessions counted: published, starting in the range. */
  sessions: number;
  rows: ParticipationRow[];
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
/** RFC 3339, as the API's other date-times: the offset is required, so an instant never depends on the server's zone. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}:\d{2})$/;
const BOUND_MESSAGE = 'must be a date (2026-12-04) or a date-time with its offset (2026-12-04T20:00:00Z)';

/** A bound as typed: a date (a whole day in PARTICIPATION_ZONE) or an instant. */
function readBound(text: string, path: string, errors: FieldError[]): { start: DateTime; isDate: boolean } | null {
  const trimmed = text.trim();
  const isDate = DATE.test(trimmed);
  if (!isDate && !DATE_TIME.test(trimmed)) {
    errors.push({ path, message: trimmed === '' ? 'is required' : BOUND_MESSAGE });
    return null;
  }
  const start = isDate ? DateTime.fromISO(trimmed, { zone: PARTICIPATION_ZONE }) : DateTime.fromISO(trimmed, { setZone: true });
  if (!start.isValid) {
    errors.push({ path, message: `${BOUND_MESSAGE}; ${trimmed} is not a day of the calendar` });
    return null;
  }
  return { start, isDate };
}

/**
 * The range of `from` and `to` as the API and the console take them: each a date (YYYY-MM-DD, a
 * whole day in UTC, `to`'s day included) or a date-time with its offset (an instant; `to`
 * excluded). `from` may not be after `to`, and the range spans at most PARTICIPATION_MAX_YEARS.
 * Errors at `/querystring/from` and `/querystring/to`, where the API's schema puts those of the same parameters.
 */
export function participationRange(fromText: string, toText: string): ParticipationRange {
  const errors: FieldError[] = [];
  const from = readBound(fromText, '/querystring/from', errors);
  const to = readBound(toText, '/querystring/to', errors);
  if (from && to) {
    const end = to.isDate ? to.start.plus({ days: 1 }) : to.start;
    // A date `to` holds its whole day: it may be from's own day, even after a from time of that day.
    const before = to.isDate ? end.toMillis() <= from.start.toMillis() : end.toMillis() < from.start.toMillis();
    if (before) errors.push({ path: '/querystring/to', message: 'must not be before from' });
    else if (end.toMillis() > from.start.plus({ years: PARTICIPATION_MAX_YEARS }).toMillis()) {
      errors.push({ path: '/querystring/to', message: `must be at most ${PARTICIPATION_MAX_YEARS} years after from` });
    }
    if (errors.length === 0) return { from: from.start.toJSDate(), to: end.toJSDate() };
  }
  throw new BadRequestError('The date range is not valid', errors);
}

/** The console's range when none is asked for: the last 12 months, up to and including today (dates in PARTICIPATION_ZONE). */
export function defaultParticipationDates(now: Date): { from: string; to: string } {
  const today = DateTime.fromJSDate(now, { zone: PARTICIPATION_ZONE }).startOf('day');
  return { from: today.minus({ months: 12 }).toISODate()!, to: today.toISODate()! };
}

/** The last day the range covers, for names and captions (`to` is excluded). */
function lastDay(range: ParticipationRange): string {
  return DateTime.fromMillis(Math.max(range.from.getTime(), range.to.getTime() - 1), { zone: PARTICIPATION_ZONE }).toISODate()!;
}

export function participationFilename(range: ParticipationRange): string {
  const first = DateTime.fromJSDate(range.from, { zone: PARTICIPATION_ZONE }).toISODate()!;
  return `participation-${first}-to-${lastDay(range)}`;
}

/** A row's cells in PARTICIPATION_COLUMNS order. */
export function participationCells(row: ParticipationRow): string[] {
  return [row.name, row.status, ...[row.sessionsAttended, row.registrations, row.cancelled, row.attended, row.noShows].map(String)];
}

export function createParticipationService({ db, clock }: { db: Database; clock: Clock }) {
  /** The report: two statements whatever the number of organisations, sessions or registrations. */
  async function report(range: ParticipationRange): Promise<ParticipationReport> {
    const now = clock.now();
    const counted = and(eq(sessions.status, 'published'), gte(sessions.startsAt, range.from), lt(sessions.startsAt, range.to));
    const attended = sql`${registrations.status} = 'confirmed' AND ${showedUp}`;
    const [rows, [total]] = await Promise.all([
      db
        .select({
          organisationId: organisations.id,
          name: organisations.name,
          status: organisations.status,
          sessionsAttended: sql<number>`count(DISTINCT ${registrations.sessionId}) FILTER (WHERE ${attended})::int`,
          registrations: sql<number>`count(${registrations.id})::int`,
          cancelled: sql<number>`count(${registrations.id}) FILTER (WHERE ${registrations.status} = 'cancelled')::int`,
          attended: sql<number>`count(${registrations.id}) FILTER (WHERE ${attended})::int`,
          noShows: sql<number>`count(${registrations.id}) FILTER (WHERE ${registrations.status} = 'confirmed' AND NOT ${showedUp} AND ${sessions.endsAt} <= ${now})::int`,
        })
        .from(organisations)
        // Every organisation keeps its row: the registrations of the counted sessions join it, if any.
        .leftJoin(
          registrations,
          and(eq(registrations.organisationId, organisations.id), inArray(registrations.sessionId, db.select({ id: sessions.id }).from(sessions).where(counted))),
        )
        .leftJoin(sessions, eq(sessions.id, registrations.sessionId))
        .groupBy(organisations.id)
        .orderBy(sql`lower(${organisations.name})`, asc(organisations.id)),
      db.select({ sessions: count() }).from(sessions).where(counted),
    ]);
    return { range, sessions: total?.sessions ?? 0, rows };
  }

  /**
   * The report as CSV (the exports' writer: RFC 4180, formula-safe cells), written to the audit
   * log as `export.participation` with the range and the number of rows, like every export.
   */
  async function csv(range: ParticipationRange, actor: AuditActor, options: { bom?: boolean } = {}): Promise<{ filename: string; text: string }> {
    const result = await report(range);
    const text = csvText([[...PARTICIPATION_COLUMNS], ...result.rows.map(participationCells)], { bom: options.bom ?? false });
    await recordAudit(db, {
      at: clock.now(),
      actor,
      action: 'export.participation',
      subjectType: 'export',
      details: { format: 'csv', from: range.from.toISOString(), to: range.to.toISOString(), sessions: result.sessions, rows: result.rows.length, completed: true },
    });
    return { filename: `${participationFilename(range)}.csv`, text };
  }

  return { report, csv };
}

export type ParticipationService = ReturnType<typeof createParticipationService>;
