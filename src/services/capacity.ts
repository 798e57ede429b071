import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { inClientTransaction, type Database, type Executor } from '../../db/client.js';
import type { Answers, RegistrationRow, RegistrationStatus } from '../../db/schema/index.js';
import { placeAfter, SEAT_IS_FREE, WAITLIST_HAS_ROOM } from './availability.js';
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
  /**
   * An organizer's override: confirmed even when the session is full. Organizers' additions never
   * wait for approval; a public registration for a session with `approval` becomes `pending`.
   */
  force: boolean;
  addedBy: string | null;
  /** The member organisation of the address (organisations.service membershipOf), recorded on the registration. */
  organisationId?: string | null;
  manageTokenHash: string;
  joinTokenHash: string;
  /**
   * A new attendee's id and the hash of its first feed token, so the feed URL works from the
   * moment the manage page shows it and a GET of that page writes nothing (mail scanners open
   * it). Without them (tests, benches) the id is the database's and the hash is stored on first view.
   */
  newAttendee?: { id: string; feedTokenHash: string };
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
    status: 'confirmed' | 'waitlisted' | 'pending';
    /** The 1-based place on the waitlist at the moment of joining. */
    waitlistPosition: number | null;
    /** The session's counters right after this registration. */
    confirmedCount: number;
    waitlistedCount: number;
  } | null;
  /** The person's active registration, when they already had one (nothing was taken then). */
  existing: { registrationId: string; status: RegistrationStatus } | null;
  /** A new address would have got a seat or a waitlist place: the session is published and not full. */
  room: boolean;
  /** The session's per-organisation limit was reached by the address's organisation: nothing was written. */
  organisationFull?: boolean;
}

/**
 * The statuses that still count (the ones before 'cancelled' in the enum, see
 * registrations_one_active_per_attendee): the person may not register again beside it.
 */
export function isActiveStatus(status: RegistrationStatus): boolean {
  return status === 'confirmed' || status === 'waitlisted' || status === 'pending' || status === 'offered';
}

const ACTIVE = sql.raw(`('confirmed', 'waitlisted', 'pending', 'offered')`);

/** The columns a new registration is written with, by the seat statement and the group's alike. */
const NEW_REGISTRATION_COLUMNS = sql.raw(`(
  id, session_id, attendee_id, name, organization, job_title, answers, status, waitlist_ticket,
  consent_version, consent_at, source, forced, added_by, manage_token_hash, join_token_hash,
  registered_at, confirmed_at, updated_at, attendee_timezone, organisation_id
)`);

