import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import type { Database, Executor } from '../../db/client.js';
import type { Answers, RegistrationRow } from '../../db/schema/index.js';
import { SEAT_IS_FREE, WAITLIST_HAS_ROOM } from './availability.js';
import { kinds } from './notifications/kinds.js';
import { eitherKind, OUTBOX_COLUMNS, outboxValues } from './notifications/outbox.js';

/**
 * The capacity rules, each one SQL statement. Every change of a registration's status happens
 * while the session row is locked (by the statement itself, or by `lockSession` first), so the
 * counters on the session row and the order of the waitlist can never disagree with the rows.
 */

export interface SeatRequest {
  registrationId: string;
  sessionId: string;
  /** The normalised address: the statement finds the attendee, or adds one only with the seat. */
  email: string;
  name: string;
  organization: string | null;
  jobTitle: string | null;
  answers: Answers;
  consentVersion: string | null;
  /** The IANA zone the attendee's browser reported (public form), already checked; null when unknown. */
  attendeeTimezone?: string | null;
  source: 'public' | 'organizer';
  /** An organizer's override: confirmed even when the session is full. */
  force: boolean;
  addedBy: string | null;
  manageTokenHash: string;
  joinTokenHash: string;
  now: Date;
  /**
   * A public repeat gets its manage link again, unless one went after `since`; `window` names the
   * bucket in the dedupe key so two concurrent repeats write one row. Null: no e-mail (organizers).
   */
  manageLinkResend: { since: Date; window: number } | null;
}

export interface SeatResult {
  /** The new registration, when this call took a seat or a waitlist place. */
  taken: {
    registrationId: string;
    status: 'confirmed' | 'waitlisted';
    /** The 1-based place on the waitlist at the moment of joining. */
    waitlistPosition: number | null;
    /** The session's counters right after this registration. */
    confirmedCount: number;
    waitlistedCount: number;
  } | null;
  /** The person's active registration, when they already had one (nothing was taken then). */
  existing: { registrationId: string; status: 'confirmed' | 'waitlisted' } | null;
  /** A new address would have got a seat or a waitlist place: the session is published and not full. */
  room: boolean;
}

/** A new registration's e-mail: its confirmation, or its place on the waitlist. */
const SEAT_NOTIFICATION = eitherKind(
  sql`registration.status = 'confirmed'`,
  kinds.confirmation.row(sql`registration.id`, {}),
  kinds.waitlisted.row(sql`registration.id`, {}),
);

/**
 * Takes a seat or a waitlist place and writes the attendee, the registration and its outbox row,
 * in one statement. The UPDATE locks the session row; under READ COMMITTED a concurrent statement
 * waits, then re-evaluates the guard on the committed counters, so the capacity can never be
 * exceeded and the waitlist tickets follow the order in which the lock was granted. The lock
 * is held only for this statement. The guard (SEAT_IS_FREE, WAITLIST_HAS_ROOM) is the capacity
 * rule of availabilityOf (services/availability.ts) in the form that holds under concurrency.
 *
 * A new address and one already registered do the same work as far as they can, so that the
 * time of the answer tells a stranger as little as possible: both look the person up, both lock
 * and write the session row when there is room (the repeat adds nothing to the counters), and
 * both write one outbox row (the repeat: its manage link again, at most once per window). Only
 * a seat adds the attendee (so a refused new address leaves no row behind to clean up) and the
 * registration. `room` says whether the guard let the row through, so a repeat on a full
 * session gets the same refusal as a new address.
 *
 * registered_at comes from the session row, raised by at least a millisecond under the lock:
 * registration times follow the lock order (and the waitlist tickets) even when the clock
 * read before the statement did not; confirmed_at and the outbox row share that time. A
 * millisecond, not a microsecond: JSON, exports and list cursors carry milliseconds, and a
 * finer step would show ties there (and break the cursor's order). A burst faster than one
 * registration per millisecond per session runs the times ahead of the clock by at most the
 * burst's excess (the burst bench's 5,000 over 500 connections ran at about 290 a second here).
 *
 * The concurrent same person in another spelling: both statements may see no registration,
 * the second then fails on registrations_one_active_per_attendee and is rolled back whole (the
 * caller runs it again, and then it is a repeat). Two first registrations of one new address for
 * different sessions meet on the attendee's unique address: DO UPDATE (not DO NOTHING) hands the
 * second one the row the first one made.
 *
 * `seatIsFree` is a parameter only so a test can build the unguarded statement and show the
 * race that the guard prevents; production code always passes SEAT_IS_FREE.
 */
