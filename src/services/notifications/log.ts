import { and, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../../../db/client.js';
import { attendees, notifications, notificationStatus, registrations, sessionMessages, sessions, type NotificationStatus } from '../../../db/schema/index.js';
import { NotFoundError } from '../../errors.js';
import { decodeKeysetCursor, encodeKeysetCursor } from '../keyset-cursor.js';

export interface NotificationLogFilter {
  statuses?: NotificationStatus[];
  /** Only the e-mails of this organizer's message (session_messages). */
  sessionMessageId?: string;
  limit: number;
  /** From a previous page's `nextCursor`: the page after it (newest first). */
  cursor?: string;
}

/** The organizer's delivery log of a session. */
export function createNotificationLog({ db }: { db: Database }) {
  async function requireSession(sessionId: string): Promise<void> {
    const [session] = await db.select({ id: sessions.id }).from(sessions).where(eq(sessions.id, sessionId));
    if (!session) throw new NotFoundError('No session with this id');
  }

  /** A page of the log, newest first, with the recipient of each e-mail (one query for the page). */
  async function list(sessionId: string, filter: NotificationLogFilter) {
    await requireSession(sessionId);
    const conditions: SQL[] = [eq(notifications.sessionId, sessionId)];
    if (filter.statuses && filter.statuses.length > 0) conditions.push(inArray(notifications.status, filter.statuses));
    if (filter.sessionMessageId) conditions.push(eq(notifications.sessionMessageId, filter.sessionMessageId));
    if (filter.cursor) {
      const { at, id } = decodeKeysetCursor(filter.cursor);
      conditions.push(sql`(${notifications.createdAt}, ${notifications.id}) < (${at}::timestamptz, ${id}::uuid)`);
    }
    const rows = await db
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
        // A message's test has no registration: it went to the organizer who asked for it.
        recipient: sql<string | null>`coalesce(${attendees.email}, ${sessionMessages.testTo})`,
        recipientName: registrations.name,
      })
      .from(notifications)
      .leftJoin(registrations, eq(registrations.id, notifications.registrationId))
      .leftJoin(attendees, eq(attendees.id, registrations.attendeeId))
      .leftJoin(sessionMessages, eq(sessionMessages.id, notifications.sessionMessageId))
      .where(and(...conditions))
      .orderBy(desc(notifications.createdAt), desc(notifications.id))
      .limit(filter.limit + 1);
    const items = rows.slice(0, filter.limit);
    const last = items[items.length - 1];
    return { items, nextCursor: rows.length > filter.limit && last ? encodeKeysetCursor({ at: last.createdAt, id: last.id }) : null };
  }

  /** How many of the session's e-mails (or of one of its messages) are in each status (every status named, zeros included). */
  async function countByStatus(sessionId: string, filter: Pick<NotificationLogFilter, 'sessionMessageId'> = {}): Promise<Record<NotificationStatus, number>> {
    const conditions: SQL[] = [eq(notifications.sessionId, sessionId)];
    if (filter.sessionMessageId) conditions.push(eq(notifications.sessionMessageId, filter.sessionMessageId));
    const rows = await db
      .select({ status: notifications.status, count: sql<number>`count(*)::int` })
      .from(notifications)
      .where(and(...conditions))
      .groupBy(notifications.status);
    const counts = Object.fromEntries(notificationStatus.enumValues.map((status) => [status, 0])) as Record<NotificationStatus, number>;
    for (const row of rows) counts[row.status] = row.count;
    return counts;
  }

  return { list, countByStatus };
}

export type NotificationLog = ReturnType<typeof createNotificationLog>;