/** A seat, a waitlist place, or (approval) the request: the e-mail that tells the new registration which. */
const SEAT_NOTIFICATION = eitherKind(
  sql`registration.status = 'pending'`,
  kinds.request_received.row(sql`registration.id`, {}),
  eitherKind(sql`registration.status = 'confirmed'`, kinds.confirmation.row(sql`registration.id`, {}), kinds.waitlisted.row(sql`registration.id`, {})),
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
  // A request to a session with approval takes neither a seat nor a waitlist place (yet); it
  // still needs the room a new registration would need, so a full session refuses everyone alike.
  const awaitsApproval = sql`(s.approval AND ${request.source}::text = 'public')`;
  const resend = request.manageLinkResend;
  return sql`
    WITH person AS (
      SELECT a.id FROM attendees a WHERE a.email = ${request.email}::text
    ),
    active AS (
      SELECT r.id, r.status FROM registrations r
      WHERE r.session_id = ${request.sessionId}::uuid AND r.attendee_id = (SELECT id FROM person) AND r.status IN ${ACTIVE}
    ),
    newcomer AS (
      SELECT NOT EXISTS (SELECT 1 FROM active) AS yes
    ),
    seat AS (
      UPDATE sessions s SET
        confirmed_count = s.confirmed_count + CASE WHEN n.yes AND NOT ${awaitsApproval} AND ${free} THEN 1 ELSE 0 END,
        waitlisted_count = s.waitlisted_count + CASE WHEN n.yes AND NOT ${awaitsApproval} AND NOT ${free} THEN 1 ELSE 0 END,
        waitlist_tickets = s.waitlist_tickets + CASE WHEN n.yes AND NOT ${awaitsApproval} AND NOT ${free} THEN 1 ELSE 0 END,
        pending_count = s.pending_count + CASE WHEN n.yes AND ${awaitsApproval} THEN 1 ELSE 0 END,
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
        CASE WHEN ${awaitsApproval} THEN 'pending'
          WHEN ${request.force}::boolean OR s.waitlisted_count = 0 THEN 'confirmed' ELSE 'waitlisted' END AS status,
        s.confirmed_count AS confirmed_count,
        s.waitlisted_count AS waitlisted_count,
        s.waitlist_tickets AS ticket,
        s.last_registered_at AS registered_at
    ),
    attendee AS (
      INSERT INTO attendees (id, email, feed_token_hash)
      SELECT coalesce(${request.newAttendee?.id ?? null}::uuid, gen_random_uuid()), ${request.email}::text, ${request.newAttendee?.feedTokenHash ?? null}::text
      FROM seat WHERE seat.taken AND NOT EXISTS (SELECT 1 FROM person)
      ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
      RETURNING id
    ),
    registration AS (
      INSERT INTO registrations ${NEW_REGISTRATION_COLUMNS}
      SELECT
        ${request.registrationId}::uuid, seat.id, coalesce((SELECT id FROM attendee), (SELECT id FROM person)),
        ${request.name}::text, ${request.organization}::text,
        ${request.jobTitle}::text, ${JSON.stringify(request.answers)}::jsonb, seat.status::registration_status,
        CASE WHEN seat.status = 'waitlisted' THEN seat.ticket END,
        ${request.consentVersion}::text, CASE WHEN ${request.consentVersion}::text IS NOT NULL THEN seat.registered_at END,
        ${request.source}::text, ${request.force}::boolean, ${request.addedBy}::uuid, ${request.manageTokenHash}::text,
        ${request.joinTokenHash}::text, seat.registered_at,
        CASE WHEN seat.status = 'confirmed' THEN seat.registered_at END, seat.registered_at,
        ${request.attendeeTimezone ?? null}::text, ${request.organisationId ?? null}::uuid
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
  status: 'confirmed' | 'waitlisted' | 'pending' | null;
  waitlistPosition: number | null;
  confirmedCount: number | null;
  waitlistedCount: number | null;
  existingId: string | null;
  existingStatus: RegistrationStatus | null;
  room: boolean;
}

/**
 * Runs the seat statement as a named prepared statement: its text never changes (every value
 * is a parameter), so Postgres parses and plans the CTE once per connection.
 */
export async function takeSeat(database: Database, request: SeatRequest): Promise<SeatResult> {
  const query = dialect.sqlToQuery(takeSeatStatement(request));
  const result = await database.$client.query<SeatRow>({
    name: 'convene-take-seat-v6',
    text: query.sql,
    values: query.params,
  });
  return seatResultOf(result.rows[0]!);
}

/**
 * The seat statement under a per-organisation limit (members-only sessions): a transaction that
 * locks the session row first, so the count of the organisation's active registrations, read
 * after the lock, cannot be overtaken by a concurrent registration (one statement could not
 * re-read another table under the lock). At the limit nothing is written, for a new address and
 * a registered one alike.
 */
export async function takeSeatWithinLimit(database: Database, request: SeatRequest & { organisationId: string }, limit: number): Promise<SeatResult> {
  return database.transaction(async (tx) => {
    await lockSession(tx, request.sessionId);
    // The person's own active registration is read too, for everyone alike: an organizer adding
    // someone already there is told so (the public answer does not look at it).
    const counted = await tx.execute<{ n: number; existing_id: string | null; existing_status: RegistrationStatus | null }>(sql`
      SELECT
        (SELECT count(*)::int FROM registrations
          WHERE organisation_id = ${request.organisationId}::uuid AND session_id = ${request.sessionId}::uuid AND status IN ${ACTIVE}) AS n,
        mine.id AS existing_id, mine.status::text AS existing_status
      FROM (SELECT 1) AS one
        LEFT JOIN (
          SELECT r.id, r.status FROM registrations r JOIN attendees a ON a.id = r.attendee_id
          WHERE a.email = ${request.email}::text AND r.session_id = ${request.sessionId}::uuid AND r.status IN ${ACTIVE}
        ) AS mine ON true`);
    const { n, existing_id: existingId, existing_status: existingStatus } = counted.rows[0]!;
    if (n >= limit) {
      const existing = existingId && existingStatus ? { registrationId: existingId, status: existingStatus } : null;
      return { taken: null, existing, room: false, organisationFull: true };
    }
    const result = await tx.execute<SeatRow>(takeSeatStatement(request));
    return seatResultOf(result.rows[0]!);
  });
}

function seatResultOf(row: SeatRow): SeatResult {
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

/** One public registration of a group (admitGroup): what SeatRequest says of the person. */
export type GroupMember = Pick<
  SeatRequest,
  'registrationId' | 'email' | 'name' | 'organization' | 'jobTitle' | 'answers' | 'consentVersion' | 'attendeeTimezone' | 'organisationId' | 'manageTokenHash' | 'joinTokenHash'
> & { newAttendee: { id: string; feedTokenHash: string } };

export interface GroupRequest {
  sessionId: string;
  /** The latest clock reading of the group: registration times start here (or 1 ms after the last one). */
  now: Date;
  manageLinkResend: { since: Date; window: number };
  /** In arrival order: seats and waitlist tickets follow it. */
  members: GroupMember[];
}

/**
 * Public registrations for one session, many at once (group admission): what takeSeatStatement
 * does for one, for each member in arrival order, in one statement. It runs in admitGroup's
 * transaction after the session row is locked, so everything it reads (counters, the people's
 * active registrations) was committed before the lock was granted: no concurrent registration
 * of any process can slip between its reads and its writes, and the guard it applies
 * (placeAfter, the rule of SEAT_IS_FREE and WAITLIST_HAS_ROOM counted for a group) is computed by
 * the database on the locked row.
 *
 * A member is a newcomer when the address has no active registration and is not already earlier
 * in the group; the k-th newcomer is placed as if k - 1 had registered just before it. Every other
 * member is a repeat: nothing taken, its manage link queued again (at most once per window, for
 * the registration the address holds, also the one taken earlier in this group), and its `room`
 * is what a newcomer at its place in the group would have got, so the answer cannot tell the two
 * apart. Times and tickets follow the arrival order, 1 ms apart, as the single statement's do.
 */
export function admitGroupStatement(request: GroupRequest): SQL {
  const column = <T>(pick: (member: GroupMember) => T) => sql.param(request.members.map(pick));
  const sessionId = sql`${request.sessionId}::uuid`;
  const now = sql`${request.now}::timestamptz`;
  return sql`
    WITH input AS (
      SELECT * FROM unnest(
        ${column((m) => m.registrationId)}::uuid[], ${column((m) => m.newAttendee.id)}::uuid[],
        ${column((m) => m.newAttendee.feedTokenHash)}::text[], ${column((m) => m.email)}::text[],
        ${column((m) => m.name)}::text[], ${column((m) => m.organization)}::text[], ${column((m) => m.jobTitle)}::text[],
        ${column((m) => JSON.stringify(m.answers))}::jsonb[], ${column((m) => m.consentVersion)}::text[],
        ${column((m) => m.attendeeTimezone ?? null)}::text[], ${column((m) => m.organisationId ?? null)}::uuid[],
        ${column((m) => m.manageTokenHash)}::text[], ${column((m) => m.joinTokenHash)}::text[]
      ) WITH ORDINALITY AS i(registration_id, new_attendee_id, feed_token_hash, email, name, organization, job_title,
        answers, consent_version, attendee_timezone, organisation_id, manage_token_hash, join_token_hash, ord)
    ),
    known AS (
      SELECT i.*, a.id AS attendee_id, r.id AS active_id, r.status::text AS active_status
      FROM input i
        LEFT JOIN attendees a ON a.email = i.email
        LEFT JOIN registrations r ON r.attendee_id = a.id AND r.session_id = ${sessionId} AND r.status IN ${ACTIVE}
    ),
    members AS (
      SELECT k.*, k.active_id IS NULL AND k.ord = min(k.ord) OVER (PARTITION BY k.email) AS newcomer
      FROM known k
    ),
    positioned AS (
      SELECT m.*, count(*) FILTER (WHERE m.newcomer) OVER (ORDER BY m.ord ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS ahead
      FROM members m
    ),
    placed AS (
      SELECT p.*,
        CASE WHEN s.status <> 'published' THEN 'none'
          WHEN s.approval THEN CASE WHEN (${SEAT_IS_FREE}) OR (${WAITLIST_HAS_ROOM}) THEN 'pending' ELSE 'none' END
          ELSE ${placeAfter(sql`p.ahead`)} END AS place,
        GREATEST(s.last_registered_at + interval '1 millisecond', ${now}) AS first_time,
        s.waitlist_tickets AS tickets_before, s.confirmed_count AS confirmed_before, s.waitlisted_count AS waitlisted_before
      FROM positioned p CROSS JOIN sessions s
      WHERE s.id = ${sessionId}
    ),
    taken AS (
      SELECT p.*,
        p.first_time + (row_number() OVER (ORDER BY p.ord) - 1) * interval '1 millisecond' AS registered_at,
        CASE WHEN p.place = 'waitlisted' THEN p.tickets_before + row_number() OVER (PARTITION BY p.place ORDER BY p.ord) END AS ticket,
        p.confirmed_before + count(*) FILTER (WHERE p.place = 'confirmed') OVER (ORDER BY p.ord) AS confirmed_after,
        p.waitlisted_before + count(*) FILTER (WHERE p.place = 'waitlisted') OVER (ORDER BY p.ord) AS waitlisted_after
      FROM placed p
      WHERE p.newcomer AND p.place <> 'none'
    ),
    counters AS (
      UPDATE sessions s SET
        confirmed_count = s.confirmed_count + t.confirmed,
        waitlisted_count = s.waitlisted_count + t.waitlisted,
        waitlist_tickets = s.waitlist_tickets + t.waitlisted,
        pending_count = s.pending_count + t.pending,
        last_registered_at = t.last
      FROM (
        SELECT count(*) AS n, count(*) FILTER (WHERE place = 'confirmed')::int AS confirmed,
          count(*) FILTER (WHERE place = 'waitlisted')::int AS waitlisted, count(*) FILTER (WHERE place = 'pending')::int AS pending,
          max(registered_at) AS last
        FROM taken
      ) t
      WHERE s.id = ${sessionId} AND t.n > 0
    ),
    attendee AS (
      INSERT INTO attendees (id, email, feed_token_hash)
      SELECT t.new_attendee_id, t.email, t.feed_token_hash FROM taken t WHERE t.attendee_id IS NULL
      ON CONFLICT (email) DO UPDATE SET email = EXCLUDED.email
      RETURNING id, email
    ),
    registration AS (
      INSERT INTO registrations ${NEW_REGISTRATION_COLUMNS}
      SELECT
        t.registration_id, ${sessionId}, coalesce(t.attendee_id, (SELECT a.id FROM attendee a WHERE a.email = t.email)),
        t.name, t.organization, t.job_title, t.answers, t.place::registration_status, t.ticket,
        t.consent_version, CASE WHEN t.consent_version IS NOT NULL THEN t.registered_at END,
        'public', false, NULL, t.manage_token_hash, t.join_token_hash, t.registered_at,
        CASE WHEN t.place = 'confirmed' THEN t.registered_at END, t.registered_at, t.attendee_timezone, t.organisation_id
      FROM taken t
      RETURNING id, status, registered_at
    ),
    outbox AS (
      INSERT INTO notifications ${OUTBOX_COLUMNS}
      SELECT ${outboxValues(sessionId, SEAT_NOTIFICATION, sql`registration.registered_at`)}
      FROM registration
    ),
    holder AS (
      SELECT m.ord, coalesce(m.active_id, t.registration_id) AS id, coalesce(m.active_status, t.place) AS status
      FROM members m LEFT JOIN taken t ON t.email = m.email
      WHERE NOT m.newcomer AND (m.active_id IS NOT NULL OR t.registration_id IS NOT NULL)
    ),
    resend AS (
      INSERT INTO notifications ${OUTBOX_COLUMNS}
      SELECT ${outboxValues(
        sessionId,
        kinds.manage_link.row(sql`holder.id`, { window: sql`${String(request.manageLinkResend.window)}::text` }),
        now,
      )}
      FROM (SELECT DISTINCT id FROM holder) AS holder
      WHERE EXISTS (SELECT 1 FROM sessions WHERE id = ${sessionId} AND status = 'published')
        -- A subquery per repeat (by the registration's index), not an anti-join that the planner,
        -- guessing at the group's size, may run as a scan of the whole outbox.
        AND (
          SELECT count(*) FROM notifications n
          WHERE n.registration_id = holder.id AND n.kind = ${kinds.manage_link.name}::notification_kind
            AND n.created_at > ${request.manageLinkResend.since}::timestamptz
        ) = 0
      ON CONFLICT (dedupe_key) DO NOTHING
    )
    SELECT t.registration_id AS "registrationId", t.place AS status,
      CASE WHEN t.place = 'waitlisted' THEN t.waitlisted_after END::int AS "waitlistPosition",
      t.confirmed_after::int AS "confirmedCount", t.waitlisted_after::int AS "waitlistedCount",
      h.id AS "existingId", h.status AS "existingStatus",
      coalesce(p.place <> 'none', false) AS room
    FROM members m
      LEFT JOIN placed p ON p.ord = m.ord
      LEFT JOIN taken t ON t.ord = m.ord
      LEFT JOIN holder h ON h.ord = m.ord
    ORDER BY m.ord`;
}

/**
 * Admits a group (admitGroupStatement) in one transaction: the session row locked, one
 * statement, one commit, whatever the group's size. Answers each member in order. A failure
 * rolls the whole group back: nothing of it is written.
 */
export async function admitGroup(database: Database, request: GroupRequest): Promise<SeatResult[]> {
  const query = dialect.sqlToQuery(admitGroupStatement(request));
  return inClientTransaction(database.$client, async (client) => {
    await client.query({ name: 'convene-lock-session-v1', text: 'SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE', values: [request.sessionId] });
    const result = await client.query<SeatRow>({ name: 'convene-admit-group-v1', text: query.sql, values: query.params });
    return result.rows.map(seatResultOf);
  });
}

export interface LockedSession {
  id: string;
  status: 'draft' | 'published' | 'cancelled';
  capacity: number | null;
  confirmedCount: number;
  waitlistedCount: number;
  sequence: number;
  startsAt: Date;
  endsAt: Date;
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
    starts_at: Date;
    ends_at: Date;
  }>(sql`SELECT id, status, capacity, confirmed_count, waitlisted_count, sequence, starts_at, ends_at FROM sessions WHERE id = ${sessionId} FOR UPDATE`);
  const row = result.rows[0];
  return row
    ? {
        id: row.id,
        status: row.status,
        capacity: row.capacity,
        confirmedCount: row.confirmed_count,
        waitlistedCount: row.waitlisted_count,
        sequence: row.sequence,
        startsAt: new Date(row.starts_at),
        endsAt: new Date(row.ends_at),
      }
    : null;
}

/** An offer made by fillFreedSeats: the job that ends it is due at `expiresAt`. */
export interface OfferTimer {
  registrationId: string;
  expiresAt: Date;
}

export interface FilledSeats {
  /** Confirmed from the waitlist, in arrival order. */
  promoted: string[];
  /** Offered a held seat, in arrival order. */
  offers: OfferTimer[];
}

/**
 * Gives the free seats to the waiting people in arrival order, with one outbox row each. The
 * session's mode decides how: 'auto' confirms them; 'offer' holds the seat for each until
 * now + offer_minutes (never past the start), except when less than offer_minutes are left,
 * when it confirms as 'auto' does, and after the start, when it gives nothing. A seat held by an
 * offer is taken (confirmed_count + offered_count <= capacity). The caller holds the session lock.
 */
export async function fillFreedSeats(tx: Executor, sessionId: string, now: Date): Promise<FilledSeats> {
  const result = await tx.execute<{ id: string; status: 'confirmed' | 'offered'; offer_expires_at: Date | null }>(sql`
    WITH plan AS (
      SELECT
        CASE
          WHEN s.waitlist_mode = 'auto' THEN 'confirm'
          WHEN s.starts_at <= ${now}::timestamptz THEN 'none'
          WHEN s.starts_at - ${now}::timestamptz < make_interval(mins => s.offer_minutes) THEN 'confirm'
          ELSE 'offer'
        END AS how,
        LEAST(${now}::timestamptz + make_interval(mins => s.offer_minutes), s.starts_at) AS expires_at,
        CASE WHEN s.capacity IS NULL THEN NULL ELSE GREATEST(s.capacity - s.confirmed_count - s.offered_count, 0) END AS free
      FROM sessions s WHERE s.id = ${sessionId}
    ),
    chosen AS (
      SELECT r.id, r.waitlist_ticket FROM registrations r
      WHERE r.session_id = ${sessionId} AND r.status = 'waitlisted' AND (SELECT how FROM plan) <> 'none'
      ORDER BY r.waitlist_ticket
      LIMIT (SELECT free FROM plan)
    ),
    moved AS (
      UPDATE registrations r SET
        status = CASE WHEN plan.how = 'offer' THEN 'offered' ELSE 'confirmed' END::registration_status,
        confirmed_at = CASE WHEN plan.how = 'offer' THEN r.confirmed_at ELSE ${now}::timestamptz END,
        offered_at = CASE WHEN plan.how = 'offer' THEN ${now}::timestamptz ELSE r.offered_at END,
        offer_expires_at = CASE WHEN plan.how = 'offer' THEN plan.expires_at ELSE r.offer_expires_at END,
        updated_at = ${now}
      FROM chosen, plan WHERE r.id = chosen.id
      RETURNING r.id, r.status, r.offer_expires_at, chosen.waitlist_ticket
    ),
    counters AS (
      UPDATE sessions SET
        confirmed_count = confirmed_count + (SELECT count(*) FROM moved WHERE status = 'confirmed'),
        offered_count = offered_count + (SELECT count(*) FROM moved WHERE status = 'offered'),
        waitlisted_count = waitlisted_count - (SELECT count(*) FROM moved)
      WHERE id = ${sessionId} AND EXISTS (SELECT 1 FROM moved)
    ),
    outbox AS (
      INSERT INTO notifications ${OUTBOX_COLUMNS}
      SELECT ${outboxValues(
        sql`${sessionId}::uuid`,
        eitherKind(sql`moved.status = 'offered'`, kinds.offered.row(sql`moved.id`, {}), kinds.promoted.row(sql`moved.id`, {})),
        sql`${now}::timestamptz`,
      )}
      FROM moved
    )
    SELECT id, status, offer_expires_at FROM moved ORDER BY waitlist_ticket`);
  const filled: FilledSeats = { promoted: [], offers: [] };
  for (const row of result.rows) {
    if (row.status === 'offered' && row.offer_expires_at) {
      filled.offers.push({ registrationId: row.id, expiresAt: new Date(row.offer_expires_at) });
    } else {
      filled.promoted.push(row.id);
    }
  }
  return filled;
}

/** The outcome of approving one pending registration. */
export type ApprovalOutcome = 'confirmed' | 'waitlisted' | 'full' | 'not-pending';

/**
 * Approves one pending registration of the session: a seat when one is free and nobody waits,
 * else a waitlist place (the rules of the seat statement), else nothing ('full'). Writes the
 * confirmation (with its invite) or the waitlist e-mail. The caller holds the session lock, so the
 * counters read here are the committed ones and approvals in one transaction follow its order.
 */
export async function approvePending(tx: Executor, sessionId: string, registrationId: string, now: Date): Promise<ApprovalOutcome> {
  const result = await tx.execute<{ pending: boolean; status: 'confirmed' | 'waitlisted' | null }>(sql`
    WITH target AS (
      SELECT r.id FROM registrations r WHERE r.id = ${registrationId} AND r.session_id = ${sessionId} AND r.status = 'pending'
    ),
    seat AS (
      UPDATE sessions s SET
        confirmed_count = s.confirmed_count + CASE WHEN ${SEAT_IS_FREE} THEN 1 ELSE 0 END,
        waitlisted_count = s.waitlisted_count + CASE WHEN ${SEAT_IS_FREE} THEN 0 ELSE 1 END,
        waitlist_tickets = s.waitlist_tickets + CASE WHEN ${SEAT_IS_FREE} THEN 0 ELSE 1 END,
        pending_count = s.pending_count - 1
      FROM target
      WHERE s.id = ${sessionId} AND ((${SEAT_IS_FREE}) OR ${WAITLIST_HAS_ROOM})
      RETURNING CASE WHEN s.waitlisted_count = 0 THEN 'confirmed' ELSE 'waitlisted' END AS status, s.waitlist_tickets AS ticket
    ),
    registration AS (
      UPDATE registrations r SET
        status = seat.status::registration_status,
        waitlist_ticket = CASE WHEN seat.status = 'waitlisted' THEN seat.ticket END,
        confirmed_at = CASE WHEN seat.status = 'confirmed' THEN ${now}::timestamptz END,
        updated_at = ${now}
      FROM seat WHERE r.id = ${registrationId}
      RETURNING r.id, r.status
    ),
    outbox AS (
      INSERT INTO notifications ${OUTBOX_COLUMNS}
      SELECT ${outboxValues(
        sql`${sessionId}::uuid`,
        eitherKind(sql`registration.status = 'confirmed'`, kinds.confirmation.row(sql`registration.id`, {}), kinds.waitlisted.row(sql`registration.id`, {})),
        sql`${now}::timestamptz`,
      )}
      FROM registration
    )
    SELECT EXISTS (SELECT 1 FROM target) AS pending, (SELECT status::text FROM registration) AS status`);
  const row = result.rows[0];
  if (!row?.pending) return 'not-pending';
  return row.status ?? 'full';
}

/** Declines one pending registration with an e-mail (the reason, when given, goes only there). The caller holds the session lock. */
export async function declinePending(tx: Executor, sessionId: string, registrationId: string, reason: string | null, now: Date): Promise<boolean> {
  const result = await tx.execute<{ id: string }>(sql`
    WITH declined AS (
      UPDATE registrations SET status = 'declined', declined_at = ${now}, updated_at = ${now}
      WHERE id = ${registrationId} AND session_id = ${sessionId} AND status = 'pending'
      RETURNING id
    ),
    counters AS (
      UPDATE sessions SET pending_count = pending_count - 1 WHERE id = ${sessionId} AND EXISTS (SELECT 1 FROM declined)
    ),
    outbox AS (
      INSERT INTO notifications ${OUTBOX_COLUMNS}
      SELECT ${outboxValues(sql`${sessionId}::uuid`, kinds.request_declined.row(sql`declined.id`, { reason: sql`${reason}::text` }), sql`${now}::timestamptz`)}
      FROM declined
    )
    SELECT id FROM declined`);
  return result.rows.length > 0;
}

export type AcceptOutcome = 'accepted' | 'expired' | 'not-offered';

/**
 * The offered person takes the held seat (confirmed, with the invite), if the offer is still
 * open at `now`. The caller holds the session lock, so accepting and expiring never both happen.
 */
export async function acceptOffer(tx: Executor, registrationId: string, now: Date): Promise<AcceptOutcome> {
  const result = await tx.execute<{ status: RegistrationStatus; accepted: boolean }>(sql`
    WITH previous AS (
      SELECT id, session_id, status, offer_expires_at FROM registrations WHERE id = ${registrationId}
    ),
    accepted AS (
      UPDATE registrations r SET status = 'confirmed', confirmed_at = ${now}, updated_at = ${now}
      FROM previous WHERE r.id = previous.id AND previous.status = 'offered' AND previous.offer_expires_at > ${now}::timestamptz
      RETURNING r.id, r.session_id
    ),
    counters AS (
      UPDATE sessions s SET offered_count = s.offered_count - 1, confirmed_count = s.confirmed_count + 1
      FROM accepted WHERE s.id = accepted.session_id
    ),
    outbox AS (
      INSERT INTO notifications ${OUTBOX_COLUMNS}
      SELECT ${outboxValues(sql`accepted.session_id`, kinds.confirmation.row(sql`accepted.id`, {}), sql`${now}::timestamptz`)}
      FROM accepted
    )
    SELECT previous.status, EXISTS (SELECT 1 FROM accepted) AS accepted FROM previous`);
  const row = result.rows[0];
  if (row?.accepted) return 'accepted';
  return row?.status === 'offered' || row?.status === 'expired' ? 'expired' : 'not-offered';
}

/**
 * Ends the session's offers whose time ran out at `now` (each `expired`, with an e-mail) and
 * gives their seats to the next people. The caller holds the session lock. Returns the new offers.
 */
export async function expireOffers(tx: Executor, sessionId: string, now: Date): Promise<{ expired: number; filled: FilledSeats }> {
  const result = await tx.execute<{ count: number }>(sql`
    WITH expired AS (
      UPDATE registrations SET status = 'expired', updated_at = ${now}
      WHERE session_id = ${sessionId} AND status = 'offered' AND offer_expires_at <= ${now}::timestamptz
      RETURNING id
    ),
    counters AS (
      UPDATE sessions SET offered_count = offered_count - (SELECT count(*) FROM expired)
      WHERE id = ${sessionId} AND EXISTS (SELECT 1 FROM expired)
    ),
    outbox AS (
      INSERT INTO notifications ${OUTBOX_COLUMNS}
      SELECT ${outboxValues(sql`${sessionId}::uuid`, kinds.offer_expired.row(sql`expired.id`, {}), sql`${now}::timestamptz`)}
      FROM expired
    )
    SELECT count(*)::int AS count FROM expired`);
  const expired = result.rows[0]?.count ?? 0;
  const filled = expired > 0 ? await fillFreedSeats(tx, sessionId, now) : { promoted: [], offers: [] };
  return { expired, filled };
}

export interface CancelOutcome {
  previousStatus: RegistrationStatus;
  /** Who got the freed seat (or an offer of it). */
  filled: FilledSeats;
}

/**
 * Cancels one active registration (the caller holds the session lock), writes its outbox row
 * and, when a seat was freed (a confirmed one, or a held offer: declining it), gives it to the
 * first waiting person, all in the caller's transaction. An ended registration stays as it is.
 */
export async function cancelRegistration(tx: Executor, registrationId: string, now: Date): Promise<CancelOutcome> {
  const result = await tx.execute<{ session_id: string; previous: CancelOutcome['previousStatus'] }>(sql`
    WITH previous AS (
      SELECT id, session_id, status FROM registrations WHERE id = ${registrationId}
    ),
    cancelled AS (
      UPDATE registrations r SET status = 'cancelled', cancelled_at = ${now}, updated_at = ${now}
      FROM previous WHERE r.id = previous.id AND previous.status IN ${ACTIVE}
      RETURNING r.id, r.session_id, previous.status AS previous
    ),
    counters AS (
      UPDATE sessions s SET
        confirmed_count = s.confirmed_count - CASE WHEN cancelled.previous = 'confirmed' THEN 1 ELSE 0 END,
        waitlisted_count = s.waitlisted_count - CASE WHEN cancelled.previous = 'waitlisted' THEN 1 ELSE 0 END,
        pending_count = s.pending_count - CASE WHEN cancelled.previous = 'pending' THEN 1 ELSE 0 END,
        offered_count = s.offered_count - CASE WHEN cancelled.previous = 'offered' THEN 1 ELSE 0 END,
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
  const seatFreed = row.previous === 'confirmed' || row.previous === 'offered';
  const filled = seatFreed ? await fillFreedSeats(tx, row.session_id, now) : { promoted: [], offers: [] };
  return { previousStatus: row.previous, filled };
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
      WHERE r.id = previous.id AND r.session_id = ${sessionId} AND previous.status IN ${ACTIVE}
      RETURNING r.id, previous.status AS previous
    ),
    counters AS (
      UPDATE sessions SET confirmed_count = 0, waitlisted_count = 0, pending_count = 0, offered_count = 0,
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

/**
 * placeOnWaitlist for many registrations at once: one walk of each session's waitlist up to the
 * latest ticket asked about, numbering its people in ticket order, instead of one count per
 * registration (tickets are unique within a session, so the number is the count placeOnWaitlist
 * gives). E-mails to a crowd deep on a waitlist then cost a walk per batch, not a walk each.
 * `asked`: SQL yielding (session_id, waitlist_ticket) rows; the result yields (id, place) for
 * every waiting registration up to those tickets.
 */
export function placesOnWaitlist(asked: SQL): SQL {
  return sql`SELECT w.id, row_number() OVER (PARTITION BY w.session_id ORDER BY w.waitlist_ticket)::int AS place
    FROM (SELECT session_id, max(waitlist_ticket) AS last FROM (${asked}) AS asked(session_id, waitlist_ticket) GROUP BY session_id) latest
    JOIN registrations w ON w.session_id = latest.session_id AND w.status = 'waitlisted' AND w.waitlist_ticket <= latest.last`;
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