export function takeSeatStatement(request: SeatRequest, seatIsFree: SQL = SEAT_IS_FREE): SQL {
  const free = sql`(${request.force}::boolean OR (${seatIsFree}))`;
  const resend = request.manageLinkResend;
  return sql`
    WITH person AS (
      SELECT a.id FROM attendees a WHERE a.email = ${request.email}::text
    ),
    active AS (
      SELECT r.id, r.status FROM registrations r
      WHERE r.session_id = ${request.sessionId}::uuid AND r.attendee_id = (SELECT id FROM person) AND r.status <> 'cancelled'
    ),
    newcomer AS (
      SELECT NOT EXISTS (SELECT 1 FROM active) AS yes
    ),
    seat AS (
      UPDATE sessions s SET
        confirmed_count = s.confirmed_count + CASE WHEN n.yes AND ${free} THEN 1 ELSE 0 END,
        waitlisted_count = s.waitlisted_count + CASE WHEN n.yes AND NOT ${free} THEN 1 ELSE 0 END,
        waitlist_tickets = s.waitlist_tickets + CASE WHEN n.yes AND NOT ${free} THEN 1 ELSE 0 END,
        last_registered_at = CASE WHEN n.yes
          THEN GREATEST(s.last_registered_at + interval '1 millisecond', ${request.now}::timestamptz)
          ELSE s.last_registered_at END
      FROM newcomer n
      WHERE s.id = ${request.sessionId}
        AND (s.status = 'published' OR (${request.source}::text = 'organizer' AND s.status = 'draft'))
        AND (${free} OR ${WAITLIST_HAS_ROOM})
      RETURNING
        s.id,
        n.yes AS taken,
        CASE WHEN ${request.force}::boolean OR s.waitlisted_count = 0 THEN 'confirmed' ELSE 'waitlisted' END AS status,
        s.confirmed_count AS confirmed_count,
        s.waitlisted_count AS waitlisted_count,
        s.waitlist_tickets AS ticket,
        s.last_registered_at AS registered_at
    ),
    attendee AS (
      INSERT INTO attendees (email)
      SELECT ${request.email}::text FROM seat WHERE seat.taken AND NOT EXISTS (SELECT 1 FROM person)
      ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
      RETURNING id
    ),
    registration AS (
      INSERT INTO registrations (
        id, session_id, attendee_id, name, organization, job_title, answers, status, waitlist_ticket,
        consent_version, consent_at, source, forced, added_by, manage_token_hash, join_token_hash,
        registered_at, confirmed_at, updated_at, attendee_timezone
      )
      SELECT
        ${request.registrationId}::uuid, seat.id, coalesce((SELECT id FROM attendee), (SELECT id FROM person)),
        ${request.name}::text, ${request.organization}::text,
        ${request.jobTitle}::text, ${JSON.stringify(request.answers)}::jsonb, seat.status::registration_status,
        CASE WHEN seat.status = 'waitlisted' THEN seat.ticket END,
        ${request.consentVersion}::text, CASE WHEN ${request.consentVersion}::text IS NOT NULL THEN seat.registered_at END,
        ${request.source}::text, ${request.force}::boolean, ${request.addedBy}::uuid, ${request.manageTokenHash}::text,
        ${request.joinTokenHash}::text, seat.registered_at,
        CASE WHEN seat.status = 'confirmed' THEN seat.registered_at END, seat.registered_at,
        ${request.attendeeTimezone ?? null}::text
      FROM seat WHERE seat.taken
      RETURNING id, status, registered_at
    ),
    outbox AS (
      INSERT INTO notifications ${OUTBOX_COLUMNS}
      SELECT ${outboxValues(sql`${request.sessionId}::uuid`, SEAT_NOTIFICATION, sql`registration.registered_at`)}
      FROM registration
      RETURNING id
    ),
    resend AS (
      INSERT INTO notifications ${OUTBOX_COLUMNS}
      SELECT ${outboxValues(
        sql`${request.sessionId}::uuid`,
        kinds.manage_link.row(sql`active.id`, { window: sql`${String(resend?.window ?? 0)}::text` }),
        sql`${request.now}::timestamptz`,
      )}
      FROM active
      WHERE ${resend !== null}::boolean
        AND EXISTS (SELECT 1 FROM sessions WHERE id = ${request.sessionId}::uuid AND status = 'published')
        AND NOT EXISTS (
          SELECT 1 FROM notifications n
          WHERE n.registration_id = active.id AND n.kind = ${kinds.manage_link.name}::notification_kind AND n.created_at > ${resend?.since ?? request.now}::timestamptz
        )
      ON CONFLICT (dedupe_key) DO NOTHING
      RETURNING id
    )
    SELECT registration.id AS "registrationId", registration.status,
      CASE WHEN registration.status = 'waitlisted' THEN seat.waitlisted_count END AS "waitlistPosition",
      seat.confirmed_count AS "confirmedCount", seat.waitlisted_count AS "waitlistedCount",
      (SELECT id FROM active) AS "existingId", (SELECT status FROM active)::text AS "existingStatus",
      seat.id IS NOT NULL AS room,
      ((SELECT count(*) FROM outbox) + (SELECT count(*) FROM resend))::int AS "notificationCount"
    FROM (SELECT 1) AS one
      LEFT JOIN seat ON true
      LEFT JOIN registration ON true`;
}

