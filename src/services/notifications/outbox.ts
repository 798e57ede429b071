import { sql, type SQL } from 'drizzle-orm';
import type { Executor } from '../../../db/client.js';
import type { SessionRow } from '../../../db/schema/index.js';
import { kinds, type KindRow } from './kinds.js';

/**
 * Writing outbox rows. A row is written in the same statement or transaction as the change that
 * implies it; its kind, dedupe key and payload come from the kind's entry (kinds.ts), the
 * session, registration and time from the statement.
 */

export const OUTBOX_COLUMNS = sql`(kind, session_id, registration_id, dedupe_key, payload, created_at, updated_at)`;

/** The values of one row for OUTBOX_COLUMNS (in an INSERT ... SELECT). */
export function outboxValues(sessionId: SQL, row: KindRow, at: SQL): SQL {
  return sql`${row.kind}, ${sessionId}, ${row.registrationId}, ${row.dedupeKey}, ${row.payload}, ${at}, ${at}`;
}

/** One of two kinds for the same registration, chosen per row by `condition`. */
export function eitherKind(condition: SQL, whenTrue: KindRow, otherwise: KindRow): KindRow {
  const pick = (column: Exclude<keyof KindRow, 'registrationId'>) =>
    sql`CASE WHEN ${condition} THEN ${whenTrue[column]} ELSE ${otherwise[column]} END`;
  return { kind: pick('kind'), registrationId: whenTrue.registrationId, dedupeKey: pick('dedupeKey'), payload: pick('payload') };
}

/**
 * An invite update for every confirmed attendee after a change that raised the SEQUENCE;
 * `previous`: the session before the change, so the e-mail can say what moved.
 */
export async function notifySessionUpdated(
  tx: Executor,
  sessionId: string,
  sequence: number,
  previous: Pick<SessionRow, 'title' | 'startsAt' | 'endsAt' | 'timezone'>,
  now: Date,
): Promise<number> {
  const before = sql`jsonb_build_object('title', ${previous.title}::text, 'startsAt', ${previous.startsAt.toISOString()}::text,
    'endsAt', ${previous.endsAt.toISOString()}::text, 'timezone', ${previous.timezone}::text)`;
  const updated = kinds.session_updated.row(sql`r.id`, { sequence: sql`${sequence}::int`, previous: before });
  const result = await tx.execute(sql`
    INSERT INTO notifications ${OUTBOX_COLUMNS}
    SELECT ${outboxValues(sql`${sessionId}::uuid`, updated, sql`${now}::timestamptz`)}
    FROM registrations r WHERE r.session_id = ${sessionId} AND r.status = 'confirmed'
    ON CONFLICT (dedupe_key) DO NOTHING`);
  return result.rowCount ?? 0;
}

/** Of a confirmed registration `r`: it came (checked in or joined), so its follow-up is the attended one. */
const ATTENDED = sql`r.checked_in_at IS NOT NULL OR r.first_joined_at IS NOT NULL`;

/** Who `writeFollowUps` would write to now: the confirmed registrations, attended or not. */
export async function countFollowUpRecipients(tx: Executor, sessionId: string): Promise<{ attended: number; noShows: number }> {
  const result = await tx.execute<{ attended: number; no_shows: number }>(sql`
    SELECT count(*) FILTER (WHERE ${ATTENDED})::int AS attended, count(*) FILTER (WHERE NOT (${ATTENDED}))::int AS no_shows
    FROM registrations r WHERE r.session_id = ${sessionId} AND r.status = 'confirmed'`);
  const row = result.rows[0];
  return { attended: row?.attended ?? 0, noShows: row?.no_shows ?? 0 };
}

/** The follow-up rows a session's sending wrote, by kind. */
export async function countFollowUpsWritten(tx: Executor, sessionId: string): Promise<{ attended: number; noShows: number }> {
  const result = await tx.execute<{ attended: number; no_shows: number }>(sql`
    SELECT count(*) FILTER (WHERE kind = ${kinds.follow_up_attended.name}::notification_kind)::int AS attended,
      count(*) FILTER (WHERE kind = ${kinds.follow_up_no_show.name}::notification_kind)::int AS no_shows
    FROM notifications
    WHERE session_id = ${sessionId} AND kind IN (${kinds.follow_up_attended.name}::notification_kind, ${kinds.follow_up_no_show.name}::notification_kind)`);
  const row = result.rows[0];
  return { attended: row?.attended ?? 0, noShows: row?.no_shows ?? 0 };
}

/** One follow-up row per confirmed registration: attended (checked in or joined) or no-show. */
export async function writeFollowUps(tx: Executor, sessionId: string, now: Date): Promise<{ attended: number; noShows: number }> {
  const followUp = eitherKind(
    ATTENDED,
    kinds.follow_up_attended.row(sql`r.id`, {}),
    kinds.follow_up_no_show.row(sql`r.id`, {}),
  );
  const result = await tx.execute<{ attended: number; no_shows: number }>(sql`
    WITH written AS (
      INSERT INTO notifications ${OUTBOX_COLUMNS}
      SELECT ${outboxValues(sql`${sessionId}::uuid`, followUp, sql`${now}::timestamptz`)}
      FROM registrations r WHERE r.session_id = ${sessionId} AND r.status = 'confirmed'
      ON CONFLICT (dedupe_key) DO NOTHING
      RETURNING kind
    )
    SELECT count(*) FILTER (WHERE kind = ${kinds.follow_up_attended.name}::notification_kind)::int AS attended,
      count(*) FILTER (WHERE kind = ${kinds.follow_up_no_show.name}::notification_kind)::int AS no_shows
    FROM written`);
  const row = result.rows[0];
  return { attended: row?.attended ?? 0, noShows: row?.no_shows ?? 0 };
}
