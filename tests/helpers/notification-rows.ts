import type { DbHandle } from '../../db/client.js';

/** Database look-ups of the notification tests. */

export interface NotificationState {
  id: string;
  kind: string;
  status: string;
  attempts: number;
  last_error: string | null;
  message_id: string | null;
  email: string;
}

/** The outbox rows of one recipient in one session, oldest first. */
export async function notificationsOf(database: DbHandle, sessionId: string, email: string): Promise<NotificationState[]> {
  const { rows } = await database.pool.query<NotificationState>(
    `SELECT n.id, n.kind::text, n.status::text, n.attempts, n.last_error, n.message_id, a.email
     FROM notifications n JOIN registrations r ON r.id = n.registration_id JOIN attendees a ON a.id = r.attendee_id
     WHERE n.session_id = $1 AND a.email = $2 ORDER BY n.created_at, n.id`,
    [sessionId, email.toLowerCase()],
  );
  return rows;
}

export async function sessionRow(database: DbHandle, sessionId: string): Promise<{ starts_at: Date; ends_at: Date; sequence: number; status: string }> {
  const { rows } = await database.pool.query('SELECT starts_at, ends_at, sequence, status::text FROM sessions WHERE id = $1', [sessionId]);
  if (!rows[0]) throw new Error(`no session ${sessionId}`);
  return rows[0];
}