const dialect = new PgDialect();

interface SeatRow extends Record<string, unknown> {
  registrationId: string | null;
  status: 'confirmed' | 'waitlisted' | null;
  waitlistPosition: number | null;
  confirmedCount: number | null;
  waitlistedCount: number | null;
  existingId: string | null;
  existingStatus: 'confirmed' | 'waitlisted' | null;
  room: boolean;
}

/**
 * Runs the seat statement as a named prepared statement: its text never changes (every value
 * is a parameter), so Postgres parses and plans the CTE once per connection.
 */
export async function takeSeat(database: Database, request: SeatRequest): Promise<SeatResult> {
  const query = dialect.sqlToQuery(takeSeatStatement(request));
  const result = await database.$client.query<SeatRow>({
    name: 'convene-take-seat-v3',
    text: query.sql,
    values: query.params,
  });
  const row = result.rows[0]!;
  return {
    taken:
      row.registrationId && row.status
        ? {
            registrationId: row.registrationId,
            status: row.status,
            waitlistPosition: row.waitlistPosition,
            confirmedCount: row.confirmedCount!,
            waitlistedCount: row.waitlistedCount!,
          }
        : null,
    existing: row.existingId && row.existingStatus ? { registrationId: row.existingId, status: row.existingStatus } : null,
    room: row.room,
  };
}

export interface LockedSession {
  id: string;
  status: 'draft' | 'published' | 'cancelled';
  capacity: number | null;
  confirmedCount: number;
  waitlistedCount: number;
  sequence: number;
}

/** Locks the session row for the rest of the transaction: the first step of every status change. */
export async function lockSession(tx: Executor, sessionId: string): Promise<LockedSession | null> {
  const result = await tx.execute<{
    id: string;
    status: LockedSession['status'];
    capacity: number | null;
    confirmed_count: number;
    waitlisted_count: number;
    sequence: number;
  }>(sql`SELECT id, status, capacity, confirmed_count, waitlisted_count, sequence FROM sessions WHERE id = ${sessionId} FOR UPDATE`);
  const row = result.rows[0];
  return row
    ? {
        id: row.id,
        status: row.status,
        capacity: row.capacity,
        confirmedCount: row.confirmed_count,
        waitlistedCount: row.waitlisted_count,
        sequence: row.sequence,
      }
    : null;
}

/**
 * Confirms waiting people in arrival order while seats are free, with one outbox row each.
 * The caller holds the session lock. Returns the promoted registration ids in order.
 */
export async function promoteFromWaitlist(tx: Executor, sessionId: string, now: Date): Promise<string[]> {
  const result = await tx.execute<{ id: string }>(sql`
    WITH session AS (
      SELECT capacity, confirmed_count FROM sessions WHERE id = ${sessionId}
    ),
    chosen AS (
      SELECT r.id, r.waitlist_ticket FROM registrations r
      WHERE r.session_id = ${sessionId} AND r.status = 'waitlisted'
      ORDER BY r.waitlist_ticket
      LIMIT (SELECT CASE WHEN capacity IS NULL THEN NULL ELSE GREATEST(capacity - confirmed_count, 0) END FROM session)
    ),
    promoted AS (
      UPDATE registrations r SET status = 'confirmed', confirmed_at = ${now}, updated_at = ${now}
      FROM chosen WHERE r.id = chosen.id
      RETURNING r.id, chosen.waitlist_ticket
    ),
    counters AS (
      UPDATE sessions SET
        confirmed_count = confirmed_count + (SELECT count(*) FROM promoted),
        waitlisted_count = waitlisted_count - (SELECT count(*) FROM promoted)
      WHERE id = ${sessionId} AND EXISTS (SELECT 1 FROM promoted)
    ),
    outbox AS (
      INSERT INTO notifications ${OUTBOX_COLUMNS}
      SELECT ${outboxValues(sql`${sessionId}::uuid`, kinds.promoted.row(sql`promoted.id`, {}), sql`${now}::timestamptz`)}
      FROM promoted
    )
    SELECT id FROM promoted ORDER BY waitlist_ticket`);
  return result.rows.map((row) => row.id);
}

