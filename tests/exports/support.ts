import pg from 'pg';
import { withDefaultUser } from '../../db/client.js';
import { TEST_DATABASE_URL, uniqueSuffix } from '../helpers/app.js';

export interface BulkOptions {
  /** How many of the rows are confirmed; the rest wait, in order. */
  confirmed: number;
  total: number;
}

/**
 * Fills a session with `total` registrations in one INSERT ... SELECT generate_series (attendees
 * and registrations in the same statement), then sets the session's counters to match, as the
 * registration engine would have. Returns the tag of the generated addresses, for cleanup.
 */
export async function bulkRegistrations(pool: pg.Pool, sessionId: string, { confirmed, total }: BulkOptions): Promise<string> {
  const tag = `bulk${uniqueSuffix()}`;
  await pool.query(
    `WITH people AS (
       SELECT gen_random_uuid() AS id, g FROM generate_series(1, $3::int) AS g
     ),
     attendee_rows AS (
       INSERT INTO attendees (id, email) SELECT id, $2 || '-' || g || '@example.org' FROM people
     )
     INSERT INTO registrations (
       session_id, attendee_id, name, organization, job_title, answers, status, waitlist_ticket,
       manage_token_hash, join_token_hash, registered_at, confirmed_at, updated_at, source
     )
     SELECT $1::uuid, id, 'Bulk Person ' || g, 'City of Example ' || g, 'Mayor',
       jsonb_build_object('city', 'Springfield ' || g, 'agree', g % 2 = 0),
       CASE WHEN g <= $4 THEN 'confirmed' ELSE 'waitlisted' END::registration_status,
       CASE WHEN g > $4 THEN g - $4 END,
       'm-' || id, 'j-' || id,
       timestamptz '2026-06-01T12:00:00Z' + make_interval(secs => g),
       CASE WHEN g <= $4 THEN timestamptz '2026-06-01T12:00:00Z' + make_interval(secs => g) END,
       now(), 'organizer'
     FROM people`,
    [sessionId, tag, total, confirmed],
  );
  await pool.query(
    `UPDATE sessions SET capacity = $2::int, confirmed_count = $2::int, waitlisted_count = $3::int, waitlist_tickets = $3::int WHERE id = $1`,
    [sessionId, confirmed, total - confirmed],
  );
  return tag;
}

/** Removes a bulk-filled session and its people, on a connection of its own (it runs in teardown, after the app's pool is gone). */
export async function removeBulk(sessionId: string, tag: string): Promise<void> {
  const client = new pg.Client({ connectionString: withDefaultUser(TEST_DATABASE_URL) });
  await client.connect();
  try {
    await client.query('DELETE FROM sessions WHERE id = $1', [sessionId]);
    await client.query(`DELETE FROM attendees WHERE email LIKE $1`, [`${tag}-%`]);
  } finally {
    await client.end();
  }
}
