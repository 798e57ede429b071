import { and, desc, eq, inArray } from 'drizzle-orm';
import type { Database } from '../../../db/client.js';
import { attendees, notifications, registrations, sessions, type NotificationRow } from '../../../db/schema/index.js';
import { NotFoundError } from '../../errors.js';

/** The organizer's delivery log of a session. */
export function createNotificationLog({ db }: { db: Database }) {
  async function list(sessionId: string, statuses: NotificationRow['status'][] | undefined, limit: number) {
    const [session] = await db.select({ id: sessions.id }).from(sessions).where(eq(sessions.id, sessionId));
    if (!session) throw new NotFoundError('No session with this id');
    const conditions = [eq(notifications.sessionId, sessionId)];
    if (statuses && statuses.length > 0) conditions.push(inArray(notifications.status, statuses));
    return db
      .select({
        id: notifications.id,
        kind: notifications.kind,
        registrationId: notifications.registrationId,
        status: notifications.status,
        attempts: notifications.attempts,
        lastError: notifications.lastError,
        messageId: notifications.messageId,
        createdAt: notifications.createdAt,
        sentAt: notifications.sentAt,
        recipient: attendees.email,
      })
      .from(notifications)
      .leftJoin(registrations, eq(registrations.id, notifications.registrationId))
      .leftJoin(attendees, eq(attendees.id, registrations.attendeeId))
      .where(and(...conditions))
      .orderBy(desc(notifications.createdAt), desc(notifications.id))
      .limit(limit);
  }
  return { list };
}