export interface CancelOutcome {
  previousStatus: 'confirmed' | 'waitlisted' | 'cancelled';
  promoted: string[];
}

/**
 * Cancels one registration (the caller holds the session lock), writes its outbox row and, when
 * a seat was freed, promotes the first waiting person, all in the caller's transaction.
 * Cancelling a cancelled registration changes nothing.
 */
export async function cancelRegistration(tx: Executor, registrationId: string, now: Date): Promise<CancelOutcome> {
  const result = await tx.execute<{ session_id: string; previous: CancelOutcome['previousStatus'] }>(sql`
    WITH previous AS (
      SELECT id, session_id, status FROM registrations WHERE id = ${registrationId}
    ),
    cancelled AS (
      UPDATE registrations r SET status = 'cancelled', cancelled_at = ${now}, updated_at = ${now}
      FROM previous WHERE r.id = previous.id AND previous.status <> 'cancelled'
      RETURNING r.id, r.session_id, previous.status AS previous
    ),
    counters AS (
      UPDATE sessions s SET
        confirmed_count = s.confirmed_count - CASE WHEN cancelled.previous = 'confirmed' THEN 1 ELSE 0 END,
        waitlisted_count = s.waitlisted_count - CASE WHEN cancelled.previous = 'waitlisted' THEN 1 ELSE 0 END,
        cancelled_count = s.cancelled_count + 1
      FROM cancelled WHERE s.id = cancelled.session_id
    ),
    outbox AS (
      INSERT INTO notifications ${OUTBOX_COLUMNS}
      SELECT ${outboxValues(
        sql`cancelled.session_id`,
        kinds.registration_cancelled.row(sql`cancelled.id`, { previousStatus: sql`cancelled.previous::text` }),
        sql`${now}::timestamptz`,
      )}
      FROM cancelled
    )
    SELECT previous.session_id, previous.status AS previous FROM previous`);
  const row = result.rows[0];
  if (!row) throw new Error(`registration ${registrationId} vanished under the session lock`);
  const promoted = row.previous === 'confirmed' ? await promoteFromWaitlist(tx, row.session_id, now) : [];
  return { previousStatus: row.previous, promoted };
}

/**
 * A cancelled session cancels every active registration: confirmed people get the calendar
 * cancellation, waiting people a plain notice. The caller holds the session lock.
 */
export async function cancelAllRegistrations(tx: Executor, sessionId: string, sequence: number, now: Date): Promise<number> {
  const facts = { sequence: sql`${sequence}::int` };
  const notice = eitherKind(
    sql`previous = 'confirmed'`,
    kinds.session_cancelled.row(sql`id`, facts),
    kinds.session_cancelled_waitlisted.row(sql`id`, facts),
  );
  const result = await tx.execute<{ count: number }>(sql`
    WITH cancelled AS (
      UPDATE registrations r SET status = 'cancelled', cancelled_at = ${now}, updated_at = ${now}
      FROM registrations previous
      WHERE r.id = previous.id AND r.session_id = ${sessionId} AND previous.status <> 'cancelled'
      RETURNING r.id, previous.status AS previous
    ),
    counters AS (
      UPDATE sessions SET confirmed_count = 0, waitlisted_count = 0,
        cancelled_count = cancelled_count + (SELECT count(*) FROM cancelled)
      WHERE id = ${sessionId}
    ),
    outbox AS (
      INSERT INTO notifications ${OUTBOX_COLUMNS}
      SELECT ${outboxValues(sql`${sessionId}::uuid`, notice, sql`${now}::timestamptz`)}
      FROM cancelled
    )
    SELECT count(*)::int AS count FROM cancelled`);
  return result.rows[0]?.count ?? 0;
}

/**
 * A waiting person's place: the number of people still waiting whose ticket is not later than
 * theirs, so places close up when someone in front leaves. One expression for one registration
 * and for a list of them (a correlated subquery there).
 */
export function placeOnWaitlist(sessionId: SQL | string, waitlistTicket: SQL | number): SQL<number> {
  return sql<number>`(SELECT count(*)::int FROM registrations w
    WHERE w.session_id = ${sessionId} AND w.status = 'waitlisted' AND w.waitlist_ticket <= ${waitlistTicket})`;
}

/** The place of one registration on its waitlist; null for anyone not waiting. */
export async function waitlistPosition(
  executor: Executor,
  row: Pick<RegistrationRow, 'sessionId' | 'status' | 'waitlistTicket'>,
): Promise<number | null> {
  if (row.status !== 'waitlisted' || row.waitlistTicket === null) return null;
  const result = await executor.execute<{ position: number }>(sql`SELECT ${placeOnWaitlist(row.sessionId, row.waitlistTicket)} AS position`);
  return result.rows[0]?.position ?? null;
}
